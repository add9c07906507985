# CLIFF, HRNet-W48, crops 256x192, trained on the SPIN/CLIFF mix, tested on 3DPW.
# The four HRNet branches are upsampled to the highest resolution and concatenated
# (48 + 96 + 192 + 384 = 720 channels) before the head pools them.
_base_ = [
    '../_base_/default_runtime.py', '../_base_/models/cliff.py',
    '../_base_/datasets/spin_mixed.py', '../_base_/schedules/adam_1e-4_30e.py'
]

# e.g. mmpose's td-hm_hrnet-w48_8xb32-210e_coco-256x192 checkpoint, downloaded by you.
backbone_checkpoint = 'data/pretrained/td-hm_hrnet-w48_8xb32-210e_coco-256x192.pth'

model = dict(
    backbone=dict(
        _delete_=True,
        type='HRNet',
        in_channels=3,
        extra=dict(
            stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK',
                        num_blocks=(4, ), num_channels=(64, )),
            stage2=dict(num_modules=1, num_branches=2, block='BASIC',
                        num_blocks=(4, 4), num_channels=(48, 96)),
            stage3=dict(num_modules=4, num_branches=3, block='BASIC',
                        num_blocks=(4, 4, 4), num_channels=(48, 96, 192)),
            stage4=dict(num_modules=3, num_branches=4, block='BASIC',
                        num_blocks=(4, 4, 4, 4), num_channels=(48, 96, 192, 384),
                        multiscale_output=True)),
        init_cfg=dict(type='Pretrained', prefix='backbone.', checkpoint=backbone_checkpoint)),
    neck=dict(type='FeatureMapProcessor', concat=True),
    head=dict(
        in_channels=720,
        body_model=dict(model_path={{_base_.smpl_model_dir}}),
        mean_params=None))
