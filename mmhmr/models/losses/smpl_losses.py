"""Losses on SMPL parameters and on the mesh, for samples with ground-truth SMPL."""
import torch
from torch import Tensor, nn

from mmhmr.registry import MODELS


def _masked_mean(per_sample: Tensor, has_smpl: Tensor) -> Tensor:
    """Mean over the samples with ``has_smpl``; 0 (with a gradient path) when there are none.

    Args:
        per_sample (Tensor): ``(B,)`` per-sample losses.
        has_smpl (Tensor): ``(B,)`` 0/1.
    """
    mask = has_smpl.to(per_sample.dtype)
    return (per_sample * mask).sum() / mask.sum().clamp(min=1)


@MODELS.register_module()
class SMPLPoseLoss(nn.Module):
    """MSE between predicted and ground-truth joint rotation matrices.

    Args:
        loss_weight (float): Weight of the loss. Defaults to 1.
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, pred: Tensor, target: Tensor, has_smpl: Tensor) -> Tensor:
        """
        Args:
            pred (Tensor): ``(B, 24, 3, 3)`` rotation matrices.
            target (Tensor): ``(B, 24, 3, 3)`` rotation matrices.
            has_smpl (Tensor): ``(B,)``.
        """
        per_sample = ((pred - target) ** 2).flatten(1).mean(dim=1)
        return self.loss_weight * _masked_mean(per_sample, has_smpl)


@MODELS.register_module()
class SMPLBetasLoss(nn.Module):
    """MSE between predicted and ground-truth shape coefficients.

    Args:
        loss_weight (float): Weight of the loss. Defaults to 1.
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, pred: Tensor, target: Tensor, has_smpl: Tensor) -> Tensor:
        """
        Args:
            pred, target (Tensor): ``(B, 10)``.
            has_smpl (Tensor): ``(B,)``.
        """
        per_sample = ((pred - target) ** 2).mean(dim=1)
        return self.loss_weight * _masked_mean(per_sample, has_smpl)


@MODELS.register_module()
class VertexLoss(nn.Module):
    """L1 distance between predicted and ground-truth vertices (body frame).

    Args:
        loss_weight (float): Weight of the loss. Defaults to 1.
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, pred: Tensor, target: Tensor, has_smpl: Tensor) -> Tensor:
        """
        Args:
            pred, target (Tensor): ``(B, V, 3)``.
            has_smpl (Tensor): ``(B,)``.
        """
        per_sample = (pred - target).abs().flatten(1).mean(dim=1)
        return self.loss_weight * _masked_mean(per_sample, has_smpl)
