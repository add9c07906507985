"""Occlusion codes of synthetic samples and SimulateKeypointDetections."""
import numpy as np
import pytest

from mmhmr.datasets.synthetic import (SyntheticHumanGenerator, exit_depth, keypoint_occlusion,
                                      paint_occluders, render_mesh, sample_scene)
from mmhmr.datasets.synthetic_dataset import SyntheticHumanDataset
from mmhmr.datasets.transforms import HMRTopdownAffine, SimulateKeypointDetections
from mmhmr.models.body_models.joint_sets import SPIN_49_NAMES

INF = np.inf


@pytest.fixture(scope='module')
def body_dir(tmp_path_factory):
    from mmhmr.models.body_models.procedural import ensure_procedural_body_model
    return ensure_procedural_body_model(str(tmp_path_factory.mktemp('procedural')), seed=0)


# ---------------------------------------------------------------- occluder mask
def test_paint_occluders_mask_is_the_rectangle_and_the_image_is_unchanged():
    """Box centre (30, 20), side 20; occluder (u, v, w, h) = (0.25, 0, 0.5, 0.4), a rectangle:
    centre (35, 20), half sides 5 x 4, so cv2 fills columns 30-40 and rows 16-24."""
    occluders = np.array([[0.25, 0., 0.5, 0.4, 0.]], np.float32)
    base = np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    plain = paint_occluders(base.copy(), occluders, np.array([30., 20.]), 20.,
                            np.random.default_rng(1))
    img, mask = paint_occluders(base.copy(), occluders, np.array([30., 20.]), 20.,
                                np.random.default_rng(1), return_mask=True)
    np.testing.assert_array_equal(img, plain)
    expected = np.zeros((40, 60), bool)
    expected[16:25, 30:41] = True
    np.testing.assert_array_equal(mask, expected)
    assert (img[~mask] == base[~mask]).all()


# ---------------------------------------------------------------- occlusion codes
def test_keypoint_occlusion_codes_on_hand_built_depth_buffers():
    front = np.array([[INF, 1., 1., 1.], [INF, 1., 1., 2.], [INF, INF, INF, INF]], np.float32)
    back = np.array([[INF, 1.3, 1.3, 1.1], [INF, 1.1, 1.6, 2.3], [INF, INF, INF, INF]],
                    np.float32)
    occluder = np.zeros((3, 4), bool)
    occluder[0, 3] = occluder[2, 2] = True
    # (x, y, conf, z, expected code)
    cases = [
        (1.5, 0.5, 1, 1.15, 0),  # inside the first part: 0.15 m deep, 0.15 m before its exit
        (1.2, 0.9, 1, 1.01, 0),  # on the front surface
        (1.5, 1.5, 1, 1.5, 1),  # behind a part that ends at 1.1
        (2.5, 1.5, 1, 1.3, 1),  # in the first part but 0.3 m deep (> 0.25): behind it
        (4.0, 1.2, 1, 2.1, 0),  # x = W is in the last column: inside the part 2 - 2.3
        (0.5, 0.5, 1, 5.0, 0),  # background: nothing in front
        (2.5, 2.5, 1, 3.0, 2),  # an occluder over background
        (3.5, 0.5, 1, 1.5, 2),  # self-occluded (exit 1.1) and under an occluder: occluder
        (2.5, 2.5, 0, 3.0, 3),  # outside the image wins over everything
    ]
    kp = np.array([c[:3] for c in cases], np.float32)
    depth = np.array([c[3] for c in cases])
    codes = keypoint_occlusion(kp, depth, front, back, occluder)
    assert codes.dtype == np.uint8
    np.testing.assert_array_equal(codes, [c[4] for c in cases])


def box(lo, hi):
    """A closed box mesh: 8 vertices (corner i + 2 j + 4 k at (x_i, y_j, z_k)), 12 faces."""
    corners = np.array([[(lo, hi)[i][0], (lo, hi)[j][1], (lo, hi)[k][2]]
                        for k in range(2) for j in range(2) for i in range(2)], np.float32)
    faces = np.array([(0, 2, 1), (1, 2, 3), (4, 5, 6), (5, 7, 6), (0, 1, 4), (1, 5, 4),
                      (2, 6, 3), (3, 6, 7), (0, 4, 2), (2, 4, 6), (1, 3, 5), (3, 7, 5)])
    return corners, faces


