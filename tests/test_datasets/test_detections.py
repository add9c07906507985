"""Detected 2D keypoints as test-time inputs: joint maps, HMRDataset sources, flip, crop, pack."""
import numpy as np
import pytest
from npz_samples import spin_arrays

from mmhmr.datasets import det_keypoints as det_module
from mmhmr.datasets.hmr_dataset import HMRDataset
from mmhmr.datasets.transforms import HMRRandomFlip, HMRTopdownAffine, PackHMRInputs
from mmhmr.models.body_models.joint_sets import (COCO_17_NAMES, J49_TO_COCO_17,
                                                 J49_TO_OPENPOSE_25, SPIN_49_NAMES)

WIDTH, HEIGHT = 200, 100


# ---------------------------------------------------------------- joint maps
def test_coco_and_openpose_slots_typed_by_hand():
    # BODY_25: 0 nose, 1 neck, 2-4 right arm, 5-7 left arm, 8 mid hip, 9-11 right leg,
    # 12-14 left leg, 15/16 right/left eye, 17/18 right/left ear
    assert J49_TO_COCO_17 == (0, 16, 15, 18, 17, 5, 2, 6, 3, 7, 4, 12, 9, 13, 10, 14, 11)
    assert J49_TO_OPENPOSE_25 == tuple(range(25))
    assert COCO_17_NAMES[:3] == ('nose', 'left_eye', 'right_eye')
    assert COCO_17_NAMES[-2:] == ('left_ankle', 'right_ankle') and len(COCO_17_NAMES) == 17
    assert SPIN_49_NAMES[J49_TO_COCO_17[9]] == 'op_left_wrist'


# ---------------------------------------------------------------- HMRDataset
def test_no_detections_by_default(write_npz):
    ds = HMRDataset(ann_file=write_npz('a.npz', spin_arrays(2), images=False))
    info = ds.get_data_info(0)
    assert 'det_keypoints_2d' not in info and 'det_keypoints_source' not in info


def test_openpose_detections_fill_slots_0_to_24(write_npz):
    arrays = spin_arrays(3)
    arrays['openpose'][1, 4] = (12.5, 30.25, 0.75)  # right wrist
    arrays['openpose'][1, 16] = (40., 8., 0.)  # left eye, not detected
    ds = HMRDataset(ann_file=write_npz('a.npz', arrays, images=False), det_keypoints='openpose')
    info = ds.get_data_info(1)
    det = info['det_keypoints_2d']
    assert det.shape == (49, 3) and det.dtype == np.float32
    np.testing.assert_array_equal(det[4], (12.5, 30.25, 0.75))
    np.testing.assert_array_equal(det[16], (40., 8., 0.))
    np.testing.assert_allclose(det[:25], arrays['openpose'][1], rtol=1e-6)
    assert (det[25:] == 0).all()
    assert info['det_keypoints_source'] == 'openpose'


def test_gt_detections_are_an_oracle_with_a_warning(write_npz, monkeypatch):
    logged = []
    monkeypatch.setattr(det_module, 'print_log', lambda msg, **kw: logged.append((msg, kw)))
    arrays = spin_arrays(3)
    arrays['part'][2, 7] = (55., 44., 1.)  # SPIN joint 7: right elbow -> slot 32
    ds = HMRDataset(ann_file=write_npz('a.npz', arrays, images=False), det_keypoints='gt')
    info = ds.get_data_info(2)
    np.testing.assert_array_equal(info['det_keypoints_2d'][32], (55., 44., 1.))
    assert SPIN_49_NAMES[32] == 'right_elbow'
    assert (info['det_keypoints_2d'][:25] == 0).all()
    assert info['det_keypoints_source'] == 'gt (oracle)'
    assert len(logged) == 1 and 'ORACLE' in logged[0][0]
    ds.get_data_info(0)
    assert len(logged) == 1  # once, when the file is read


