"""Crop the (rotated) square person box into the network input."""
from typing import Optional, Tuple

import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mmhmr.models.utils.rotation import axis_angle_to_matrix, matrix_to_axis_angle
from mmhmr.registry import TRANSFORMS
from .camera_frame import has_gt_translation, smpl_root_joint, transform_smpl_translation

BBOX_FITS = ('shorter', 'height')


def crop_rotation_2d(rotation: float) -> np.ndarray:
    """The 2x2 rotation that the crop applies to image offsets.

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

    ``diag(R2, 1)``: projecting points rotated by it through a camera with principal point
    ``pp`` gives the projections rotated by :func:`crop_rotation_2d` about ``pp``.

    Args:
        rotation (float): Degrees.

    Returns:
        np.ndarray: ``(3, 3)`` float64 matrix acting on column vectors.
    """
    rot = np.eye(3)
    rot[:2, :2] = crop_rotation_2d(rotation)
    return rot


def crop_pixels_per_box(input_size: Tuple[int, int], bbox_fit: str = 'shorter') -> int:
    """How many input pixels the box side spans.

    Args:
        input_size (tuple[int, int]): ``(W_in, H_in)``.
        bbox_fit (str): ``'shorter'``: the shorter input side (the whole box is in the input,
            as mmpose's ``TopdownAffine`` fits a square box); ``'height'``: the input height
            (CLIFF's crop: at 256x192 the input shows the middle 3/4 of the box's width).
    """
    if bbox_fit not in BBOX_FITS:
        raise ValueError(f'bbox_fit must be one of {BBOX_FITS}, got {bbox_fit!r}')
    w_in, h_in = input_size
    return min(w_in, h_in) if bbox_fit == 'shorter' else h_in


def crop_warp_matrix(center: np.ndarray,
                     size: float,
                     rotation: float,
                     input_size: Tuple[int, int],
                     bbox_fit: str = 'shorter') -> np.ndarray:
    """The affine map from full-image pixels to crop pixels, for ``cv2.warpAffine``.

    In continuous coordinates (an image spans ``[0, W]``) the map is
    ``q = s R2 (p - c) + (W_in / 2, H_in / 2)`` with ``s = n / size`` and ``n`` from
    :func:`crop_pixels_per_box`; cv2 puts pixel ``i`` at coordinate ``i`` rather than
    ``i + 0.5``, hence the half-pixel terms.

    Args:
        center (np.ndarray): ``(2,)`` box centre, px.
        size (float): Box side, px.
        rotation (float): Degrees, see :func:`crop_rotation_2d`.
        input_size (tuple[int, int]): ``(W_in, H_in)``.
        bbox_fit (str): See :func:`crop_pixels_per_box`. Defaults to ``'shorter'``.

    Returns:
        np.ndarray: ``(2, 3)`` float64 matrix.
    """
    w_in, h_in = input_size
    linear = crop_pixels_per_box(input_size, bbox_fit) / size * crop_rotation_2d(rotation)
    shift = np.array([w_in / 2, h_in / 2]) - linear @ np.asarray(center, np.float64)
    shift += linear @ np.array([0.5, 0.5]) - 0.5
    return np.concatenate([linear, shift[:, None]], axis=1)


# full-image 2D keypoint sets (K, 3) the crop turns into crop-normalised ones: the annotation
# (required) and the detections used as test-time inputs (optional)
KEYPOINT_SETS_2D = (('keypoints_2d', 'keypoints_2d_crop'),
                    ('det_keypoints_2d', 'det_keypoints_2d_crop'))


def crop_keypoints_2d(keypoints: np.ndarray, center: np.ndarray, size: float,
                      rot2d: np.ndarray, new_center: Optional[np.ndarray] = None
                      ) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """One 2D keypoint set through the crop: crop-normalised, and in the rotated full image.

    Args:
        keypoints (np.ndarray): ``(K, 3)`` x, y in px of the full image, confidence.
        center (np.ndarray): ``(2,)`` box centre ``c``, px, before the rotation.
        size (float): Box side ``b``, px.
        rot2d (np.ndarray): ``(2, 2)`` from :func:`crop_rotation_2d`.
        new_center (np.ndarray, optional): ``(2,)`` the box centre ``c' = pp + R2 (c - pp)``
            after the rotation; None when there is no rotation (the full-image keypoints do not
            change).

    Returns:
        tuple: ``crop (K, 3)`` float32 ``(R2 (x - c) / (b / 2), conf)``, and ``full (K, 3)``
        float32 ``(pp + R2 (x - pp), conf) = (c' + R2 (x - c), conf)``, or None without
        ``new_center``.
    """
    kp2d = np.asarray(keypoints, np.float64)
    offsets = (kp2d[:, :2] - center) @ rot2d.T  # (K, 2) rotated offsets from the centre
    crop = np.concatenate([offsets / (size / 2), kp2d[:, 2:]], axis=1).astype(np.float32)
    if new_center is None:
        return crop, None
    full = np.concatenate([new_center + offsets, kp2d[:, 2:]], axis=1).astype(np.float32)
    return crop, full


def principal_point(results: dict) -> np.ndarray:
    """``(W / 2, H / 2)`` of the full image (``ori_shape``, else ``img``), float64."""
    shape = results.get('ori_shape')
    if shape is None:
        shape = results['img'].shape
    return np.array([shape[1] / 2, shape[0] / 2], np.float64)


