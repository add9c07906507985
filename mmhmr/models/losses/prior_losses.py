"""Priors that need no ground truth: on the shape and on the camera."""
import torch
from torch import Tensor, nn

from mmhmr.registry import MODELS


@MODELS.register_module()
class ShapePriorLoss(nn.Module):
    """Keep shape coefficients near the mean shape: ``mean(betas^2)``.

    Args:
        loss_weight (float): Weight of the loss. Defaults to 1.
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, betas: Tensor) -> Tensor:
        """
        Args:
            betas (Tensor): ``(B, 10)``.
        """
        return self.loss_weight * (betas ** 2).mean()


@MODELS.register_module()
class CameraPriorLoss(nn.Module):
    """Keep the crop camera's scale positive: ``mean(exp(-10 s)^2)`` (SPIN / the dual-network
    reference). A negative scale would put the body behind the camera.

    Args:
        loss_weight (float): Weight of the loss. Defaults to 1.
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, pred_cam: Tensor) -> Tensor:
        """
        Args:
            pred_cam (Tensor): ``(B, 3)`` crop camera ``(s, tx, ty)``.
        """
        return self.loss_weight * (torch.exp(-10 * pred_cam[:, 0]) ** 2).mean()
