"""Per-joint visibility in a rendered synthetic image: seen, hidden by the body itself, covered
by a painted occluder, or outside the image.

The joints of the 49-joint set are of two kinds: most lie inside the body (hips, knees, spine:
2-10 cm below the surface, up to the body's half-width seen from the side), a few on its
surface (nose, eyes, ears, toes, heels are mesh vertices). One depth threshold does not fit
both: measured on the procedural body seen from the front, the surface lies 6-10 cm in front of
the (visible) hips, knees, neck and spine, as far as a body part in front of another may be. So
the test uses two depth buffers of the mesh at the joint's pixel: the front surface ``z_front``
(the renderer's depth) and the nearest back-facing surface ``z_exit``, where the viewing ray
leaves the first body part it enters. A joint at depth ``z`` is seen when it lies on that front
surface (``z <= z_front + tol``: surface joints) or inside that first part, not deeper than a
body part is thick (``z <= z_exit - tol`` and ``z - z_front <= MAX_INNER_DEPTH``: inner joints;
the second condition tells the far shoulder, seen in profile through the chest the ray never
leaves, from a hip or the pelvis seen from the side, 15-20 cm deep); otherwise another part
(or, for a surface joint, its own part: a heel seen from the front) is in front of it.
"""
from typing import Sequence

import numpy as np

from mmhmr.visualization.renderer import face_normals, rasterize

VISIBLE, SELF_OCCLUDED, OCCLUDER, OUTSIDE = 0, 1, 2, 3
OCCLUSION_CODES = dict(visible=VISIBLE, self_occluded=SELF_OCCLUDED, occluder=OCCLUDER,
                       outside=OUTSIDE)
# m; depth slack of the tests above (a pixel centre is up to 0.7 px from the joint's projection,
# about 1 cm on a body at 4 m seen with f ~ 360 px)
DEPTH_TOLERANCE = 0.02
# m; the deepest an inner joint lies below the surface facing the camera and still counts as
# seen (the torso's half-width, with room for wide bodies)
MAX_INNER_DEPTH = 0.25


def exit_depth(vertices: np.ndarray, faces: np.ndarray, focal_length: float,
               principal_point: Sequence[float], image_size: Sequence[int]) -> np.ndarray:
    """Depth of the nearest back-facing surface at each pixel of a closed mesh.

    Where a viewing ray leaves the first part of the mesh it enters. :func:`rasterize` with
    ``cull_backfaces`` keeps the faces whose given normals point back at the camera; given the
    inward normals, these are the back faces.

    Args:
        vertices (np.ndarray): ``(V, 3)`` camera frame, m.
        faces (np.ndarray): ``(F, 3)`` vertex indices of a closed mesh.
        focal_length (float): px.
        principal_point (Sequence[float]): ``(cx, cy)``, px.
        image_size (Sequence[int]): ``(W, H)``.

    Returns:
        np.ndarray: ``(H, W)`` float32 camera-frame z, ``inf`` where no back face is seen.
    """
    verts = np.asarray(vertices, np.float32)
    faces = np.asarray(faces, np.int64)
    inward = -face_normals(verts, faces)
    _, _, depth = rasterize(verts, faces, focal_length, principal_point, image_size,
                            cull_backfaces=True, normals_of_faces=inward)
    return depth


def keypoint_occlusion(keypoints_2d: np.ndarray,
                       depth: np.ndarray,
                       front_depth: np.ndarray,
                       back_depth: np.ndarray,
                       occluder_mask: np.ndarray,
                       tolerance: float = DEPTH_TOLERANCE,
                       max_inner_depth: float = MAX_INNER_DEPTH) -> np.ndarray:
    """Occlusion code of each keypoint (see the module docstring).

    The codes, first match wins: 3 ``OUTSIDE`` (confidence 0: outside the image or behind the
    camera), 2 ``OCCLUDER`` (an occluder is painted over its pixel, whatever is behind),
    1 ``SELF_OCCLUDED`` (neither ``z <= z_front + tol`` nor ``z <= z_exit - tol`` with
    ``z - z_front <= max_inner_depth``), 0 ``VISIBLE``. A
    keypoint's pixel is ``(floor(y), floor(x))`` (pixel ``j`` spans ``[j, j + 1]``), clipped
    to the image (``x = W`` is inside). Background pixels have infinite depths: seen.

    Args:
        keypoints_2d (np.ndarray): ``(K, 3)`` x, y px, confidence (> 0 inside the image).
        depth (np.ndarray): ``(K,)`` camera-frame z of the keypoints, m.
        front_depth (np.ndarray): ``(H, W)`` the rendered depth (``render_mesh``), inf on
            background.
        back_depth (np.ndarray): ``(H, W)`` from :func:`exit_depth`.
        occluder_mask (np.ndarray): ``(H, W)`` bool, True where an occluder is painted.
        tolerance (float): m. Defaults to :data:`DEPTH_TOLERANCE`.
        max_inner_depth (float): m. Defaults to :data:`MAX_INNER_DEPTH`.

    Returns:
        np.ndarray: ``(K,)`` uint8 codes.
    """
    height, width = front_depth.shape
    kp2d = np.asarray(keypoints_2d, np.float64)
    xy = np.nan_to_num(kp2d[:, :2], nan=0., posinf=0., neginf=0.)  # unused when outside
    cols = np.clip(np.floor(xy[:, 0]), 0, width - 1).astype(np.int64)
    rows = np.clip(np.floor(xy[:, 1]), 0, height - 1).astype(np.int64)
    z = np.asarray(depth, np.float64)
    front = front_depth[rows, cols].astype(np.float64)
    on_front = z <= front + tolerance
    in_first_part = (z <= back_depth[rows, cols] - tolerance) & (z - front <= max_inner_depth)
    codes = np.full(len(kp2d), VISIBLE, np.uint8)
    codes[~(on_front | in_first_part)] = SELF_OCCLUDED
    codes[occluder_mask[rows, cols]] = OCCLUDER
    codes[kp2d[:, 2] <= 0] = OUTSIDE
    return codes
