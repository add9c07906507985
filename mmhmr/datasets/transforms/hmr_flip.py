"""Horizontal flip of an HMR sample: image, box, keypoints, SMPL pose and camera."""
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmhmr.models.body_models.joint_sets import SPIN_49_FLIP_PERM
from mmhmr.models.utils.rotation import flip_smpl_pose
from mmhmr.registry import TRANSFORMS
from .camera_frame import has_gt_translation, smpl_root_joint, transform_smpl_translation

MIRROR_X = np.diag([-1., 1., 1.])
# full-image 2D keypoint sets (K, 3): the annotation (required), the detections (optional)
FLIPPED_KEYPOINTS_2D = ('keypoints_2d', 'det_keypoints_2d')


def flip_keypoints_2d(keypoints: np.ndarray, width: int) -> np.ndarray:
    """Mirror a full-image 2D keypoint set: rows swapped by ``SPIN_49_FLIP_PERM``, ``x -> W - x``.

    Args:
        keypoints (np.ndarray): ``(49, 3)`` x, y in px, confidence.
        width (int): Image width ``W`` (the image spans ``[0, W]``).

    Returns:
        np.ndarray: ``(49, 3)`` float32.
    """
    flipped = np.array(keypoints, dtype=np.float32)[list(SPIN_49_FLIP_PERM)]
    flipped[:, 0] = width - flipped[:, 0]
    return flipped


@TRANSFORMS.register_module()
class HMRRandomFlip(BaseTransform):
    """Mirror the full image and its annotations left <-> right with probability ``prob``.

    With ``W`` the image width (continuous coordinates, the image spans ``[0, W]``): the image
    is flipped, ``x -> W - x`` for ``bbox_center``, ``keypoints_2d`` and (when present)
    ``det_keypoints_2d``, ``X -> -X`` for ``keypoints_3d`` (mirroring about the principal point
    ``W / 2`` is mirroring the camera frame in the plane ``X = 0``), keypoint rows (and the
    per-joint ``keypoints_2d_occlusion`` codes) are swapped by ``SPIN_49_FLIP_PERM`` and
    ``smpl_pose`` by ``flip_smpl_pose``. A ground-truth ``cam_transl`` becomes
    ``M t + (M - I) J0`` with ``M = diag(-1, 1, 1)`` and ``J0 = smpl_root_joint``: the flipped
    pose mirrors the body about its root joint (see ``camera_frame.py``); on a body symmetric
    about its root (the procedural model) that is ``t_x -> -t_x``. Applied twice it is the
    identity. It acts on the full image, so it comes before ``HMRTopdownAffine``.

    Required Keys: ``img``, ``bbox_center``, ``keypoints_2d``, ``keypoints_3d``, ``smpl_pose``;
    optional ``det_keypoints_2d``, ``keypoints_2d_occlusion``, ``cam_transl`` with
    ``has_transl`` and ``smpl_root_joint`` (needed to flip a ground-truth translation).

    Modified Keys: the above.

    Added Keys: ``flip`` (bool), ``flip_direction`` (``'horizontal'`` or None).

    Args:
        prob (float): Probability of flipping. Defaults to 0.5.
    """

    def __init__(self, prob: float = 0.5) -> None:
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        self.prob = prob

    @cache_randomness
    def _do_flip(self) -> bool:
        return np.random.rand() < self.prob

    def transform(self, results: dict) -> dict:
        """Flip or not; always sets ``flip``."""
        if 'keypoints_2d_crop' in results:
            raise RuntimeError('HMRRandomFlip flips the full image: put it before '
                               'HMRTopdownAffine in the pipeline')
        flip = self._do_flip()
        results['flip'] = bool(flip)
        results['flip_direction'] = 'horizontal' if flip else None
        if not flip:
            return results

        img = results['img']
        width = img.shape[1]
        results['img'] = np.ascontiguousarray(img[:, ::-1])
        perm = list(SPIN_49_FLIP_PERM)

        center = np.array(results['bbox_center'], dtype=np.float32)
        center[0] = width - center[0]
        results['bbox_center'] = center

        for key in FLIPPED_KEYPOINTS_2D:
            if key in results:
                results[key] = flip_keypoints_2d(results[key], width)
        if 'keypoints_2d_occlusion' in results:  # per-joint codes follow their joints
            results['keypoints_2d_occlusion'] = np.asarray(
                results['keypoints_2d_occlusion'])[perm]

        kp3d = np.array(results['keypoints_3d'], dtype=np.float32)[perm]
        kp3d[:, 0] = -kp3d[:, 0]
        results['keypoints_3d'] = kp3d

        results['smpl_pose'] = flip_smpl_pose(np.asarray(results['smpl_pose'], np.float32))
        if has_gt_translation(results):
            root = smpl_root_joint(results, 'HMRRandomFlip')
            results['cam_transl'] = transform_smpl_translation(
                results['cam_transl'], root, MIRROR_X).astype(np.float32)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(prob={self.prob})'
