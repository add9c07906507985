"""Random scale / shift / rotation of the square person box."""
from typing import Tuple

import numpy as np
from mmpose.datasets.transforms import RandomBBoxTransform

from mmhmr.registry import TRANSFORMS

SAMPLINGS = ('mmpose', 'spin')


@TRANSFORMS.register_module()
class HMRRandomBBoxTransform(RandomBBoxTransform):
    """Randomly rescale, shift and rotate the square box ``bbox_center`` / ``bbox_size``.

    Two ways to draw the scale and rotation (the shift is mmpose's in both):

    * ``sampling='mmpose'``: those of mmpose's ``RandomBBoxTransform``: a standard normal
      truncated to ``[-1, 1]`` (std 0.54) times ``rotate_factor`` (std 16.2 degrees for 30) or
      times the half-range of ``scale_factor`` around its centre.
    * ``sampling='spin'``: SPIN's / CLIFF's: the rotation ``N(0, rotate_factor^2)`` clipped to
      ``[-2, 2] * rotate_factor`` (std 28.6 degrees, at most 60, for 30), the scale
      ``N(mu, sigma^2)`` clipped to ``scale_factor``, with ``mu`` its centre and ``sigma`` its
      half-range (SPIN's ``1 + 0.25 N(0, 1)`` in ``[0.75, 1.25]``). SPIN rotates with
      probability 0.4 (``rotate_prob=0.4``) and always rescales.

    Each is applied with its probability. The rotation is only recorded; ``HMRTopdownAffine``
    applies it.

    Required Keys: ``bbox_center (2,)``, ``bbox_size``.

    Modified Keys: ``bbox_center`` (``+ offset * bbox_size``), ``bbox_size`` (``* scale``).

    Added Keys: ``rotation`` (degrees; positive turns the crop content counter-clockwise on
    screen, see ``HMRTopdownAffine``).

    Args:
        scale_factor (tuple[float, float]): Range of the size factor. Defaults to (0.75, 1.25).
        scale_prob (float): Probability of rescaling. Defaults to 1.0.
        rotate_factor (float): Rotation scale in degrees (the bound for ``'mmpose'``, the std
            for ``'spin'``). Defaults to 30.
        rotate_prob (float): Probability of rotating. Defaults to 0.6.
        shift_factor (float): Largest shift per axis, as a fraction of ``bbox_size``.
            Defaults to 0 (no shift).
        shift_prob (float): Probability of shifting. Defaults to 0.3.
        sampling (str): ``'mmpose'`` or ``'spin'``, see above. Defaults to ``'mmpose'``.
    """

    def __init__(self,
                 scale_factor: Tuple[float, float] = (0.75, 1.25),
                 scale_prob: float = 1.0,
                 rotate_factor: float = 30.,
                 rotate_prob: float = 0.6,
                 shift_factor: float = 0.,
                 shift_prob: float = 0.3,
                 sampling: str = 'mmpose') -> None:
        if sampling not in SAMPLINGS:
            raise ValueError(f'sampling must be one of {SAMPLINGS}, got {sampling!r}')
        super().__init__(
            shift_factor=shift_factor,
            shift_prob=shift_prob,
            scale_factor=scale_factor,
            scale_prob=scale_prob,
            rotate_factor=rotate_factor,
            rotate_prob=rotate_prob)
        self.sampling = sampling

    def _get_transform_params(self, num_bboxes: int) -> Tuple:
        """``offset (n, 2)``, ``scale (n, 1)`` and ``rotate (n,)`` drawn by ``sampling``."""
        if self.sampling == 'mmpose':
            return super()._get_transform_params(num_bboxes)
        offset = self._truncnorm(size=(num_bboxes, 2)) * self.shift_factor
        offset = np.where(np.random.rand(num_bboxes, 1) < self.shift_prob, offset, 0.)
        low, high = self.scale_factor
        scale = np.clip((high + low) / 2 + (high - low) / 2 * np.random.randn(num_bboxes, 1),
                        low, high)
        scale = np.where(np.random.rand(num_bboxes, 1) < self.scale_prob, scale, 1.)
        bound = 2 * self.rotate_factor
        rotate = np.clip(self.rotate_factor * np.random.randn(num_bboxes), -bound, bound)
        rotate = np.where(np.random.rand(num_bboxes) < self.rotate_prob, rotate, 0.)
        return offset, scale, rotate

    def transform(self, results: dict) -> dict:
        """Augment the box and record ``rotation``."""
        offset, scale, rotate = self._get_transform_params(1)
        size = float(results['bbox_size'])
        center = np.asarray(results['bbox_center'], dtype=np.float32)
        results['bbox_center'] = (center + offset[0] * size).astype(np.float32)
        results['bbox_size'] = size * float(scale[0, 0])
        results['rotation'] = float(rotate[0])
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(scale_factor={self.scale_factor}, '
                f'rotate_factor={self.rotate_factor}, rotate_prob={self.rotate_prob}, '
                f'shift_factor={self.shift_factor}, sampling={self.sampling!r})')