def test_occlusion_from_rendered_boxes():
    """A small box A (x, y in +-0.2 m, z 2-2.2 m) in front of a large box B (x, y in +-1 m,
    z 3-3.4 m); 40 x 40 image, f = 40 px, principal point (20, 20)."""
    va, fa = box((-0.2, -0.2, 2.0), (0.2, 0.2, 2.2))
    vb, fb = box((-1., -1., 3.0), (1., 1., 3.4))
    verts, faces = np.concatenate([va, vb]), np.concatenate([fa, fb + 8])
    size, focal, pp = (40, 40), 40., (20., 20.)
    _, _, front = render_mesh(verts, faces, np.ones_like(verts), focal, pp, size,
                              cull_backfaces=True)
    back = exit_depth(verts, faces, focal, pp, size)
    assert front[20, 20] == pytest.approx(2.0) and back[20, 20] == pytest.approx(2.2)
    assert front[20, 27] == pytest.approx(3.0) and back[20, 27] == pytest.approx(3.4)
    assert front[0, 0] == INF and back[0, 0] == INF
    joints = np.array([
        (0., 0., 3.2),  # inside B, behind A: 1
        (0.6, 0., 3.2),  # inside B, beside A: 0
        (0., 0., 2.1),  # inside A: 0
        (0.6, 0.3, 3.0),  # on B's front face: 0
        (0.6, 0., 3.4),  # on B's back face (as a heel seen from the front): 1
        (1.5, 1.5, 3.2),  # projects onto the background: 0
        (5., 0., 3.0),  # outside the image: 3
    ])
    uv = focal * joints[:, :2] / joints[:, 2:] + pp
    inside = ((uv >= 0) & (uv <= 40)).all(1)
    kp = np.concatenate([uv, inside[:, None]], 1)
    codes = keypoint_occlusion(kp, joints[:, 2], front, back, np.zeros((40, 40), bool))
    np.testing.assert_array_equal(codes, [1, 0, 0, 0, 1, 0, 3])


def rest_pose_generator(body_dir, yaw, **domain):
    return SyntheticHumanGenerator(body_dir, domain=dict(
        dict(image_size=(160, 160), yaw_range=(yaw, yaw), pitch_range=(0., 0.), pose_scale=0.,
             betas_std=0., occlusion_prob=0., person_offset=0., distance_range=(4., 4.)),
        **domain))


def test_side_view_hides_the_far_arm(body_dir):
    """Seen from the side in the A-pose (arms in the body's frontal plane), the far arm is
    behind the torso and the near arm; the near arm is seen."""
    ann = rest_pose_generator(body_dir, 90.).generate(0, 0)['annotations']
    codes, z = ann['keypoints_2d_occlusion'], ann['keypoints_3d'][:, 2]
    assert codes.shape == (49, ) and codes.dtype == np.uint8
    near, far = ('left', 'right') if z[SPIN_49_NAMES.index('left_wrist')] < \
        z[SPIN_49_NAMES.index('right_wrist')] else ('right', 'left')
    for joint in ('shoulder', 'elbow', 'wrist'):
        for prefix in ('op_', ''):
            assert codes[SPIN_49_NAMES.index(f'{prefix}{far}_{joint}')] == 1, (far, joint)
            assert codes[SPIN_49_NAMES.index(f'{prefix}{near}_{joint}')] == 0, (near, joint)


def test_front_view_sees_every_joint_but_the_heels(body_dir):
    """From the front in the A-pose only the heels (at the back of the feet) are hidden."""
    codes = rest_pose_generator(body_dir, 0.).generate(0, 0)['annotations'][
        'keypoints_2d_occlusion']
    hidden = {SPIN_49_NAMES[i] for i in np.flatnonzero(codes)}
    assert hidden == {'op_left_heel', 'op_right_heel'}


