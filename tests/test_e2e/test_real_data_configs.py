"""The real-data CLIFF configs run as written on files in SPIN/CLIFF format: tiny fake npz
files and images stand in for the datasets, the random SMPL-format model for SMPL, and a narrow
backbone for the pretrained one (nothing else of the configs is changed)."""
import os
import os.path as osp
import sys

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.runner import Runner

sys.path.insert(0, osp.join(osp.dirname(__file__), '..', 'test_datasets'))
from npz_samples import spin_arrays  # noqa: E402

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
ANN_FILES = ('h36m_train.npz', 'coco2014part_cliffGT.npz', 'mpii_cliffGT.npz',
             'mpi_inf_3dhp_train.npz', '3dpw_test.npz')


def replace_prefix(obj, old, new):
    """Replace a path prefix in every string of a nested config."""
    if isinstance(obj, dict):
        return type(obj)({k: replace_prefix(v, old, new) for k, v in obj.items()})
    if isinstance(obj, (list, tuple)):
        return type(obj)(replace_prefix(v, old, new) for v in obj)
    if isinstance(obj, str) and obj.startswith(old):
        return new + obj[len(old):]
    return obj


def write_fake_data(root):
    for i, ann in enumerate(ANN_FILES):
        arrays = spin_arrays(12, seed=i)
        np.savez(osp.join(root, 'dataset_extras', ann), **arrays)
    for sub in ('h36m', 'coco', 'mpii', 'mpi_inf_3dhp', '3dpw'):
        for name in spin_arrays(12)['imgname']:
            path = osp.join(root, sub, str(name))
            os.makedirs(osp.dirname(path), exist_ok=True)
            cv2.imwrite(path, np.full((100, 100, 3), 100, np.uint8))


@pytest.mark.parametrize('config', ['cliff_res50_mixed-256x192.py',
                                    'cliff_hrnet-w48_mixed-256x192.py'])
def test_real_data_config_trains_and_tests(config, tmp_path, random_smpl_dir):
    data_root = tmp_path / 'data'
    os.makedirs(data_root / 'dataset_extras')
    write_fake_data(str(data_root))
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'cliff', config))
    assert cfg.model.backbone.init_cfg.checkpoint.startswith('data/pretrained/')
    cfg = Config(replace_prefix(cfg.to_dict(), 'data/body_models/smpl', str(random_smpl_dir)))
    cfg = Config(replace_prefix(cfg.to_dict(), 'data/', str(data_root) + '/'))
    # no pretrained checkpoint here, and a small backbone for a fast test
    cfg.model.backbone = dict(type='ResNet', depth=18, base_channels=8, stem_channels=8)
    cfg.model.pop('neck', None)
    cfg.model.head.in_channels = 64
    cfg.model.head.hidden_dims = (32, 32)
    batch = 10
    cfg.train_dataloader.batch_size = batch
    cfg.train_dataloader.sampler.batch_size = batch
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        loader.num_workers = 0
        loader.persistent_workers = False
    cfg.val_dataloader.batch_size = 4
    cfg.test_dataloader = cfg.val_dataloader
    cfg.train_cfg.max_epochs = 1
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.test()
    assert {'3dpw/MPJPE', '3dpw/PA-MPJPE', '3dpw/PVE', '3dpw/kpt2d_err'} <= set(metrics)
    assert all(np.isfinite(v) for v in metrics.values())


def test_hrnet_config_backbone_and_neck_feed_the_head():
    # the HRNet-W48 branches, upsampled and concatenated, give the head's in_channels
    import torch
    from mmhmr.registry import MODELS
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'cliff', 'cliff_hrnet-w48_mixed-256x192.py'))
    cfg.model.backbone.init_cfg = None
    backbone = MODELS.build(cfg.model.backbone)
    backbone.eval()  # mmpose's HRNet.train() returns None
    neck = MODELS.build(cfg.model.neck)
    with torch.no_grad():
        feats = neck(backbone(torch.zeros(1, 3, 64, 64)))
    assert feats[-1].shape == (1, cfg.model.head.in_channels, 16, 16)


