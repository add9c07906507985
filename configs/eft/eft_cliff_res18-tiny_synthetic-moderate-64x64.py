# EFT-style test-time optimization of the demo's CLIFF model (configs/cliff/
# cliff_res18-tiny_synthetic-64x64.py), tested on the 'moderate' synthetic shift with simulated
# 2D keypoint detections (never the ground truth): each test image fine-tunes its own copy of
# every parameter on the 2D reprojection loss to its detections plus priors, as EFT does.
#   python tools/test.py configs/eft/eft_cliff_res18-tiny_synthetic-moderate-64x64.py CKPT
# (--no-tto gives the plain regression on the same data).
_base_ = ['../cliff/cliff_res18-tiny_synthetic-64x64.py']

test_pipeline = [
    dict(type='HMRLoadImage'),
    # OpenPose-like detections from the exact joints: noise, misses, occlusion, swaps, outliers
    dict(type='SimulateKeypointDetections', seed=0),
    dict(type='HMRTopdownAffine', input_size={{_base_.input_size}}),
    dict(type='CLIFFBBoxInfo'),
    dict(type='PackHMRInputs'),
]
test_dataloader = dict(
    dataset=dict(domain=dict(preset='moderate'), pipeline=test_pipeline))
val_dataloader = test_dataloader

tto = dict(
    type='TestTimeOptimizer',
    steps=20,
    optimizer='adam',
    lr=5e-6,
    params='all',
    # EFT: the 2D keypoints and priors; no pseudo ground truth
    loss=dict(type='TestTimeLoss', keypoints_2d=dict(type='KeypointReprojectionLoss',
                                                     loss_weight=5.0),
              camera_prior=dict(type='CameraPriorLoss', loss_weight=1.0),
              shape_prior=dict(type='ShapePriorLoss', loss_weight=0.001)),
    early_stop_tol=0.,
    select='last',
    record_steps=True,
    chunk_size=32)
model = dict(test_cfg=dict(tto=tto))
