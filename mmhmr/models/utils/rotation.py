"""Rotation conversions, batched over any leading dimensions (torch).

Conventions: rotation matrices act on column vectors (``x' = R @ x``); axis-angle is
``angle * unit_axis``; the 6D representation is the first two columns of the matrix (SPIN / HMR).
"""
import numpy as np
import torch
import torch.nn.functional as F

from ..body_models.joint_sets import SMPL_24_FLIP_PERM

# below this squared angle the Taylor series replace the closed forms (error < 1e-13)
_SMALL_ANGLE_SQ = 1e-6


def _skew(v: torch.Tensor) -> torch.Tensor:
    """Cross-product matrices ``[v]_x`` of vectors ``v (..., 3)`` -> ``(..., 3, 3)``."""
    x, y, z = v.unbind(-1)
    zero = torch.zeros_like(x)
    return torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], dim=-1).reshape(
        v.shape + (3, ))


def axis_angle_to_matrix(axis_angle: torch.Tensor) -> torch.Tensor:
    """Rodrigues' formula, stable (value and gradient) at angle 0.

    ``R = I + a K + b K^2`` with ``K = [axis_angle]_x``, ``a = sin(t) / t`` and
    ``b = (1 - cos(t)) / t^2 = 2 sin^2(t / 2) / t^2`` (no cancellation), Taylor series near 0.

    Args:
        axis_angle (Tensor): ``(..., 3)`` rotation vectors (radians).

    Returns:
        Tensor: ``(..., 3, 3)`` rotation matrices.
    """
    if axis_angle.shape[-1] != 3:
        raise ValueError(f'axis_angle_to_matrix expects (..., 3), got {tuple(axis_angle.shape)}')
    theta_sq = (axis_angle * axis_angle).sum(-1)
    small = theta_sq < _SMALL_ANGLE_SQ
    # the closed forms are evaluated at a safe angle where they are not used, so that their
    # (discarded) gradients are finite too
    theta_sq_safe = torch.where(small, torch.ones_like(theta_sq), theta_sq)
    theta = theta_sq_safe.sqrt()
    a = torch.where(small, 1 - theta_sq / 6, torch.sin(theta) / theta)
    b = torch.where(small, 0.5 - theta_sq / 24, 2 * torch.sin(theta / 2)**2 / theta_sq_safe)
    skew = _skew(axis_angle)
    eye = torch.eye(3, dtype=axis_angle.dtype, device=axis_angle.device)
    return eye + a[..., None, None] * skew + b[..., None, None] * (skew @ skew)


def matrix_to_quaternion(matrix: torch.Tensor) -> torch.Tensor:
    """Unit quaternions ``(w, x, y, z)`` with ``w >= 0`` of rotation matrices.

    Shepperd's method: each of the four components can be recovered from the diagonal, and the
    other three from the off-diagonal terms divided by it; the largest one is used, so that the
    result is accurate for every angle, including pi.

    Args:
        matrix (Tensor): ``(..., 3, 3)`` rotation matrices.

    Returns:
        Tensor: ``(..., 4)`` quaternions.
    """
    if matrix.shape[-2:] != (3, 3):
        raise ValueError(f'matrix_to_quaternion expects (..., 3, 3), got {tuple(matrix.shape)}')
    m = matrix.reshape(matrix.shape[:-2] + (9, )).unbind(-1)
    m00, m01, m02, m10, m11, m12, m20, m21, m22 = m
    # 4 w^2, 4 x^2, 4 y^2, 4 z^2
    four_sq = torch.stack([
        1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22
    ], dim=-1)
    # 2|w|, 2|x|, 2|y|, 2|z|; the largest is >= 1 (the four sum to 4); the floor keeps the
    # rows that are not selected below finite, gradients included
    two_abs = four_sq.clamp(min=0.01).sqrt()
    # row k: 4 q_k * (w, x, y, z)
    products = torch.stack([
        torch.stack([four_sq[..., 0], m21 - m12, m02 - m20, m10 - m01], dim=-1),
        torch.stack([m21 - m12, four_sq[..., 1], m10 + m01, m02 + m20], dim=-1),
        torch.stack([m02 - m20, m10 + m01, four_sq[..., 2], m12 + m21], dim=-1),
        torch.stack([m10 - m01, m20 + m02, m21 + m12, four_sq[..., 3]], dim=-1),
    ], dim=-2)
    candidates = products / (2 * two_abs)[..., None]
    best = two_abs.argmax(dim=-1)
    index = best[..., None, None].expand(best.shape + (1, 4))
    quat = torch.gather(candidates, -2, index)[..., 0, :]
    quat = F.normalize(quat, dim=-1)
    return torch.where(quat[..., :1] < 0, -quat, quat)


