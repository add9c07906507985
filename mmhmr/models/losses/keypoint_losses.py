"""Keypoint losses: 2D reprojection and pelvis-aligned 3D joints."""
from typing import Optional, Sequence

import torch
from torch import Tensor, nn

from mmhmr.registry import MODELS


def _weighted_mse(pred: Tensor, target: Tensor, weight: Tensor) -> Tensor:
    """Mean over all elements of ``weight * (pred - target)^2`` (SPIN's convention: masked
    elements count in the denominator, so a batch with few labels gives a small loss).

    Args:
        pred, target (Tensor): ``(B, K, D)``.
        weight (Tensor): ``(B, K)``.
    """
    return (weight[..., None] * (pred - target) ** 2).mean()


@MODELS.register_module()
class KeypointReprojectionLoss(nn.Module):
    """2D keypoint loss of joints projected with the full-image perspective camera.

    Both prediction and target are in box-normalised coordinates ``(x - c) / (b / 2)``, so the
    loss does not depend on the image resolution.

    Args:
        loss_weight (float): Weight of the loss. Defaults to 1.
        keypoint_weights (Sequence[float], optional): ``(K,)`` per-joint weights, e.g. 0 for the 25
            OpenPose joints and 1 for the 24 ground-truth joints as SPIN trains. Defaults to None.
    """

    def __init__(self, loss_weight: float = 1.0,
                 keypoint_weights: Optional[Sequence[float]] = None):
        super().__init__()
        self.loss_weight = loss_weight
        self.register_buffer(
            'keypoint_weights',
            None if keypoint_weights is None else torch.tensor(keypoint_weights).float(),
            persistent=False)

    def forward(self, pred: Tensor, target: Tensor, visible: Tensor) -> Tensor:
        """
        Args:
            pred (Tensor): ``(B, K, 2)`` projected keypoints, box-normalised.
            target (Tensor): ``(B, K, 2)`` ground truth, box-normalised.
            visible (Tensor): ``(B, K)`` confidence of the ground truth.

        Returns:
            Tensor: the scalar loss.
        """
        weight = visible
        if self.keypoint_weights is not None:
            weight = weight * self.keypoint_weights
        return self.loss_weight * _weighted_mse(pred, target, weight)


@MODELS.register_module()
class PelvisAlignedKeypoint3DLoss(nn.Module):
    """3D joint loss after moving both skeletons' pelvis to the origin.

    The pelvis is the mid-point of two hip joints, in prediction and target alike. Samples whose
    target lacks either hip get no loss (their pelvis is unknown).

    Args:
        pelvis_indices (Sequence[int]): the two hip joints. Defaults to ``(27, 28)``: right and
            left hip of SPIN's 24 ground-truth joints inside the 49-joint set.
        loss_weight (float): Weight of the loss. Defaults to 1.
    """

    def __init__(self, pelvis_indices: Sequence[int] = (27, 28), loss_weight: float = 1.0):
        super().__init__()
        self.pelvis_indices = list(pelvis_indices)
        self.loss_weight = loss_weight

    def forward(self, pred: Tensor, target: Tensor, visible: Tensor) -> Tensor:
        """
        Args:
            pred (Tensor): ``(B, K, 3)`` predicted joints (any frame).
            target (Tensor): ``(B, K, 3)`` ground-truth joints.
            visible (Tensor): ``(B, K)`` confidence of the ground truth.

        Returns:
            Tensor: the scalar loss.
        """
        has_pelvis = (visible[:, self.pelvis_indices] > 0).all(dim=1, keepdim=True)
        pred = pred - pred[:, self.pelvis_indices].mean(dim=1, keepdim=True)
        target = target - target[:, self.pelvis_indices].mean(dim=1, keepdim=True)
        return self.loss_weight * _weighted_mse(pred, target, visible * has_pelvis)
