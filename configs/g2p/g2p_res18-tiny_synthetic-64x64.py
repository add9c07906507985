# The global-to-pixel head (GlobalToPixelHead, ECCV 2024) on the embedded synthetic data: the
# synthetic CLIFF's narrow ResNet-18 with all four stages out (32, 64, 128, 256 channels at
# strides 4-32), stage 1 = CLIFF's regressor on the pooled last stage, stage 2 = a deformable
# keypoint encoder over all four stages around the stage-1 joints, residual refinement, and the
# dense keypoint branch with dynamic matching on the finest stage. The ablations in this folder
# change a few lines of it; "w/o local encoding" (stage 1 only) is the CLIFF config itself.
_base_ = ['../cliff/cliff_res18-tiny_synthetic-64x64.py']

model = dict(
    backbone=dict(out_indices=(0, 1, 2, 3)),
    head=dict(
        type='GlobalToPixelHead',
        encoder=dict(type='DeformableKeypointEncoder', in_channels=[32, 64, 128, 256],
                     embed_dims=64, num_heads=4, num_points=4),
        residual=True,
        n_refine=1,
        anchors='stage1',
        dense=dict(in_channels=32, level=0, feat_channels=32,
                   assigner=dict(type='DynamicMatchingAssigner', topk=1)),
        local_weight=1.0,
        global_weight=0.5))
