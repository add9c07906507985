"""Priors that need no ground truth: on the shape and on the camera (one loss per sample)."""
from typing import Tuple

import torch
from torch import Tensor

from mmhmr.registry import MODELS
from .per_sample_loss import PerSampleLoss


@MODELS.register_module()
class ShapePriorLoss(PerSampleLoss):
    """Keep shape coefficients near the mean shape: per sample ``mean(betas^2)``.

    Args:
        loss_weight (float): Weight of the loss. Defaults to 1.
    """

    def per_sample(self, betas: Tensor) -> Tuple[Tensor, Tensor]:
        """
        Args:
            betas (Tensor): ``(B, 10)``.

        Returns:
            tuple[Tensor, Tensor]: ``loss (B,)`` and ``valid (B,)`` (all True).
        """
        return (betas ** 2).mean(dim=1), betas.new_ones(betas.shape[0], dtype=torch.bool)


@MODELS.register_module()
class CameraPriorLoss(PerSampleLoss):
    """Keep the crop camera's scale positive: per sample ``exp(-10 s)^2`` (SPIN / the
    dual-network reference). A negative scale would put the body behind the camera.

    Args:
        loss_weight (float): Weight of the loss. Defaults to 1.
    """

    def per_sample(self, pred_cam: Tensor) -> Tuple[Tensor, Tensor]:
        """
        Args:
            pred_cam (Tensor): ``(B, 3)`` crop camera ``(s, tx, ty)``.

        Returns:
            tuple[Tensor, Tensor]: ``loss (B,)`` and ``valid (B,)`` (all True).
        """
        return (torch.exp(-10 * pred_cam[:, 0]) ** 2,
                pred_cam.new_ones(pred_cam.shape[0], dtype=torch.bool))
