"""Losses on SMPL parameters and on the mesh, for samples with ground-truth SMPL."""
from torch import Tensor, nn

from mmhmr.registry import MODELS


class _SMPLSampleLoss(nn.Module):
    """A per-sample error averaged over the samples with ``has_smpl`` (0, with a gradient path,
    when there are none).

    Args:
        loss_weight (float): Weight of the loss. Defaults to 1.
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    @staticmethod
    def per_sample(pred: Tensor, target: Tensor) -> Tensor:
        """``(B, ...)`` → ``(B,)``: mean squared error over all but the batch dimension."""
        return ((pred - target) ** 2).flatten(1).mean(dim=1)

    def forward(self, pred: Tensor, target: Tensor, has_smpl: Tensor) -> Tensor:
        """
        Args:
            pred, target (Tensor): ``(B, ...)``.
            has_smpl (Tensor): ``(B,)`` 0/1.
        """
        mask = has_smpl.to(pred.dtype)
        per_sample = self.per_sample(pred, target)
        return self.loss_weight * (per_sample * mask).sum() / mask.sum().clamp(min=1)


@MODELS.register_module()
class SMPLPoseLoss(_SMPLSampleLoss):
    """MSE between predicted and ground-truth joint rotation matrices ``(B, 24, 3, 3)``.

    Args:
        loss_weight (float): Weight of the loss. Defaults to 1.
    """


@MODELS.register_module()
class SMPLBetasLoss(_SMPLSampleLoss):
    """MSE between predicted and ground-truth shape coefficients ``(B, 10)``.

    Args:
        loss_weight (float): Weight of the loss. Defaults to 1.
    """


@MODELS.register_module()
class VertexLoss(_SMPLSampleLoss):
    """L1 distance between predicted and ground-truth vertices ``(B, V, 3)`` (body frame).

    Args:
        loss_weight (float): Weight of the loss. Defaults to 1.
    """

    @staticmethod
    def per_sample(pred: Tensor, target: Tensor) -> Tensor:
        """``(B, V, 3)`` → ``(B,)``: mean absolute error."""
        return (pred - target).abs().flatten(1).mean(dim=1)
