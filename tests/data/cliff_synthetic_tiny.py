# The synthetic CLIFF config shrunk for end-to-end tests: 64x64 crops of 128x128 renders, a
# narrower backbone, a handful of samples of all three genders (the metric's gender-specific GT
# meshes), no worker processes.
_base_ = ['../../configs/cliff/cliff_res18-tiny_synthetic-64x64.py']

input_size = (64, 64)
domain = dict(_delete_=True, preset='train', image_size=(128, 128))
genders = ('neutral', 'male', 'female')
train_pipeline = [
    dict(type='HMRLoadImage'),
    dict(type='HMRRandomFlip', prob=0.5),
    dict(type='HMRRandomBBoxTransform', scale_factor=(0.9, 1.1), rotate_factor=10),
    dict(type='HMRTopdownAffine', input_size=input_size),
    dict(type='CLIFFBBoxInfo'),
    dict(type='PackHMRInputs'),
]
test_pipeline = [
    dict(type='HMRLoadImage'),
    dict(type='HMRTopdownAffine', input_size=input_size),
    dict(type='CLIFFBBoxInfo'),
    dict(type='PackHMRInputs'),
]
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(num_samples=16, domain=domain, genders=genders, cache_dir=None,
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(num_samples=8, domain=domain, genders=genders, cache_dir=None,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader

train_cfg = dict(max_epochs=2, val_interval=2)
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True, begin=0, end=100)]
model = dict(
    backbone=dict(depth=18, base_channels=8, stem_channels=8),
    head=dict(
        in_channels=64, hidden_dims=(64, 64),
        # all three genders: GT vertices from each sample's gendered body, as its keypoints
        gt_body_model=dict(type='ProceduralGenderedSMPL',
                           model_path={{_base_.body_model_dir}}, joint_set='smpl_24')))
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1, max_keep_ckpts=-1))