def test_occluder_codes_match_the_painted_rectangles(body_dir):
    """Rectangle occluders cover, by cv2's filling, the columns round(cx -+ w / 2) and rows
    round(cy -+ h / 2) around their centre (scene values relative to the person box)."""
    gen = SyntheticHumanGenerator(body_dir, domain=dict(
        image_size=(96, 96), occlusion_prob=1., max_occluders=1,
        occlusion_size_range=(0.3, 0.5)))
    checked = covered = 0
    for index in range(12):
        scene = sample_scene(gen.domain, np.random.default_rng([0, index]), gen.genders)
        (u, v, w, h, shape), = scene['occluders']
        if shape != 0:
            continue
        ann = gen.generate(0, index)['annotations']
        cx, cy = ann['bbox_center'] + ann['bbox_size'] * np.array([u, v])
        hw, hh = ann['bbox_size'] * w / 2, ann['bbox_size'] * h / 2
        kp = ann['keypoints_2d']
        col, row = np.floor(kp[:, 0]), np.floor(kp[:, 1])
        under = ((col >= round(cx - hw)) & (col <= round(cx + hw)) & (row >= round(cy - hh))
                 & (row <= round(cy + hh)) & (kp[:, 2] > 0))
        np.testing.assert_array_equal(ann['keypoints_2d_occlusion'] == 2, under)
        np.testing.assert_array_equal(ann['keypoints_2d_occlusion'] == 3, kp[:, 2] == 0)
        checked += 1
        covered += under.sum()
    assert checked >= 3 and covered > 0


# ---------------------------------------------------------------- SimulateKeypointDetections
IMAGE = 1000
CENTER, BOX = np.array([500., 500.]), 400.
# occlusion codes of the test sample's 25 OpenPose joints
CODES_25 = np.array([0] * 10 + [1] * 5 + [2] * 5 + [3] * 2 + [0] * 3)


def make_sample(sample_idx, with_codes=True):
    rng = np.random.default_rng(123)  # the same ground truth for every sample
    kp = np.concatenate([rng.uniform(350, 650, (49, 2)), np.ones((49, 1))], 1)
    codes = np.zeros(49, np.uint8)
    codes[:25] = CODES_25
    kp[codes == 3, 2] = 0.
    sample = dict(keypoints_2d=kp.astype(np.float32), bbox_center=CENTER.copy(),
                  bbox_size=BOX, ori_shape=(IMAGE, IMAGE), sample_idx=sample_idx)
    if with_codes:
        sample['keypoints_2d_occlusion'] = codes
    return sample


def simulate(num, **kwargs):
    """Detections of samples 0..num-1: ``(num, 49, 3)``, and the ground truth ``(49, 3)``."""
    transform = SimulateKeypointDetections(**kwargs)
    dets = np.stack([transform(make_sample(i))['det_keypoints_2d'] for i in range(num)])
    return dets, make_sample(0)['keypoints_2d']


def test_noise_miss_and_confidence_statistics_match_the_configuration():
    dets, gt = simulate(2000, noise_std=0.02, occluded_noise_scale=3., miss_prob=0.1,
                        occluded_miss_prob=0.4, conf_mean=0.8, occluded_conf_mean=0.4,
                        conf_concentration=10., outlier_prob=0., swap_prob=0.)
    visible, occluded = np.flatnonzero(CODES_25 == 0), np.flatnonzero(CODES_25 % 3 != 0)
    detected = dets[..., 2] > 0
    for joints, std, miss, conf in ((visible, 8., 0.1, 0.8), (occluded, 24., 0.4, 0.4)):
        hit = detected[:, joints]
        assert 1 - hit.mean() == pytest.approx(miss, abs=0.015)
        error = (dets[:, joints, :2] - gt[joints, :2])[hit]  # (n, 2)
        assert error.std() == pytest.approx(std, rel=0.03)  # 0.02 x 400 px, 3 x that
        assert np.abs(error.mean()) < 0.05 * std
        scores = dets[:, joints, 2][hit]
        assert scores.mean() == pytest.approx(conf, abs=0.01)
        # Beta(10 m, 10 (1 - m)): std sqrt(m (1 - m) / 11)
        assert scores.std() == pytest.approx(np.sqrt(conf * (1 - conf) / 11), rel=0.05)
    # outside the image: never detected; slots 25-48 are not detected by default
    assert (dets[:, :25][:, CODES_25 == 3] == 0).all() and (dets[:, 25:] == 0).all()
    missed = ~detected[:, :25]
    assert (dets[:, :25][missed] == 0).all()  # a miss is (0, 0, 0)


