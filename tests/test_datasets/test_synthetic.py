"""SyntheticHumanDataset: sampling, determinism, ground-truth consistency, cache."""
import os.path as osp
import shutil

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from mmhmr.datasets.synthetic import (DOMAIN_PRESETS, JOINT_LIMITS_DEG, euler_xyz_to_matrix,
                                      resolve_domain, sample_scene, sample_smpl_pose,
                                      view_rotation)
from mmhmr.datasets.synthetic.pose_sampler import sample_joint_rotations
from mmhmr.datasets.synthetic_dataset import SyntheticHumanDataset
from mmhmr.models.body_models.joint_sets import SMPL_24_NAMES, SPIN_49_NAMES
from mmhmr.models.body_models.smpl import SMPL
from mmhmr.registry import DATASETS

DATA_INFO_KEYS = {
    'img', 'img_path', 'ori_shape', 'bbox_center', 'bbox_size', 'focal_length', 'keypoints_2d',
    'keypoints_2d_occlusion', 'keypoints_3d', 'smpl_pose', 'smpl_betas', 'has_smpl', 'gender',
    'cam_transl', 'has_transl', 'smpl_root_joint', 'dataset_name', 'sample_idx'
}
SMALL = dict(image_size=(96, 80))  # a small image keeps the tests fast


@pytest.fixture(scope='module')
def body_dir(tmp_path_factory):
    from mmhmr.models.body_models.procedural import ensure_procedural_body_model
    return ensure_procedural_body_model(str(tmp_path_factory.mktemp('procedural')), seed=0)


def make_dataset(body_dir, domain=None, **kwargs):
    domain = dict(SMALL, **(domain or {}))
    return SyntheticHumanDataset(body_model=dict(model_path=body_dir), domain=domain,
                                 num_samples=kwargs.pop('num_samples', 8), **kwargs)


# ---------------------------------------------------------------------------------------------
# pose, shape and view sampling
# ---------------------------------------------------------------------------------------------
def test_euler_matches_scipy():
    angles = np.random.default_rng(0).uniform(-3, 3, (5, 7, 3))
    expected = Rotation.from_euler('xyz', angles.reshape(-1, 3)).as_matrix()  # extrinsic x,y,z
    np.testing.assert_allclose(euler_xyz_to_matrix(angles).reshape(-1, 3, 3), expected,
                               atol=1e-12)


def test_joint_limits_are_mirror_images():
    # mirroring in the plane x = 0 maps the angles (x, y, z) to (x, -y, -z)
    for name, (lim_x, lim_y, lim_z) in JOINT_LIMITS_DEG.items():
        if not name.startswith('left_'):
            continue
        rx, ry, rz = JOINT_LIMITS_DEG[name.replace('left_', 'right_')]
        assert rx == lim_x
        assert ry == (-lim_y[1], -lim_y[0])
        assert rz == (-lim_z[1], -lim_z[0])
    assert set(JOINT_LIMITS_DEG) == set(SMPL_24_NAMES)


def test_pose_scale_zero_is_the_a_pose_and_one_stays_within_limits():
    rng = np.random.default_rng(0)
    rest = np.degrees(sample_joint_rotations(rng, 0.))
    expected = np.zeros((24, 3))
    expected[SMPL_24_NAMES.index('left_shoulder'), 2] = -55.
    expected[SMPL_24_NAMES.index('right_shoulder'), 2] = 55.
    np.testing.assert_allclose(rest, expected, atol=1e-12)
    limits = np.array([JOINT_LIMITS_DEG[n] for n in SMPL_24_NAMES])  # (24, 3, 2)
    for _ in range(50):
        angles = np.degrees(sample_joint_rotations(rng, 1.))
        assert (angles >= limits[..., 0] - 1e-9).all() and (angles <= limits[..., 1] + 1e-9).all()


def test_view_rotation_axes():
    up, front = np.array([0., 1., 0.]), np.array([0., 0., 1.])  # SMPL body frame
    rot = view_rotation(0., 0.)
    np.testing.assert_allclose(rot @ up, [0, -1, 0], atol=1e-12)  # head up in the image
    np.testing.assert_allclose(rot @ front, [0, 0, -1], atol=1e-12)  # faces the camera
    np.testing.assert_allclose(view_rotation(np.pi, 0.) @ front, [0, 0, 1], atol=1e-12)
    pitch = np.radians(30.)  # camera above: the head leans towards the camera (-z)
    np.testing.assert_allclose(view_rotation(0., pitch) @ up,
                               [0, -np.cos(pitch), -np.sin(pitch)], atol=1e-12)


