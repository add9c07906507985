"""Skinning weights: inverse distance to the bones, kept inside each limb."""
import numpy as np

from .cage import HEAD, LEFT_ARM, LEFT_LEG, RIGHT_ARM, RIGHT_LEG, TORSO, _NUM_REGIONS
from .constants import _J


def _segment_distance(V, a, b):
    ab = b - a
    t = np.clip((V - a) @ ab / (ab @ ab), 0.0, 1.0)
    return np.linalg.norm(V - a - t[:, None] * ab, axis=1)


# joints whose bones may move each region's vertices
_REGION_JOINTS = {
    TORSO: ('pelvis', 'left_hip', 'right_hip', 'spine1', 'spine2', 'spine3', 'neck',
            'left_collar', 'right_collar', 'left_shoulder', 'right_shoulder'),
    HEAD: ('spine3', 'neck', 'head'),
    LEFT_ARM: ('spine3', 'left_collar', 'left_shoulder', 'left_elbow', 'left_wrist', 'left_hand'),
    RIGHT_ARM: ('spine3', 'right_collar', 'right_shoulder', 'right_elbow', 'right_wrist',
                'right_hand'),
    LEFT_LEG: ('pelvis', 'left_hip', 'left_knee', 'left_ankle', 'left_foot'),
    RIGHT_LEG: ('pelvis', 'right_hip', 'right_knee', 'right_ankle', 'right_foot'),
}


def _vertex_neighbours(faces, n):
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    return e[:, 0], e[:, 1], np.bincount(e[:, 0], minlength=n)


def _skinning_weights(V, faces, regions, bones, power=6.0, prune=0.01, smooth=2):
    """Inverse-distance skinning: ``w_j ~ (d_min / d_j) ** power`` over the allowed joints.

    ``d_j`` is the distance to joint j's bone; the joints allowed at a vertex come from its
    region (so a thigh never follows the other leg), blended smoothly across region borders.
    """
    allowed = np.zeros((_NUM_REGIONS, 24))
    for region, names in _REGION_JOINTS.items():
        allowed[region, [_J[n] for n in names]] = 1.0
    mask = regions @ allowed
    d = np.stack([np.min([_segment_distance(V, a, b) for a, b in bones[j]], 0)
                  for j in range(24)], 1)
    d = np.maximum(d, 1e-4)
    w = (d.min(1, keepdims=True) / d) ** power * mask
    w /= w.sum(1, keepdims=True)
    src, dst, degree = _vertex_neighbours(faces, len(V))
    for _ in range(smooth):
        acc = np.zeros_like(w)
        np.add.at(acc, src, w[dst])
        w = 0.5 * w + 0.5 * acc / degree[:, None]
    w[w < prune] = 0.0
    return w / w.sum(1, keepdims=True)
