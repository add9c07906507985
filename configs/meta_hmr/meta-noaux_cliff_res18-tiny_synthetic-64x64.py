# Ablation "meta w/o aux": meta_cliff_res18-tiny_synthetic-64x64.py without the auxiliary
# network; the inner step and TTO use the 2D keypoints and the camera prior only.
_base_ = ['./meta_cliff_res18-tiny_synthetic-64x64.py']

model = dict(use_aux=False)
