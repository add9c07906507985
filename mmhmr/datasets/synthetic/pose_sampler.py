"""Random SMPL poses within human joint limits, random shapes, and the viewpoint rotation.

SMPL's pose parameters are rotations of each joint in its parent's frame, which in the rest pose
(T-pose, arms along +-x) is aligned with the body frame: x towards the body's left, y up, z
forward (the body faces +z). The joint limits below are Euler angles about these axes, in
degrees, read off the usual ranges of motion (hip flexion ~120 deg, knee flexion ~140 deg,
elbow flexion ~140 deg, shoulder elevation, neck / trunk rotation ...). Left and right limits
are mirror images (mirroring the body in the plane x = 0 maps the angles (x, y, z) to
(x, -y, -z)).
"""
from typing import Tuple

import numpy as np
import torch

from mmhmr.models.body_models.joint_sets import SMPL_24_NAMES
from mmhmr.models.utils.rotation import matrix_to_axis_angle

# (joint name) -> ((x_lo, x_hi), (y_lo, y_hi), (z_lo, z_hi)) in degrees, rotation R = Rz Ry Rx.
# Signs, worked out from the rest pose: hip x < 0 swings the leg forward, knee x > 0 bends it
# back; spine / neck x > 0 bends forward; left shoulder z < 0 lowers the left arm, y < 0 swings
# it forward; left elbow y < 0 bends the forearm forward (right side: opposite y and z signs).
JOINT_LIMITS_DEG = {
    'pelvis': ((-20, 20), (0, 0), (-10, 10)),  # body lean; the heading is the viewpoint's yaw
    'left_hip': ((-110, 25), (-30, 30), (-15, 45)),
    'right_hip': ((-110, 25), (-30, 30), (-45, 15)),
    'spine1': ((-10, 30), (-15, 15), (-10, 10)),
    'left_knee': ((0, 140), (-5, 5), (-5, 5)),
    'right_knee': ((0, 140), (-5, 5), (-5, 5)),
    'spine2': ((-10, 25), (-15, 15), (-10, 10)),
    'left_ankle': ((-30, 40), (-15, 15), (-15, 15)),
    'right_ankle': ((-30, 40), (-15, 15), (-15, 15)),
    'spine3': ((-10, 20), (-15, 15), (-10, 10)),
    'left_foot': ((-15, 15), (0, 0), (0, 0)),
    'right_foot': ((-15, 15), (0, 0), (0, 0)),
    'neck': ((-25, 35), (-40, 40), (-20, 20)),
    'left_collar': ((-10, 10), (-15, 15), (-10, 20)),
    'right_collar': ((-10, 10), (-15, 15), (-20, 10)),
    'head': ((-20, 30), (-40, 40), (-20, 20)),
    'left_shoulder': ((-60, 60), (-90, 30), (-80, 60)),
    'right_shoulder': ((-60, 60), (-30, 90), (-60, 80)),
    'left_elbow': ((-30, 30), (-140, 0), (-5, 5)),
    'right_elbow': ((-30, 30), (0, 140), (-5, 5)),
    'left_wrist': ((-30, 30), (-25, 25), (-70, 70)),
    'right_wrist': ((-30, 30), (-25, 25), (-70, 70)),
    'left_hand': ((-10, 10), (-10, 10), (-10, 10)),
    'right_hand': ((-10, 10), (-10, 10), (-10, 10)),
}
# the rest pose that pose_scale = 0 gives: an A-pose (arms 55 deg below horizontal)
REST_POSE_DEG = {'left_shoulder': (0, 0, -55), 'right_shoulder': (0, 0, 55)}

_LIMITS = np.radians(np.array([JOINT_LIMITS_DEG[n] for n in SMPL_24_NAMES], np.float64))
_REST = np.radians(np.array([REST_POSE_DEG.get(n, (0, 0, 0)) for n in SMPL_24_NAMES],
                            np.float64))  # (24, 3)


