# The dual network (DualNetworkHMR) on the embedded synthetic data, the main job of
# tools/run_demo.sh: the demo's CLIFF as the main network f_w, meta-learned with a per-sample
# inner SGD step of its head on the test-time loss (2D keypoints + the auxiliary network's
# pseudo-SMPL + camera prior), and a second CLIFF f_u of the same architecture trained with its
# own supervised loss. Tested as the EFT config it inherits from (the 'moderate' shift, simulated
# detections), with the reference's test-time schedule and f_u's prediction as the pseudo
# ground truth. The ablations in this folder change a few lines of it.
_base_ = ['../eft/eft_cliff_res18-tiny_synthetic-moderate-64x64.py']

# The inner step's learning rate: the reference's 1e-5 is for its loss scale (outer x 60,
# ResNet-50); with this model's loss scale (outer x 1) the step needs a larger one.
inner_lr = 1e-3
model = dict(
    _delete_=True,
    type='DualNetworkHMR',
    main={{_base_.model}},  # its data_preprocessor and test_cfg.tto are not used
    aux=None,  # a copy of main's config, its own parameters
    meta=dict(inner_lr=inner_lr, inner_steps=1, first_order=True, adapt='head'),
    inner_loss=dict(type='TestTimeLoss'),
    inner_keypoints='gt',
    outer_weight=1.0,
    aux_weight=1.0,
    data_preprocessor={{_base_.model.data_preprocessor}},
    # the reference's test-time schedule (DualNetworkHMR's default): the inner step on the head
    # with the full inner loss, then up to 14 Adam steps at 1e-5 of the 2D loss on every
    # parameter; every step's errors recorded
    test_cfg=dict(reference_tto=dict(record_steps=True, chunk_size=32)))

# 5 epochs (the demo's CLIFF trains 8; two networks and the inner step cost ~2x per
# iteration, and the whole demo is to take at most 12 minutes on 2 CPU cores)
max_epochs = 5
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs,
                        T_max=max_epochs, eta_min=1e-5, convert_to_iter_based=True)]
# one epoch (94 iterations) of plain regression, then the inner lr ramps up over the next one
custom_hooks = [dict(type='MetaLearningHook', warmup_iters=94, ramp_iters=94)]

# no validation while training (TTO over the test set takes minutes): tools/test.py after it
val_dataloader = None
val_cfg = None
val_evaluator = None

# the demo's seed (tools/run_demo.sh passes another with --cfg-options randomness.seed=N)
randomness = dict(seed=0)
