"""Dynamic matching and fixed-radius assignment on hand-built tables."""
import math

import pytest
import torch

from mmhmr.registry import TASK_UTILS


def build(cfg):
    from mmengine.registry import init_default_scope
    init_default_scope('mmhmr')
    return TASK_UTILS.build(cfg)


def test_minimum_cost_pixel_is_the_positive_and_invisible_keypoints_get_none():
    assigner = build(dict(type='DynamicMatchingAssigner'))
    cost = torch.tensor([[[3., 1., 2., 5.], [0.5, 4., 0.1, 2.], [1., 1., 0., 1.]]])
    visible = torch.tensor([[1., 1., 0.]])
    result = assigner.assign(None, None, None, visible, cost=cost)
    assert result.matched.tolist() == [[1, 2, -1]]
    assert result.num_pos.tolist() == [[1, 1, 0]]
    expected = torch.zeros(1, 4, 3, dtype=torch.bool)
    expected[0, 1, 0] = expected[0, 2, 1] = True
    assert torch.equal(result.pos_mask, expected)
    assert torch.equal(result.gt_inds, expected.long())


def test_costs_by_hand():
    assigner = build(dict(type='DynamicMatchingAssigner', costs=[
        dict(type='KeypointClassificationCost', weight=2.),
        dict(type='KeypointOffsetCost', weight=3.)]))
    scores = torch.tensor([[[0., 2.]]])  # one keypoint, two pixels
    preds = torch.tensor([[[[0.1, 0.2], [0.5, -0.1]]]])
    gt = torch.tensor([[[0.2, 0.]]])
    # pixel 0: 2 * log 2 + 3 * (0.1 + 0.2); pixel 1: 2 * log(1 + e^-2) + 3 * (0.3 + 0.1)
    c0 = 2 * math.log(2) + 0.9
    c1 = 2 * math.log(1 + math.exp(-2)) + 1.2
    costs = [c(scores, preds, gt) for c in assigner.costs]
    torch.testing.assert_close(sum(costs), torch.tensor([[[c0, c1]]]))
    result = assigner.assign(scores, preds, gt, torch.ones(1, 1))
    assert result.matched.item() == (0 if c0 < c1 else 1)
    focal = build(dict(type='KeypointClassificationCost', gamma=2.))
    s = torch.tensor([[[0.]]])
    assert focal(s, None, None).item() == pytest.approx(math.log(2) * 0.25)


def test_dynamic_k_from_the_summed_qualities():
    sigma = 0.1
    assigner = build(dict(type='DynamicMatchingAssigner', dynamic_k=True, candidate_topk=3,
                          sigma=sigma))
    # qualities 1, 0.9, 0.85, 0.1, 0.05 (distance^2 = -2 sigma^2 ln q): the top 3 sum to 2.75,
    # so k = 2: the two lowest-cost pixels (costs chosen in another order than qualities)
    q = torch.tensor([1., 0.9, 0.85, 0.1, 0.05])
    d = torch.sqrt(-2 * sigma ** 2 * torch.log(q))
    preds = torch.stack([d, torch.zeros(5)], -1)[None, None]  # (1, 1, 5, 2), gt at 0
    gt = torch.zeros(1, 1, 2)
    cost = torch.tensor([[[0.4, 0.3, 0.1, 0.2, 0.9]]])
    result = assigner.assign(None, preds, gt, torch.ones(1, 1), cost=cost)
    assert result.num_pos.item() == 2
    assert result.pos_mask[0, :, 0].tolist() == [False, False, True, True, False]
    assert result.matched.item() == 2
    # k is at least 1 when every quality is small
    far = assigner.assign(None, preds + 5., gt, torch.ones(1, 1), cost=cost)
    assert far.num_pos.item() == 1


def test_fixed_radius_takes_the_pixels_near_the_keypoint():
    assigner = build(dict(type='FixedRadiusAssigner', radius=1.))
    h = w = 3
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing='ij')
    centres = torch.stack([(xs + 0.5) / w * 2 - 1, (ys + 0.5) / h * 2 - 1], -1).reshape(-1, 2)
    gt = torch.tensor([[[0., 0.], [0.9, 0.9]]])  # the middle pixel's centre; a corner
    result = assigner.assign(None, None, gt, torch.tensor([[1., 0.]]), centres, (h, w))
    # the centre and its 4 neighbours are 0 or 1 pixel away; the diagonals sqrt(2)
    assert result.pos_mask[0, :, 0].tolist() == [False, True, False, True, True, True,
                                                 False, True, False]
    assert result.matched.tolist() == [[4, -1]] and result.num_pos.tolist() == [[5, 0]]
    tight = build(dict(type='FixedRadiusAssigner', radius=0.))
    gt = torch.tensor([[[0.1, -0.1]]])
    result = tight.assign(None, None, gt, torch.ones(1, 1), centres, (h, w))
    assert result.num_pos.item() == 1 and result.matched.item() == 4
