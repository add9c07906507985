import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.utils import import_modules_from_strings

from mmhmr.registry import MODELS

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
CONFIG = osp.join(ROOT, 'projects', 'example_project', 'configs',
                  'cliff_robust-3d_synthetic-64x64.py')


def test_robust_loss_hand_computed():
    import_modules_from_strings(['projects.example_project.models'])
    loss = MODELS.build(dict(type='RobustKeypoint3DLoss', sigma=1.0, pelvis_indices=(0, 1)))
    target = torch.tensor([[[1., 0., 0.], [-1., 0., 0.], [0., 0., 0.]]])
    pred = target.clone()
    pred[0, 2] = torch.tensor([0., 1., 0.])  # d = 1: rho = 1 / 2
    assert loss(pred, target, torch.ones(1, 3)).item() == pytest.approx(0.5 / 3)
    # far outliers saturate at 1 instead of growing quadratically
    pred[0, 2] = torch.tensor([0., 100., 0.])
    assert loss(pred, target, torch.ones(1, 3)).item() == pytest.approx(1 / 3, rel=1e-3)


def test_config_builds_a_model_with_the_project_loss():
    cfg = Config.fromfile(CONFIG)
    import_modules_from_strings(**cfg.custom_imports)
    init_default_scope(cfg.default_scope)
    head_cfg = cfg.model.head
    head_cfg.body_model = dict(type='ProceduralSMPL', joint_set='spin_49')
    head = MODELS.build(head_cfg)
    assert type(head.losses['keypoints_3d']).__name__ == 'RobustKeypoint3DLoss'
