default_scope = 'mmhmr'

# hooks
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # mmengine's CheckpointHook, written atomically (AtomicCheckpointHook)
    checkpoint=dict(
        type='AtomicCheckpointHook', interval=1, save_best='auto', rule='less',
        max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # no checkpoint with NaN / inf weights is written; a loaded one must fit the model
    checkpoint_check=dict(type='CheckpointCheckHook'),
    # random states in the checkpoint, per-epoch worker seeds: a resumed run is bit-identical
    # to an uninterrupted one
    random_states=dict(type='RandomStatesHook'),
)
custom_hooks = []

# multi-processing / distributed
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),  # tools/train.py switches to gloo on hosts without CUDA
)

# visualizer and logging
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='HMRLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True, num_digits=6)
log_level = 'INFO'
load_from = None
resume = False

# file I/O backend
backend_args = dict(backend='local')

# validation / testing loops (the training loop is in the schedule)
val_cfg = dict()
test_cfg = dict()
