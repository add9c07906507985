import math

import numpy as np
import pytest
import torch
from npz_samples import spin_arrays
from mmengine.dataset import pseudo_collate
from mmpose.structures import PoseDataSample

from mmhmr.datasets.hmr_dataset import HMRDataset
from mmhmr.datasets.transforms import (CLIFFBBoxInfo, HMRRandomBBoxTransform, HMRRandomFlip,
                                       HMRTopdownAffine, PackHMRInputs)
from mmhmr.models.body_models.joint_sets import SMPL_24_NAMES, SPIN_49_NAMES

WIDTH, HEIGHT = 200, 100


def make_sample(seed=0):
    """A full-image sample as HMRDataset + LoadImage produce it."""
    rng = np.random.default_rng(seed)
    kp2d = np.concatenate([rng.uniform(0, WIDTH, (49, 1)), rng.uniform(0, HEIGHT, (49, 1)),
                           rng.uniform(0, 1, (49, 1))], 1).astype(np.float32)
    kp3d = np.concatenate([rng.normal(0, 0.5, (49, 3)), rng.uniform(0, 1, (49, 1))],
                          1).astype(np.float32)
    return dict(
        img=rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8),
        img_shape=(HEIGHT, WIDTH), ori_shape=(HEIGHT, WIDTH), img_path='x.jpg',
        bbox_center=np.array([120., 40.], np.float32), bbox_size=60., focal_length=-1.,
        keypoints_2d=kp2d, keypoints_3d=kp3d,
        smpl_pose=rng.normal(0, 0.3, 72).astype(np.float32),
        smpl_betas=rng.normal(0, 1, 10).astype(np.float32), has_smpl=1., gender=2,
        cam_transl=np.array([0.1, -0.2, 5.], np.float32), has_transl=1.,
        smpl_root_joint=np.array([0.02, -0.25, 0.03], np.float32),
        dataset_name='toy', sample_idx=3)


def set_keypoints(sample, points):
    """Put ``points (n, 2)`` into the first n 2D keypoints, confidence 1."""
    points = np.asarray(points, np.float32)
    sample['keypoints_2d'][:len(points)] = np.concatenate(
        [points, np.ones((len(points), 1), np.float32)], 1)


# ---------------------------------------------------------------- HMRTopdownAffine
def test_affine_maps_box_centre_and_edges_to_normalised_coordinates():
    sample = make_sample()
    cx, cy = 120., 40.
    set_keypoints(sample, [(cx, cy), (cx + 30, cy), (cx, cy + 30), (cx - 30, cy - 30)])
    kp2d_before = sample['keypoints_2d'].copy()
    out = HMRTopdownAffine(input_size=(48, 64))(sample)
    np.testing.assert_allclose(out['keypoints_2d_crop'][:4, :2],
                               [(0, 0), (1, 0), (0, 1), (-1, -1)], atol=1e-6)
    np.testing.assert_array_equal(out['keypoints_2d_crop'][:, 2], kp2d_before[:, 2])
    # no rotation: full-image keypoints and 3D annotations are unchanged
    np.testing.assert_allclose(out['keypoints_2d'], kp2d_before, atol=1e-5)
    assert out['img'].shape == (64, 48, 3) and out['img'].dtype == np.uint8
    assert out['img_shape'] == (64, 48) and out['input_size'] == (48, 64)
    assert out['rotation'] == 0.
    # mmpose's input area: the 60 px box spans the 48 px width, so 60 x 80 px are covered
    np.testing.assert_allclose(out['input_center'], (cx, cy))
    np.testing.assert_allclose(out['input_scale'], (60., 80.))


def blob_image(center, sigma=2.5):
    """A Gaussian blob at continuous image coordinates ``center`` (pixel i spans [i, i+1])."""
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH] + 0.5
    blob = np.exp(-((xs - center[0])**2 + (ys - center[1])**2) / (2 * sigma**2))
    return np.repeat((blob * 255).round().astype(np.uint8)[..., None], 3, axis=2)


def blob_centroid(img):
    """Intensity centroid in continuous coordinates."""
    weight = img[..., 0].astype(np.float64)
    ys, xs = np.mgrid[0:img.shape[0], 0:img.shape[1]] + 0.5
    return np.array([(weight * xs).sum(), (weight * ys).sum()]) / weight.sum()


