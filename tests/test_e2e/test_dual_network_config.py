"""The dual-network synthetic config trains and tests through mmengine's Runner (shrunk: a
narrower backbone, a handful of samples, one epoch), with TTO on f_u's pseudo ground truth."""
import os.path as osp

import numpy as np
import torch
from mmengine.config import Config
from mmengine.runner import Runner

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))


def test_meta_config_trains_and_tests_with_tto(tmp_path, procedural_body_dir):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'meta_hmr',
                                   'meta_cliff_res18-tiny_synthetic-64x64.py'))
    assert cfg.model.type == 'DualNetworkHMR' and cfg.model.main.head.type == 'CLIFFHead'
    cfg.model.main.backbone.update(base_channels=8, stem_channels=8)
    cfg.model.main.head.update(in_channels=64, hidden_dims=(32, 32),
                               body_model=dict(type='ProceduralSMPL',
                                               model_path=procedural_body_dir,
                                               joint_set='spin_49'))
    assert cfg.val_dataloader is None  # tested after training, not validated
    pipeline = cfg.test_dataloader.dataset.pipeline
    assert any(t.type == 'SimulateKeypointDetections' for t in pipeline)
    assert cfg.test_dataloader.dataset.domain.preset == 'moderate'
    for loader, num in ((cfg.train_dataloader, 8), (cfg.test_dataloader, 4)):
        loader.update(batch_size=4, num_workers=0, persistent_workers=False)
        loader.dataset.update(num_samples=num, cache_dir=None,
                              domain=dict(image_size=(96, 96)))
        loader.dataset.body_model = dict(model_path=procedural_body_dir)
    cfg.test_evaluator.body_model.model_path = procedural_body_dir
    # the reference's schedule, shortened: the inner step, then 2 Adam steps on all parameters
    assert cfg.model.test_cfg == dict(reference_tto=dict(record_steps=True, chunk_size=32))
    cfg.model.test_cfg.reference_tto.steps = 2
    assert cfg.custom_hooks[0].type == 'MetaLearningHook'
    cfg.custom_hooks = [dict(type='MetaLearningHook', warmup_iters=1)]  # 1 plain, 1 meta step
    cfg.train_cfg.update(max_epochs=1)
    cfg.param_scheduler = []
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    runner.train()
    scalars = runner.message_hub.log_scalars
    assert scalars['train/meta_enabled'].current() == 1.
    assert 'train/meta_gain' in scalars and 'train/inner_objective_after' in scalars
    metrics = runner.test()
    for key in ('3dpw/MPJPE', '3dpw/MPJPE_init', '3dpw/tto_loss', '3dpw/MPJPE@3'):
        assert np.isfinite(metrics[key]), key
    state = torch.load(osp.join(cfg.work_dir, 'epoch_1.pth'), weights_only=True)['state_dict']
    assert any(k.startswith('main.head.') for k in state)
    assert any(k.startswith('aux.head.') for k in state)
