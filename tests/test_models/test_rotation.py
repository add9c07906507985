import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from mmhmr.models.body_models.joint_sets import SMPL_24_FLIP_PERM
from mmhmr.models.utils import (axis_angle_to_matrix, flip_smpl_pose, matrix_to_axis_angle,
                                matrix_to_rot6d, rot6d_to_matrix)

RZ90 = [[0., -1., 0.], [1., 0., 0.], [0., 0., 1.]]


def random_rotvecs(n, seed=0, max_angle=math.pi):
    rng = np.random.default_rng(seed)
    axes = rng.normal(size=(n, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    return axes * rng.uniform(0, max_angle, (n, 1))


def test_axis_angle_to_matrix_hand_computed():
    aa = torch.tensor([[0, 0, math.pi / 2], [math.pi, 0, 0], [0, 0, 0]], dtype=torch.float64)
    R = axis_angle_to_matrix(aa)
    torch.testing.assert_close(R[0], torch.tensor(RZ90, dtype=torch.float64))
    torch.testing.assert_close(R[1], torch.diag(torch.tensor([1., -1., -1.], dtype=torch.float64)))
    torch.testing.assert_close(R[2], torch.eye(3, dtype=torch.float64))
    # 90 deg about z sends x to y
    torch.testing.assert_close(R[0] @ torch.tensor([1., 0, 0], dtype=torch.float64),
                               torch.tensor([0., 1, 0], dtype=torch.float64))


def test_axis_angle_to_matrix_matches_scipy_any_leading_dims():
    rotvecs = np.concatenate([random_rotvecs(60), random_rotvecs(4, 1, 1e-3)])  # tiny ones too
    R = axis_angle_to_matrix(torch.from_numpy(rotvecs).reshape(4, 16, 3))
    assert R.shape == (4, 16, 3, 3)
    np.testing.assert_allclose(R.reshape(-1, 3, 3).numpy(),
                               Rotation.from_rotvec(rotvecs).as_matrix(), atol=1e-12)
    R32 = axis_angle_to_matrix(torch.from_numpy(rotvecs).float())
    assert R32.dtype == torch.float32
    np.testing.assert_allclose(R32.numpy(), Rotation.from_rotvec(rotvecs).as_matrix(), atol=1e-6)


def test_axis_angle_to_matrix_gradient_at_zero():
    aa = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
    R = axis_angle_to_matrix(aa)
    # R ~ I + [aa]_x near 0: dR[2, 1] / d aa = (1, 0, 0), dR[0, 2] / d aa = (0, 1, 0)
    (grad, ) = torch.autograd.grad(R[:, 2, 1].sum() + 2 * R[:, 0, 2].sum(), aa)
    torch.testing.assert_close(grad, torch.tensor([[1., 2., 0.]] * 2, dtype=torch.float64))
    # on both sides of the small-angle switch the gradient matches finite differences
    for angle in (0.0, 5e-4, 2e-3, 0.5):
        x = torch.tensor([[angle, 0.3 * angle, -0.2 * angle]], dtype=torch.float64,
                         requires_grad=True)
        assert torch.autograd.gradcheck(axis_angle_to_matrix, (x, ))


def test_matrix_to_axis_angle_matches_scipy():
    rotvecs = random_rotvecs(200, max_angle=math.pi - 1e-3)
    aa = matrix_to_axis_angle(torch.from_numpy(Rotation.from_rotvec(rotvecs).as_matrix()))
    np.testing.assert_allclose(aa.numpy(), rotvecs, atol=1e-10)


@pytest.mark.parametrize('angle', [0.0, 1e-9, 1e-5, 1e-3, 1.0, math.pi - 1e-3, math.pi - 1e-7])
def test_matrix_to_axis_angle_near_0_and_pi(angle):
    axis = np.array([0.36, -0.48, 0.8])  # unit
    R = torch.from_numpy(Rotation.from_rotvec(axis * angle).as_matrix())
    aa = matrix_to_axis_angle(R)
    np.testing.assert_allclose(aa.numpy(), axis * angle, atol=1e-9 + 1e-6 * (angle > 3))


def test_matrix_to_axis_angle_at_pi():
    # exactly pi: the axis is defined up to sign
    for axis in ([1., 0, 0], [0, 0.6, 0.8], [-0.36, 0.48, 0.8]):
        R = torch.from_numpy(Rotation.from_rotvec(np.array(axis) * math.pi).as_matrix())
        aa = matrix_to_axis_angle(R)
        assert abs(aa.norm().item() - math.pi) < 1e-9
        assert abs(abs(aa @ torch.tensor(axis, dtype=torch.float64)) - math.pi) < 1e-9
        torch.testing.assert_close(axis_angle_to_matrix(aa), R)


def test_matrix_to_axis_angle_gradient_finite():
    R = torch.from_numpy(Rotation.from_rotvec(
        [[0, 0, 0], [0, 0, math.pi], [1e-4, 0, 0], [0.3, 0.2, 0.1]]).as_matrix())
    R.requires_grad_(True)
    (grad, ) = torch.autograd.grad(matrix_to_axis_angle(R).sum(), R)
    assert torch.isfinite(grad).all()


def test_round_trips():
    rotvecs = torch.from_numpy(random_rotvecs(100, 2, math.pi - 1e-3))
    torch.testing.assert_close(matrix_to_axis_angle(axis_angle_to_matrix(rotvecs)), rotvecs)
    R = axis_angle_to_matrix(rotvecs).float()
    torch.testing.assert_close(rot6d_to_matrix(matrix_to_rot6d(R)), R, atol=1e-6, rtol=0)


def test_rot6d_layout_and_gram_schmidt():
    R = torch.tensor(RZ90)
    # the first two columns, row by row
    torch.testing.assert_close(matrix_to_rot6d(R), torch.tensor([0., -1., 1., 0., 0., 0.]))
    # columns (2, 0, 0) and (1, 1, 0): normalised, made orthogonal, third = cross -> identity
    x = torch.tensor([2., 1., 0., 1., 0., 0.])
    torch.testing.assert_close(rot6d_to_matrix(x), torch.eye(3))
    # any input gives a proper rotation whose first column is along the first input column
    x = torch.randn(5, 7, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    R = rot6d_to_matrix(x)
    assert R.shape == (5, 7, 3, 3)
    eye = torch.eye(3, dtype=torch.float64).expand(5, 7, 3, 3)
    torch.testing.assert_close(R.transpose(-1, -2) @ R, eye)
    torch.testing.assert_close(torch.linalg.det(R), torch.ones(5, 7, dtype=torch.float64))
    a1 = x.reshape(5, 7, 3, 2)[..., 0]
    torch.testing.assert_close(R[..., 0], a1 / a1.norm(dim=-1, keepdim=True))


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match=r'\(\.\.\., 3\)'):
        axis_angle_to_matrix(torch.zeros(4, 4))
    with pytest.raises(ValueError, match=r'\(\.\.\., 6\)'):
        rot6d_to_matrix(torch.zeros(4, 9))
    with pytest.raises(ValueError, match='72'):
        flip_smpl_pose(torch.zeros(2, 69))


def test_smpl_flip_permutation_is_spins():
    # SPIN's constants.SMPL_JOINTS_FLIP_PERM
    assert SMPL_24_FLIP_PERM == (0, 2, 1, 3, 5, 4, 6, 8, 7, 9, 11, 10, 12, 14, 13, 15, 17, 16, 19,
                                 18, 21, 20, 23, 22)


def test_flip_smpl_pose():
    pose = torch.zeros(72, dtype=torch.float64)
    pose[3:6] = torch.tensor([0.1, 0.2, 0.3])  # joint 1, left hip
    flipped = flip_smpl_pose(pose)
    expected = torch.zeros(72, dtype=torch.float64)
    expected[6:9] = torch.tensor([0.1, -0.2, -0.3])  # -> joint 2, right hip
    torch.testing.assert_close(flipped, expected)

    poses = torch.from_numpy(random_rotvecs(3 * 24, 3).reshape(3, 72))
    torch.testing.assert_close(flip_smpl_pose(flip_smpl_pose(poses)), poses)
    # the global rotation is conjugated by the mirror x -> -x
    mirror = torch.diag(torch.tensor([-1., 1., 1.], dtype=torch.float64))
    R = axis_angle_to_matrix(poses[:, :3])
    torch.testing.assert_close(axis_angle_to_matrix(flip_smpl_pose(poses)[:, :3]),
                               mirror @ R @ mirror)
    # numpy in, numpy out
    out = flip_smpl_pose(poses.numpy())
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, flip_smpl_pose(poses).numpy())