def test_outlier_rate_position_and_confidence():
    dets, gt = simulate(1000, noise_std=0.002, miss_prob=0., occluded_miss_prob=0.,
                        outlier_prob=0.1, outlier_conf_mean=0.3, swap_prob=0.)
    joints = np.flatnonzero(CODES_25 == 0)
    error = np.linalg.norm(dets[:, joints, :2] - gt[joints, :2], axis=-1)
    outlier = error > 10.  # 12 x the noise std; a uniform draw lands that close 0.2 % of times
    assert outlier.mean() == pytest.approx(0.1, abs=0.015)
    assert (np.abs(dets[:, joints, :2][outlier] - CENTER) <= BOX / 2).all()  # in the box
    assert dets[:, joints, 2][outlier].mean() == pytest.approx(0.3, abs=0.02)


def test_limb_swap_rate_and_whole_limbs():
    dets, gt = simulate(1500, noise_std=0., miss_prob=0., occluded_miss_prob=0.,
                        outlier_prob=0., swap_prob=0.2)
    names = SPIN_49_NAMES[:25]
    limbs = {'arms': ('shoulder', 'elbow', 'wrist'),
             'legs': ('hip', 'knee', 'ankle', 'big_toe', 'small_toe', 'heel')}
    swapped = {}
    for limb, parts in limbs.items():
        left = np.array([names.index(f'op_left_{p}') for p in parts])
        right = np.array([names.index(f'op_right_{p}') for p in parts])
        both = (CODES_25[left] != 3) & (CODES_25[right] != 3)  # pairs with both sides in view
        slots = np.concatenate([left[both], right[both]])
        mirrors = np.concatenate([right[both], left[both]])
        swapped[limb] = (np.abs(dets[:, slots, :2] - gt[mirrors, :2]) < 1e-3).all(axis=(1, 2))
        kept = (np.abs(dets[:, slots, :2] - gt[slots, :2]) < 1e-3).all(axis=(1, 2))
        assert (swapped[limb] | kept).all(), limb  # the whole limb pair or nothing
    assert not (swapped['arms'] & swapped['legs']).any()  # one limb pair per sample
    assert (swapped['arms'] | swapped['legs']).mean() == pytest.approx(0.2, abs=0.03)
    assert swapped['arms'].mean() == pytest.approx(0.1, abs=0.025)


def test_same_sample_index_gives_the_same_detections_whatever_the_order():
    a = SimulateKeypointDetections(seed=7)
    b = SimulateKeypointDetections(seed=7)
    forward = [a(make_sample(i))['det_keypoints_2d'] for i in range(5)]
    np.random.seed(0)
    state = np.random.get_state()[1].copy()
    backward = [b(make_sample(i))['det_keypoints_2d'] for i in reversed(range(5))][::-1]
    assert (np.random.get_state()[1] == state).all()  # the global random state is untouched
    for f, g in zip(forward, backward):
        np.testing.assert_array_equal(f, g)
    assert not np.array_equal(forward[0], forward[1])
    other_seed = SimulateKeypointDetections(seed=8)(make_sample(0))['det_keypoints_2d']
    assert not np.array_equal(forward[0], other_seed)


