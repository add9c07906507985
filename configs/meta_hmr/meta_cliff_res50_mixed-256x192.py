# The dual network (NeurIPS 2024) with CLIFF ResNet-50, crops 256x192, on the SPIN/CLIFF mix
# (H36M 50 %, COCO+MPII 30 %, MPI-INF-3DHP 20 %, batch 30, Adam 1e-4, 30 epochs), tested on 3DPW
# with TTO to the OpenPose detections of the SPIN/CLIFF 3DPW file, f_u's prediction as the
# pseudo ground truth. The reference's settings: f_w from the 2D-pose-pretrained backbone, f_u
# from a trained CLIFF, one per-sample inner SGD step of f_w's head at 1e-5 (first order),
# outer loss x 60.
# Fill in: data paths (configs/_base_/datasets/spin_mixed.py), your SMPL files, the backbone
# checkpoint (configs/cliff/cliff_res50_mixed-256x192.py) and aux_checkpoint below.
_base_ = ['../cliff/cliff_res50_mixed-256x192.py', '../_base_/models/dual_network.py']

# f_u: a CLIFF ResNet-50 you trained with configs/cliff/cliff_res50_mixed-256x192.py
aux_checkpoint = 'work_dirs/cliff_res50_mixed-256x192/epoch_30.pth'

model = dict(
    _delete_=True,
    type='DualNetworkHMR',
    main={{_base_.model}},
    aux=None,  # a copy of main's config, its own parameters
    aux_checkpoint=aux_checkpoint,
    meta={{_base_.meta_step}},
    inner_loss={{_base_.inner_loss}},
    inner_keypoints='gt',  # the annotation, as the reference trains
    outer_weight=60.0,
    aux_weight=1.0,
    data_preprocessor={{_base_.model.data_preprocessor}},
    test_cfg=dict(reference_tto={{_base_.reference_tto}}))
# one Adam over both networks; f_u starts trained, so it moves slower
# validated once, at the end: the TTO schedule over 3DPW takes far longer than a plain pass
train_cfg = dict(val_interval=30)
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'aux.': dict(lr_mult=0.1)}))

val_dataloader = dict(batch_size=32, dataset=dict(det_keypoints='openpose'))
test_dataloader = val_dataloader
