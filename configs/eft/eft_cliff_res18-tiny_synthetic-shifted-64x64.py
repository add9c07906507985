# As eft_cliff_res18-tiny_synthetic-moderate-64x64.py, on the hard 'shifted' synthetic domain
# (every heading, raised camera, full joint ranges, heavy occlusion, unseen backgrounds).
_base_ = ['./eft_cliff_res18-tiny_synthetic-moderate-64x64.py']

test_dataloader = dict(dataset=dict(domain=dict(preset='shifted')))
val_dataloader = test_dataloader