def test_without_occlusion_codes_joints_in_view_count_as_visible():
    transform = SimulateKeypointDetections(joints='all', miss_prob=0., outlier_prob=0.,
                                           swap_prob=0., noise_std=0.)
    sample = make_sample(3, with_codes=False)
    sample['keypoints_2d'][30] = (1200., 400., 1.)  # outside the 1000 x 1000 image
    out = transform(sample)
    det, gt = out['det_keypoints_2d'], sample['keypoints_2d']
    assert out['det_keypoints_source'] == 'simulated'
    in_view = np.ones(49, bool)
    in_view[[20, 21, 30]] = False  # confidence 0, and out of the image
    np.testing.assert_allclose(det[in_view, :2], gt[in_view, :2], atol=1e-4)
    assert (det[in_view, 2] > 0).all() and (det[~in_view] == 0).all()
    # visible confidences: the mean-0.8 Beta, none read as a miss
    assert det[in_view, 2].min() >= 1e-3


def test_custom_joint_slots():
    out = SimulateKeypointDetections(joints=[2, 40], miss_prob=0., outlier_prob=0.,
                                     swap_prob=0.)(make_sample(0))
    assert set(np.flatnonzero(out['det_keypoints_2d'][:, 2])) == {2, 40}


def test_simulator_errors_and_repr():
    with pytest.raises(RuntimeError, match='before HMRTopdownAffine'):
        sample = make_sample(0)
        sample.update(img=np.zeros((IMAGE, IMAGE, 3), np.uint8), smpl_pose=np.zeros(72))
        SimulateKeypointDetections()(HMRTopdownAffine(input_size=(32, 32))(sample))
    sample = make_sample(0)
    del sample['sample_idx']
    with pytest.raises(KeyError, match='sample_idx'):
        SimulateKeypointDetections()(sample)
    sample = make_sample(0)
    sample.update(det_keypoints_2d=np.zeros((49, 3)), det_keypoints_source='openpose')
    with pytest.raises(RuntimeError, match="'openpose'.*overwrite=True"):
        SimulateKeypointDetections()(sample)
    assert SimulateKeypointDetections(overwrite=True)(sample)['det_keypoints_source'] == \
        'simulated'
    sample = make_sample(0)
    sample['keypoints_2d_occlusion'] = np.full(49, 4)
    with pytest.raises(ValueError, match='keypoints_2d_occlusion'):
        SimulateKeypointDetections()(sample)
    for kwargs, word in ((dict(noise_std=-1.), 'noise_std'), (dict(miss_prob=1.5), 'miss_prob'),
                         (dict(conf_mean=1.), 'conf_mean'), (dict(swap_prob=-0.1), 'swap_prob'),
                         (dict(conf_concentration=0.), 'conf_concentration'),
                         (dict(joints='coco'), 'joints'), (dict(joints=[3, 3]), 'joints'),
                         (dict(joints=[49]), 'joints'), (dict(seed=-1), 'seed'),
                         (dict(occluded_conf_mean=0.), 'occluded_conf_mean'),
                         (dict(outlier_prob=2.), 'outlier_prob')):
        with pytest.raises(ValueError, match=word):
            SimulateKeypointDetections(**kwargs)
    text = repr(SimulateKeypointDetections(seed=3, noise_std=0.01, joints='all'))
    assert 'seed=3' in text and 'noise_std=0.01' in text and "joints='all'" in text


def test_simulated_detections_in_a_synthetic_pipeline(body_dir):
    pipeline = [dict(type='LoadImage'), dict(type='SimulateKeypointDetections', seed=1),
                dict(type='HMRRandomFlip', prob=0.), dict(type='HMRTopdownAffine',
                                                          input_size=(32, 32)),
                dict(type='PackHMRInputs')]
    ds = SyntheticHumanDataset(body_model=dict(model_path=body_dir), num_samples=2,
                               domain=dict(image_size=(64, 64)), pipeline=pipeline)
    data_sample = ds[1]['data_samples']
    gt = data_sample.gt_instances
    assert data_sample.det_keypoints_source == 'simulated'
    assert gt.det_keypoints_2d.shape == (1, 49, 2)
    info = ds.get_data_info(1)
    det = SimulateKeypointDetections(seed=1)(info)['det_keypoints_2d']
    expected = (det[:, :2] - info['bbox_center']) / (info['bbox_size'] / 2)
    np.testing.assert_allclose(gt.det_keypoints_2d[0], expected, atol=1e-5)
    np.testing.assert_allclose(gt.det_keypoints_2d_score[0], det[:, 2])
