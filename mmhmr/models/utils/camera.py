"""The CLIFF camera: a weak-perspective crop camera turned into a full-image perspective one.

Conventions (docs/en/conventions.md): full-image pixels with the principal point at the image
centre, camera frame x right, y down, z forward, metres.
"""
import torch
from torch import Tensor


def cam_crop_to_full(pred_cam: Tensor, bbox_center: Tensor, bbox_size: Tensor,
                     img_size: Tensor, focal_length: Tensor) -> Tensor:
    """Turn a crop camera into the full-image camera translation (CLIFF).

    The crop camera maps the body to the box's normalised coordinates ``[-1, 1]`` by
    ``s * (X + [tx, ty])``; seen through the full image's perspective camera that is a body at
    depth ``tz = 2 f / (b s)``, shifted by the box's offset from the principal point.

    Args:
        pred_cam (Tensor): ``(B, 3)`` crop camera ``(s, tx, ty)``.
        bbox_center (Tensor): ``(B, 2)`` box centre in full-image pixels.
        bbox_size (Tensor): ``(B,)`` side of the square box in pixels.
        img_size (Tensor): ``(B, 2)`` full image ``(W, H)``.
        focal_length (Tensor): ``(B,)`` focal length in pixels.

    Returns:
        Tensor: ``(B, 3)`` translation ``(tx, ty, tz)`` of the body in the camera frame.
    """
    s, tx, ty = pred_cam.unbind(-1)
    bs = bbox_size * s + 1e-9  # a camera scale of exactly 0 would put the body at infinity
    offset = bbox_center - img_size / 2  # (B, 2)
    return torch.stack([
        tx + 2 * offset[:, 0] / bs,
        ty + 2 * offset[:, 1] / bs,
        2 * focal_length / bs,
    ], dim=-1)


def perspective_projection(points: Tensor, transl: Tensor, focal_length: Tensor,
                           principal_point: Tensor) -> Tensor:
    """Project body-frame points through a pinhole camera with no rotation.

    Args:
        points (Tensor): ``(B, N, 3)`` points in the body frame.
        transl (Tensor): ``(B, 3)`` body translation in the camera frame.
        focal_length (Tensor): ``(B,)`` focal length in pixels.
        principal_point (Tensor): ``(B, 2)`` in pixels.

    Returns:
        Tensor: ``(B, N, 2)`` pixel coordinates.
    """
    p = points + transl[:, None]
    z = p[..., 2:].clamp(min=1e-6)  # points behind the camera would flip sign
    return focal_length[:, None, None] * p[..., :2] / z + principal_point[:, None]


def full_to_crop_normalized(points_2d: Tensor, bbox_center: Tensor,
                            bbox_size: Tensor) -> Tensor:
    """Full-image pixels ``(B, N, 2)`` → box-normalised ``(x - c) / (b / 2)``."""
    return (points_2d - bbox_center[:, None]) / (bbox_size[:, None, None] / 2)


def crop_normalized_to_full(points_2d: Tensor, bbox_center: Tensor,
                            bbox_size: Tensor) -> Tensor:
    """Box-normalised ``(B, N, 2)`` → full-image pixels; the inverse of the above."""
    return points_2d * (bbox_size[:, None, None] / 2) + bbox_center[:, None]

