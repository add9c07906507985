"""Keypoint losses: 2D reprojection and pelvis-aligned 3D joints, one loss per sample."""
from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor

from mmhmr.registry import MODELS
from .per_sample_loss import PerSampleLoss


def masked_keypoint_mse(pred: Tensor,
                        target: Tensor,
                        weight: Tensor,
                        robust_sigma: Optional[float] = None) -> Tuple[Tensor, Tensor]:
    """Each sample's weighted squared error, averaged over its own labelled joints.

    ``loss_i = sum_k w_ik |p_ik - t_ik|^2 / (D n_i)`` with ``n_i`` the number of joints with
    ``w_ik > 0`` (a mean over the labelled joints and the ``D`` coordinates). Unlabelled joints
    contribute exact zeros, whatever their values hold.

    This differs from SPIN's / CLIFF's normalisation, ``sum_i sum_k w_ik |.|^2 / (B K D)`` over
    the whole batch (the 3D loss over the samples with 3D and SPIN's 24 joints): there the
    unlabelled joints count in the denominator, so a loss weight ``lambda`` there corresponds to
    ``lambda * n / K`` here on data with ``n`` labelled joints of ``K`` per sample.

    With ``robust_sigma`` each joint's squared distance ``d^2`` is replaced by SMPLify's
    Geman-McClure ``sigma^2 d^2 / (sigma^2 + d^2)``, which tends to ``d^2`` for small errors and to
    ``sigma^2`` for outliers.

    Args:
        pred, target (Tensor): ``(B, K, D)``.
        weight (Tensor): ``(B, K)`` confidences; 0 = unlabelled.
        robust_sigma (float, optional): Geman-McClure scale, in the units of the keypoints.

    Returns:
        tuple[Tensor, Tensor]: ``loss (B,)`` and ``valid (B,)`` (at least one labelled joint).
    """
    labelled = weight > 0
    diff = torch.where(labelled[..., None], pred - target, pred.new_zeros(()))
    dist2 = (diff ** 2).sum(-1)
    if robust_sigma is not None:
        dist2 = robust_sigma ** 2 * dist2 / (robust_sigma ** 2 + dist2)
    squared = dist2 / pred.shape[-1] * torch.where(labelled, weight, weight.new_zeros(()))
    count = labelled.sum(1)
    return squared.sum(1) / count.clamp(min=1), count > 0


@MODELS.register_module()
class KeypointReprojectionLoss(PerSampleLoss):
    """2D keypoint loss of joints projected with the full-image perspective camera.

    Both prediction and target are in box-normalised coordinates ``(x - c) / (b / 2)``, so the
    loss does not depend on the image resolution. Per sample: the confidence-weighted squared
    error averaged over the sample's labelled joints (:func:`masked_keypoint_mse`, which also
    says how the weight relates to SPIN's); the batch loss is the mean over samples with at
    least one labelled joint.

    Args:
        loss_weight (float): Weight of the loss. Defaults to 1.
        keypoint_weights (Sequence[float], optional): ``(K,)`` per-joint weights, e.g. 0 for the 25
            OpenPose joints and 1 for the 24 ground-truth joints as SPIN trains. A joint of
            weight 0 is unlabelled. Defaults to None.
        robust_sigma (float, optional): Geman-McClure scale in box-normalised units (0.1 is 5 %
            of the box side), for noisy targets such as detections. Defaults to None (squared
            error).
    """

    def __init__(self, loss_weight: float = 1.0,
                 keypoint_weights: Optional[Sequence[float]] = None,
                 robust_sigma: Optional[float] = None):
        super().__init__(loss_weight)
        if robust_sigma is not None and not robust_sigma > 0:
            raise ValueError(f'robust_sigma must be > 0 or None, got {robust_sigma}')
        self.robust_sigma = robust_sigma
        self.register_buffer(
            'keypoint_weights',
            None if keypoint_weights is None else torch.tensor(keypoint_weights).float(),
            persistent=False)

    def per_sample(self, pred: Tensor, target: Tensor, visible: Tensor) -> Tuple[Tensor, Tensor]:
        """
        Args:
            pred (Tensor): ``(B, K, 2)`` projected keypoints, box-normalised.
            target (Tensor): ``(B, K, 2)`` ground truth, box-normalised.
            visible (Tensor): ``(B, K)`` confidence of the ground truth.

        Returns:
            tuple[Tensor, Tensor]: ``loss (B,)`` and ``valid (B,)``.
        """
        weight = visible
        if self.keypoint_weights is not None:
            weight = weight * self.keypoint_weights
        return masked_keypoint_mse(pred, target, weight, self.robust_sigma)


@MODELS.register_module()
class PelvisAlignedKeypoint3DLoss(PerSampleLoss):
    """3D joint loss after moving both skeletons' pelvis to the origin.

    The pelvis is the mid-point of two hip joints, in prediction and target alike. Samples whose
    target lacks either hip get no loss (their pelvis is unknown). Per sample: the
    confidence-weighted squared error averaged over the sample's labelled joints
    (:func:`masked_keypoint_mse`); the batch loss is the mean over samples with a pelvis.

    Args:
        pelvis_indices (Sequence[int]): the two hip joints. Defaults to ``(27, 28)``: right and
            left hip of SPIN's 24 ground-truth joints inside the 49-joint set.
        loss_weight (float): Weight of the loss. Defaults to 1.
    """

    def __init__(self, pelvis_indices: Sequence[int] = (27, 28), loss_weight: float = 1.0):
        super().__init__(loss_weight)
        self.pelvis_indices = list(pelvis_indices)

    def per_sample(self, pred: Tensor, target: Tensor, visible: Tensor) -> Tuple[Tensor, Tensor]:
        """
        Args:
            pred (Tensor): ``(B, K, 3)`` predicted joints (any frame).
            target (Tensor): ``(B, K, 3)`` ground-truth joints.
            visible (Tensor): ``(B, K)`` confidence of the ground truth.

        Returns:
            tuple[Tensor, Tensor]: ``loss (B,)`` and ``valid (B,)``.
        """
        has_pelvis = (visible[:, self.pelvis_indices] > 0).all(dim=1, keepdim=True)
        weight = torch.where(has_pelvis, visible, visible.new_zeros(()))
        # a sample without a pelvis has weight 0 everywhere: its (unknown) target never enters
        target = torch.where(has_pelvis[..., None], target, target.new_zeros(()))
        pred = pred - pred[:, self.pelvis_indices].mean(dim=1, keepdim=True)
        target = target - target[:, self.pelvis_indices].mean(dim=1, keepdim=True)
        return masked_keypoint_mse(pred, target, weight)
