"""A pelvis-aligned 3D joint loss with the Geman-McClure penaliser."""
from typing import Sequence, Tuple

import torch
from torch import Tensor

from mmhmr.models.losses.per_sample_loss import PerSampleLoss
from mmhmr.registry import MODELS


@MODELS.register_module()
class RobustKeypoint3DLoss(PerSampleLoss):
    """``rho(d) = d^2 / (d^2 + sigma^2)`` of each joint's distance ``d`` after aligning both
    skeletons' pelvis (the mid-point of two hips); per sample, the confidence-weighted mean over
    its labelled joints (mmhmr's :class:`PerSampleLoss` averages the samples with a pelvis).

    Args:
        sigma (float): scale of the penaliser, m. Defaults to 0.1.
        pelvis_indices (Sequence[int]): the two hips. Defaults to ``(27, 28)`` (49-joint set).
        loss_weight (float): Weight of the loss. Defaults to 1.
    """

    def __init__(self, sigma: float = 0.1, pelvis_indices: Sequence[int] = (27, 28),
                 loss_weight: float = 1.0):
        super().__init__(loss_weight)
        self.sigma = sigma
        self.pelvis_indices = list(pelvis_indices)

    def per_sample(self, pred: Tensor, target: Tensor, visible: Tensor) -> Tuple[Tensor, Tensor]:
        """
        Args:
            pred, target (Tensor): ``(B, K, 3)``.
            visible (Tensor): ``(B, K)``.

        Returns:
            tuple[Tensor, Tensor]: ``loss (B,)`` and ``valid (B,)``.
        """
        has_pelvis = (visible[:, self.pelvis_indices] > 0).all(dim=1, keepdim=True)
        labelled = (visible > 0) & has_pelvis
        pred = pred - pred[:, self.pelvis_indices].mean(dim=1, keepdim=True)
        target = target - target[:, self.pelvis_indices].mean(dim=1, keepdim=True)
        diff = torch.where(labelled[..., None], pred - target, pred.new_zeros(()))
        sq = (diff ** 2).sum(-1)
        rho = sq / (sq + self.sigma ** 2) * visible
        count = labelled.sum(1)
        return rho.sum(1) / count.clamp(min=1), count > 0
