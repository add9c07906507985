"""Domains of the synthetic data: the distributions of pose, shape, camera and appearance.

A domain is a dict of the keys of :data:`DOMAIN_PRESETS` ``['train']``. Three presets exist:

* ``'train'``: moderate poses (``pose_scale`` 0.6), front-half viewpoints (yaw within 90 deg of
  facing the camera, camera near eye level), people near the image centre at 3-5 m, rare light
  occlusion, smooth backgrounds (gradient, low-frequency noise, solid), soft light.
* ``'shifted'``: the test-time shift: the full joint ranges (``pose_scale`` 1.0), every heading
  (half of the samples seen from behind) from a raised camera (15-45 deg looking down), wider
  shapes, distances 2.6-7 m and off-centre people (partly outside the image), frequent heavier
  occlusion, high-frequency backgrounds (checker, stripes) never seen in training, harsher light
  and more colour variation.

* ``'moderate'``: a milder shift, between the two (more pose, views up to 120 deg off facing,
  a camera up to 30 deg above, more occlusion, one unseen background kind), calibrated so that
  the demo's model errs about 1.3-1.6x as much as in its own domain, as models trained on
  Human3.6M do on 3DPW.

A dict domain may name a ``preset`` (default ``'train'``) and override any of its keys.
:func:`sample_scene` draws one scene's parameters from a domain.
"""
import copy
import math
from typing import Dict, Sequence, Union

import numpy as np

from mmhmr.models.body_models.model_files import GENDERS
from .pose_sampler import sample_betas, sample_smpl_pose

BACKGROUND_KINDS = ('gradient', 'noise', 'solid', 'checker', 'stripes')

DOMAIN_PRESETS = {
    'train':
    dict(
        image_size=(256, 256),  # (W, H) of the full image, px
        focal_range=None,  # (lo, hi) px; None: sqrt(W^2 + H^2) as in CLIFF
        distance_range=(3.0, 5.0),  # m, camera to the pelvis
        yaw_range=(-90., 90.),  # deg; 0 faces the camera, 180 shows the back
        pitch_range=(-10., 15.),  # deg; > 0: camera above, looking down
        pose_scale=0.6,  # 0: A-pose rest, 1: uniform over the joint limits
        betas_std=1.0,
        person_offset=(0.1, 0.1),  # max |pelvis - image centre| as fractions of (W, H)
        occlusion_prob=0.2,  # probability that occluders are drawn over the person
        max_occluders=2,
        occlusion_size_range=(0.15, 0.35),  # occluder side / person box side
        background=('gradient', 'noise', 'solid'),  # kinds drawn uniformly
        ambient_range=(0.3, 0.5),
        light_spread=30.,  # deg, max angle between the light and the camera axis
        color_jitter=0.05,  # std of the multiplicative jitter of each body part's colour
    ),
    'moderate':
    dict(
        image_size=(256, 256),
        focal_range=None,
        distance_range=(2.8, 6.0),
        yaw_range=(-120., 120.),
        pitch_range=(0., 30.),
        pose_scale=0.8,
        betas_std=1.25,
        person_offset=(0.15, 0.15),
        occlusion_prob=0.4,
        max_occluders=2,
        occlusion_size_range=(0.2, 0.42),
        background=('gradient', 'noise', 'checker'),
        ambient_range=(0.2, 0.4),
        light_spread=45.,
        color_jitter=0.1,
    ),
    'shifted':
    dict(
        image_size=(256, 256),
        focal_range=None,
        distance_range=(2.6, 7.0),
        yaw_range=(-180., 180.),
        pitch_range=(15., 45.),
        pose_scale=1.0,
        betas_std=1.5,
        person_offset=(0.2, 0.2),
        occlusion_prob=0.6,
        max_occluders=3,
        occlusion_size_range=(0.25, 0.5),
        background=('checker', 'stripes'),
        ambient_range=(0.15, 0.3),
        light_spread=60.,
        color_jitter=0.15,
    ),
}

_RANGE_KEYS = ('distance_range', 'yaw_range', 'pitch_range', 'occlusion_size_range',
               'ambient_range')


