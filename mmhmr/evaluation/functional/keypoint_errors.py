"""Per-sample keypoint and vertex errors: MPJPE, PA-MPJPE, PVE.

All functions return one error per sample (float64, in the unit of the input) so that a metric
can store small per-sample values and average them over the whole dataset at the end. A sample
without any visible point gets NaN.
"""
from typing import Optional

import torch
from torch import Tensor

from .procrustes import chunk_slices, fit_similarity_transform


def mpjpe(pred: Tensor, gt: Tensor, mask: Optional[Tensor] = None) -> Tensor:
    """Mean per-joint position error: mean Euclidean distance over the visible points.

    Works for 3D joints as well as 2D keypoints (any last dimension). No alignment is done here:
    align the roots (pelvis) before calling it, as the MPJPE protocols do.

    Args:
        pred (Tensor): Predicted points, shape (B, J, D).
        gt (Tensor): Ground-truth points, shape (B, J, D).
        mask (Tensor, optional): Visibility, shape (B, J), bool or float (> 0 means visible).
            Defaults to None (all visible).

    Returns:
        Tensor: Per-sample error (B,), float64; NaN for a sample with no visible point.
    """
    if pred.shape != gt.shape or pred.ndim != 3:
        raise ValueError(f'mpjpe: expected pred and gt of the same shape (B, J, D), got pred '
                         f'{tuple(pred.shape)} and gt {tuple(gt.shape)}')
    # the difference of float32 inputs is (nearly) exact in float32; the norm and the mean are
    # taken in float64
    dist = torch.linalg.vector_norm(pred - gt, dim=-1, dtype=torch.float64)
    return _masked_mean(dist, mask)


def pa_mpjpe(pred: Tensor, gt: Tensor, mask: Optional[Tensor] = None) -> Tensor:
    """Procrustes-aligned MPJPE: MPJPE after the best similarity transform of each sample.

    Scale, proper rotation and translation are fitted on the visible joints
    (:func:`~mmhmr.evaluation.functional.similarity_procrustes`), then the mean distance over the
    visible joints is taken.

    Args:
        pred (Tensor): Predicted joints, shape (B, J, 3).
        gt (Tensor): Ground-truth joints, shape (B, J, 3).
        mask (Tensor, optional): Visibility (B, J). Defaults to None (all visible).

    Returns:
        Tensor: Per-sample error (B,), float64; NaN for a sample with no visible joint.
    """
    errors = []
    for chunk in chunk_slices(pred.shape[0]):
        chunk_mask = None if mask is None else mask[chunk]
        fit = fit_similarity_transform(pred[chunk], gt[chunk], chunk_mask)
        # aligned - gt = (s R xc + mean_gt) - (yc + mean_gt)
        diff = torch.baddbmm(fit.gt_centred, fit.pred_centred, fit.scaled_rotation_t, beta=-1)
        errors.append(_masked_mean(torch.linalg.vector_norm(diff, dim=-1), chunk_mask))
    return torch.cat(errors)


def pve(pred_vertices: Tensor, gt_vertices: Tensor) -> Tensor:
    """Per-vertex error: mean Euclidean distance over all vertices (align the roots first).

    Args:
        pred_vertices (Tensor): Predicted vertices, shape (B, V, 3).
        gt_vertices (Tensor): Ground-truth vertices, shape (B, V, 3).

    Returns:
        Tensor: Per-sample error (B,), float64.
    """
    return mpjpe(pred_vertices, gt_vertices)


def _masked_mean(values: Tensor, mask: Optional[Tensor]) -> Tensor:
    """Mean over dim 1 of (B, J) values where ``mask > 0``; NaN where nothing is visible."""
    if mask is None:
        return values.mean(1)
    if tuple(mask.shape) != tuple(values.shape):
        raise ValueError(f'expected a mask of shape {tuple(values.shape)} (B, J), '
                         f'got {tuple(mask.shape)}')
    visible = (mask > 0).to(values.device)
    # where(): invisible entries may hold NaN; 0 / 0 -> NaN marks samples with nothing visible
    total = torch.where(visible, values, 0.0).sum(1)
    return total / visible.sum(1).to(values.dtype)
