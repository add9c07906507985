# EFT-style test-time optimization of CLIFF ResNet-50 on 3DPW, with the OpenPose detections of
# the SPIN/CLIFF 3DPW file as the 2D keypoints (as SPIN, EFT and the seed papers evaluate; the
# ground-truth 2D joints would be an oracle): each test image fine-tunes its own copy of every
# parameter on its 2D reprojection loss plus priors, 20 Adam steps at 5e-6 (EFT's settings).
#   python tools/test.py configs/eft/eft_cliff_res50_mixed-256x192.py YOUR_CLIFF_CHECKPOINT
_base_ = ['../cliff/cliff_res50_mixed-256x192.py']

val_dataloader = dict(batch_size=32, dataset=dict(det_keypoints='openpose'))
test_dataloader = val_dataloader

tto = dict(
    type='TestTimeOptimizer',
    steps=20,
    optimizer='adam',
    lr=5e-6,
    params='all',
    loss=dict(type='TestTimeLoss',
              keypoints_2d=dict(type='KeypointReprojectionLoss', loss_weight=5.0),
              camera_prior=dict(type='CameraPriorLoss', loss_weight=1.0),
              shape_prior=dict(type='ShapePriorLoss', loss_weight=0.001)),
    early_stop_tol=0.,
    select='last',
    record_steps=True,
    # every parameter of ResNet-50 per sample, with Adam's moments: ~0.4 GB a sample
    chunk_size=8)
model = dict(test_cfg=dict(tto=tto))