def _is_number(value) -> bool:
    """A finite int or float, not a bool (``True`` is an int to Python, not a number here)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _check_range(name: str, value, key: str) -> tuple:
    if (not isinstance(value, (tuple, list)) or len(value) != 2
            or not all(_is_number(v) for v in value) or value[0] > value[1]):
        raise ValueError(f'synthetic domain {name!r}: {key!r} must be a (low, high) pair of '
                         f'finite numbers with low <= high, got {value!r}')
    return (float(value[0]), float(value[1]))


def resolve_domain(domain: Union[str, dict]) -> Dict:
    """A complete, checked domain dict from a preset name or a dict of overrides.

    Args:
        domain (str | dict): ``'train'``, ``'shifted'``, or a dict with an optional ``preset``
            (default ``'train'``) and keys of that preset to override.

    Returns:
        dict: every key of the preset, checked, plus ``name`` (the preset name, with ``+custom``
        when overridden).

    Raises:
        KeyError: unknown preset or key.
        ValueError: a value of the wrong form (the message names the key).
    """
    if isinstance(domain, str):
        overrides, preset = {}, domain
    elif isinstance(domain, dict):
        overrides = dict(domain)
        preset = overrides.pop('preset', 'train')
    else:
        raise TypeError(f'synthetic domain must be a preset name {list(DOMAIN_PRESETS)} or a '
                        f'dict, got {type(domain).__name__}')
    if preset not in DOMAIN_PRESETS:
        raise KeyError(f'unknown synthetic domain preset {preset!r}, expected one of '
                       f'{list(DOMAIN_PRESETS)}')
    cfg = copy.deepcopy(DOMAIN_PRESETS[preset])
    unknown = sorted(set(overrides) - set(cfg) - {'name'})
    if unknown:
        raise KeyError(f'unknown synthetic domain key(s) {unknown}; known: {sorted(cfg)}')
    cfg.update(overrides)
    name = overrides.pop('name', preset + ('+custom' if overrides else ''))

    for key in _RANGE_KEYS:
        cfg[key] = _check_range(name, cfg[key], key)
    if cfg['focal_range'] is not None:
        cfg['focal_range'] = _check_range(name, cfg['focal_range'], 'focal_range')
    size = cfg['image_size']
    if (not isinstance(size, (tuple, list)) or len(size) != 2
            or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0
                       for s in size)):
        raise ValueError(f'synthetic domain {name!r}: image_size must be (W, H) positive ints, '
                         f'got {size!r}')
    cfg['image_size'] = (int(size[0]), int(size[1]))
    offset = cfg['person_offset']
    if _is_number(offset):
        offset = (offset, offset)
    offset = tuple(offset) if isinstance(offset, (tuple, list)) else (offset, )
    if len(offset) != 2 or not all(_is_number(v) and v >= 0 for v in offset):
        # (x, y) bounds, not a (low, high) range: (0.3, 0.25) is valid
        raise ValueError(f'synthetic domain {name!r}: person_offset must be a number or an '
                         f'(x, y) pair of fractions >= 0, got {cfg["person_offset"]!r}')
    cfg['person_offset'] = (float(offset[0]), float(offset[1]))
    background = cfg['background']
    background = (background, ) if isinstance(background, str) else tuple(background)
    bad = [b for b in background if b not in BACKGROUND_KINDS]
    if not background or bad:
        raise ValueError(f'synthetic domain {name!r}: background must be a non-empty choice of '
                         f'{BACKGROUND_KINDS}, got {cfg["background"]!r}')
    cfg['background'] = background
    for key in ('pose_scale', 'betas_std', 'light_spread', 'color_jitter'):
        if not _is_number(cfg[key]) or cfg[key] < 0:
            raise ValueError(f'synthetic domain {name!r}: {key!r} must be a finite number >= '
                             f'0, got {cfg[key]!r}')
    if not _is_number(cfg['occlusion_prob']) or not 0 <= cfg['occlusion_prob'] <= 1:
        raise ValueError(f'synthetic domain {name!r}: occlusion_prob must be in [0, 1], got '
                         f'{cfg["occlusion_prob"]!r}')
    if not isinstance(cfg['max_occluders'], int) or isinstance(cfg['max_occluders'], bool) \
            or cfg['max_occluders'] < 1:
        raise ValueError(f'synthetic domain {name!r}: max_occluders must be an int >= 1, got '
                         f'{cfg["max_occluders"]!r}')
    if cfg['distance_range'][0] <= 0:
        raise ValueError(f'synthetic domain {name!r}: distance_range must be > 0 m, got '
                         f'{cfg["distance_range"]}')
    cfg['name'] = name
    return cfg


def sample_scene(domain: Dict, rng: np.random.Generator,
                 genders: Sequence[str] = ('neutral', )) -> Dict:
    """Draw one scene: body, camera, light, background kind and occluders.

    Args:
        domain (dict): a domain from :func:`resolve_domain`.
        rng (np.random.Generator): random source (``np.random.default_rng([seed, index])``).
        genders (Sequence[str]): genders to draw from uniformly.

    Returns:
        dict:
        - ``gender`` (int): 0 neutral, 1 male, 2 female.
        - ``smpl_pose (72,)``, ``smpl_betas (10,)``: float32; the global orientation holds the
          viewpoint (``yaw``, ``pitch``, radians, also returned).
        - ``distance`` (m), ``focal_length`` (px), ``image_size`` ``(W, H)``.
        - ``root_pixel (2,)``: where the pelvis (SMPL joint 0) projects, px.
        - ``light_dir (3,)``: unit vector towards the light, camera frame; ``ambient``.
        - ``color_gain (24, 3)``: per body part colour multipliers.
        - ``background`` (str): the background kind.
        - ``occluders``: ``(N, 5)`` float32 rows ``(u, v, w, h, shape)``: centre relative to
          the person box (``[-0.5, 0.5]`` of its side), size as a fraction of its side, shape 0
          rectangle / 1 ellipse; ``N = 0`` when not occluded.
    """
    width, height = domain['image_size']
    gender = GENDERS.index(genders[rng.integers(len(genders))])
    yaw = np.radians(rng.uniform(*domain['yaw_range']))
    pitch = np.radians(rng.uniform(*domain['pitch_range']))
    pose = sample_smpl_pose(rng, domain['pose_scale'], yaw, pitch)
    betas = sample_betas(rng, domain['betas_std'])

    distance = rng.uniform(*domain['distance_range'])
    if domain['focal_range'] is None:
        focal = float(np.hypot(width, height))
    else:
        focal = float(rng.uniform(*domain['focal_range']))
    offset = rng.uniform(-1., 1., 2) * np.array(domain['person_offset'])
    root_pixel = np.array([width, height]) * (0.5 + offset)

    # light: within light_spread of the camera axis, from the camera's side (-z)
    spread = np.radians(domain['light_spread'])
    theta = np.arccos(rng.uniform(np.cos(spread), 1.))  # uniform on the spherical cap
    phi = rng.uniform(0., 2 * np.pi)
    light_dir = np.array([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi),
                          -np.cos(theta)])
    ambient = rng.uniform(*domain['ambient_range'])
    color_gain = np.clip(1. + rng.normal(0., domain['color_jitter'], (24, 3)), 0.5, 1.5)

    background = domain['background'][rng.integers(len(domain['background']))]
    num_occluders = 0
    if rng.random() < domain['occlusion_prob']:
        num_occluders = int(rng.integers(1, domain['max_occluders'] + 1))
    occluders = np.concatenate([
        rng.uniform(-0.4, 0.4, (num_occluders, 2)),
        rng.uniform(*domain['occlusion_size_range'], (num_occluders, 2)),
        rng.integers(0, 2, (num_occluders, 1)),
    ], axis=1).astype(np.float32)

    return dict(
        gender=gender,
        smpl_pose=pose,
        smpl_betas=betas,
        yaw=float(yaw),
        pitch=float(pitch),
        distance=float(distance),
        focal_length=focal,
        image_size=(width, height),
        root_pixel=root_pixel.astype(np.float32),
        light_dir=light_dir.astype(np.float32),
        ambient=float(ambient),
        color_gain=color_gain.astype(np.float32),
        background=background,
        occluders=occluders)