def test_affine_rotation_90_turns_right_of_centre_into_above():
    """Documented convention: positive rotation turns the content counter-clockwise on screen;
    the normalised offset (1, 0) becomes (0, -1) and (0, 1) becomes (1, 0). In the full image
    the rotation is about the principal point (100, 50): the box centre (120, 40), offset
    (20, -10), moves to offset (-10, -20), i.e. (90, 30); (150, 40) to (90, 0); (120, 70) to
    (120, 30)."""
    sample = make_sample()
    cx, cy = 120., 40.
    set_keypoints(sample, [(cx + 30, cy), (cx, cy + 30)])
    sample['img'] = blob_image((cx + 20, cy))
    sample['rotation'] = 90.
    out = HMRTopdownAffine(input_size=(48, 64))(sample)
    np.testing.assert_allclose(out['keypoints_2d_crop'][:2, :2], [(0, -1), (1, 0)], atol=1e-6)
    np.testing.assert_allclose(out['bbox_center'], (90., 30.), atol=1e-4)
    np.testing.assert_allclose(out['keypoints_2d'][:2, :2], [(90., 0.), (120., 30.)],
                               atol=1e-4)
    # the blob 20 px right of the centre lands 20 * 48 / 60 = 16 px above the crop centre
    np.testing.assert_allclose(blob_centroid(out['img']), (24, 32 - 16), atol=0.05)


@pytest.mark.parametrize('rotation', [0., -23., 61.])
def test_affine_image_content_follows_keypoints(rotation):
    sample = make_sample()
    point = (131.3, 52.9)
    sample['img'] = blob_image(point)
    set_keypoints(sample, [point])
    sample['rotation'] = rotation
    sample['bbox_size'] = 75.
    out = HMRTopdownAffine(input_size=(64, 48))(sample)
    # crop px = normalised * min(W_in, H_in) / 2 + input centre
    expected = out['keypoints_2d_crop'][0, :2] * 48 / 2 + (32, 24)
    np.testing.assert_allclose(blob_centroid(out['img']), expected, atol=0.05)


def test_affine_rotation_90_in_3d_by_hand():
    sample = make_sample()
    sample['keypoints_3d'][0] = (1., 0., 5., 1.)  # right of the optical axis
    sample['cam_transl'] = np.array([0., 2., 7.], np.float32)  # below it
    sample['rotation'] = 90.
    out = HMRTopdownAffine(input_size=(48, 48))(sample)
    np.testing.assert_allclose(out['keypoints_3d'][0], (0., -1., 5., 1.), atol=1e-6)  # above
    # R t + (R - I) J0 with R (x, y, z) = (y, -x, z), J0 = (0.02, -0.25, 0.03):
    # R t = (2, 0, 7); R J0 - J0 = (-0.25, -0.02, 0.03) - J0 = (-0.27, 0.23, 0)
    np.testing.assert_allclose(out['cam_transl'], (1.73, 0.23, 7.), atol=1e-6)


def test_affine_rotation_without_the_root_joint_is_refused():
    sample = make_sample()
    del sample['smpl_root_joint']
    sample['rotation'] = 10.
    with pytest.raises(KeyError, match='smpl_root_joint'):
        HMRTopdownAffine(input_size=(48, 48))(sample)
    # without a ground-truth translation the root joint is not needed
    sample['has_transl'] = 0.
    HMRTopdownAffine(input_size=(48, 48))(sample)


def test_affine_bbox_fit_height_is_cliffs_crop():
    """'height': the 60 px box spans the 64 px input height (CLIFF's crop); a blob 10 px
    right of the box centre lands 10 * 64 / 60 px right of the input centre (24, 32)."""
    sample = make_sample()
    cx, cy = 120., 40.
    sample['img'] = blob_image((cx + 10, cy))
    set_keypoints(sample, [(cx + 30, cy)])
    out = HMRTopdownAffine(input_size=(48, 64), bbox_fit='height')(sample)
    np.testing.assert_allclose(blob_centroid(out['img']), (24 + 10 * 64 / 60, 32), atol=0.05)
    # the normalisation of the keypoints is the box's, whatever the fit
    np.testing.assert_allclose(out['keypoints_2d_crop'][0, :2], (1., 0.), atol=1e-6)
    np.testing.assert_allclose(out['input_scale'], (45., 60.))
    with pytest.raises(ValueError, match='bbox_fit'):
        HMRTopdownAffine(input_size=(48, 64), bbox_fit='width')


# ---------------------------------------------------------------- HMRRandomFlip
def test_flip_twice_is_identity_for_every_field():
    sample = make_sample()
    once = HMRRandomFlip(prob=1.)(
        {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in sample.items()})
    assert once['flip'] is True and once['flip_direction'] == 'horizontal'
    assert not np.allclose(once['keypoints_2d'], sample['keypoints_2d'])
    twice = HMRRandomFlip(prob=1.)(once)
    for key, value in sample.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_allclose(twice[key], value, atol=1e-5, err_msg=key)
        else:
            assert twice[key] == value, key


