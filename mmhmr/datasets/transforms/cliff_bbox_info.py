"""CLIFF's box information: where the crop lies in the full image."""
import math

import numpy as np
from mmcv.transforms import BaseTransform

from mmhmr.registry import TRANSFORMS


def fill_focal_length(results: dict) -> float:
    """Set ``results['focal_length']`` to ``sqrt(W^2 + H^2)`` when it is missing or <= 0.

    Args:
        results (dict): Needs ``ori_shape`` ``(H, W)`` of the loaded full image when the focal
            length is unknown.

    Returns:
        float: The focal length, px.
    """
    focal = float(results.get('focal_length', -1.))
    if focal <= 0:
        if 'ori_shape' not in results:
            raise KeyError('focal_length is unknown and ori_shape is missing: load the image '
                           '(HMRLoadImage / LoadImage) first')
        height, width = results['ori_shape'][:2]
        focal = math.sqrt(width**2 + height**2)
    results['focal_length'] = focal
    return focal


@TRANSFORMS.register_module()
class CLIFFBBoxInfo(BaseTransform):
    """CLIFF's ``bbox_info = [2.8 (cx - W/2) / f, 2.8 (cy - H/2) / f, (b - 0.24 f) / (0.06 f)]``.

    ``W, H`` are the original image's (``ori_shape``), ``(cx, cy)`` and ``b`` the box after
    augmentation, ``f`` the focal length, set to ``sqrt(W^2 + H^2)`` when missing or <= 0.

    Required Keys: ``ori_shape``, ``bbox_center``, ``bbox_size``; optional ``focal_length``.

    Modified Keys: ``focal_length``.

    Added Keys: ``bbox_info (3,)`` float32.
    """

    def transform(self, results: dict) -> dict:
        """Compute ``bbox_info``."""
        focal = fill_focal_length(results)
        height, width = results['ori_shape'][:2]
        cx, cy = np.asarray(results['bbox_center'], np.float64)
        size = float(results['bbox_size'])
        results['bbox_info'] = np.array([
            2.8 * (cx - width / 2) / focal,
            2.8 * (cy - height / 2) / focal,
            (size - 0.24 * focal) / (0.06 * focal),
        ], dtype=np.float32)
        return results