@TRANSFORMS.register_module()
class HMRTopdownAffine(BaseTransform):
    """Warp the square box, rotated by ``rotation``, into an input of ``input_size``.

    The box is centred in the input and spans ``min(W_in, H_in)`` px of it
    (``bbox_fit='shorter'``, mmpose's fit: a non-square input shows more context along its
    longer side) or ``H_in`` px (``'height'``, CLIFF's crop).

    A rotation turns the crop content about the box centre; that warp equals rotating the whole
    image about the principal point ``pp`` (the optical axis) and cropping, unrotated, at
    ``c' = pp + R2 (c - pp)``. The annotations follow that second reading, so that 2D and 3D stay
    one camera's view: ``bbox_center <- pp + R2 (c - pp)``, ``keypoints_2d <- pp + R2 (x - pp)``,
    and about the camera's z axis (:func:`crop_rotation_3d`) ``keypoints_3d <- R X``, the
    global orientation ``<- R R_g`` and ``cam_transl <- R t + (R - I) J0`` (SMPL turns the body
    about its root joint ``J0 = smpl_root_joint``; see ``camera_frame.py``). The crop itself and
    ``keypoints_2d_crop = (R2 (x - c) / (b / 2), conf)`` are the same in both readings.
    Detected keypoints ``det_keypoints_2d`` (test-time inputs), when present, go through the
    same function as ``keypoints_2d`` (:func:`crop_keypoints_2d`) into
    ``det_keypoints_2d_crop``.

    Required Keys: ``img``, ``bbox_center``, ``bbox_size``, ``keypoints_2d``; optional
    ``rotation`` (degrees, default 0), ``ori_shape``, ``det_keypoints_2d``, ``keypoints_3d``,
    ``smpl_pose``, ``cam_transl`` with ``has_transl`` and ``smpl_root_joint`` (needed to rotate
    a ground-truth translation).

    Modified Keys: ``img``, ``img_shape``, ``bbox_center``, ``keypoints_2d``,
    ``det_keypoints_2d``, ``keypoints_3d``, ``smpl_pose``, ``cam_transl``.

    Added Keys: ``keypoints_2d_crop (K, 3)``, ``det_keypoints_2d_crop (K, 3)`` (with
    ``det_keypoints_2d``), ``input_size``, ``input_center (2,)`` and
    ``input_scale (2,)`` (the full-image area the input covers before rotation, px, as
    mmpose's ``TopdownAffine``), ``rotation`` (when absent, 0).

    Args:
        input_size (tuple[int, int]): ``(W_in, H_in)`` of the network input.
        bbox_fit (str): ``'shorter'`` or ``'height'``, see above. Defaults to ``'shorter'``.
    """

    def __init__(self, input_size: Tuple[int, int], bbox_fit: str = 'shorter') -> None:
        if len(input_size) != 2 or min(input_size) <= 0:
            raise ValueError(f'input_size must be (W_in, H_in) > 0, got {input_size}')
        if bbox_fit not in BBOX_FITS:
            raise ValueError(f'bbox_fit must be one of {BBOX_FITS}, got {bbox_fit!r}')
        self.input_size = tuple(int(v) for v in input_size)
        self.bbox_fit = bbox_fit

    def transform(self, results: dict) -> dict:
        """Crop and rotate the sample."""
        center = np.asarray(results['bbox_center'], np.float64)
        size = float(results['bbox_size'])
        if not size > 0:
            raise ValueError(f'bbox_size must be > 0, got {size} (sample '
                             f'{results.get("sample_idx")} of {results.get("dataset_name")!r})')
        rotation = float(results.get('rotation', 0.))
        w_in, h_in = self.input_size

        warp = crop_warp_matrix(center, size, rotation, self.input_size, self.bbox_fit)
        results['img'] = cv2.warpAffine(
            results['img'], warp, (w_in, h_in), flags=cv2.INTER_LINEAR)

        rot2d = crop_rotation_2d(rotation)
        new_center = None
        if rotation != 0:
            pp = principal_point(results)
            new_center = pp + rot2d @ (center - pp)
        for key, crop_key in KEYPOINT_SETS_2D:
            if key in results:
                crop, full = crop_keypoints_2d(results[key], center, size, rot2d, new_center)
                results[crop_key] = crop
                if full is not None:
                    results[key] = full
        if new_center is not None:
            results['bbox_center'] = new_center.astype(np.float32)
            self._rotate_3d(results, crop_rotation_3d(rotation))

        scale = size / crop_pixels_per_box(self.input_size, self.bbox_fit)
        results['input_center'] = center.astype(np.float32)
        results['input_scale'] = np.array([w_in * scale, h_in * scale], np.float32)
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
        if has_gt_translation(results):
            root = smpl_root_joint(results, 'HMRTopdownAffine')
            results['cam_transl'] = transform_smpl_translation(
                results['cam_transl'], root, rot3d).astype(np.float32)
        if 'smpl_pose' in results:
            pose = np.array(results['smpl_pose'], np.float64)
            orient = axis_angle_to_matrix(torch.from_numpy(pose[:3]))
            orient = torch.from_numpy(rot3d) @ orient
            pose[:3] = matrix_to_axis_angle(orient).numpy()
            results['smpl_pose'] = pose.astype(np.float32)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(input_size={self.input_size}, '
                f'bbox_fit={self.bbox_fit!r})')
