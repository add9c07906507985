# CLIFF on the embedded synthetic data: a narrow ResNet-18 on 64x64 crops, which trains on
# 2 CPU cores in minutes (tools/run_demo.sh).
_base_ = [
    '../_base_/default_runtime.py', '../_base_/models/cliff.py',
    '../_base_/datasets/synthetic.py'
]

max_epochs = 8
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3, weight_decay=0.))
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs,
                        T_max=max_epochs, eta_min=1e-5, convert_to_iter_based=True)]
auto_scale_lr = dict(base_batch_size=32)

model = dict(
    backbone=dict(_delete_=True, type='ResNet', depth=18, base_channels=32, stem_channels=32),
    head=dict(
        in_channels=256,
        hidden_dims=(512, 512),
        dropout=0.1,
        body_model=dict(_delete_=True, type='ProceduralSMPL',
                        model_path={{_base_.body_model_dir}}, joint_set='spin_49'),
        # every joint of the synthetic data is exact ground truth: all 49 (2D) and 24 (3D) are
        # labelled, so SPIN's weights 5 and 5 keep SPIN's balance (see ../_base_/models/cliff.py)
        loss_keypoints_2d=dict(loss_weight=5.0, keypoint_weights=None),
        loss_keypoints_3d=dict(loss_weight=5.0)))

default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=5))
