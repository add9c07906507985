# CLIFF, ResNet-50, crops 256x192, trained on the SPIN/CLIFF mix, tested on 3DPW.
# Fill in: data paths (configs/_base_/datasets/spin_mixed.py), your SMPL files
# (data/body_models/smpl, README "Body model files") and the backbone checkpoint below.
_base_ = [
    '../_base_/default_runtime.py', '../_base_/models/cliff.py',
    '../_base_/datasets/spin_mixed.py', '../_base_/schedules/adam_1e-4_30e.py'
]

# A 2D-pose-pretrained backbone (CLIFF starts from one), e.g. mmpose's
# td-hm_res50_8xb64-210e_coco-256x192 checkpoint, downloaded by you beforehand.
backbone_checkpoint = 'data/pretrained/td-hm_res50_8xb64-210e_coco-256x192.pth'

model = dict(
    backbone=dict(
        type='ResNet', depth=50,
        init_cfg=dict(type='Pretrained', prefix='backbone.', checkpoint=backbone_checkpoint)),
    head=dict(
        in_channels=2048,
        body_model=dict(model_path={{_base_.smpl_model_dir}}),
        # SPIN's smpl_mean_params.npz, or None for the built-in mean
        mean_params=None))
