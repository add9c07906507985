# Ablation "fixed RoI": a fixed 3x3 roi_align window around each anchor on the finest stage
# (RoIKeypointEncoder) instead of the deformable sampling.
_base_ = ['./g2p_res18-tiny_synthetic-64x64.py']

model = dict(head=dict(encoder=dict(_delete_=True, type='RoIKeypointEncoder',
                                    in_channels=[32, 64, 128, 256], embed_dims=64, level=0,
                                    roi_size=0.25, window=3)))
