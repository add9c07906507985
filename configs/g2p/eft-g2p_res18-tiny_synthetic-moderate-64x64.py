# EFT-style test-time optimization of the synthetic global-to-pixel model
# (g2p_res18-tiny_synthetic-64x64.py), as configs/eft/eft_cliff_res18-tiny_synthetic-moderate-
# 64x64.py does for CLIFF: on the 'moderate' synthetic shift with simulated 2D keypoint
# detections, each test image fine-tunes its own copy of every parameter on the 2D
# reprojection loss to its detections plus priors. Test a checkpoint of the G2P config:
#   python tools/test.py configs/g2p/eft-g2p_res18-tiny_synthetic-moderate-64x64.py CKPT
# (--no-tto gives the plain regression on the same data).
_base_ = ['../eft/eft_cliff_res18-tiny_synthetic-moderate-64x64.py',
          '../_base_/models/g2p_synthetic_head.py']

model = dict(backbone=dict(out_indices={{_base_.g2p_out_indices}}), head={{_base_.g2p_head}})
