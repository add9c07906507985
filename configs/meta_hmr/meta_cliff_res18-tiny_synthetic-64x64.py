# The dual network (DualNetworkHMR) on the embedded synthetic data: the demo's CLIFF as the main
# network f_w, meta-learned with a per-sample inner SGD step of its head on the test-time loss
# (2D keypoints + the auxiliary network's pseudo-SMPL + camera prior), and a second CLIFF f_u of
# the same architecture trained with its own supervised loss. Tested with TTO on the moderate
# shift and simulated detections, f_u's prediction as the pseudo ground truth.
_base_ = ['../cliff/cliff_res18-tiny_synthetic-64x64.py']

model = dict(
    _delete_=True,
    type='DualNetworkHMR',
    main={{_base_.model}},  # its data_preprocessor is not used: the dual network's is
    aux=None,  # a copy of main's config, its own parameters
    meta=dict(inner_lr=1e-3, inner_steps=1, first_order=True),
    inner_loss=dict(type='TestTimeLoss'),
    inner_keypoints='gt',
    outer_weight=1.0,
    aux_weight=1.0,
    data_preprocessor={{_base_.model.data_preprocessor}},
    test_cfg=dict())

# one epoch (94 iterations) of plain regression, then the inner lr ramps up over the next one
custom_hooks = [dict(type='MetaLearningHook', warmup_iters=94, ramp_iters=94)]