def shrunk_test_metrics(cfg, tmp_path, batch_size):
    """Test the EFT config with a narrow backbone and 2 TTO steps; its metrics."""
    cfg.model.backbone = dict(type='ResNet', depth=18, base_channels=8, stem_channels=8)
    cfg.model.head.in_channels = 64
    cfg.model.head.hidden_dims = (32, 32)
    cfg.model.test_cfg.tto.steps = 2
    cfg.test_dataloader.update(batch_size=batch_size, num_workers=0, persistent_workers=False)
    cfg.work_dir = str(tmp_path / 'work')
    return Runner.from_cfg(cfg).test()


def test_eft_config_tests_with_openpose_detections(tmp_path, random_smpl_dir):
    """The EFT config as written (a small backbone, fake 3DPW files): TTO runs on the OpenPose
    detections and the metrics before, after and at every step are reported."""
    data_root = tmp_path / 'data'
    os.makedirs(data_root / 'dataset_extras')
    write_fake_data(str(data_root))
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'eft', 'eft_cliff_res50_mixed-256x192.py'))
    assert cfg.test_dataloader.dataset.det_keypoints == 'openpose'
    assert cfg.model.test_cfg.tto.params == 'all'
    cfg = Config(replace_prefix(cfg.to_dict(), 'data/body_models/smpl', str(random_smpl_dir)))
    cfg = Config(replace_prefix(cfg.to_dict(), 'data/', str(data_root) + '/'))
    metrics = shrunk_test_metrics(cfg, tmp_path, batch_size=6)
    for name in ('MPJPE', 'PA-MPJPE', 'PVE', 'MPJPE_init', 'PA-MPJPE@0', 'PA-MPJPE@2',
                 'tto_loss', 'tto_loss_init'):
        assert f'3dpw/{name}' in metrics, name
    assert metrics['3dpw/MPJPE@0'] == metrics['3dpw/MPJPE_init']
    assert metrics['3dpw/MPJPE@2'] == pytest.approx(metrics['3dpw/MPJPE'])


@pytest.mark.parametrize('config', ['meta_cliff_res50_mixed-256x192.py',
                                    'meta_cliff_hrnet-w48_mixed-256x192.py'])
def test_meta_config_trains_and_tests_with_the_reference_schedule(config, tmp_path,
                                                                  random_smpl_dir):
    """The dual-network configs as written (fake SPIN/CLIFF files, a narrow backbone, f_u from
    a CLIFF checkpoint written here): the reference's settings, one epoch of meta-learning,
    then the reference's TTO schedule to the OpenPose detections of the 3DPW file."""
    import torch
    from mmhmr.registry import MODELS
    data_root = tmp_path / 'data'
    os.makedirs(data_root / 'dataset_extras')
    write_fake_data(str(data_root))
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'meta_hmr', config))
    model = cfg.model
    assert (model.type, model.outer_weight, model.inner_keypoints) == \
        ('DualNetworkHMR', 60.0, 'gt')
    assert model.meta == dict(inner_lr=1e-5, inner_steps=1, first_order=True, adapt='head')
    assert cfg.optim_wrapper.optimizer.lr == 1e-4 and cfg.train_dataloader.batch_size == 30
    assert cfg.train_dataloader.sampler.source_ratio == [0.5, 0.3, 0.2]
    assert model.test_cfg == dict(reference_tto=dict(record_steps=True, chunk_size=8))
    assert cfg.test_dataloader.dataset.det_keypoints == 'openpose'
    cfg = Config(replace_prefix(cfg.to_dict(), 'data/body_models/smpl', str(random_smpl_dir)))
    cfg = Config(replace_prefix(cfg.to_dict(), 'data/', str(data_root) + '/'))
    cfg.model.main.backbone = dict(type='ResNet', depth=18, base_channels=8, stem_channels=8)
    cfg.model.main.pop('neck', None)
    cfg.model.main.head.update(in_channels=64, hidden_dims=(32, 32))
    f_u = MODELS.build(cfg.model.main)
    cfg.model.aux_checkpoint = str(tmp_path / 'cliff.pth')
    torch.save(dict(state_dict=f_u.state_dict()), cfg.model.aux_checkpoint)
    cfg.model.test_cfg.reference_tto.steps = 2  # of the reference's 14 Adam steps
    batch = 10
    cfg.train_dataloader.batch_size = batch
    cfg.train_dataloader.sampler.batch_size = batch
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        loader.update(num_workers=0, persistent_workers=False)
    cfg.val_dataloader.batch_size = 4
    cfg.test_dataloader = cfg.val_dataloader
    assert cfg.train_cfg.val_interval == 30  # validated at the end only
    cfg.train_cfg.update(max_epochs=1, val_interval=10)
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    first, second = runner.model.tto.phases  # the reference's schedule
    assert (first['params'], first['lr'], first['optimizer']) == ('head', 1e-5, 'sgd')
    assert (second['params'], second['lr'], second['optimizer']) == ('all', 1e-5, 'adam')
    runner.model.init_weights()  # as runner.train() does; f_u from the checkpoint
    for name, value in f_u.state_dict().items():
        torch.testing.assert_close(runner.model.aux.state_dict()[name], value)
    runner.train()
    # the f_u parameter group at a tenth of the lr
    lrs = {g['lr'] for g in runner.optim_wrapper.optimizer.param_groups}
    assert lrs == {1e-4, 1e-5}
    metrics = runner.test()
    for name in ('MPJPE', 'PA-MPJPE', 'PVE', 'MPJPE_init', 'tto_loss', 'MPJPE@3'):
        assert np.isfinite(metrics[f'3dpw/{name}']), name


