"""Realistic 2D keypoint detections simulated from the exact full-image keypoints."""
from typing import Optional, Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform

from mmhmr.models.body_models.joint_sets import SPIN_49_FLIP_PERM, SPIN_49_NAMES
from mmhmr.registry import TRANSFORMS
# the codes of SyntheticHumanDataset's keypoints_2d_occlusion
from ..synthetic.occlusion import OCCLUDER, OCCLUSION_CODES, OUTSIDE, SELF_OCCLUDED

NUM_JOINTS = len(SPIN_49_NAMES)
JOINT_SETS = {'openpose': tuple(range(25)), 'all': tuple(range(NUM_JOINTS))}
# a detected joint's confidence is at least this, so that it never reads as a miss (0)
MIN_CONFIDENCE = 1e-3
# limb pairs a detector may swap left <-> right (both the OpenPose and the SPIN joints)
LIMBS = {
    'arms': ('shoulder', 'elbow', 'wrist'),
    'legs': ('hip', 'knee', 'ankle', 'big_toe', 'small_toe', 'heel'),
}


def limb_slots(parts: Sequence[str]) -> Tuple[np.ndarray, np.ndarray]:
    """The left slots of a limb in the 49-joint set and their mirror (right) slots.

    Args:
        parts (Sequence[str]): Joint names without the side, e.g. ``('shoulder', 'elbow')``.

    Returns:
        tuple: ``left (n,)`` and ``right (n,)`` int64 slots, row ``i`` of one the mirror of
        row ``i`` of the other.
    """
    left = [i for i, name in enumerate(SPIN_49_NAMES)
            if any(name.endswith(f'left_{part}') for part in parts)]
    return np.array(left), np.array([SPIN_49_FLIP_PERM[i] for i in left])


def _beta_params(mean: float, concentration: float) -> Tuple[float, float]:
    """``(a, b)`` of the Beta distribution with this mean and ``a + b = concentration``."""
    return mean * concentration, (1. - mean) * concentration


