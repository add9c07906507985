"""The global-to-pixel synthetic configs train and test through mmengine's Runner (shrunk: a
narrower backbone, a handful of samples, one epoch), alone and inside the dual network."""
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.runner import Runner

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))


def shrink(cfg, body_dir, model, tmp_path):
    model.backbone.update(base_channels=8, stem_channels=8)
    model.head.update(in_channels=64, hidden_dims=(32, ),
                      body_model=dict(type='ProceduralSMPL', model_path=body_dir,
                                      joint_set='spin_49'))
    model.head.encoder.update(in_channels=[8, 16, 32, 64], embed_dims=16)
    model.head.dense.update(in_channels=8, feat_channels=8)
    for loader, num in ((cfg.train_dataloader, 8), (cfg.test_dataloader, 4)):
        loader.update(batch_size=4, num_workers=0, persistent_workers=False)
        loader.dataset.update(num_samples=num, cache_dir=None, domain=dict(image_size=(96, 96)))
        loader.dataset.body_model = dict(model_path=body_dir)
    cfg.test_evaluator.body_model.model_path = body_dir
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1)
    cfg.param_scheduler = []
    cfg.work_dir = str(tmp_path / 'work')


@pytest.mark.parametrize('config', ['g2p_res18-tiny_synthetic-64x64.py',
                                    'eft-g2p_res18-tiny_synthetic-moderate-64x64.py',
                                    'meta-g2p-2nd_res18-tiny_synthetic-64x64.py'])
def test_g2p_config_trains_and_tests(config, tmp_path, procedural_body_dir):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'g2p', config))
    dual = cfg.model.type == 'DualNetworkHMR'
    eft = not dual and cfg.model.test_cfg.get('tto') is not None
    shrink(cfg, procedural_body_dir, cfg.model.main if dual else cfg.model, tmp_path)
    if dual:
        cfg.custom_hooks = [dict(type='MetaLearningHook', warmup_iters=1)]
        cfg.model.test_cfg.reference_tto.steps = 1
    if eft:  # the G2P head under EFT's TTO, on simulated detections
        assert cfg.model.head.type == 'GlobalToPixelHead'
        cfg.model.test_cfg.tto.steps = 1
    runner = Runner.from_cfg(cfg)
    runner.train()
    if dual:
        assert runner.message_hub.log_scalars['train/meta_enabled'].current() == 1.
    metrics = runner.test()
    assert np.isfinite(metrics['3dpw/MPJPE'])
    if dual or eft:
        assert np.isfinite(metrics['3dpw/MPJPE_init'])


def test_hrnet_g2p_config_feeds_every_branch_to_the_encoder():
    import torch
    from mmengine.registry import init_default_scope
    from mmhmr.registry import MODELS
    init_default_scope('mmhmr')
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'g2p', 'g2p_hrnet-w48_mixed-256x192.py'))
    assert cfg.model.get('neck') is None
    cfg.model.backbone.init_cfg = None
    backbone = MODELS.build(cfg.model.backbone)
    backbone.eval()
    with torch.no_grad():
        feats = backbone(torch.zeros(1, 3, 128, 96))
    assert [f.shape[1] for f in feats] == cfg.model.head.encoder.in_channels
    assert feats[-1].shape[1] == cfg.model.head.in_channels
    assert feats[cfg.model.head.dense.level].shape[1] == cfg.model.head.dense.in_channels
