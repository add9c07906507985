# Ablation "aux w/o meta": both networks of meta_cliff_res18-tiny_synthetic-64x64.py trained by
# plain regression (no inner step), then TTO with f_u's pseudo ground truth.
_base_ = ['./meta_cliff_res18-tiny_synthetic-64x64.py']

# no inner step in training; at test time the same schedule as the others (its step 0 at the
# inner lr the meta-learned configs train with)
model = dict(meta=None,
             test_cfg=dict(reference_tto=dict(inner_lr={{_base_.inner_lr}}, inner_steps=1)))
custom_hooks = []  # nothing for MetaLearningHook to switch
