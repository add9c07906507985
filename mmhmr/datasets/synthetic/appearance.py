"""What a synthetic image looks like beyond its geometry: body colours, backgrounds, occluders.

Colours here are RGB in ``[0, 1]`` (palette) or uint8 RGB images; the dataset turns the final
image into BGR.
"""
from typing import Sequence, Tuple, Union

import cv2
import numpy as np

from mmhmr.models.body_models.joint_sets import SMPL_24_NAMES

# One colour per SMPL part (the joint that moves it). The body's left side is warm (reds,
# oranges, yellows, greens), its right side cool (blues, cyans, violets, pinks), so that limbs
# and sides are told apart; the trunk is grey / beige and the head and neck skin-like.
PART_PALETTE = {
    'pelvis': (0.55, 0.55, 0.60),
    'left_hip': (0.20, 0.70, 0.30),
    'right_hip': (0.70, 0.30, 0.75),
    'spine1': (0.80, 0.80, 0.75),
    'left_knee': (0.55, 0.85, 0.20),
    'right_knee': (0.50, 0.30, 0.90),
    'spine2': (0.85, 0.70, 0.50),
    'left_ankle': (0.90, 0.90, 0.20),
    'right_ankle': (0.90, 0.40, 0.60),
    'spine3': (0.75, 0.60, 0.45),
    'left_foot': (0.70, 0.70, 0.10),
    'right_foot': (0.70, 0.20, 0.45),
    'neck': (0.95, 0.80, 0.70),
    'left_collar': (0.90, 0.35, 0.20),
    'right_collar': (0.20, 0.45, 0.90),
    'head': (0.98, 0.85, 0.75),
    'left_shoulder': (0.90, 0.15, 0.15),
    'right_shoulder': (0.15, 0.30, 0.90),
    'left_elbow': (1.00, 0.55, 0.10),
    'right_elbow': (0.10, 0.75, 0.90),
    'left_wrist': (0.95, 0.80, 0.30),
    'right_wrist': (0.30, 0.90, 0.80),
    'left_hand': (0.80, 0.60, 0.10),
    'right_hand': (0.20, 0.65, 0.60),
}
PALETTE = np.array([PART_PALETTE[n] for n in SMPL_24_NAMES], np.float32)  # (24, 3) RGB


def vertex_parts(skinning_weights: np.ndarray) -> np.ndarray:
    """Body part of each vertex: the joint with the largest skinning weight.

    Args:
        skinning_weights (np.ndarray): ``(V, 24)`` (SMPL's ``weights``).

    Returns:
        np.ndarray: ``(V,)`` int64 part index in SMPL's joint order.
    """
    return np.argmax(skinning_weights, axis=1)


def vertex_colors(parts: np.ndarray, color_gain: np.ndarray) -> np.ndarray:
    """Per-vertex albedo: the part's palette colour times its gain.

    Args:
        parts (np.ndarray): ``(V,)`` part index.
        color_gain (np.ndarray): ``(24, 3)`` multipliers.

    Returns:
        np.ndarray: ``(V, 3)`` float32 RGB in ``[0, 1]``.
    """
    return np.clip(PALETTE * color_gain, 0., 1.)[parts]


def _random_colors(rng: np.random.Generator, num: int) -> np.ndarray:
    return rng.uniform(0., 255., (num, 3)).astype(np.float32)