@TRANSFORMS.register_module()
class SimulateKeypointDetections(BaseTransform):
    """Make detections ``det_keypoints_2d (49, 3)`` from the exact ``keypoints_2d``, as a 2D
    keypoint detector (OpenPose, ViTPose) would give them on the image.

    It works in full-image pixels on the ground truth before augmentation: put it in the
    pipeline before ``HMRRandomFlip`` and ``HMRTopdownAffine`` (these then flip and crop the
    detections with the ground truth; it refuses a sample that already has
    ``keypoints_2d_crop``).

    For each joint of ``joints``, from its occlusion code (``keypoints_2d_occlusion`` of
    synthetic data: 0 visible, 1 self-occluded, 2 covered by an occluder, 3 outside the image;
    without it, every joint with confidence > 0 inside the image counts as visible):

    * outside the image (code 3, ground-truth confidence 0, or coordinates outside
      ``[0, W] x [0, H]``): never detected;
    * missed with probability ``miss_prob`` (visible) or ``occluded_miss_prob`` (codes 1, 2);
    * else detected at the ground truth plus Gaussian noise of std
      ``noise_std * bbox_size`` per coordinate (``occluded_noise_scale`` times that when
      occluded), with a confidence drawn from a Beta distribution of mean ``conf_mean``
      (visible) or ``occluded_conf_mean`` (occluded) and concentration ``conf_concentration``
      (``a + b``; the std is ``sqrt(m (1 - m) / (1 + a + b))``);
    * a detected joint is an outlier with probability ``outlier_prob``: uniform in the person
      box, confidence of mean ``outlier_conf_mean``.

    Then, with probability ``swap_prob`` per sample, the detections of one limb pair (the arms
    or the legs, chosen uniformly) are swapped left <-> right. Detections are clipped to the
    image when its size is known (``ori_shape`` or ``img``); detected confidences are at least
    1e-3. A missed or undetected joint is ``(0, 0, 0)``; slots outside ``joints`` are 0.

    Every draw comes from ``np.random.default_rng([seed, sample_idx])`` in a fixed order,
    never the global random state: a sample gets the same detections whatever the dataloader
    worker, the epoch or the order it is read in.

    Required Keys: ``keypoints_2d (49, 3)``, ``bbox_center (2,)``, ``bbox_size``,
    ``sample_idx``; optional ``keypoints_2d_occlusion (49,)``, ``ori_shape`` / ``img``.

    Added Keys: ``det_keypoints_2d (49, 3)`` float32 (x, y px, confidence),
    ``det_keypoints_source`` (``'simulated'``).

    Args:
        seed (int): Random stream (>= 0). Defaults to 0.
        joints (str | Sequence[int]): The slots detected: ``'openpose'`` (0-24, the OpenPose
            joints, which synthetic ``keypoints_2d`` has exactly), ``'all'`` (0-48) or slot
            indices. Defaults to ``'openpose'``.
        noise_std (float): Per-coordinate noise std of a visible joint, as a fraction of
            ``bbox_size``. Defaults to 0.02.
        occluded_noise_scale (float): Noise std multiplier for occluded joints (codes 1, 2).
            Defaults to 3.
        miss_prob (float): Probability that a visible joint is missed. Defaults to 0.05.
        occluded_miss_prob (float): Probability that an occluded joint is missed.
            Defaults to 0.3.
        conf_mean (float): Mean confidence of a visible joint, in (0, 1). Defaults to 0.8.
        occluded_conf_mean (float): Mean confidence of an occluded joint, in (0, 1).
            Defaults to 0.4.
        conf_concentration (float): ``a + b`` of the confidence Beta distributions, > 0.
            Defaults to 10.
        outlier_prob (float): Probability that a detected joint is an outlier.
            Defaults to 0.02.
        outlier_conf_mean (float): Mean confidence of an outlier, in (0, 1). Defaults to 0.3.
        swap_prob (float): Probability per sample of a left/right limb-pair swap.
            Defaults to 0.03.
        overwrite (bool): Replace detections the sample already has (from the dataset);
            otherwise such a sample is an error. Defaults to False.
    """

    def __init__(self,
                 seed: int = 0,
                 joints: Union[str, Sequence[int]] = 'openpose',
                 noise_std: float = 0.02,
                 occluded_noise_scale: float = 3.,
                 miss_prob: float = 0.05,
                 occluded_miss_prob: float = 0.3,
                 conf_mean: float = 0.8,
                 occluded_conf_mean: float = 0.4,
                 conf_concentration: float = 10.,
                 outlier_prob: float = 0.02,
                 outlier_conf_mean: float = 0.3,
                 swap_prob: float = 0.03,
                 overwrite: bool = False) -> None:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f'SimulateKeypointDetections: seed must be an int >= 0, got '
                             f'{seed!r}')
        self.seed = int(seed)
        self._slots = self._check_joints(joints)
        self.joints = joints if isinstance(joints, str) else tuple(int(j) for j in joints)
        for name, value in (('noise_std', noise_std),
                            ('occluded_noise_scale', occluded_noise_scale)):
            if not value >= 0:
                raise ValueError(f'SimulateKeypointDetections: {name} must be >= 0, got '
                                 f'{value!r}')
        for name, value in (('miss_prob', miss_prob), ('occluded_miss_prob', occluded_miss_prob),
                            ('outlier_prob', outlier_prob), ('swap_prob', swap_prob)):
            if not 0 <= value <= 1:
                raise ValueError(f'SimulateKeypointDetections: {name} must be in [0, 1], got '
                                 f'{value!r}')
        for name, value in (('conf_mean', conf_mean),
                            ('occluded_conf_mean', occluded_conf_mean),
                            ('outlier_conf_mean', outlier_conf_mean)):
            if not 0 < value < 1:
                raise ValueError(f'SimulateKeypointDetections: {name} must be in (0, 1), got '
                                 f'{value!r}')
        if not conf_concentration > 0:
            raise ValueError(f'SimulateKeypointDetections: conf_concentration must be > 0, '
                             f'got {conf_concentration!r}')
        self.noise_std = float(noise_std)
        self.occluded_noise_scale = float(occluded_noise_scale)
        self.miss_prob = float(miss_prob)
        self.occluded_miss_prob = float(occluded_miss_prob)
        self.conf_mean = float(conf_mean)
        self.occluded_conf_mean = float(occluded_conf_mean)
        self.conf_concentration = float(conf_concentration)
        self.outlier_prob = float(outlier_prob)
        self.outlier_conf_mean = float(outlier_conf_mean)
        self.swap_prob = float(swap_prob)
        self.overwrite = bool(overwrite)
        self._limbs = [limb_slots(parts) for parts in LIMBS.values()]

    @staticmethod
    def _check_joints(joints: Union[str, Sequence[int]]) -> np.ndarray:
        """The detected slots ``(n,)`` int64 of a ``joints`` argument."""
        if isinstance(joints, str):
            if joints not in JOINT_SETS:
                raise ValueError(f'SimulateKeypointDetections: joints must be one of '
                                 f'{list(JOINT_SETS)} or slot indices, got {joints!r}')
            return np.array(JOINT_SETS[joints])
        slots = list(joints)
        if (not slots or len(set(slots)) != len(slots)
                or not all(isinstance(j, (int, np.integer)) and 0 <= j < NUM_JOINTS
                           for j in slots)):
            raise ValueError(f'SimulateKeypointDetections: joints must be distinct slot '
                             f'indices in [0, {NUM_JOINTS}), got {joints!r}')
        return np.array(slots, np.int64)

    def _occlusion_codes(self, results: dict, kp2d: np.ndarray,
                         size: Optional[Tuple[int, int]]) -> np.ndarray:
        """``(49,)`` codes: the sample's, else 0, and 3 wherever the joint is not in view."""
        if 'keypoints_2d_occlusion' in results:
            codes = np.asarray(results['keypoints_2d_occlusion']).astype(np.int64)
            if (codes.shape != (NUM_JOINTS, )
                    or not np.isin(codes, list(OCCLUSION_CODES.values())).all()):
                raise ValueError(f'SimulateKeypointDetections: sample '
                                 f'{results.get("sample_idx")}: keypoints_2d_occlusion must '
                                 f'be ({NUM_JOINTS},) codes 0-3, got {codes!r}')
        else:
            codes = np.zeros(NUM_JOINTS, np.int64)
        outside = ~(kp2d[:, 2] > 0)
        if size is not None:
            width, height = size
            outside |= ((kp2d[:, 0] < 0) | (kp2d[:, 0] > width) | (kp2d[:, 1] < 0)
                        | (kp2d[:, 1] > height))
        codes[outside] = OUTSIDE
        return codes

    def transform(self, results: dict) -> dict:
        """Write ``det_keypoints_2d`` and ``det_keypoints_source``."""
        idx = results.get('sample_idx')
        if 'keypoints_2d_crop' in results:
            raise RuntimeError('SimulateKeypointDetections works on full-image keypoints: put '
                               'it before HMRTopdownAffine (and HMRRandomFlip) in the pipeline')
        if 'det_keypoints_2d' in results and not self.overwrite:
            raise RuntimeError(
                f'SimulateKeypointDetections: sample {idx} already has det_keypoints_2d (source '
                f'{results.get("det_keypoints_source")!r}); pass overwrite=True to replace them '
                'or drop det_keypoints from the dataset')
        if isinstance(idx, bool) or not isinstance(idx, (int, np.integer)) or idx < 0:
            raise KeyError(f'SimulateKeypointDetections needs the sample index "sample_idx" '
                           f'(an int >= 0) to draw reproducible detections, got {idx!r}')
        kp2d = np.asarray(results['keypoints_2d'], np.float64)
        if kp2d.shape != (NUM_JOINTS, 3):
            raise ValueError(f'SimulateKeypointDetections: sample {idx}: keypoints_2d has shape '
                             f'{kp2d.shape}, expected ({NUM_JOINTS}, 3)')
        center = np.asarray(results['bbox_center'], np.float64).reshape(2)
        box = float(results['bbox_size'])
        if not box > 0:
            raise ValueError(f'SimulateKeypointDetections: sample {idx}: bbox_size must be > 0, '
                             f'got {box}')
        shape = results.get('ori_shape')
        if shape is None and 'img' in results:
            shape = results['img'].shape
        size = None if shape is None else (shape[1], shape[0])
        codes = self._occlusion_codes(results, kp2d, size)
        results['det_keypoints_2d'] = self._detect(kp2d, codes, center, box, size, int(idx))
        results['det_keypoints_source'] = 'simulated'
        return results

    def _detect(self, kp2d: np.ndarray, codes: np.ndarray, center: np.ndarray, box: float,
                size: Optional[Tuple[int, int]], idx: int) -> np.ndarray:
        """The ``(49, 3)`` float32 detections of one sample (see the class docstring)."""
        num = NUM_JOINTS
        rng = np.random.default_rng([self.seed, idx])
        # every draw, whatever is used, in a fixed order
        noise = rng.standard_normal((num, 2))
        u_miss = rng.random(num)
        u_outlier = rng.random(num)
        outlier_xy = rng.random((num, 2))
        k = self.conf_concentration
        conf_visible = rng.beta(*_beta_params(self.conf_mean, k), num)
        conf_occluded = rng.beta(*_beta_params(self.occluded_conf_mean, k), num)
        conf_outlier = rng.beta(*_beta_params(self.outlier_conf_mean, k), num)
        u_swap = rng.random()
        limb = int(rng.integers(len(self._limbs)))

        occluded = (codes == SELF_OCCLUDED) | (codes == OCCLUDER)
        std = self.noise_std * box * np.where(occluded, self.occluded_noise_scale, 1.)
        xy = kp2d[:, :2] + noise * std[:, None]
        conf = np.where(occluded, conf_occluded, conf_visible)
        outlier = u_outlier < self.outlier_prob
        xy[outlier] = center + (outlier_xy[outlier] - 0.5) * box
        conf[outlier] = conf_outlier[outlier]
        missed = u_miss < np.where(occluded, self.occluded_miss_prob, self.miss_prob)
        detected = (codes != OUTSIDE) & ~missed

        if size is not None:
            xy = np.clip(xy, 0., np.array(size, np.float64))
        det = np.zeros((num, 3), np.float64)
        det[detected, :2] = xy[detected]
        det[detected, 2] = np.clip(conf[detected], MIN_CONFIDENCE, 1.)
        if u_swap < self.swap_prob:
            left, right = self._limbs[limb]
            det[left], det[right] = det[right].copy(), det[left].copy()
        out = np.zeros((num, 3), np.float32)
        out[self._slots] = det[self._slots]
        return out

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(seed={self.seed}, joints={self.joints!r}, '
                f'noise_std={self.noise_std}, occluded_noise_scale={self.occluded_noise_scale}, '
                f'miss_prob={self.miss_prob}, occluded_miss_prob={self.occluded_miss_prob}, '
                f'conf_mean={self.conf_mean}, occluded_conf_mean={self.occluded_conf_mean}, '
                f'conf_concentration={self.conf_concentration}, '
                f'outlier_prob={self.outlier_prob}, '
                f'outlier_conf_mean={self.outlier_conf_mean}, swap_prob={self.swap_prob}, '
                f'overwrite={self.overwrite})')
