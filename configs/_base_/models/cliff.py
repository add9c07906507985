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
        loss_keypoints_2d=dict(
            type='KeypointReprojectionLoss', loss_weight=5.0,
            # SPIN / CLIFF: OpenPose detections get 0 weight, annotated joints 1
            keypoint_weights=[0.] * 25 + [1.] * 24),
        loss_keypoints_3d=dict(type='PelvisAlignedKeypoint3DLoss', loss_weight=5.0),
        loss_smpl_pose=dict(type='SMPLPoseLoss', loss_weight=1.0),
        loss_smpl_betas=dict(type='SMPLBetasLoss', loss_weight=0.001),
        loss_vertices=dict(type='VertexLoss', loss_weight=0.5),
        loss_camera_prior=dict(type='CameraPriorLoss', loss_weight=1.0)),
    test_cfg=dict())