def test_flip_moves_left_wrist_to_right_wrist_mirrored():
    sample = make_sample()
    before = {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in sample.items()}
    out = HMRRandomFlip(prob=1.)(sample)
    for left, right in (('left_wrist', 'right_wrist'), ('op_left_wrist', 'op_right_wrist')):
        i, j = SPIN_49_NAMES.index(left), SPIN_49_NAMES.index(right)
        x, y, conf = before['keypoints_2d'][i]
        np.testing.assert_allclose(out['keypoints_2d'][j], (WIDTH - x, y, conf), atol=1e-5)
        x, y, z, conf = before['keypoints_3d'][i]
        np.testing.assert_allclose(out['keypoints_3d'][j], (-x, y, z, conf), atol=1e-6)
    # SMPL: the left wrist's rotation becomes the right wrist's, axis (a, b, c) -> (a, -b, -c)
    i, j = SMPL_24_NAMES.index('left_wrist'), SMPL_24_NAMES.index('right_wrist')
    a, b, c = before['smpl_pose'][3 * i:3 * i + 3]
    np.testing.assert_allclose(out['smpl_pose'][3 * j:3 * j + 3], (a, -b, -c), atol=1e-7)
    a, b, c = before['smpl_pose'][:3]
    np.testing.assert_allclose(out['smpl_pose'][:3], (a, -b, -c), atol=1e-7)
    np.testing.assert_allclose(out['bbox_center'], (WIDTH - 120., 40.))
    # M t + (M - I) J0 = (-0.1 - 2 * 0.02, -0.2, 5)
    np.testing.assert_allclose(out['cam_transl'], (-0.14, -0.2, 5.), atol=1e-7)
    np.testing.assert_array_equal(out['img'][:, 0], before['img'][:, WIDTH - 1])
    np.testing.assert_array_equal(out['img'][:, 17], before['img'][:, WIDTH - 18])


def test_flip_with_prob_zero_changes_nothing_and_records_it():
    sample = make_sample()
    kp2d = sample['keypoints_2d'].copy()
    out = HMRRandomFlip(prob=0.)(sample)
    assert out['flip'] is False
    np.testing.assert_array_equal(out['keypoints_2d'], kp2d)


def test_flip_after_crop_is_refused():
    sample = HMRTopdownAffine(input_size=(48, 48))(make_sample())
    with pytest.raises(RuntimeError, match='before'):
        HMRRandomFlip(prob=1.)(sample)


# ---------------------------------------------------------------- HMRRandomBBoxTransform
def test_bbox_transform_ranges_and_rotation_probability():
    np.random.seed(0)
    transform = HMRRandomBBoxTransform(rotate_prob=0.6)
    rotations, sizes = [], []
    for _ in range(1000):
        out = transform(dict(bbox_center=np.array([10., 20.]), bbox_size=100.))
        np.testing.assert_allclose(out['bbox_center'], (10., 20.))  # shift_factor 0
        rotations.append(out['rotation'])
        sizes.append(out['bbox_size'])
    rotations, sizes = np.array(rotations), np.array(sizes)
    assert np.abs(rotations).max() <= 30 and (np.abs(rotations) > 1).mean() > 0.5
    assert 0.53 < (rotations != 0).mean() < 0.67
    assert sizes.min() >= 75 and sizes.max() <= 125 and sizes.std() > 5


