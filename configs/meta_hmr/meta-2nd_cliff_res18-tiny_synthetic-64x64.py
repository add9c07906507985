# Ablation "second order": meta_cliff_res18-tiny_synthetic-64x64.py with the gradients taken
# through the inner step and through f_u's pseudo targets.
_base_ = ['./meta_cliff_res18-tiny_synthetic-64x64.py']

model = dict(meta=dict(first_order=False))
