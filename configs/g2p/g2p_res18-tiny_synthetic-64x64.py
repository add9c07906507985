# The global-to-pixel head (GlobalToPixelHead, ECCV 2024) on the embedded synthetic data: the
# synthetic CLIFF's narrow ResNet-18 with all four stages out (32, 64, 128, 256 channels at
# strides 4-32), stage 1 = CLIFF's regressor on the pooled last stage, stage 2 = a deformable
# keypoint encoder over all four stages around the stage-1 joints, residual refinement, and the
# dense keypoint branch with dynamic matching on the finest stage. The ablations in this folder
# change a few lines of it; "w/o local encoding" (stage 1 only) is the CLIFF config itself.
_base_ = ['../cliff/cliff_res18-tiny_synthetic-64x64.py',
          '../_base_/models/g2p_synthetic_head.py']

model = dict(backbone=dict(out_indices={{_base_.g2p_out_indices}}), head={{_base_.g2p_head}})
