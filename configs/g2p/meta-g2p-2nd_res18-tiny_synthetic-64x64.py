# meta-g2p_res18-tiny_synthetic-64x64.py with second-order meta-learning: the gradients go
# through the inner step, hence through the pure-PyTorch deformable sampling (chosen
# automatically when the graph of the step is kept; mmcv's op is once-differentiable).
_base_ = ['./meta-g2p_res18-tiny_synthetic-64x64.py']

model = dict(meta=dict(first_order=False))
