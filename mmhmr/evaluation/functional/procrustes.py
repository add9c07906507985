"""Batched similarity Procrustes alignment (the alignment of PA-MPJPE).

For every sample we look for the scale ``s``, proper rotation ``R`` (``det R = +1``) and translation
``t`` minimising ``sum_j w_j |s R x_j + t - y_j|^2``. The usual way is one 3x3 SVD per sample
(Umeyama / SPIN's ``compute_similarity_transform``); a LAPACK call per sample is slow for tens of
thousands of samples, so here the rotation comes from Horn's quaternion method instead, solved with
elementwise tensor operations over the whole batch:

1. With the weighted cross-covariance ``S = sum_j w_j xc_j yc_j^T`` of the centred points, the
   optimal rotation is the unit quaternion ``q`` maximising ``q^T N q`` for a symmetric, traceless
   4x4 matrix ``N`` built from ``S`` (Horn 1987): the eigenvector of ``N``'s largest eigenvalue.
   ``R(q)`` is a proper rotation by construction, so reflections need no separate fix.
2. The largest eigenvalue is found as in QCP (Theobald 2005): Newton's method on the
   characteristic polynomial ``l^4 + c2 l^2 + c1 l + c0`` (``c2 = -2 |S|_F^2``, ``c1 = -8 det S``,
   ``c0 = det N``) started from the upper bound ``sqrt(3) |S|_F`` of every eigenvalue; from above
   the largest root, Newton's method decreases monotonically to it.
3. The eigenvector is a column of the adjugate of ``N - l I`` (every column is proportional to it
   when ``l`` is a simple eigenvalue); we take the column of largest norm.

The adjugate loses its information when the largest eigenvalue is (nearly) double: collinear
points, reflected inputs with two equal singular values, all points equal. The rotation is then
not unique (or ill-conditioned) anyway; those few samples are re-solved with LAPACK's symmetric
eigensolver (``torch.linalg.eigh``) on that subset only. Everything runs in float64.

Why not the alternatives: a batched ``torch.linalg.svd`` / ``eigh`` is still one LAPACK call per
sample (PA-MPJPE of 35,515 x 14 joints on 2 CPU threads: about 0.04 s here, batched SVD 0.1 s,
SPIN's numpy loop over samples 1.5 s; ``tools/analysis_tools/benchmark_metric.py``); cyclic
Jacobi sweeps on the batch of 4x4 matrices are robust too, but take about 5 sweeps x 6 rotations
x ~50 elementwise operations, about twice the work of QCP.
Large batches are processed in chunks of ``_CHUNK_SIZE`` samples (see :func:`chunk_slices`).
"""
from typing import List, NamedTuple, Optional, Tuple, Union

import torch
from torch import Tensor

# A sample whose adjugate column is smaller than this (relative to the eigenvalue bound cubed) has
# a (nearly) double largest eigenvalue: its eigenvector is taken from ``torch.linalg.eigh``.
_ADJUGATE_REL_TOL = 1e-3
_NEWTON_MAX_ITERS = 60
# samples per chunk (see chunk_slices)
_CHUNK_SIZE = 8192


def similarity_procrustes(
        pred: Tensor,
        gt: Tensor,
        mask: Optional[Tensor] = None,
        return_transform: bool = False
) -> Union[Tensor, Tuple[Tensor, Tensor, Tensor, Tensor]]:
    """Align each sample of ``pred`` to ``gt`` with the best similarity transform.

    Least squares over the visible points: ``min_{s,R,t} sum_j m_j |s R pred_j + t - gt_j|^2``
    with ``R`` a proper rotation (reflections are never used), ``s`` an isotropic scale and ``t``
    a translation, as in the PA-MPJPE protocol (SPIN, HMR). The transform fitted on the visible
    points is applied to all points.

    Args:
        pred (Tensor): Points to align, shape (B, J, 3).
        gt (Tensor): Target points, shape (B, J, 3).
        mask (Tensor, optional): Visibility, shape (B, J), bool or float (> 0 means visible).
            Defaults to None (all visible).
        return_transform (bool): Also return the transform. Defaults to False.

    Returns:
        Tensor | tuple: ``aligned`` (B, J, 3) in ``pred``'s dtype, and with ``return_transform``
        also ``scale`` (B,), ``rotation`` (B, 3, 3) and ``translation`` (B, 3) in float64, with
        ``aligned = scale * pred @ rotation^T + translation``. A sample with no visible point, or
        whose visible ``pred`` points all coincide, gets scale 0: every point goes to the target
        centroid, the least-squares answer (the target centroid is 0 when nothing is visible).
    """
    _check_points(pred, gt, mask)
    outputs = []
    for chunk in chunk_slices(pred.shape[0]):
        fit = fit_similarity_transform(pred[chunk], gt[chunk],
                                       None if mask is None else mask[chunk])
        aligned = torch.baddbmm(fit.mean_gt, fit.pred_centred, fit.scaled_rotation_t)
        translation = fit.mean_gt - torch.bmm(fit.mean_pred, fit.scaled_rotation_t)
        outputs.append((aligned.to(pred.dtype), fit.scale, fit.rotation, translation[:, 0]))
    aligned, scale, rotation, translation = (torch.cat(parts) for parts in zip(*outputs))
    if return_transform:
        return aligned, scale, rotation, translation
    return aligned


