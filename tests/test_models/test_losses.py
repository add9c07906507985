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
    # joint 0 has keypoint weight 0 (unlabelled): (1 * 1 + 0.5 * 4) / (2 joints * 2) = 0.75; x2
    assert loss(pred, target, visible).item() == pytest.approx(1.5)


def test_keypoint_losses_do_not_depend_on_the_batch():
    """A sample's loss is its own: averaged over its labelled joints only (not over the 25
    OpenPose rows without 3D, nor over the batch), and samples without labels neither count
    nor shrink the others'."""
    loss_3d = build(dict(type='PelvisAlignedKeypoint3DLoss', loss_weight=5.0))
    g = torch.Generator().manual_seed(0)
    pred, target = torch.randn(4, 49, 3, generator=g), torch.randn(4, 49, 3, generator=g)
    visible = torch.zeros(4, 49)
    visible[:, 25:] = 1.  # SPIN's 24 joints have 3D, the OpenPose 25 never do
    visible[1:] = 0.  # samples 1-3 have no 3D
    # by hand: pelvis-aligned squared error of sample 0 over its 24 joints and 3 coordinates
    p = pred[0, 25:] - pred[0, [27, 28]].mean(0)
    t = target[0, 25:] - target[0, [27, 28]].mean(0)
    expected = 5.0 * ((p - t) ** 2).mean().item()
    assert loss_3d(pred, target, visible).item() == pytest.approx(expected, rel=1e-5)
    assert loss_3d(pred[:1], target[:1], visible[:1]).item() == pytest.approx(expected, rel=1e-5)
    per_sample = loss_3d(pred, target, visible, reduction='none')
    torch.testing.assert_close(per_sample, torch.tensor([expected, 0., 0., 0.]))

    loss_2d = build(dict(type='KeypointReprojectionLoss'))
    visible_2d = torch.ones(3, 49)
    visible_2d[1, 10:] = 0.  # sample 1 labels 10 joints
    pred_2d, target_2d = torch.randn(3, 49, 2, generator=g), torch.randn(3, 49, 2, generator=g)
    alone = [loss_2d(pred_2d[i:i + 1], target_2d[i:i + 1], visible_2d[i:i + 1]).item()
             for i in range(3)]
    assert alone[1] == pytest.approx(((pred_2d[1, :10] - target_2d[1, :10]) ** 2).mean().item(),
                                     rel=1e-5)
    assert loss_2d(pred_2d, target_2d, visible_2d).item() == pytest.approx(
        sum(alone) / 3, rel=1e-5)
    with pytest.raises(ValueError, match='reduction'):
        loss_2d(pred_2d, target_2d, visible_2d, reduction='sum')


def test_unlabelled_values_never_reach_the_loss_or_its_gradient():
    """A huge or NaN target in a joint (or sample) without a label gives a finite loss and
    gradient: masked values are replaced, not multiplied by 0 (0 * inf = NaN)."""
    for cfg in (dict(type='PelvisAlignedKeypoint3DLoss', pelvis_indices=(0, 1)),
                dict(type='KeypointReprojectionLoss')):
        loss = build(cfg)
        dim = 3 if 'Pelvis' in cfg['type'] else 2
        pred = torch.zeros(2, 4, dim, requires_grad=True)
        target = torch.ones(2, 4, dim)
        target[0, 3] = float('inf')
        target[1] = float('nan')
        visible = torch.tensor([[1., 1., 1., 0.], [0., 0., 0., 0.]])
        value = loss(pred, target, visible)
        value.backward()
        assert torch.isfinite(value) and torch.isfinite(pred.grad).all(), cfg['type']
        assert value.item() == pytest.approx(0. if dim == 3 else 1.)  # pelvis-aligned: 0


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
    # per sample: sample 0's own loss, 0 for the one without SMPL
    torch.testing.assert_close(pose(pred, target, has_smpl, reduction='none'),
                               torch.tensor([9 / 216, 0.]))


def test_priors():
    assert build(dict(type='ShapePriorLoss'))(torch.full((2, 10), 3.)).item() == 9.
    cam = torch.tensor([[0.1, 5., 5.], [0.2, 0., 0.]])
    expected = (math.exp(-2) + math.exp(-4)) / 2
    assert build(dict(type='CameraPriorLoss'))(cam).item() == pytest.approx(expected)
