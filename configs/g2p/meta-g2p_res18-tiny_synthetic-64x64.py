# The two seeds together: the global-to-pixel head inside the dual network (f_w and f_u both
# GlobalToPixelHead models, as g2p_res18-tiny_synthetic-64x64.py), meta-learned with the
# per-sample inner step (first order; meta-g2p-2nd_... for second order) and tested with the
# reference's TTO schedule and f_u's pseudo-SMPL, as
# configs/meta_hmr/meta_cliff_res18-tiny_synthetic-64x64.py does for CLIFF.
_base_ = ['../meta_hmr/meta_cliff_res18-tiny_synthetic-64x64.py',
          '../_base_/models/g2p_synthetic_head.py']

model = dict(main=dict(backbone=dict(out_indices={{_base_.g2p_out_indices}}),
                       head={{_base_.g2p_head}}))
