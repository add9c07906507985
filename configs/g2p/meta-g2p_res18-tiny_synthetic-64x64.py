# The two seeds together: the global-to-pixel head inside the dual network (f_w and f_u both
# GlobalToPixelHead models, as g2p_res18-tiny_synthetic-64x64.py), meta-learned with the
# per-sample inner step (first order; meta-g2p-2nd_... for second order) and tested with the
# reference's TTO schedule and f_u's pseudo-SMPL, as
# configs/meta_hmr/meta_cliff_res18-tiny_synthetic-64x64.py does for CLIFF.
_base_ = ['../meta_hmr/meta_cliff_res18-tiny_synthetic-64x64.py']

model = dict(main=dict(
    backbone=dict(out_indices=(0, 1, 2, 3)),
    head=dict(
        type='GlobalToPixelHead',
        encoder=dict(type='DeformableKeypointEncoder', in_channels=[32, 64, 128, 256],
                     embed_dims=64, num_heads=4, num_points=4),
        dense=dict(in_channels=32, level=0, feat_channels=32,
                   assigner=dict(type='DynamicMatchingAssigner', topk=1)))))