def test_rest_pose_seen_from_the_front():
    pose = sample_smpl_pose(np.random.default_rng(0), 0., yaw=0., pitch=0.).reshape(24, 3)
    # global orientation: a half turn about x; the shoulders: -+55 deg about z
    assert abs(abs(pose[0, 0]) - np.pi) < 1e-5 and np.abs(pose[0, 1:]).max() < 1e-5
    np.testing.assert_allclose(pose[SMPL_24_NAMES.index('left_shoulder')],
                               [0, 0, -np.radians(55)], atol=1e-6)
    others = [i for i, n in enumerate(SMPL_24_NAMES)
              if i > 0 and not n.endswith('_shoulder')]
    assert np.abs(pose[others]).max() < 1e-6


def test_resolve_domain():
    train = resolve_domain('train')
    assert train['name'] == 'train' and train['background'] == ('gradient', 'noise', 'solid')
    custom = resolve_domain(dict(preset='shifted', pose_scale=0.3, person_offset=0.))
    assert custom['pose_scale'] == 0.3 and custom['person_offset'] == (0., 0.)
    assert custom['yaw_range'] == DOMAIN_PRESETS['shifted']['yaw_range']
    assert custom['name'] == 'shifted+custom'
    with pytest.raises(KeyError, match='pose_sclae'):
        resolve_domain(dict(pose_sclae=1.))
    with pytest.raises(KeyError, match='unknown synthetic domain preset'):
        resolve_domain('test')
    with pytest.raises(ValueError, match='yaw_range'):
        resolve_domain(dict(yaw_range=(10., -10.)))
    with pytest.raises(ValueError, match='background'):
        resolve_domain(dict(background=('sky', )))
    with pytest.raises(ValueError, match='image_size'):
        resolve_domain(dict(image_size=(0, 10)))
    # person_offset is an (x, y) bound, not a (low, high) range
    assert resolve_domain(dict(person_offset=(0.3, 0.25)))['person_offset'] == (0.3, 0.25)
    with pytest.raises(ValueError, match='person_offset'):
        resolve_domain(dict(person_offset=(-0.1, 0.2)))


def scene_statistics(domain, num=300):
    scenes = [sample_scene(resolve_domain(domain), np.random.default_rng([0, i]))
              for i in range(num)]
    body_angles = np.array([np.linalg.norm(s['smpl_pose'].reshape(24, 3)[1:], axis=1).mean()
                            for s in scenes])
    return dict(
        yaw=np.degrees([s['yaw'] for s in scenes]),
        pitch=np.degrees([s['pitch'] for s in scenes]),
        body_angle=body_angles,
        distance=np.array([s['distance'] for s in scenes]),
        betas_std=np.std([s['smpl_betas'] for s in scenes]),
        occluded=np.array([len(s['occluders']) > 0 for s in scenes]),
        background={s['background'] for s in scenes},
        offset=np.array([s['root_pixel'] / s['image_size'] - 0.5 for s in scenes]))


def test_shifted_domain_differs_in_the_documented_statistics():
    train, shifted = scene_statistics('train'), scene_statistics('shifted')
    # viewpoints: train within 90 deg of frontal, near eye level; shifted all round, from above
    assert np.abs(train['yaw']).max() <= 90 and (np.abs(shifted['yaw']) > 90).mean() > 0.35
    assert train['pitch'].max() <= 15 and shifted['pitch'].min() >= 15
    # larger joint rotations (pose_scale 0.6 -> 1.0)
    assert shifted['body_angle'].mean() > 1.3 * train['body_angle'].mean()
    assert shifted['betas_std'] > 1.2 * train['betas_std']
    assert train['distance'].min() >= 3 and train['distance'].max() <= 5
    assert shifted['distance'].max() > 5.5
    # occlusion 0.2 vs 0.6 (binomial std ~0.03)
    assert abs(train['occluded'].mean() - 0.2) < 0.08
    assert abs(shifted['occluded'].mean() - 0.6) < 0.08
    assert train['background'] == {'gradient', 'noise', 'solid'}
    assert shifted['background'] == {'checker', 'stripes'}
    assert np.abs(train['offset']).max() <= 0.1 + 1e-6
    assert np.abs(shifted['offset']).max() > 0.15


