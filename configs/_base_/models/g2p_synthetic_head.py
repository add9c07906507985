# The global-to-pixel head of the synthetic demo model (ResNet-18 narrow with all four stages
# out: 32, 64, 128, 256 channels at strides 4-32), merged into the CLIFF head of
# configs/cliff/cliff_res18-tiny_synthetic-64x64.py by the configs that use it
# (configs/g2p/g2p_, meta-g2p_, eft-g2p_res18-tiny_synthetic-...): stage 2 = a deformable
# keypoint encoder over all four stages around the stage-1 joints, residual refinement, and the
# dense keypoint branch with dynamic matching on the finest stage.
g2p_out_indices = (0, 1, 2, 3)
g2p_head = dict(
    type='GlobalToPixelHead',
    encoder=dict(type='DeformableKeypointEncoder', in_channels=[32, 64, 128, 256],
                 embed_dims=64, num_heads=4, num_points=4),
    residual=True,
    n_refine=1,
    anchors='stage1',
    dense=dict(in_channels=32, level=0, feat_channels=32,
               assigner=dict(type='DynamicMatchingAssigner', topk=1)),
    local_weight=1.0,
    global_weight=0.5)
