"""Where the visualizer's panels look from: the side and top views of camera-frame meshes,
and how full-image pixels map onto the image drawn on (the full image or the network's crop)."""
from typing import List, Sequence, Tuple

import numpy as np
import torch


def view_rotation(view: str) -> np.ndarray:
    """``(3, 3)`` rotation that shows the body from ``'side'`` (90 degrees about the camera's
    vertical axis y) or ``'top'`` (90 degrees about x, the head turned towards the camera);
    camera frame x right, y down, z forward."""
    if view == 'side':
        return np.array([[0., 0., 1.], [0., 1., 0.], [-1., 0., 0.]], np.float32)
    if view == 'top':
        return np.array([[1., 0., 0.], [0., 0., -1.], [0., 1., 0.]], np.float32)
    raise ValueError(f"view must be 'side' or 'top', got {view!r}")


def turn_meshes(meshes: Sequence[np.ndarray], view: str) -> List[np.ndarray]:
    """Rotate camera-frame meshes ``(V, 3)`` together by :func:`view_rotation` about the
    centre of the first one, so that they stay where the image shows them."""
    rot = view_rotation(view)
    centre = meshes[0].mean(0)
    return [(m - centre) @ rot.T + centre for m in meshes]


def image_frame(data_sample, image_shape: Sequence[int]) -> Tuple[float, np.ndarray]:
    """How full-image pixels map onto the image drawn on: ``x_img = k * x + offset``.

    The full image (``image_shape == ori_shape``): ``k = 1``, no offset. The network's crop
    (``image_shape == input_size``): the crop maps the full-image area ``input_scale (w, h)``
    around ``input_center`` (metainfo written by ``HMRTopdownAffine``) onto the crop,
    unrotated at test time, so ``k = W_in / w`` and ``offset = crop_centre - k *
    input_center``. Any other shape is an error.

    Returns:
        tuple: ``k`` (float) and ``offset (2,)``.
    """
    meta = data_sample.metainfo
    h, w = int(image_shape[0]), int(image_shape[1])
    if 'ori_shape' in meta and tuple(meta['ori_shape'][:2]) == (h, w):
        return 1., np.zeros(2)
    if 'input_size' in meta and tuple(meta['input_size']) == (w, h) and \
            'input_scale' in meta and 'input_center' in meta:
        center = np.asarray(meta['input_center'], np.float64)
        k = w / float(meta['input_scale'][0])
    else:
        raise ValueError(f'HMRLocalVisualizer: an image of (H, W) = {(h, w)} is neither the '
                         f'full image (ori_shape {meta.get("ori_shape")}) nor the network\'s '
                         f'crop (input_size {meta.get("input_size")} with input_center / '
                         'input_scale metainfo, written by HMRTopdownAffine)')
    return k, np.array([w, h], np.float64) / 2 - k * center


def crop_box(image: np.ndarray, data_sample, k: float = 1.,
             offset: np.ndarray = np.zeros(2)) -> np.ndarray:
    """The sample's square box (``bbox_center``, ``bbox_size``, full-image px mapped by
    ``x -> k x + offset`` onto ``image``, see :func:`image_frame`), padded with black where it
    leaves the image."""
    gt = data_sample.gt_instances
    cx, cy = k * numpy_array(gt.bbox_center).reshape(2) + offset
    half = k * float(numpy_array(gt.bbox_size).reshape(-1)[0]) / 2
    x0, y0 = int(round(cx - half)), int(round(cy - half))
    side = int(round(2 * half))
    out = np.zeros((side, side, 3), image.dtype)
    h, w = image.shape[:2]
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x0 + side, w), min(y0 + side, h)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = image[sy0:sy1, sx0:sx1]
    return out


def numpy_array(value) -> np.ndarray:
    """A tensor (any device) or array-like as a NumPy array."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.asarray(value)
