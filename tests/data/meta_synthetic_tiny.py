# The dual network on the tiny synthetic test data, deterministic so that one process and two
# can be compared: no random augmentation, BatchNorm statistics frozen (norm_eval), no dropout,
# fixed seed, SGD; the synthetic pipeline shrunk as in cliff_synthetic_tiny.py.
_base_ = ['./cliff_synthetic_tiny.py']

train_pipeline = [
    dict(type='HMRLoadImage'),
    dict(type='HMRTopdownAffine', input_size={{_base_.input_size}}),
    dict(type='CLIFFBBoxInfo'),
    dict(type='PackHMRInputs'),
]
train_dataloader = dict(batch_size=8, sampler=dict(type='DefaultSampler', shuffle=False),
                        dataset=dict(pipeline=train_pipeline))
_main = dict(
    type='HMREstimator',
    backbone=dict(type='ResNet', depth=18, base_channels=8, stem_channels=8, norm_eval=True),
    head=dict(type='CLIFFHead', in_channels=64, hidden_dims=(32, ), n_iter=2, dropout=0.,
              body_model=dict(type='ProceduralSMPL', model_path={{_base_.body_model_dir}},
                              joint_set='spin_49')))
model = dict(
    _delete_=True,
    type='DualNetworkHMR',
    main=_main,
    meta=dict(inner_lr=1e-2, inner_steps=1, first_order=True),
    data_preprocessor={{_base_.model.data_preprocessor}},
    test_cfg=dict(tto=None))  # validated by regression: no detections in this pipeline
optim_wrapper = dict(_delete_=True, optimizer=dict(type='SGD', lr=1e-2))
train_cfg = dict(max_epochs=1, val_interval=10)
randomness = dict(seed=0)
default_hooks = dict(checkpoint=dict(interval=1))
custom_imports = dict(imports=['rank_params_hook'])
custom_hooks = [dict(type='RankParamsDumpHook')]
