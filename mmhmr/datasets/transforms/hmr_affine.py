"""Crop the (rotated) square person box into the network input."""
from typing import Tuple

import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mmhmr.models.utils.rotation import axis_angle_to_matrix, matrix_to_axis_angle
from mmhmr.registry import TRANSFORMS


def crop_rotation_2d(rotation: float) -> np.ndarray:
    """The 2x2 rotation that the crop applies to image offsets from the box centre.

    Image axes are x right, y down; a positive ``rotation`` turns the content counter-clockwise
    on screen (as mmpose's ``TopdownAffine``): the offset ``(1, 0)`` (right of the centre)
    becomes ``(0, -1)`` (above it) at 90 degrees.

    Args:
        rotation (float): Degrees.

    Returns:
        np.ndarray: ``(2, 2)`` float64 matrix acting on column vectors.
    """
    rad = np.deg2rad(rotation)
    cos, sin = np.cos(rad), np.sin(rad)
    return np.array([[cos, sin], [-sin, cos]])


def crop_rotation_3d(rotation: float) -> np.ndarray:
    """The camera-frame rotation about the optical (z) axis matching the crop's rotation.

    ``diag(R2, 1)``: for a camera whose principal point is the box centre, projecting rotated
    3D points gives the 2D points rotated by :func:`crop_rotation_2d` about the box centre.

    Args:
        rotation (float): Degrees.

    Returns:
        np.ndarray: ``(3, 3)`` float64 matrix acting on column vectors.
    """
    rot = np.eye(3)
    rot[:2, :2] = crop_rotation_2d(rotation)
    return rot


def crop_warp_matrix(center: np.ndarray, size: float, rotation: float,
                     input_size: Tuple[int, int]) -> np.ndarray:
    """The affine map from full-image pixels to crop pixels, for ``cv2.warpAffine``.

    In continuous coordinates (an image spans ``[0, W]``) the map is
    ``q = s R2 (p - c) + (W_in / 2, H_in / 2)`` with ``s = min(W_in, H_in) / size``; cv2 puts
    pixel ``i`` at coordinate ``i`` rather than ``i + 0.5``, hence the half-pixel terms.

    Args:
        center (np.ndarray): ``(2,)`` box centre, px.
        size (float): Box side, px.
        rotation (float): Degrees, see :func:`crop_rotation_2d`.
        input_size (tuple[int, int]): ``(W_in, H_in)``.

    Returns:
        np.ndarray: ``(2, 3)`` float64 matrix.
    """
    w_in, h_in = input_size
    linear = min(w_in, h_in) / size * crop_rotation_2d(rotation)
    shift = np.array([w_in / 2, h_in / 2]) - linear @ np.asarray(center, np.float64)
    shift += linear @ np.array([0.5, 0.5]) - 0.5
    return np.concatenate([linear, shift[:, None]], axis=1)


@TRANSFORMS.register_module()
class HMRTopdownAffine(BaseTransform):
    """Warp the square box, rotated by ``rotation``, into an input of ``input_size``.

    The box is centred and ``min(W_in, H_in)`` px of the input span ``bbox_size``; a
    non-square input shows more context along its longer side. The rotation (positive: content
    counter-clockwise on screen, see :func:`crop_rotation_2d`) is applied consistently to:
    ``keypoints_2d`` (rotated about ``bbox_center`` in the full image),
    ``keypoints_2d_crop = (R2 (x - c) / (b / 2), conf)``, and, by :func:`crop_rotation_3d`
    about the camera z axis, ``keypoints_3d``, the global orientation in ``smpl_pose`` and
    ``cam_transl``. The 3D rotation is exact for a camera centred on the box (the crop camera);
    the full-image camera sees the box off-centre, as in CLIFF's rotation augmentation.

    Required Keys: ``img``, ``bbox_center``, ``bbox_size``, ``keypoints_2d``; optional
    ``rotation`` (degrees, default 0), ``keypoints_3d``, ``smpl_pose``, ``cam_transl``.

    Modified Keys: ``img``, ``img_shape``, ``keypoints_2d``, ``keypoints_3d``, ``smpl_pose``,
    ``cam_transl``.

    Added Keys: ``keypoints_2d_crop (K, 3)``, ``input_size``, ``rotation`` (when absent, 0).

    Args:
        input_size (tuple[int, int]): ``(W_in, H_in)`` of the network input.
    """

    def __init__(self, input_size: Tuple[int, int]) -> None:
        if len(input_size) != 2 or min(input_size) <= 0:
            raise ValueError(f'input_size must be (W_in, H_in) > 0, got {input_size}')
        self.input_size = tuple(int(v) for v in input_size)

    def transform(self, results: dict) -> dict:
        """Crop and rotate the sample."""
        center = np.asarray(results['bbox_center'], np.float64)
        size = float(results['bbox_size'])
        if not size > 0:
            raise ValueError(f'bbox_size must be > 0, got {size} (sample '
                             f'{results.get("sample_idx")} of {results.get("dataset_name")!r})')
        rotation = float(results.get('rotation', 0.))
        w_in, h_in = self.input_size

        warp = crop_warp_matrix(center, size, rotation, self.input_size)
        results['img'] = cv2.warpAffine(
            results['img'], warp, (w_in, h_in), flags=cv2.INTER_LINEAR)

        rot2d = crop_rotation_2d(rotation)
        kp2d = np.asarray(results['keypoints_2d'], np.float64)
        offsets = (kp2d[:, :2] - center) @ rot2d.T  # (K, 2) rotated offsets from the centre
        results['keypoints_2d'] = np.concatenate(
            [center + offsets, kp2d[:, 2:]], axis=1).astype(np.float32)
        results['keypoints_2d_crop'] = np.concatenate(
            [offsets / (size / 2), kp2d[:, 2:]], axis=1).astype(np.float32)

        if rotation != 0:
            self._rotate_3d(results, crop_rotation_3d(rotation))

        results['rotation'] = rotation
        results['input_size'] = self.input_size
        results['img_shape'] = (h_in, w_in)
        return results

    @staticmethod
    def _rotate_3d(results: dict, rot3d: np.ndarray) -> None:
        """Rotate the 3D annotations about the camera z axis by ``rot3d (3, 3)``."""
        if 'keypoints_3d' in results:
            kp3d = np.array(results['keypoints_3d'], np.float64)
            kp3d[:, :3] = kp3d[:, :3] @ rot3d.T
            results['keypoints_3d'] = kp3d.astype(np.float32)
        if 'cam_transl' in results:
            results['cam_transl'] = (rot3d @ np.asarray(results['cam_transl'],
                                                        np.float64)).astype(np.float32)
        if 'smpl_pose' in results:
            pose = np.array(results['smpl_pose'], np.float64)
            orient = axis_angle_to_matrix(torch.from_numpy(pose[:3]))
            orient = torch.from_numpy(rot3d) @ orient
            pose[:3] = matrix_to_axis_angle(orient).numpy()
            results['smpl_pose'] = pose.astype(np.float32)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(input_size={self.input_size})'