def test_detection_file_in_openpose_order(write_npz, tmp_path):
    arrays = spin_arrays(2)
    dets = np.zeros((2, 25, 3))
    dets[0, 7] = (70., 20., 0.5)  # left wrist
    dets[1, 11] = (10., 90., 0.25)  # right ankle
    np.savez(tmp_path / 'dets.npz', keypoints=dets)
    write_npz('a.npz', arrays, images=False)
    # both files relative to data_root; order defaults to 'openpose25'
    ds = HMRDataset(ann_file='a.npz', data_root=str(tmp_path),
                    det_keypoints=dict(file='dets.npz', key='keypoints'))
    first, second = ds.get_data_info(0), ds.get_data_info(1)
    np.testing.assert_array_equal(first['det_keypoints_2d'][7], (70., 20., 0.5))
    np.testing.assert_array_equal(second['det_keypoints_2d'][11], (10., 90., 0.25))
    assert first['det_keypoints_2d'][np.arange(49) != 7].sum() == 0
    assert first['det_keypoints_source'] == 'dets.npz'


def test_detection_file_in_coco_order(write_npz, tmp_path):
    arrays = spin_arrays(2)
    dets = np.zeros((2, 17, 3), np.float32)
    dets[1, 1] = (31., 12., 0.9)  # COCO left eye -> op_left_eye, slot 16
    dets[1, 9] = (64., 50., 0.8)  # COCO left wrist -> op_left_wrist, slot 7
    dets[1, 16] = (20., 95., 0.7)  # COCO right ankle -> op_right_ankle, slot 11
    path = str(tmp_path / 'vitpose.npz')
    np.savez(path, coco=dets)
    ds = HMRDataset(ann_file=write_npz('a.npz', arrays, images=False),
                    det_keypoints=dict(file=path, key='coco', order='coco17', source='vitpose'))
    info = ds.get_data_info(1)
    det = info['det_keypoints_2d']
    expected = np.zeros((49, 3), np.float32)
    expected[16] = (31., 12., 0.9)
    expected[7] = (64., 50., 0.8)
    expected[11] = (20., 95., 0.7)
    np.testing.assert_array_equal(det, expected)
    assert info['det_keypoints_source'] == 'vitpose'


def _bad_detection_file(dets, case):
    """Break the (4, 25, 3) detections; return the error type and the words of its message."""
    if case == 'missing_key':
        return {'other': dets}, KeyError, ['"keypoints"', 'other']
    if case == 'wrong_shape':
        return {'keypoints': dets[:, :17]}, ValueError, ['(4, 17, 3)', '(4, 25, 3)']
    if case == 'wrong_length':
        return {'keypoints': dets[:3]}, ValueError, ['(3, 25, 3)', '(4, 25, 3)']
    if case == 'nan':
        dets[2, 5, 0] = np.nan
        return {'keypoints': dets}, ValueError, ['NaN', 'index 2']
    if case == 'confidence_above_one':
        dets[3, 6, 2] = 1.5
        return {'keypoints': dets}, ValueError, ['confidence', '1.5', 'index 3', 'joint 6']
    if case == 'confidence_negative':
        dets[1, 0, 2] = -0.1
        return {'keypoints': dets}, ValueError, ['confidence', 'index 1', 'joint 0']
    raise AssertionError(case)


@pytest.mark.parametrize('case', ['missing_key', 'wrong_shape', 'wrong_length', 'nan',
                                  'confidence_above_one', 'confidence_negative'])
def test_bad_detection_file_names_file_key_and_index(write_npz, tmp_path, case):
    ann = write_npz('a.npz', spin_arrays(4), images=False)
    dets = np.full((4, 25, 3), 0.5)
    content, error, words = _bad_detection_file(dets, case)
    path = str(tmp_path / f'dets_{case}.npz')
    np.savez(path, **content)
    with pytest.raises(error) as info:
        HMRDataset(ann_file=ann, det_keypoints=dict(file=path, key='keypoints'))
    message = str(info.value)
    for word in [path, 'keypoints'] + words:
        assert word in message, (word, message)


