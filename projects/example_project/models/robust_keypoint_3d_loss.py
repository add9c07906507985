"""A pelvis-aligned 3D joint loss with the Geman-McClure penaliser."""
from typing import Sequence

from torch import Tensor, nn

from mmhmr.registry import MODELS


@MODELS.register_module()
class RobustKeypoint3DLoss(nn.Module):
    """``rho(d) = d^2 / (d^2 + sigma^2)`` of each joint's distance ``d`` after aligning both
    skeletons' pelvis (the mid-point of two hips); confidence-weighted mean over joints.

    Args:
        sigma (float): scale of the penaliser, m. Defaults to 0.1.
        pelvis_indices (Sequence[int]): the two hips. Defaults to ``(27, 28)`` (49-joint set).
        loss_weight (float): Weight of the loss. Defaults to 1.
    """

    def __init__(self, sigma: float = 0.1, pelvis_indices: Sequence[int] = (27, 28),
                 loss_weight: float = 1.0):
        super().__init__()
        self.sigma = sigma
        self.pelvis_indices = list(pelvis_indices)
        self.loss_weight = loss_weight

    def forward(self, pred: Tensor, target: Tensor, visible: Tensor) -> Tensor:
        """
        Args:
            pred, target (Tensor): ``(B, K, 3)``.
            visible (Tensor): ``(B, K)``.
        """
        has_pelvis = (visible[:, self.pelvis_indices] > 0).all(dim=1, keepdim=True)
        pred = pred - pred[:, self.pelvis_indices].mean(dim=1, keepdim=True)
        target = target - target[:, self.pelvis_indices].mean(dim=1, keepdim=True)
        sq = ((pred - target) ** 2).sum(-1)
        rho = sq / (sq + self.sigma ** 2)
        return self.loss_weight * (rho * visible * has_pelvis).mean()
