"""Dynamic matching (the global-to-pixel write-up): each ground-truth keypoint's positive is
the pixel of minimum matching cost C = λ_cls L_cls + λ_kpt L_kpt."""
from typing import Optional, Sequence

import torch
from torch import Tensor

from mmhmr.registry import TASK_UTILS
from ..match_costs import total_cost
from .keypoint_assign_result import KeypointAssignResult


@TASK_UTILS.register_module()
class DynamicMatchingAssigner:
    """Assign to every visible ground-truth keypoint its lowest-cost pixels.

    ``topk=1`` (the write-up's rule): the one pixel of minimum cost. ``dynamic_k=True``: as
    SimOTA / mmdet's ``DynamicSoftLabelAssigner``, k is the sum of the ``candidate_topk`` best
    qualities (``exp(-||pred - gt||^2 / (2 sigma^2))`` of the pixels' predicted keypoints),
    floored, at least 1, and the k lowest-cost pixels are positives. Invisible keypoints get
    none. Costs are computed without gradient.

    Args:
        costs (Sequence[dict]): the cost terms (``KeypointClassificationCost``,
            ``KeypointOffsetCost``), summed.
        topk (int): positives per keypoint without ``dynamic_k``. Defaults to 1.
        dynamic_k (bool): choose k per keypoint from the qualities. Defaults to False.
        candidate_topk (int): qualities summed for dynamic k. Defaults to 10.
        sigma (float): the quality's scale, crop-normalised units. Defaults to 0.05.
    """

    def __init__(self,
                 costs: Sequence[dict] = (dict(type='KeypointClassificationCost', weight=1.),
                                          dict(type='KeypointOffsetCost', weight=5.)),
                 topk: int = 1,
                 dynamic_k: bool = False,
                 candidate_topk: int = 10,
                 sigma: float = 0.05):
        if topk < 1 or candidate_topk < 1:
            raise ValueError(f'topk and candidate_topk must be >= 1, got {topk}, '
                             f'{candidate_topk}')
        self.costs = [TASK_UTILS.build(c) if isinstance(c, dict) else c for c in costs]
        if not self.costs:
            raise ValueError('DynamicMatchingAssigner needs at least one cost term')
        self.topk, self.dynamic_k = topk, dynamic_k
        self.candidate_topk, self.sigma = candidate_topk, sigma

    @torch.no_grad()
    def assign(self, scores: Tensor, pred_keypoints: Tensor, gt_keypoints: Tensor,
               visible: Tensor, cost: Optional[Tensor] = None, centres: Optional[Tensor] = None,
               map_size=None) -> KeypointAssignResult:
        """
        Args:
            scores (Tensor): ``(B, K, N)`` classification logits of the ``N`` pixels.
            pred_keypoints (Tensor): ``(B, K, N, 2)`` the keypoint each pixel predicts
                (its centre + its offset), crop-normalised.
            gt_keypoints (Tensor): ``(B, K, 2)`` crop-normalised.
            visible (Tensor): ``(B, K)`` bool (or weights > 0).
            cost (Tensor, optional): ``(B, K, N)`` a precomputed cost table (tests, or costs
                computed elsewhere); None computes it from ``costs``.
            centres, map_size: unused (the interface of ``FixedRadiusAssigner``).

        Returns:
            KeypointAssignResult: positives ``(B, N, K)`` and the matched pixel per keypoint.
        """
        if cost is None:
            cost = total_cost(self.costs, scores, pred_keypoints, gt_keypoints)
        batch, keypoints, pixels = cost.shape
        visible = visible > 0
        if self.dynamic_k:
            d2 = ((pred_keypoints - gt_keypoints[:, :, None]) ** 2).sum(-1)
            quality = torch.exp(-d2 / (2 * self.sigma ** 2))
            best = quality.topk(min(self.candidate_topk, pixels), dim=-1).values.sum(-1)
            k = best.floor().long().clamp(1, pixels)
        else:
            k = torch.full((batch, keypoints), min(self.topk, pixels), dtype=torch.long,
                           device=cost.device)
        # the k_max cheapest pixels, ascending cost (a partial sort: k_max << N); k_max is
        # known without reading k (no device sync)
        k_max = min(self.candidate_topk if self.dynamic_k else self.topk, pixels)
        order = cost.topk(k_max, dim=-1, largest=False).indices  # (B, K, k_max)
        take = torch.arange(order.shape[-1], device=cost.device) < k[..., None]
        pos = torch.zeros_like(cost, dtype=torch.bool).scatter_(
            -1, order, take & visible[..., None])  # (B, K, N)
        matched = torch.where(visible, order[..., 0], torch.full_like(order[..., 0], -1))
        return KeypointAssignResult(pos_mask=pos.transpose(1, 2), matched=matched,
                                    num_pos=pos.sum(-1))
