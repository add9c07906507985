# Ablation "w/o residual": stage 2 predicts the parameters from the mean ones, not as a
# residual of stage 1.
_base_ = ['./g2p_res18-tiny_synthetic-64x64.py']

model = dict(head=dict(residual=False))