def euler_xyz_to_matrix(angles: np.ndarray) -> np.ndarray:
    """Rotation matrices ``R = Rz(c) Ry(b) Rx(a)`` of Euler angles ``(a, b, c)``.

    Args:
        angles (np.ndarray): ``(..., 3)`` radians.

    Returns:
        np.ndarray: ``(..., 3, 3)``.
    """
    ca, cb, cc = np.cos(angles).T
    sa, sb, sc = np.sin(angles).T
    mat = np.stack([
        cc * cb, cc * sb * sa - sc * ca, cc * sb * ca + sc * sa,
        sc * cb, sc * sb * sa + cc * ca, sc * sb * ca - cc * sa,
        -sb, cb * sa, cb * ca], axis=0).T
    return mat.reshape(angles.shape[:-1] + (3, 3))


def axis_rotation(axis: str, angle: float) -> np.ndarray:
    """The ``(3, 3)`` rotation by ``angle`` radians about the x, y or z axis."""
    angles = np.zeros(3)
    angles['xyz'.index(axis)] = angle
    return euler_xyz_to_matrix(angles)


def sample_joint_rotations(rng: np.random.Generator, pose_scale: float) -> np.ndarray:
    """Body-frame Euler angles of the 24 joints within the joint limits.

    Each angle is ``rest + pose_scale * (u - rest)`` with ``u`` uniform within its limits: 0 is
    the A-pose rest, 1 uniform over the limits (values above 1 may leave them).

    Args:
        rng (np.random.Generator): random source.
        pose_scale (float): >= 0.

    Returns:
        np.ndarray: ``(24, 3)`` radians (pelvis first).
    """
    u = rng.uniform(_LIMITS[..., 0], _LIMITS[..., 1])  # (24, 3)
    return _REST + pose_scale * (u - _REST)


def view_rotation(yaw: float, pitch: float) -> np.ndarray:
    """Rotation from SMPL's body frame (y up, facing +z) to the camera frame (y down, z forward).

    ``yaw`` turns the body about its vertical axis (0: it faces the camera, pi: its back);
    ``pitch`` > 0 raises the camera (it looks down at the body, the head tilts towards it).

    Args:
        yaw (float): radians.
        pitch (float): radians.

    Returns:
        np.ndarray: ``(3, 3)``.
    """
    # Rx(pi) turns body-up into image-up (-y) and the body's front towards the camera (-z)
    return axis_rotation('x', pitch) @ axis_rotation('x', np.pi) @ axis_rotation('y', yaw)


def sample_smpl_pose(rng: np.random.Generator, pose_scale: float, yaw: float,
                     pitch: float) -> np.ndarray:
    """An SMPL pose in the camera frame: random joint rotations seen from ``(yaw, pitch)``.

    Args:
        rng (np.random.Generator): random source.
        pose_scale (float): see :func:`sample_joint_rotations`.
        yaw (float): radians, see :func:`view_rotation`.
        pitch (float): radians.

    Returns:
        np.ndarray: ``(72,)`` float32 axis-angle, global orientation first.
    """
    rotmat = euler_xyz_to_matrix(sample_joint_rotations(rng, pose_scale))  # (24, 3, 3)
    rotmat[0] = view_rotation(yaw, pitch) @ rotmat[0]
    axis_angle = matrix_to_axis_angle(torch.from_numpy(rotmat))  # (24, 3)
    return axis_angle.numpy().reshape(72).astype(np.float32)


def sample_betas(rng: np.random.Generator, betas_std: float, num_betas: int = 10,
                 clip: float = 3.) -> np.ndarray:
    """Shape coefficients ``N(0, betas_std^2)`` clipped to ``[-clip, clip]``.

    Returns:
        np.ndarray: ``(num_betas,)`` float32.
    """
    return np.clip(rng.normal(0., betas_std, num_betas), -clip, clip).astype(np.float32)


def joint_limits() -> Tuple[np.ndarray, np.ndarray]:
    """Euler limits ``(24, 3, 2)`` (lower, upper) and rest angles ``(24, 3)``, radians."""
    return _LIMITS.copy(), _REST.copy()
