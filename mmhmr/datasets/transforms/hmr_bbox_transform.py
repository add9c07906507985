"""Random scale / shift / rotation of the square person box."""
from typing import Tuple

import numpy as np
from mmpose.datasets.transforms import RandomBBoxTransform

from mmhmr.registry import TRANSFORMS


@TRANSFORMS.register_module()
class HMRRandomBBoxTransform(RandomBBoxTransform):
    """Randomly rescale, shift and rotate the square box ``bbox_center`` / ``bbox_size``.

    The random draws are those of mmpose's ``RandomBBoxTransform`` (truncated normal within
    the given ranges, each applied with its probability); this class applies them to one
    square box. The rotation is only recorded; ``HMRTopdownAffine`` applies it.

    Required Keys: ``bbox_center (2,)``, ``bbox_size``.

    Modified Keys: ``bbox_center`` (``+ offset * bbox_size``), ``bbox_size`` (``* scale``).

    Added Keys: ``rotation`` (degrees; positive turns the crop content counter-clockwise on
    screen, see ``HMRTopdownAffine``).

    Args:
        scale_factor (tuple[float, float]): Range of the size factor. Defaults to (0.75, 1.25).
        scale_prob (float): Probability of rescaling. Defaults to 1.0.
        rotate_factor (float): Largest rotation in degrees. Defaults to 30.
        rotate_prob (float): Probability of rotating. Defaults to 0.6.
        shift_factor (float): Largest shift per axis, as a fraction of ``bbox_size``.
            Defaults to 0 (no shift).
        shift_prob (float): Probability of shifting. Defaults to 0.3.
    """

    def __init__(self,
                 scale_factor: Tuple[float, float] = (0.75, 1.25),
                 scale_prob: float = 1.0,
                 rotate_factor: float = 30.,
                 rotate_prob: float = 0.6,
                 shift_factor: float = 0.,
                 shift_prob: float = 0.3) -> None:
        super().__init__(
            shift_factor=shift_factor,
            shift_prob=shift_prob,
            scale_factor=scale_factor,
            scale_prob=scale_prob,
            rotate_factor=rotate_factor,
            rotate_prob=rotate_prob)

    def transform(self, results: dict) -> dict:
        """Augment the box and record ``rotation``."""
        offset, scale, rotate = self._get_transform_params(1)
        size = float(results['bbox_size'])
        center = np.asarray(results['bbox_center'], dtype=np.float32)
        results['bbox_center'] = (center + offset[0] * size).astype(np.float32)
        results['bbox_size'] = size * float(scale[0, 0])
        results['rotation'] = float(rotate[0])
        return results