@pytest.mark.parametrize('source', ['3dpw-converter', 'human-data'])
def test_converted_sources_run_through_the_eft_config(source, tmp_path, random_smpl_dir):
    """A new user's path from the original formats: raw 3DPW sequence files through
    tools/dataset_converters/threedpw_to_hmr.py, or an mmhuman3d HumanData file read by
    HumanDataDataset, tested with the EFT config as written (TTO on the 2D detections)."""
    sys.path.insert(0, osp.join(ROOT, 'tests', 'test_tools'))
    sys.path.insert(0, osp.join(ROOT, 'tools', 'dataset_converters'))
    import threedpw_to_hmr
    from test_dataset_converters import write_sequence
    data_root = tmp_path / 'data'
    os.makedirs(data_root / 'dataset_extras')
    write_fake_data(str(data_root))  # the training files the config also names
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'eft', 'eft_cliff_res50_mixed-256x192.py'))
    cfg = Config(replace_prefix(cfg.to_dict(), 'data/body_models/smpl', str(random_smpl_dir)))
    cfg = Config(replace_prefix(cfg.to_dict(), 'data/', str(data_root) + '/'))
    if source == '3dpw-converter':
        write_sequence(str(data_root / '3dpw' / 'sequenceFiles' / 'test'))
        threedpw_to_hmr.main([str(data_root / '3dpw'), '--out',
                              str(data_root / 'dataset_extras' / '3dpw_test.npz')])
        names = [f'imageFiles/courtyard_test_00/image_{k:05d}.jpg' for k in range(4)]
    else:
        names = [f'hd/{i}.jpg' for i in range(3)]
        kp2d = np.zeros((3, 190, 3))
        kp2d[:, 153:178] = np.concatenate([np.random.default_rng(0).uniform(
            20, 80, (3, 25, 2)), np.full((3, 25, 1), 0.8)], -1)  # the OpenPose joints
        path = str(data_root / 'dataset_extras' / 'human_data.npz')
        np.savez_compressed(
            path, image_path=np.array(names),
            bbox_xywh=np.array([[20., 10., 60., 80.]] * 3), keypoints2d=kp2d,
            keypoints2d_mask=np.ones(190),
            smpl=dict(global_orient=np.zeros((3, 3)), body_pose=np.zeros((3, 69)),
                      betas=np.zeros((3, 10))),
            meta=dict(gender=['m', 'f', 'm']))
        dataset = cfg.test_dataloader.dataset
        dataset.update(type='HumanDataDataset', ann_file=path)
    height, width = (1920, 1080) if source == '3dpw-converter' else (100, 100)  # 3DPW: portrait
    for name in names:
        image = data_root / '3dpw' / name
        image.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(image), np.full((height, width, 3), 90, np.uint8))
    metrics = shrunk_test_metrics(cfg, tmp_path, batch_size=4)
    for name in ('MPJPE', 'PA-MPJPE', 'PVE', 'MPJPE_init', 'tto_loss'):
        assert np.isfinite(metrics[f'3dpw/{name}']), (name, metrics)
