# As meta_cliff_res50_mixed-256x192.py, with CLIFF HRNet-W48 (configs/cliff/
# cliff_hrnet-w48_mixed-256x192.py) as f_w and f_u.
_base_ = ['../cliff/cliff_hrnet-w48_mixed-256x192.py', '../_base_/models/dual_network.py']

# f_u: a CLIFF HRNet-W48 you trained with configs/cliff/cliff_hrnet-w48_mixed-256x192.py
aux_checkpoint = 'work_dirs/cliff_hrnet-w48_mixed-256x192/epoch_30.pth'

model = dict(
    _delete_=True,
    type='DualNetworkHMR',
    main={{_base_.model}},
    aux=None,
    aux_checkpoint=aux_checkpoint,
    meta={{_base_.meta_step}},
    inner_loss={{_base_.inner_loss}},
    inner_keypoints='gt',
    outer_weight=60.0,
    aux_weight=1.0,
    data_preprocessor={{_base_.model.data_preprocessor}},
    test_cfg=dict(reference_tto={{_base_.reference_tto}}))
# validated once, at the end: the TTO schedule over 3DPW takes far longer than a plain pass
train_cfg = dict(val_interval=30)
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'aux.': dict(lr_mult=0.1)}))

val_dataloader = dict(batch_size=32, dataset=dict(det_keypoints='openpose'))
test_dataloader = val_dataloader