def test_bbox_transform_spin_sampling():
    """SPIN: rotation N(0, 30^2) clipped to [-60, 60] (std 28.8 once clipped), applied with
    probability rotate_prob; scale 1 + 0.25 N(0, 1) clipped to [0.75, 1.25] (std ~0.19).
    mmpose's truncated normal on the same factors has std 0.54 * 30 = 16.2 degrees."""
    np.random.seed(0)
    spin = HMRRandomBBoxTransform(rotate_factor=30, rotate_prob=0.4, sampling='spin')
    mmpose = HMRRandomBBoxTransform(rotate_factor=30, rotate_prob=1.)
    draws = [spin(dict(bbox_center=np.array([10., 20.]), bbox_size=100.))
             for _ in range(20000)]
    rotations = np.array([d['rotation'] for d in draws])
    sizes = np.array([d['bbox_size'] for d in draws])
    applied = rotations[rotations != 0]
    assert abs(len(applied) / len(rotations) - 0.4) < 0.015
    assert np.abs(applied).max() <= 60 and np.abs(applied).max() > 59
    # N(0, 1) clipped to [-a, a]: E[X^2] = (Phi(a) - Phi(-a)) - 2 a phi(a) + 2 a^2 (1 - Phi(a))
    a = 2.
    second_moment = (math.erf(a / math.sqrt(2)) - 2 * a * math.exp(-a * a / 2) /
                     math.sqrt(2 * math.pi) + a * a * math.erfc(a / math.sqrt(2)))
    assert applied.std() == pytest.approx(30 * math.sqrt(second_moment), abs=0.6)  # 28.78
    assert sizes.min() >= 75 - 1e-4 and sizes.max() <= 125 + 1e-4
    # the mass clipped at each end of the scale is 1 - Phi(1) = 0.159
    assert (sizes >= 125 - 1e-4).mean() == pytest.approx(0.159, abs=0.01)
    mm = np.array([mmpose(dict(bbox_center=np.array([10., 20.]), bbox_size=100.))['rotation']
                   for _ in range(5000)])
    assert mm.std() == pytest.approx(16.2, abs=0.5) and np.abs(mm).max() <= 30
    with pytest.raises(ValueError, match='sampling'):
        HMRRandomBBoxTransform(sampling='spine')


def test_bbox_transform_shift():
    np.random.seed(0)
    transform = HMRRandomBBoxTransform(shift_factor=0.1, shift_prob=1., rotate_prob=0.,
                                       scale_factor=(1., 1.))
    shifts = np.array([
        transform(dict(bbox_center=np.array([10., 20.]), bbox_size=100.))['bbox_center']
        for _ in range(200)
    ]) - (10., 20.)
    assert np.abs(shifts).max() <= 10 + 1e-4 and shifts.std() > 2


# ---------------------------------------------------------------- CLIFFBBoxInfo
def test_cliff_bbox_info_by_hand():
    # 640 x 480 image, no focal: f = sqrt(640^2 + 480^2) = 800
    out = CLIFFBBoxInfo()(dict(ori_shape=(480, 640), img_shape=(64, 48), focal_length=-1.,
                               bbox_center=np.array([400., 300.]), bbox_size=240.))
    assert out['focal_length'] == pytest.approx(800.)
    # [2.8 * 80 / 800, 2.8 * 60 / 800, (240 - 192) / 48]
    np.testing.assert_allclose(out['bbox_info'], (0.28, 0.21, 1.0), rtol=1e-6)
    assert out['bbox_info'].dtype == np.float32
    # known focal 1000: [2.8 * 100 / 1000, 2.8 * -50 / 1000, (300 - 240) / 60]
    out = CLIFFBBoxInfo()(dict(ori_shape=(480, 640), focal_length=1000.,
                               bbox_center=np.array([420., 190.]), bbox_size=300.))
    np.testing.assert_allclose(out['bbox_info'], (0.28, -0.14, 1.0), rtol=1e-6)
    # no focal key at all behaves as unknown
    out = CLIFFBBoxInfo()(dict(ori_shape=(480, 640), bbox_center=np.array([320., 240.]),
                               bbox_size=192.))
    np.testing.assert_allclose(out['bbox_info'], (0., 0., 0.), atol=1e-6)


def test_cliff_bbox_info_needs_the_image_size():
    with pytest.raises(KeyError, match='ori_shape'):
        CLIFFBBoxInfo()(dict(bbox_center=np.array([1., 1.]), bbox_size=2.))


# ---------------------------------------------------------------- PackHMRInputs
GT_FIELDS = {
    'keypoints_2d': (1, 49, 2), 'keypoints_2d_visible': (1, 49), 'keypoints_3d': (1, 49, 3),
    'keypoints_3d_visible': (1, 49), 'smpl_pose': (1, 72), 'smpl_betas': (1, 10),
    'has_smpl': (1, ), 'gender': (1, ), 'bbox_center': (1, 2), 'bbox_size': (1, ),
    'focal_length': (1, ), 'bbox_info': (1, 3), 'cam_transl': (1, 3), 'has_transl': (1, )
}
META_KEYS = {'img_path', 'ori_shape', 'img_shape', 'input_size', 'input_center',
             'input_scale', 'flip', 'rotation', 'sample_idx', 'dataset_name'}


