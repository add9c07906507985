"""Losses on SMPL parameters and on the mesh, for samples with ground-truth SMPL."""
from typing import Tuple

from torch import Tensor

from mmhmr.registry import MODELS
from .per_sample_loss import PerSampleLoss, mask_samples


class _SMPLSampleLoss(PerSampleLoss):
    """A per-sample error averaged over the samples with ``has_smpl`` (0, with a gradient path,
    when there are none).

    Args:
        loss_weight (float): Weight of the loss. Defaults to 1.
    """

    @staticmethod
    def error(diff: Tensor) -> Tensor:
        """``pred - target (B, ...)`` → ``(B,)``: mean squared error over all but the batch."""
        return (diff ** 2).flatten(1).mean(dim=1)

    def per_sample(self, pred: Tensor, target: Tensor,
                   has_smpl: Tensor) -> Tuple[Tensor, Tensor]:
        """
        Args:
            pred, target (Tensor): ``(B, ...)``.
            has_smpl (Tensor): ``(B,)`` 0/1.

        Returns:
            tuple[Tensor, Tensor]: ``loss (B,)`` and ``valid (B,)`` (``has_smpl > 0``).
        """
        valid = has_smpl.reshape(-1) > 0
        return self.error(mask_samples(pred - target, valid)), valid


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
    def error(diff: Tensor) -> Tensor:
        """``(B, V, 3)`` → ``(B,)``: mean absolute error."""
        return diff.abs().flatten(1).mean(dim=1)