def test_bad_detection_arguments(write_npz, tmp_path):
    arrays = spin_arrays(2)
    ann = write_npz('a.npz', arrays, images=False)
    with pytest.raises(ValueError, match="unknown order 'halpe26'"):
        HMRDataset(ann_file=ann, det_keypoints=dict(file='d.npz', key='k', order='halpe26'))
    with pytest.raises(KeyError, match=r"missing key\(s\) \['key'\]"):
        HMRDataset(ann_file=ann, det_keypoints=dict(file='d.npz'))
    with pytest.raises(ValueError, match='det_keypoints must be'):
        HMRDataset(ann_file=ann, det_keypoints='vitpose')
    missing = str(tmp_path / 'nope.npz')
    with pytest.raises(FileNotFoundError, match=missing):
        HMRDataset(ann_file=ann, det_keypoints=dict(file=missing, key='k'))
    del arrays['openpose']
    no_openpose = write_npz('b.npz', arrays, images=False)
    with pytest.raises(KeyError) as info:
        HMRDataset(ann_file=no_openpose, det_keypoints='openpose')
    assert no_openpose in str(info.value) and '"openpose"' in str(info.value)
    arrays = spin_arrays(2)
    arrays['openpose'][1, 3, 2] = 2.
    with pytest.raises(ValueError, match='index 1, joint 3'):
        HMRDataset(ann_file=write_npz('c.npz', arrays, images=False), det_keypoints='openpose')


# ---------------------------------------------------------------- flip and crop
def make_sample(seed=0):
    """A full-image sample (200 x 100 image) with ground truth and detections."""
    rng = np.random.default_rng(seed)

    def kp2d():
        return np.concatenate([rng.uniform(0, WIDTH, (49, 1)), rng.uniform(0, HEIGHT, (49, 1)),
                               rng.uniform(0, 1, (49, 1))], 1).astype(np.float32)

    return dict(
        img=rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8),
        img_shape=(HEIGHT, WIDTH), ori_shape=(HEIGHT, WIDTH),
        bbox_center=np.array([120., 40.], np.float32), bbox_size=60., focal_length=-1.,
        keypoints_2d=kp2d(), det_keypoints_2d=kp2d(), det_keypoints_source='simulated',
        keypoints_3d=np.zeros((49, 4), np.float32), smpl_pose=np.zeros(72, np.float32),
        smpl_betas=np.zeros(10, np.float32), has_smpl=0., has_transl=0., dataset_name='toy',
        sample_idx=3)


def test_flip_twice_is_identity_on_detections():
    sample = make_sample()
    before = sample['det_keypoints_2d'].copy()
    once = HMRRandomFlip(prob=1.)(sample)
    assert not np.allclose(once['det_keypoints_2d'], before)
    twice = HMRRandomFlip(prob=1.)(once)
    np.testing.assert_allclose(twice['det_keypoints_2d'], before, atol=1e-5)


def test_flip_moves_a_detected_left_wrist_to_the_right_wrist_slot():
    sample = make_sample()
    lw, rw = SPIN_49_NAMES.index('op_left_wrist'), SPIN_49_NAMES.index('op_right_wrist')
    sample['det_keypoints_2d'][lw] = (150., 30., 0.6)
    sample['det_keypoints_2d'][rw] = (20., 70., 0.)
    out = HMRRandomFlip(prob=1.)(sample)
    np.testing.assert_allclose(out['det_keypoints_2d'][rw], (50., 30., 0.6))
    np.testing.assert_allclose(out['det_keypoints_2d'][lw], (180., 70., 0.))


def test_rotation_90_detections_by_hand():
    """As keypoints_2d: box centre (120, 40), size 60, principal point (100, 50). A detection
    30 px right of the centre is at crop (0, -1); in the full image it turns about the principal
    point: offset (50, -10) -> (-10, -50), i.e. (90, 0)."""
    sample = make_sample()
    sample['det_keypoints_2d'][2] = (150., 40., 0.7)
    sample['rotation'] = 90.
    out = HMRTopdownAffine(input_size=(48, 64))(sample)
    np.testing.assert_allclose(out['det_keypoints_2d_crop'][2], (0., -1., 0.7), atol=1e-6)
    np.testing.assert_allclose(out['det_keypoints_2d'][2], (90., 0., 0.7), atol=1e-4)


