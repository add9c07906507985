# The global-to-pixel head with HRNet-W48 on the SPIN/CLIFF mix (256x192, the CLIFF configs'
# training mix and schedule), tested on 3DPW. No neck: stage 1 pools the lowest-resolution
# branch (384 channels), the deformable encoder samples all four branches (48, 96, 192, 384
# channels at strides 4-32), the dense branch runs on the second branch (stride 8): on the
# first, its 3x3 convolution alone cost more than CLIFF's whole head (docs/en/global_to_pixel.md).
_base_ = ['../cliff/cliff_hrnet-w48_mixed-256x192.py']

model = dict(
    neck=None,
    head=dict(
        type='GlobalToPixelHead',
        in_channels=384,
        encoder=dict(type='DeformableKeypointEncoder', in_channels=[48, 96, 192, 384],
                     embed_dims=256, num_heads=8, num_points=4),
        residual=True,
        n_refine=1,
        anchors='stage1',
        dense=dict(in_channels=96, level=1, feat_channels=64,
                   assigner=dict(type='DynamicMatchingAssigner', topk=1)),
        local_weight=1.0,
        global_weight=0.5))