def quaternion_to_axis_angle(quat: torch.Tensor) -> torch.Tensor:
    """Axis-angle ``(..., 3)`` (angle in ``[0, pi]``) of unit quaternions ``(w, x, y, z)``."""
    quat = torch.where(quat[..., :1] < 0, -quat, quat)
    w, xyz = quat[..., 0], quat[..., 1:]
    sin_half_sq = (xyz * xyz).sum(-1)
    small = sin_half_sq < _SMALL_ANGLE_SQ
    # safe values where a branch is not used keep its discarded gradient finite
    sin_half = torch.where(small, torch.ones_like(sin_half_sq), sin_half_sq).sqrt()
    w_safe = torch.where(small, w, torch.ones_like(w))
    # angle / sin(angle / 2) = 2 atan2(s, w) / s -> 2 / w (1 - s^2 / (3 w^2)) as s -> 0
    scale = torch.where(small, 2 / w_safe * (1 - sin_half_sq / (3 * w_safe * w_safe)),
                        2 * torch.atan2(sin_half, w) / sin_half)
    return xyz * scale[..., None]


def matrix_to_axis_angle(matrix: torch.Tensor) -> torch.Tensor:
    """Axis-angle of rotation matrices, accurate near 0 and near pi.

    Args:
        matrix (Tensor): ``(..., 3, 3)`` rotation matrices.

    Returns:
        Tensor: ``(..., 3)`` rotation vectors with angle in ``[0, pi]``.
    """
    return quaternion_to_axis_angle(matrix_to_quaternion(matrix))


def rot6d_to_matrix(rot6d: torch.Tensor) -> torch.Tensor:
    """6D representation -> rotation matrices (SPIN / HMR convention).

    ``rot6d`` is viewed as ``(..., 3, 2)``; its two columns are orthonormalised by Gram-Schmidt
    and the third column is their cross product.

    Args:
        rot6d (Tensor): ``(..., 6)``.

    Returns:
        Tensor: ``(..., 3, 3)`` rotation matrices.
    """
    if rot6d.shape[-1] != 6:
        raise ValueError(f'rot6d_to_matrix expects (..., 6), got {tuple(rot6d.shape)}')
    cols = rot6d.reshape(rot6d.shape[:-1] + (3, 2))
    a1, a2 = cols[..., 0], cols[..., 1]
    b1 = F.normalize(a1, dim=-1)
    b2 = F.normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1, dim=-1)
    b3 = torch.cross(b1, b2, dim=-1)
    return torch.stack([b1, b2, b3], dim=-1)


def matrix_to_rot6d(matrix: torch.Tensor) -> torch.Tensor:
    """Rotation matrices ``(..., 3, 3)`` -> 6D ``(..., 6)``: the first two columns, row-major.

    The inverse of :func:`rot6d_to_matrix` on rotation matrices.
    """
    if matrix.shape[-2:] != (3, 3):
        raise ValueError(f'matrix_to_rot6d expects (..., 3, 3), got {tuple(matrix.shape)}')
    return matrix[..., :, :2].reshape(matrix.shape[:-2] + (6, ))


def flip_smpl_pose(pose):
    """Mirror SMPL poses left <-> right (the image is flipped horizontally, x -> -x).

    Each joint takes the rotation of its mirror joint; mirroring a rotation in the plane x = 0
    keeps the x component of its axis-angle and negates y and z.

    Args:
        pose (Tensor | np.ndarray): ``(..., 72)`` axis-angle, global orientation first.

    Returns:
        Tensor | np.ndarray: ``(..., 72)``, same type as ``pose``.
    """
    if pose.shape[-1] != 72:
        raise ValueError(f'flip_smpl_pose expects (..., 72) axis-angle, got {tuple(pose.shape)}')
    joints = pose.reshape(pose.shape[:-1] + (24, 3))[..., list(SMPL_24_FLIP_PERM), :]
    if isinstance(pose, np.ndarray):
        sign = np.array([1, -1, -1], dtype=pose.dtype)
    else:
        sign = torch.tensor([1, -1, -1], dtype=pose.dtype, device=pose.device)
    return (joints * sign).reshape(pose.shape)