@pytest.mark.parametrize('rotation', [0., 37., -115.])
def test_rotated_detections_stay_consistent_like_keypoints_2d(rotation):
    sample = make_sample()
    sample['det_keypoints_2d'][:10] = sample['keypoints_2d'][:10]
    sample['rotation'] = rotation
    out = HMRTopdownAffine(input_size=(48, 64))(sample)
    det, det_crop = out['det_keypoints_2d'], out['det_keypoints_2d_crop']
    # both sets went through the same map
    np.testing.assert_allclose(det[:10], out['keypoints_2d'][:10], atol=1e-5)
    np.testing.assert_allclose(det_crop[:10], out['keypoints_2d_crop'][:10], atol=1e-6)
    # the crop reads the (rotated) full-image detections about the (rotated) box centre
    np.testing.assert_allclose(det_crop[:, :2], (det[:, :2] - out['bbox_center']) / 30.,
                               atol=1e-5)
    np.testing.assert_array_equal(det_crop[:, 2], sample['det_keypoints_2d'][:, 2])


# ---------------------------------------------------------------- PackHMRInputs
def test_pack_detections_only_when_present():
    sample = HMRTopdownAffine(input_size=(48, 64))(make_sample())
    crop = sample['det_keypoints_2d_crop'].copy()
    data_sample = PackHMRInputs()(sample)['data_samples']
    gt = data_sample.gt_instances
    assert gt.det_keypoints_2d.shape == (1, 49, 2) and gt.det_keypoints_2d.dtype == np.float32
    assert gt.det_keypoints_2d_score.shape == (1, 49)
    assert gt.det_keypoints_2d_score.dtype == np.float32
    np.testing.assert_array_equal(gt.det_keypoints_2d[0], crop[:, :2])
    np.testing.assert_array_equal(gt.det_keypoints_2d_score[0], crop[:, 2])
    assert data_sample.det_keypoints_source == 'simulated'

    sample = make_sample()
    del sample['det_keypoints_2d'], sample['det_keypoints_source']
    data_sample = PackHMRInputs()(HMRTopdownAffine(input_size=(48, 64))(sample))['data_samples']
    assert 'det_keypoints_2d' not in data_sample.gt_instances
    assert 'det_keypoints_2d_score' not in data_sample.gt_instances
    assert 'det_keypoints_source' not in data_sample.metainfo


def test_pack_refuses_detections_added_after_the_crop():
    sample = make_sample()
    detections = sample.pop('det_keypoints_2d')
    sample = HMRTopdownAffine(input_size=(48, 64))(sample)
    sample['det_keypoints_2d'] = detections
    with pytest.raises(KeyError, match='before HMRTopdownAffine'):
        PackHMRInputs()(sample)


def test_openpose_detections_through_the_pipeline_by_hand(write_npz, tmp_path):
    """100 x 80 image, box centre (60, 30), size 40; OpenPose left wrist at the centre (score
    0.5), right wrist at the right edge (0.9). Flipped, the box centre is (40, 30): the right
    wrist slot holds the (old left) detection at the centre, the left one the edge, now left."""
    arrays = spin_arrays(1)
    arrays['center'][0] = (60., 30.)
    arrays['scale'][0] = 40. / 200
    arrays['openpose'][0] = 0.
    arrays['openpose'][0, 7] = (60., 30., 0.5)  # op_left_wrist
    arrays['openpose'][0, 4] = (80., 30., 0.9)  # op_right_wrist
    ds = HMRDataset(
        ann_file=write_npz('flip.npz', arrays), data_prefix=dict(img=str(tmp_path)),
        det_keypoints='openpose',
        pipeline=[dict(type='HMRLoadImage'), dict(type='HMRRandomFlip', prob=1.),
                  dict(type='HMRTopdownAffine', input_size=(48, 64)),
                  dict(type='PackHMRInputs')])
    data_sample = ds[0]['data_samples']
    gt = data_sample.gt_instances
    np.testing.assert_allclose(gt.det_keypoints_2d[0, 4], (0., 0.), atol=1e-6)
    np.testing.assert_allclose(gt.det_keypoints_2d[0, 7], (-1., 0.), atol=1e-6)
    np.testing.assert_allclose(gt.det_keypoints_2d_score[0, [4, 7]], (0.5, 0.9))
    assert (gt.det_keypoints_2d_score[0, 25:] == 0).all()
    assert data_sample.det_keypoints_source == 'openpose'
