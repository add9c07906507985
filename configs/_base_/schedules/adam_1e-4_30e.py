# Adam, lr 1e-4, no decay, 30 epochs (CLIFF / the dual-network reference).
train_cfg = dict(by_epoch=True, max_epochs=30, val_interval=1)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-4, weight_decay=0.))
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True, begin=0, end=30)]
auto_scale_lr = dict(base_batch_size=30)