def make_background(kind: str, image_size: Sequence[int], rng: np.random.Generator) -> np.ndarray:
    """A random background image.

    Args:
        kind (str): 'gradient' (linear, two colours, any direction), 'noise' (low-frequency
            colour noise plus grain), 'solid', 'checker' (rotated checkerboard) or 'stripes'.
        image_size (Sequence[int]): ``(W, H)``.
        rng (np.random.Generator): random source.

    Returns:
        np.ndarray: ``(H, W, 3)`` uint8 RGB.
    """
    width, height = int(image_size[0]), int(image_size[1])
    xs = np.arange(width, dtype=np.float32)[None, :]  # broadcast to (H, W) where combined
    ys = np.arange(height, dtype=np.float32)[:, None]
    if kind == 'solid':
        img = np.broadcast_to(_random_colors(rng, 1)[0], (height, width, 3))
    elif kind == 'gradient':
        c0, c1 = _random_colors(rng, 2)
        angle = rng.uniform(0., 2 * np.pi)
        t = xs * np.cos(angle) + ys * np.sin(angle)
        t = (t - t.min()) / max(float(np.ptp(t)), 1e-6)
        img = c0 + t[..., None] * (c1 - c0)
    elif kind == 'noise':
        cells = int(rng.integers(3, 9))
        coarse = rng.uniform(0., 255., (cells, cells, 3)).astype(np.float32)
        img = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
        img = img + 8. * rng.standard_normal((height, width, 1), dtype=np.float32)
    elif kind in ('checker', 'stripes'):
        c0, c1 = _random_colors(rng, 2)
        period = rng.uniform(8., 40.)
        angle = rng.uniform(0., np.pi)
        u = (xs * np.cos(angle) + ys * np.sin(angle)) / period
        v = (-xs * np.sin(angle) + ys * np.cos(angle)) / period
        on = np.floor(u).astype(np.int64)
        if kind == 'checker':
            on = on + np.floor(v).astype(np.int64)
        img = np.where((on % 2 == 0)[..., None], c0, c1)
    else:
        raise ValueError(f'unknown background kind {kind!r}, expected gradient, noise, solid, '
                         'checker or stripes')
    return np.clip(img, 0, 255).astype(np.uint8)


def paint_occluders(img: np.ndarray,
                    occluders: np.ndarray,
                    bbox_center: np.ndarray,
                    bbox_size: float,
                    rng: np.random.Generator,
                    return_mask: bool = False
                    ) -> Union[np.ndarray, Tuple[np.ndarray, np.ndarray]]:
    """Paint rectangles / ellipses over the person (in place), solid or textured.

    Args:
        img (np.ndarray): ``(H, W, 3)`` uint8.
        occluders (np.ndarray): ``(N, 5)`` rows ``(u, v, w, h, shape)`` (see
            :func:`~.domain.sample_scene`), relative to the person box.
        bbox_center (np.ndarray): ``(2,)`` px.
        bbox_size (float): px.
        rng (np.random.Generator): random source for colours and texture.
        return_mask (bool): also return where the occluders are painted (the same image and
            random draws either way). Defaults to False.

    Returns:
        np.ndarray | tuple: ``img``; with ``return_mask``, ``(img, mask)``, ``mask (H, W)`` bool
        True on the painted pixels.
    """
    height, width = img.shape[:2]
    painted = np.zeros((height, width), bool)
    for u, v, w, h, shape in occluders:  # at most a few occluders
        cx, cy = bbox_center + bbox_size * np.array([u, v])
        half_w, half_h = 0.5 * bbox_size * w, 0.5 * bbox_size * h
        mask = np.zeros((height, width), np.uint8)
        if shape < 0.5:
            cv2.rectangle(mask, (int(round(cx - half_w)), int(round(cy - half_h))),
                          (int(round(cx + half_w)), int(round(cy + half_h))), 1, thickness=-1)
        else:
            cv2.ellipse(mask, (int(round(cx)), int(round(cy))),
                        (int(round(half_w)), int(round(half_h))), float(rng.uniform(0, 180)), 0,
                        360, 1, thickness=-1)
        color = _random_colors(rng, 1)[0]
        inside = mask.astype(bool)
        texture = rng.normal(0., rng.uniform(0., 40.), (int(inside.sum()), 1))
        img[inside] = np.clip(color + texture, 0, 255).astype(np.uint8)
        painted |= inside
    return (img, painted) if return_mask else img
