# CLIFF: a backbone, pooled features + box information → iterative SMPL regressor.
# Set body_model.model_path (a directory with SMPL_NEUTRAL.npz / .pkl, J_regressor_extra.npy and
# J_regressor_h36m.npy — see README "Body model files") and the backbone in the configs below.
body_model = dict(type='SMPL', model_path='data/body_models/smpl', gender='neutral',
                  joint_set='spin_49')
model = dict(
    type='HMREstimator',
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(type='ResNet', depth=50),
    head=dict(
        type='CLIFFHead',
        in_channels=2048,
        body_model=body_model,
        n_iter=3,
        mean_params=None,
        # Keypoint losses average each sample's error over its own labelled joints; SPIN and
        # CLIFF (weights 5 and 5) divide by all 49 (2D) / 24 (3D) joints, labelled or not. On
        # the SPIN/CLIFF mix a sample has about 16 labelled 2D joints (H36M and MPI-INF-3DHP 17,
        # COCO / MPII fewer) and 17 labelled 3D joints, so their balance is 5 * 16 / 49 and
        # 5 * 17 / 24 here. tools/analysis_tools/keypoint_loss_balance.py computes both from
        # your npz files.
        loss_keypoints_2d=dict(
            type='KeypointReprojectionLoss', loss_weight=1.63,
            # SPIN / CLIFF: OpenPose detections get 0 weight, annotated joints 1
            keypoint_weights=[0.] * 25 + [1.] * 24),
        loss_keypoints_3d=dict(type='PelvisAlignedKeypoint3DLoss', loss_weight=3.54),
        loss_smpl_pose=dict(type='SMPLPoseLoss', loss_weight=1.0),
        loss_smpl_betas=dict(type='SMPLBetasLoss', loss_weight=0.001),
        loss_vertices=dict(type='VertexLoss', loss_weight=0.5),
        loss_camera_prior=dict(type='CameraPriorLoss', loss_weight=1.0)),
    test_cfg=dict())