# ---------------------------------------------------------------------------------------------
# the dataset
# ---------------------------------------------------------------------------------------------
def test_data_info_has_the_conventions_keys(body_dir):
    ds = DATASETS.build(dict(type='SyntheticHumanDataset', num_samples=5, domain=SMALL,
                             body_model=dict(model_path=body_dir)))
    assert len(ds) == 5
    info = ds[3]  # empty pipeline: the data info itself
    assert set(info) == DATA_INFO_KEYS
    assert info['img'].shape == (80, 96, 3) and info['img'].dtype == np.uint8
    assert info['ori_shape'] == (80, 96) and info['img_path'] is None
    assert info['keypoints_2d'].shape == (49, 3) and info['keypoints_3d'].shape == (49, 4)
    assert info['smpl_pose'].shape == (72, ) and info['smpl_betas'].shape == (10, )
    assert info['bbox_center'].shape == (2, ) and info['cam_transl'].shape == (3, )
    for key in ('keypoints_2d', 'keypoints_3d', 'smpl_pose', 'smpl_betas', 'bbox_center',
                'cam_transl'):
        assert info[key].dtype == np.float32, key
    assert info['has_smpl'] == 1 and info['has_transl'] == 1 and info['gender'] == 0
    assert info['dataset_name'] == 'synthetic' and info['sample_idx'] == 3
    assert info['focal_length'] == pytest.approx(np.hypot(96, 80))
    assert (info['keypoints_3d'][:, 3] == 1).all()
    assert ds.metainfo['dataset_name'] == 'synthetic'


def test_same_seed_and_index_give_the_same_sample(body_dir):
    a, b = make_dataset(body_dir), make_dataset(body_dir)
    first, again = a.get_data_info(2), b.get_data_info(2)
    for key in DATA_INFO_KEYS:
        np.testing.assert_array_equal(first[key], again[key], err_msg=key)
    other = a.get_data_info(3)
    assert not np.array_equal(first['img'], other['img'])
    assert not np.allclose(first['smpl_pose'], other['smpl_pose'])
    other_seed = make_dataset(body_dir, seed=1).get_data_info(2)
    assert not np.allclose(first['smpl_pose'], other_seed['smpl_pose'])
    # a subset (mmengine's `indices`) holds the same samples under their generator index
    subset = make_dataset(body_dir, indices=[5, 2])
    assert len(subset) == 2
    picked = subset.get_data_info(1)
    assert picked['sample_idx'] == 2
    np.testing.assert_array_equal(picked['img'], first['img'])


def test_keypoints_2d_are_the_projection_of_keypoints_3d(body_dir):
    ds = make_dataset(body_dir, domain=dict(preset='shifted'), num_samples=6)  # partly outside
    width, height = 96, 80
    inside_count = 0
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        xyz, f = info['keypoints_3d'][:, :3].astype(np.float64), info['focal_length']
        u = f * xyz[:, 0] / xyz[:, 2] + width / 2
        v = f * xyz[:, 1] / xyz[:, 2] + height / 2
        np.testing.assert_allclose(info['keypoints_2d'][:, 0], u, atol=1e-3)
        np.testing.assert_allclose(info['keypoints_2d'][:, 1], v, atol=1e-3)
        inside = (u >= 0) & (u <= width) & (v >= 0) & (v <= height)
        np.testing.assert_array_equal(info['keypoints_2d'][:, 2], inside.astype(np.float32))
        inside_count += inside.sum()
        # the person box contains every joint seen in the image
        half = info['bbox_size'] / 2
        assert (np.abs(np.stack([u, v], 1)[inside] - info['bbox_center']) <= half).all()
    assert inside_count > 0


def test_ground_truth_agrees_with_the_body_model(body_dir):
    ds = make_dataset(body_dir, genders=('male', 'female'))
    extra = np.load(osp.join(body_dir, 'J_regressor_extra.npy'))  # SPIN's 9 extra joints
    extra_names = ('right_hip', 'left_hip', 'neck_lsp', 'head_top_lsp', 'pelvis_mpii',
                   'thorax_mpii', 'spine_h36m', 'jaw_h36m', 'head_h36m')
    models = {g: SMPL(body_dir, gender=g, joint_set='smpl_24') for g in ('male', 'female')}
    genders = set()
    for i in range(4):
        info = ds.get_data_info(i)
        gender = ('neutral', 'male', 'female')[info['gender']]
        genders.add(gender)
        with torch.no_grad():
            out = models[gender](torch.from_numpy(info['smpl_betas'][None]),
                                 torch.from_numpy(info['smpl_pose'][None]))
        vertices = out['vertices'][0].double().numpy() + info['cam_transl']
        smpl_joints = out['smpl_joints'][0].double().numpy() + info['cam_transl']
        kp3d = info['keypoints_3d'][:, :3]
        for row, name in zip(extra, extra_names):
            np.testing.assert_allclose(kp3d[SPIN_49_NAMES.index(name)], row @ vertices,
                                       atol=1e-4, err_msg=name)
        # OpenPose nose: SMPL vertex 332; OpenPose mid-hip: the SMPL pelvis
        np.testing.assert_allclose(kp3d[SPIN_49_NAMES.index('op_nose')], vertices[332],
                                   atol=1e-4)
        np.testing.assert_allclose(kp3d[SPIN_49_NAMES.index('op_mid_hip')], smpl_joints[0],
                                   atol=1e-4)
    assert genders <= {'male', 'female'} and ds.get_data_info(0)['gender'] in (1, 2)


