# Real data in SPIN / CLIFF npz format (docs/en/datasets.md says where each file comes from).
# Training mix as in CLIFF and the dual-network reference: Human3.6M 50 %, COCO + MPII with
# pseudo-GT SMPL 30 %, MPI-INF-3DHP 20 %. Test: 3DPW (and Human3.6M protocol 2, see the configs).
# Fill in data_root and the annotation files you have.
data_root = 'data/'
ann_root = 'data/dataset_extras/'
smpl_model_dir = 'data/body_models/smpl'  # SMPL_{NEUTRAL,MALE,FEMALE}.npz + J_regressor_*.npy
input_size = (192, 256)  # (W, H)
batch_size = 30

train_pipeline = [
    dict(type='HMRLoadImage'),
    dict(type='HMRRandomFlip', prob=0.5),
    # SPIN's / CLIFF's draws: scale 1 + 0.25 N(0, 1) in [0.75, 1.25]; rotation N(0, 30^2)
    # clipped at 60 degrees, with probability 0.4
    dict(type='HMRRandomBBoxTransform', scale_factor=(0.75, 1.25), rotate_factor=30,
         rotate_prob=0.4, sampling='spin'),
    # CLIFF's crop: the box side spans the 256 px input height (the 192 px width shows the
    # middle 3/4 of the box), so people are as large as in CLIFF's training
    dict(type='HMRTopdownAffine', input_size=input_size, bbox_fit='height'),
    dict(type='PhotometricDistortion'),
    dict(type='CLIFFBBoxInfo'),
    dict(type='PackHMRInputs'),
]
test_pipeline = [
    dict(type='HMRLoadImage'),
    dict(type='HMRTopdownAffine', input_size=input_size, bbox_fit='height'),
    dict(type='CLIFFBBoxInfo'),
    dict(type='PackHMRInputs'),
]


def _hmr(ann_file, img_dir, name, pipeline=train_pipeline, test_mode=False):
    return dict(type='HMRDataset', ann_file=ann_root + ann_file, data_root=data_root,
                data_prefix=dict(img=img_dir), dataset_name=name, pipeline=pipeline,
                test_mode=test_mode)


h36m = _hmr('h36m_train.npz', 'h36m/', 'h36m')
coco_mpii = dict(
    type='ConcatDataset', ignore_keys=['dataset_name'],
    datasets=[
        _hmr('coco2014part_cliffGT.npz', 'coco/', 'coco'),
        _hmr('mpii_cliffGT.npz', 'mpii/', 'mpii'),
    ])
mpi_inf_3dhp = _hmr('mpi_inf_3dhp_train.npz', 'mpi_inf_3dhp/', 'mpi_inf_3dhp')
del _hmr

train_dataloader = dict(
    batch_size=batch_size,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='MultiSourceRatioSampler', batch_size=batch_size,
                 source_ratio=[0.5, 0.3, 0.2]),
    dataset=dict(type='ConcatDataset', ignore_keys=['dataset_name'],
                 datasets=[h36m, coco_mpii, mpi_inf_3dhp]))
val_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='HMRDataset', ann_file=ann_root + '3dpw_test.npz', data_root=data_root,
                 data_prefix=dict(img='3dpw/'), dataset_name='3dpw', pipeline=test_pipeline,
                 test_mode=True))
test_dataloader = val_dataloader

val_evaluator = dict(
    type='SMPLMetric', protocol='3dpw', prefix='3dpw',
    body_model=dict(type='GenderedSMPL', model_path=smpl_model_dir, joint_set='h36m_17'))
test_evaluator = val_evaluator
