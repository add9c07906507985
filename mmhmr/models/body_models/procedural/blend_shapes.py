"""Pose blend shapes (a bulge around each bent joint) and shape blend shapes."""
import numpy as np

from .cage import _NUM_REGIONS
from .constants import NUM_BETAS, _J
from .params import _params
from .skinning import _REGION_JOINTS
from .topology import _cage_points


def _vertex_normals(V, faces):
    n = np.cross(V[faces[:, 1]] - V[faces[:, 0]], V[faces[:, 2]] - V[faces[:, 0]])
    out = np.zeros_like(V)
    for k in range(3):
        np.add.at(out, faces[:, k], n)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def _pose_blend_shapes(V, faces, J, regions, amplitude=0.15, reach=2.5):
    """``posedirs (V, 3, 207)``: an outward bulge around each bent joint.

    For joint j the offset is ``a_j * g_j(v) * n(v) * (1 - cos angle_j)``, with
    ``1 - cos angle = -(tr(R - I)) / 2`` linear in SMPL's pose feature ``R - I``; ``g_j`` is a
    Gaussian around the joint (its width ``r_j`` the distance from the joint to the surface,
    cut at ``reach * r_j``), ``a_j = amplitude * r_j``.
    """
    normals = _vertex_normals(V, faces)
    posedirs = np.zeros((len(V), 3, 207))
    allowed = np.zeros((_NUM_REGIONS, 24))
    for region, names in _REGION_JOINTS.items():
        allowed[region, [_J[n] for n in names]] = 1.0
    near_region = regions @ allowed
    for j in range(1, 24):
        dist = np.linalg.norm(V - J[j], axis=1)
        r = np.partition(dist, 20)[20]
        g = np.exp(-0.5 * (dist / r) ** 2) * (dist < reach * r) * near_region[:, j]
        offset = -0.5 * amplitude * r * g[:, None] * normals
        for d in (0, 4, 8):
            posedirs[:, :, 9 * (j - 1) + d] = offset
    return posedirs


def _shape_blend_shapes(gender, seed, S):
    """``shapedirs (V, 3, 10)``: central differences of the body along the shape directions,
    made orthogonal (Gram-Schmidt in order) with each direction keeping its length."""
    dirs = []
    for k in range(NUM_BETAS):
        e = np.zeros(NUM_BETAS)
        e[k] = 1.0
        plus = S @ _cage_points(_params(gender, seed, e))
        minus = S @ _cage_points(_params(gender, seed, -e))
        dirs.append(((plus - minus) / 2).ravel())
    out = []
    for d in dirs:
        norm = np.linalg.norm(d)
        for o in out:
            d = d - (d @ o) / (o @ o) * o
        out.append(d * norm / np.linalg.norm(d))
    return np.stack(out, -1).reshape(-1, 3, NUM_BETAS)