def chunk_slices(num_samples: int, chunk_size: int = _CHUNK_SIZE) -> List[slice]:
    """Slices cutting a batch into chunks: the solver's temporaries of a chunk stay in cache
    and are reused by the allocator, which is faster than one pass over a large batch."""
    return [slice(i, i + chunk_size) for i in range(0, max(num_samples, 1), chunk_size)]


class SimilarityFit(NamedTuple):
    """A fitted similarity transform and the centred points it was fitted on (all float64).

    ``aligned = pred_centred @ scaled_rotation_t + mean_gt``; ``gt = gt_centred + mean_gt``.
    """
    scale: Tensor  # (B,)
    rotation: Tensor  # (B, 3, 3)
    scaled_rotation_t: Tensor  # (B, 3, 3) = scale * rotation^T
    mean_pred: Tensor  # (B, 1, 3) weighted centroid of the visible pred points
    mean_gt: Tensor  # (B, 1, 3)
    pred_centred: Tensor  # (B, J, 3)
    gt_centred: Tensor  # (B, J, 3)


def fit_similarity_transform(pred: Tensor,
                             gt: Tensor,
                             mask: Optional[Tensor] = None) -> SimilarityFit:
    """Fit the similarity transform of :func:`similarity_procrustes` (see there), in float64.

    Args:
        pred (Tensor): Points to align, shape (B, J, 3).
        gt (Tensor): Target points, shape (B, J, 3).
        mask (Tensor, optional): Visibility (B, J). Defaults to None (all visible).

    Returns:
        SimilarityFit: scale, rotation and the centred points.
    """
    _check_points(pred, gt, mask)
    # pred and gt side by side (B, J, 6): one pass for the centroids and one for the moments
    points = torch.cat([pred, gt], -1).to(torch.float64)
    weights = _normalised_weights(mask, points)  # (B, J), rows sum to 1 (or 0 if nothing visible)
    means = torch.bmm(weights[:, None], points)  # (B, 1, 6)
    centred = points - means
    moments = torch.bmm((centred * weights[..., None]).transpose(1, 2), centred)  # (B, 6, 6)
    cross_cov = moments[:, :3, 3:]  # (B, 3, 3): S_ab = sum_j w_j x_ja y_jb
    var_x = moments[:, :3, :3].diagonal(dim1=1, dim2=2).sum(-1)
    mean_x, mean_y = means[..., :3], means[..., 3:]
    xc, yc = centred[..., :3], centred[..., 3:]

    rotation = _quaternion_to_rotation_matrix(_optimal_quaternion(cross_cov))  # (B, 3, 3)
    # optimal scale: max_R tr(R S) / var_x; 0 when the visible pred points have no spread
    # (coinciding points far from the origin leave a rounding residue of ~eps^2 |mean|^2)
    trace_rs = (rotation * cross_cov.transpose(1, 2)).sum((1, 2))
    has_spread = var_x > 1e-26 * (mean_x * mean_x).sum((1, 2))
    scale = torch.where(has_spread, trace_rs / torch.where(has_spread, var_x, 1.0), 0.0)
    scaled_rotation_t = rotation.transpose(1, 2) * scale[:, None, None]
    return SimilarityFit(scale, rotation, scaled_rotation_t, mean_x, mean_y, xc, yc)