def test_person_box_fits_the_rendered_body(body_dir):
    # no occluders, centred: the box is 1.2 x the extent of the projected vertices
    ds = make_dataset(body_dir, domain=dict(occlusion_prob=0., person_offset=0.,
                                            distance_range=(4.5, 5.)), num_samples=4)
    model = SMPL(body_dir, joint_set='smpl_24')
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        with torch.no_grad():
            out = model(torch.from_numpy(info['smpl_betas'][None]),
                        torch.from_numpy(info['smpl_pose'][None]))
        verts = out['vertices'][0].double().numpy() + info['cam_transl']
        f = info['focal_length']
        uv = f * verts[:, :2] / verts[:, 2:] + [48, 40]
        lo, hi = uv.min(0), uv.max(0)
        assert (lo > 0).all() and (hi < [96, 80]).all()  # the whole body is in the image
        np.testing.assert_allclose(info['bbox_center'], (lo + hi) / 2, atol=1.)
        assert info['bbox_size'] / 1.2 == pytest.approx(max(hi - lo), abs=2.)


def test_cache_round_trip(body_dir, tmp_path, monkeypatch):
    plain = make_dataset(body_dir).get_data_info(1)
    cached = make_dataset(body_dir, cache_dir=str(tmp_path))
    first = cached.get_data_info(1)
    assert first['img_path'] is not None and osp.isfile(first['img_path'])
    assert first['img_path'].endswith('.png') and str(tmp_path) in first['img_path']
    # a new dataset reads the files back and renders nothing
    again = make_dataset(body_dir, cache_dir=str(tmp_path))
    monkeypatch.setattr(type(again.generator), 'generate',
                        lambda *a, **k: pytest.fail('rendered although cached'))
    second = again.get_data_info(1)
    for key in DATA_INFO_KEYS - {'img_path'}:
        np.testing.assert_array_equal(second[key], plain[key], err_msg=key)
        assert type(second[key]) is type(plain[key]), key  # noqa: E721
    assert second['img_path'] == first['img_path']
    # another domain or seed has other cache entries
    other = make_dataset(body_dir, domain=dict(pose_scale=0.1), cache_dir=str(tmp_path))
    assert other.cache_paths(1)[0] != first['img_path']
    assert make_dataset(body_dir, seed=5, cache_dir=str(tmp_path)).cache_paths(1)[0] != \
        first['img_path']
    # so has another body model (the key hashes the model files)
    other_body = tmp_path / 'other_body'
    shutil.copytree(body_dir, other_body)
    regressor = np.load(other_body / 'J_regressor_extra.npy')
    np.save(other_body / 'J_regressor_extra.npy', regressor[::-1])
    assert SyntheticHumanDataset(body_model=dict(model_path=str(other_body)), domain=SMALL,
                                 cache_dir=str(tmp_path)).cache_key != cached.cache_key


def test_load_image_keeps_the_rendered_image(body_dir):
    ds = make_dataset(body_dir, pipeline=[dict(type='LoadImage')])
    expected = ds.get_data_info(0)['img']
    results = ds[0]
    np.testing.assert_array_equal(results['img'], expected)
    assert results['img_shape'] == (80, 96) and results['ori_shape'] == (80, 96)


def test_bad_arguments(body_dir):
    with pytest.raises(ValueError, match='num_samples'):
        make_dataset(body_dir, num_samples=0)
    with pytest.raises(KeyError, match='body_model'):
        SyntheticHumanDataset(body_model=dict(model_dir='x', seeds=1))
    with pytest.raises(ValueError, match='genders'):
        make_dataset(body_dir, genders=('robot', ))
    with pytest.raises(KeyError, match='occlusion'):
        make_dataset(body_dir, domain=dict(occlusion=0.5))