def test_pack_shapes_dtypes_and_values():
    sample = CLIFFBBoxInfo()(HMRTopdownAffine(input_size=(48, 64))(make_sample()))
    kp_crop = sample['keypoints_2d_crop'].copy()
    packed = PackHMRInputs()(sample)
    assert packed['inputs'].shape == (3, 64, 48) and packed['inputs'].dtype == torch.uint8
    data_sample = packed['data_samples']
    assert isinstance(data_sample, PoseDataSample)
    gt = data_sample.gt_instances
    assert len(gt) == 1
    assert set(gt.keys()) == set(GT_FIELDS)
    for key, shape in GT_FIELDS.items():
        assert tuple(gt[key].shape) == shape, key
        # numpy, as mmpose packs gt_instances (cheap to pass between dataloader workers)
        assert isinstance(gt[key], np.ndarray), key
        assert gt[key].dtype == (np.int64 if key == 'gender' else np.float32), key
    assert set(data_sample.metainfo) == META_KEYS
    assert data_sample.flip is False and data_sample.rotation == 0.
    np.testing.assert_allclose(gt.keypoints_2d[0], kp_crop[:, :2])
    np.testing.assert_allclose(gt.keypoints_2d_visible[0], kp_crop[:, 2])
    assert gt.gender.item() == 2 and gt.has_smpl.item() == 1. and gt.has_transl.item() == 1.
    assert gt.focal_length.item() == pytest.approx(math.hypot(WIDTH, HEIGHT), rel=1e-6)
    assert data_sample.img_shape == (64, 48) and data_sample.ori_shape == (HEIGHT, WIDTH)


def test_pack_before_crop_is_refused():
    with pytest.raises(KeyError, match='HMRTopdownAffine'):
        PackHMRInputs()(make_sample())


# ---------------------------------------------------------------- full pipeline
def pipeline(flip_prob=0.5, augment=True):
    bbox_aug = dict(type='HMRRandomBBoxTransform')
    if not augment:
        bbox_aug.update(scale_factor=(1., 1.), rotate_prob=0.)
    return [
        dict(type='HMRLoadImage'),
        dict(type='HMRRandomFlip', prob=flip_prob),
        bbox_aug,
        dict(type='HMRTopdownAffine', input_size=(48, 64)),
        dict(type='PhotometricDistortion'),
        dict(type='CLIFFBBoxInfo'),
        dict(type='PackHMRInputs'),
    ]


def test_full_pipeline_on_a_tiny_npz(write_npz, tmp_path):
    arrays = spin_arrays(4)
    path = write_npz('tiny.npz', arrays)
    ds = HMRDataset(ann_file=path, data_prefix=dict(img=str(tmp_path)), pipeline=pipeline())
    batch = pseudo_collate([ds[i] for i in range(len(ds))])
    assert [tuple(x.shape) for x in batch['inputs']] == [(3, 64, 48)] * 4
    for data_sample in batch['data_samples']:
        assert set(data_sample.gt_instances.keys()) == set(GT_FIELDS)
        assert set(data_sample.metainfo) == META_KEYS
        assert data_sample.ori_shape == (80, 100) and data_sample.dataset_name == 'tiny'
        assert data_sample.gt_instances.focal_length.item() == 5000.


def test_full_pipeline_flipped_by_hand(write_npz, tmp_path):
    """100 x 80 image, box centre (60, 30), size 40; the left wrist at the box centre and the
    right wrist at its right edge. Flipped: the box centre is (40, 30); the right wrist slot
    holds the (old left) wrist at the centre, the left wrist slot the one now at the left edge.
    """
    arrays = spin_arrays(1)
    for key in ('openpose', 'focal_length'):
        del arrays[key]
    arrays['center'][0] = (60., 30.)
    arrays['scale'][0] = 40. / 200
    lw, rw = SPIN_49_NAMES.index('left_wrist') - 25, SPIN_49_NAMES.index('right_wrist') - 25
    arrays['part'][0, lw] = (60., 30., 1.)
    arrays['part'][0, rw] = (80., 30., 1.)
    path = write_npz('flip.npz', arrays)
    ds = HMRDataset(ann_file=path, data_prefix=dict(img=str(tmp_path)),
                    pipeline=pipeline(flip_prob=1., augment=False))
    data_sample = ds[0]['data_samples']
    gt = data_sample.gt_instances
    assert data_sample.flip is True
    np.testing.assert_allclose(gt.bbox_center[0], (40., 30.))
    kp = gt.keypoints_2d[0]
    np.testing.assert_allclose(kp[25 + rw], (0., 0.), atol=1e-6)
    np.testing.assert_allclose(kp[25 + lw], (-1., 0.), atol=1e-6)
    focal = math.sqrt(100**2 + 80**2)
    np.testing.assert_allclose(
        gt.bbox_info[0],
        (2.8 * (40 - 50) / focal, 2.8 * (30 - 40) / focal, (40 - 0.24 * focal) / (0.06 * focal)),
        rtol=1e-5)
