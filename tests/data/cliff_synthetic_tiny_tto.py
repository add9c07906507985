# The tiny synthetic test config with simulated detections and a short per-sample TTO.
_base_ = ['./cliff_synthetic_tiny.py']

test_pipeline = [
    dict(type='HMRLoadImage'),
    dict(type='SimulateKeypointDetections', seed=0),
    dict(type='HMRTopdownAffine', input_size={{_base_.input_size}}),
    dict(type='CLIFFBBoxInfo'),
    dict(type='PackHMRInputs'),
]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
val_dataloader = test_dataloader
model = dict(test_cfg=dict(tto=dict(type='TestTimeOptimizer', steps=3, optimizer='adam',
                                    lr=1e-3, record_steps=True)))
randomness = dict(seed=0)  # the same initial weights in every run and on every rank