def _check_points(pred: Tensor, gt: Tensor, mask: Optional[Tensor]) -> None:
    if pred.ndim != 3 or pred.shape[-1] != 3 or pred.shape != gt.shape:
        raise ValueError('similarity_procrustes: expected pred and gt of the same shape '
                         f'(B, J, 3), got pred {tuple(pred.shape)} and gt {tuple(gt.shape)}')
    if mask is not None and tuple(mask.shape) != tuple(pred.shape[:2]):
        raise ValueError(f'similarity_procrustes: expected mask of shape {tuple(pred.shape[:2])}'
                         f' (B, J), got {tuple(mask.shape)}')


def _normalised_weights(mask: Optional[Tensor], points: Tensor) -> Tensor:
    """(B, J) float64 weights that sum to 1 per sample (0 where nothing is visible)."""
    num_samples, num_points = points.shape[:2]
    if mask is None:
        return points.new_full((num_samples, num_points), 1.0 / max(num_points, 1))
    weights = (mask > 0).to(device=points.device, dtype=torch.float64)
    total = weights.sum(1, keepdim=True)
    return weights / total.clamp_min(1.0)


# A batch of 4x4 matrices as a 4 x 4 nested list of (B,) tensors: elementwise formulas over the
# batch, without gathering entries out of a (4, 4, B) tensor.
Matrix4 = List[List[Tensor]]


def _horn_matrix(cross_cov: Tensor) -> Matrix4:
    """Horn's symmetric traceless 4x4 matrix N of a cross-covariance (B, 3, 3).

    ``q^T N q = tr(R(q) S)`` for unit quaternions ``q = (w, x, y, z)``.
    """
    xx, xy, xz, yx, yy, yz, zx, zy, zz = cross_cov.reshape(-1, 9).T.contiguous()
    n01, n02, n03 = yz - zy, zx - xz, xy - yx
    n12, n13, n23 = xy + yx, zx + xz, yz + zy
    return [[xx + yy + zz, n01, n02, n03],
            [n01, xx - yy - zz, n12, n13],
            [n02, n12, yy - xx - zz, n23],
            [n03, n13, n23, zz - xx - yy]]


def _minors(m: Matrix4, r0: int, r1: int) -> dict:
    """2x2 minors of rows (r0, r1): {(c0, c1): det} for c0 < c1."""
    return {(c0, c1): m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0]
            for c0 in range(4) for c1 in range(c0 + 1, 4)}


def _det_4x4(m: Matrix4) -> Tensor:
    """Determinant (B,) by the Laplace expansion over rows (0, 1) and (2, 3)."""
    top, bottom = _minors(m, 0, 1), _minors(m, 2, 3)
    return (top[0, 1] * bottom[2, 3] - top[0, 2] * bottom[1, 3] + top[0, 3] * bottom[1, 2] +
            top[1, 2] * bottom[0, 3] - top[1, 3] * bottom[0, 2] + top[2, 3] * bottom[0, 1])


def _adjugate_symmetric_4x4(m: Matrix4) -> Matrix4:
    """Adjugate of symmetric 4x4 matrices (symmetric too), from the 2x2 minors of rows (0, 1)
    and (2, 3): each cofactor is a row entry times a complementary minor, summed."""
    top, bottom = _minors(m, 0, 1), _minors(m, 2, 3)
    a00 = m[1][1] * bottom[2, 3] - m[1][2] * bottom[1, 3] + m[1][3] * bottom[1, 2]
    a01 = -m[0][1] * bottom[2, 3] + m[0][2] * bottom[1, 3] - m[0][3] * bottom[1, 2]
    a02 = m[3][1] * top[2, 3] - m[3][2] * top[1, 3] + m[3][3] * top[1, 2]
    a03 = -m[2][1] * top[2, 3] + m[2][2] * top[1, 3] - m[2][3] * top[1, 2]
    a11 = m[0][0] * bottom[2, 3] - m[0][2] * bottom[0, 3] + m[0][3] * bottom[0, 2]
    a12 = -m[3][0] * top[2, 3] + m[3][2] * top[0, 3] - m[3][3] * top[0, 2]
    a13 = m[2][0] * top[2, 3] - m[2][2] * top[0, 3] + m[2][3] * top[0, 2]
    a22 = m[3][0] * top[1, 3] - m[3][1] * top[0, 3] + m[3][3] * top[0, 1]
    a23 = -m[2][0] * top[1, 3] + m[2][1] * top[0, 3] - m[2][3] * top[0, 1]
    a33 = m[2][0] * top[1, 2] - m[2][1] * top[0, 2] + m[2][2] * top[0, 1]
    return [[a00, a01, a02, a03],
            [a01, a11, a12, a13],
            [a02, a12, a22, a23],
            [a03, a13, a23, a33]]


