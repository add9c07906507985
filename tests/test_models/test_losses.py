import math

import pytest
import torch

from mmhmr.registry import MODELS


def build(cfg):
    return MODELS.build(cfg)


def test_reprojection_loss_weights_and_mean():
    loss = build(dict(type='KeypointReprojectionLoss', loss_weight=2.0,
                      keypoint_weights=[0., 1., 1.]))
    pred = torch.zeros(1, 3, 2)
    target = torch.tensor([[[5., 5.], [1., 0.], [0., 2.]]])
    visible = torch.tensor([[1., 1., 0.5]])
    # joint 0 has keypoint weight 0; (1 * 1 + 0.5 * 4) / 6 elements = 0.5; x2
    assert loss(pred, target, visible).item() == pytest.approx(1.0)


def test_keypoint_3d_loss_is_pelvis_aligned():
    loss = build(dict(type='PelvisAlignedKeypoint3DLoss', pelvis_indices=(0, 1)))
    target = torch.tensor([[[1., 0., 0.], [-1., 0., 0.], [0., 1., 0.]]])
    visible = torch.ones(1, 3)
    # a translated copy has no loss
    assert loss(target + torch.tensor([3., -2., 7.]), target, visible).item() == pytest.approx(0.)
    # moving joint 2 by 0.3 in z: 0.09 / 9 elements
    pred = target.clone()
    pred[0, 2, 2] += 0.3
    assert loss(pred, target, visible).item() == pytest.approx(0.01)
    # without a visible hip, the pelvis is unknown: no loss
    assert loss(pred, target, torch.tensor([[1., 0., 1.]])).item() == 0


def test_smpl_losses_only_count_samples_with_smpl():
    has_smpl = torch.tensor([1., 0.])
    pose = build(dict(type='SMPLPoseLoss'))
    pred = torch.zeros(2, 24, 3, 3)
    target = torch.zeros(2, 24, 3, 3)
    target[0, 0, 0, 0] = 3.  # 9 / 216 for the first sample
    target[1] = 100.  # ignored
    assert pose(pred, target, has_smpl).item() == pytest.approx(9 / 216)
    betas = build(dict(type='SMPLBetasLoss', loss_weight=0.5))
    assert betas(torch.ones(2, 10), torch.zeros(2, 10), has_smpl).item() == pytest.approx(0.5)
    verts = build(dict(type='VertexLoss'))
    assert verts(torch.full((2, 4, 3), 2.), torch.zeros(2, 4, 3), has_smpl).item() == 2.
    # no sample with SMPL: zero, not NaN
    assert verts(torch.ones(2, 4, 3), torch.zeros(2, 4, 3), torch.zeros(2)).item() == 0


def test_priors():
    assert build(dict(type='ShapePriorLoss'))(torch.full((2, 10), 3.)).item() == 9.
    cam = torch.tensor([[0.1, 5., 5.], [0.2, 0., 0.]])
    expected = (math.exp(-2) + math.exp(-4)) / 2
    assert build(dict(type='CameraPriorLoss'))(cam).item() == pytest.approx(expected)