def _det3(mat: Tensor) -> Tensor:
    a, b, c, d, e, f, g, h, i = mat.reshape(-1, 9).T.contiguous()
    return a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)


def _largest_eigenvalue(horn: Matrix4, cross_cov: Tensor, upper_bound: Tensor) -> Tensor:
    """Largest root (B,) of det(l I - N) by Newton's method from an upper bound (QCP)."""
    c2 = -2.0 * (cross_cov * cross_cov).sum((1, 2))
    c1 = -8.0 * _det3(cross_cov)
    c0 = _det_4x4(horn)
    lam = upper_bound * (1.0 + 1e-12)  # stay above the root despite rounding of the bound
    tol = 1e-14 * upper_bound
    tiny = torch.finfo(torch.float64).tiny
    for it in range(_NEWTON_MAX_ITERS):
        lam2 = lam * lam
        value = (lam2 + c2).mul_(lam2).addcmul_(c1, lam).add_(c0)
        slope = (4.0 * lam2).add_(c2, alpha=2.0).mul_(lam).add_(c1)
        # slope > 0 above the largest root; 0 only at a multiple root or for N = 0 (value = 0)
        step = value.div_(slope.clamp_min_(tiny))
        lam = lam - step
        if it % 2 == 1 and not bool((step.abs() > tol).any()):  # NaN samples do not hold it
            break
    return lam


def _optimal_quaternion(cross_cov: Tensor) -> Tensor:
    """Unit quaternions (B, 4) ``(w, x, y, z)`` maximising ``tr(R(q) S)``."""
    horn = _horn_matrix(cross_cov)
    # every eigenvalue of N is a signed sum of S's singular values: |l| <= sum(sv) <= sqrt(3)|S|_F
    upper_bound = (cross_cov * cross_cov).sum((1, 2)).mul_(3.0).sqrt_()
    lam = _largest_eigenvalue(horn, cross_cov, upper_bound)
    shifted = [[entry - lam if i == j else entry for j, entry in enumerate(row)]
               for i, row in enumerate(horn)]
    adjugate = _adjugate_symmetric_4x4(shifted)  # every column is proportional to q
    # the column of largest norm
    quat = list(adjugate[0])  # column k = row k (symmetric)
    best_norm2 = sum(entry * entry for entry in quat)
    for k in range(1, 4):
        norm2 = sum(entry * entry for entry in adjugate[k])
        better = norm2 > best_norm2
        quat = [torch.where(better, new, old) for new, old in zip(adjugate[k], quat)]
        best_norm2 = torch.where(better, norm2, best_norm2)
    best_norm = best_norm2.sqrt()
    quat = torch.stack(quat, 1) / best_norm.clamp_min(torch.finfo(torch.float64).tiny)[:, None]

    # (nearly) double largest eigenvalue: the adjugate carries no direction; ask LAPACK
    relative = best_norm / (upper_bound * upper_bound * upper_bound)
    degenerate = torch.isfinite(upper_bound) & ~(relative >= _ADJUGATE_REL_TOL)
    if bool(degenerate.any()):
        idx = degenerate.nonzero()[:, 0]
        horn_subset = torch.stack([torch.stack([e[idx] for e in row], -1) for row in horn], -2)
        quat[idx] = torch.linalg.eigh(horn_subset)[1][..., -1]
    return quat


def _quaternion_to_rotation_matrix(quat: Tensor) -> Tensor:
    """Rotation matrices (B, 3, 3) of unit quaternions (B, 4) ``(w, x, y, z)``."""
    w, x, y, z = quat.T
    return torch.stack([
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    ], -1).reshape(-1, 3, 3)
