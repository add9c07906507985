"""Malformed inputs and faults, one table: each case builds a bad input (annotation files,
HumanData, 3DPW / EFT sources, SMPL model files, checkpoints, synthetic domains, sampler
ratios, configs), runs the entry point a user would, and asserts the error type and that the
message names the file and the key / index / joint at fault. (Training, metric and resume
faults run whole programs: tests/test_e2e/test_nonfinite_faults.py, test_kill_and_resume.py,
tests/test_evaluation, tests/test_engine.)"""
import json
import math
import os
import os.path as osp
import pickle
import tempfile
from types import SimpleNamespace

import numpy as np
import pytest
from pickle_payload import Payload

from mmhmr.datasets import HMRDataset, HumanDataDataset
from mmhmr.datasets.converters import convert_3dpw, convert_eft
from mmhmr.datasets.samplers import MultiSourceRatioSampler
from mmhmr.datasets.synthetic.domain import resolve_domain
from mmhmr.models.body_models.model_files import load_smpl_model
from mmhmr.utils.checkpoint import check_checkpoint_file

CASES = {}


def case(error, *words):
    """Register a builder ``f(ctx) -> (path, call)``; the error must be ``error`` and its
    message hold ``path`` and ``words``."""
    def register(build):
        CASES[build.__name__] = (build, error, words)
        return build
    return register


# ---- SPIN / CLIFF npz annotation files (HMRDataset) ------------------------------------
def npz(ctx, name='ann.npz', drop=(), **override):
    rng = np.random.default_rng(0)
    n = 4
    arrays = dict(
        imgname=np.array([f'img_{i}.jpg' for i in range(n)]),
        center=rng.uniform(40, 60, (n, 2)), scale=rng.uniform(0.2, 0.4, n),
        part=np.concatenate([rng.uniform(0, 99, (n, 24, 2)), np.ones((n, 24, 1))], -1),
        openpose=np.concatenate([rng.uniform(0, 99, (n, 25, 2)), np.ones((n, 25, 1))], -1),
        S=np.concatenate([rng.normal(0, .3, (n, 24, 3)), np.ones((n, 24, 1))], -1),
        pose=rng.normal(0, .2, (n, 72)), shape=rng.normal(0, 1, (n, 10)),
        has_smpl=np.ones(n), gender=np.array(['m', 'f', 'n', 'm']),
        focal_length=np.full(n, 5000.))
    for key in drop:
        arrays.pop(key)
    for key, edit in override.items():
        arrays[key] = edit(arrays[key]) if callable(edit) else edit
    path = str(ctx.tmp / name)
    np.savez(path, **arrays)
    return path, lambda: HMRDataset(ann_file=path, **ctx.kwargs)


def at(index, value):
    """An edit that sets ``array[index] = value`` on a copy."""
    def edit(array):
        array = np.array(array, dtype=float if np.isscalar(value) else array.dtype)
        array[index] = value
        return array
    return edit


@case(KeyError, "missing required key(s) ['center']")
def npz_missing_key(ctx):
    return npz(ctx, drop=('center', ))


@case(KeyError, 'at least one of the keypoint keys')
def npz_no_keypoints(ctx):
    return npz(ctx, drop=('part', 'openpose', 'S'))


@case(KeyError, '"pose" and "shape" must be given together')
def npz_pose_without_shape(ctx):
    return npz(ctx, drop=('shape', ))


@case(ValueError, 'key "part" has shape (4, 23, 3)', 'expected (4, 24, 3)')
def npz_wrong_shape(ctx):
    return npz(ctx, part=lambda a: a[:, :23])


@case(ValueError, 'length mismatch', 'key "center" has 3 rows')
def npz_length_mismatch(ctx):
    return npz(ctx, center=lambda a: a[:3])


@case(ValueError, 'key "S" has NaN/inf', 'index 2')
def npz_nan(ctx):
    return npz(ctx, S=at((2, 5, 0), math.nan))


@case(ValueError, 'key "pose" has NaN/inf', 'index 3')
def npz_inf(ctx):
    return npz(ctx, pose=at((3, 7), math.inf))


@case(ValueError, '"scale" must be > 0', 'index 1')
def npz_zero_scale(ctx):
    return npz(ctx, scale=at(1, 0.))


@case(ValueError, '"focal_length" must be > 0', 'index 3')
def npz_negative_focal(ctx):
    return npz(ctx, focal_length=at(3, -1.))


@case(ValueError, 'implausible box at index 0')
def npz_far_box(ctx):
    return npz(ctx, center=at((0, 0), 1e6))


@case(ValueError, '"has_smpl" must be 0 or 1', 'index 1')
def npz_has_smpl_2(ctx):
    return npz(ctx, has_smpl=at(1, 2.))


@case(ValueError, 'key "openpose" has a confidence 1.5', 'index 2, joint 4')
def npz_confidence(ctx):
    return npz(ctx, openpose=at((2, 4, 2), 1.5))


@case(ValueError, 'key "gender" has an unknown value', 'index 1')
def npz_unknown_gender(ctx):
    return npz(ctx, gender=np.array(['m', 'x', 'f', 'n']))


@case(ValueError, 'key "gender" holds integers', 'gender_codes')
def npz_integer_gender(ctx):
    return npz(ctx, gender=np.array([0, 1, 0, 1]))


@case(ValueError, 'key "center" has dtype', 'expected numbers')
def npz_string_center(ctx):
    return npz(ctx, center=np.full((4, 2), 'a'))


@case(ValueError, 'cannot read key "imgname"', 'allow_pickle')
def npz_object_imgname(ctx):
    return npz(ctx, imgname=np.array(['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg'], dtype=object))


@case(ValueError, 'key "imgname" holds no rows')
def npz_zero_rows(ctx):
    path = str(ctx.tmp / 'ann.npz')
    np.savez(path, imgname=np.zeros(0, str), center=np.zeros((0, 2)), scale=np.zeros(0),
             part=np.zeros((0, 24, 3)))
    return path, lambda: HMRDataset(ann_file=path)


def raw_file(ctx, content: bytes, name='ann.npz'):
    path = str(ctx.tmp / name)
    with open(path, 'wb') as f:
        f.write(content)
    return path, lambda: HMRDataset(ann_file=path)


@case(ValueError, 'not a readable npz file')
def npz_is_text(ctx):
    return raw_file(ctx, b'imgname,center,scale\n')


@case(ValueError, 'not a readable npz file')
def npz_is_empty(ctx):
    return raw_file(ctx, b'')


@case(ValueError, 'not a readable npz file')
def npz_truncated(ctx):
    path, _ = npz(ctx, name='whole.npz')
    with open(path, 'rb') as f:
        return raw_file(ctx, f.read()[:300])


@case(ValueError, 'a single array (a .npy file)')
def npz_is_npy(ctx):
    path = str(ctx.tmp / 'ann.npz')
    with open(path, 'wb') as f:
        np.save(f, np.zeros(3))
    return path, lambda: HMRDataset(ann_file=path)


@case(FileNotFoundError, 'HMR annotation file not found')
def npz_missing_file(ctx):
    path = str(ctx.tmp / 'nowhere.npz')
    return path, lambda: HMRDataset(ann_file=path)


@case(IndexError, 'index 9 is out of range', 'has 4 samples')
def npz_index_past_the_end(ctx):
    path, build = npz(ctx)
    return 'ann', lambda: build().get_data_info(9)  # named by the dataset (the file's stem)


@case(ValueError, 'gender_codes must be one of')
def npz_unknown_gender_convention(ctx):
    ctx.kwargs = dict(gender_codes='smpl')
    return 'gender_codes', npz(ctx)[1]  # an argument, not the file, is at fault


# ---- mmhuman3d HumanData ------------------------------------------------------------
def human_data(ctx, **override):
    n = 2
    kp2d = np.zeros((n, 190, 3))
    kp2d[:, 153] = [50., 60., 1.]
    content = dict(image_path=np.array(['a.jpg', 'b.jpg']),
                   bbox_xywh=np.array([[10., 10., 50., 80.], [0., 0., 40., 40.]]),
                   keypoints2d=kp2d, keypoints2d_mask=np.ones(190),
                   smpl=dict(global_orient=np.zeros((n, 3)), body_pose=np.zeros((n, 69)),
                             betas=np.zeros((n, 10))),
                   meta=dict(gender=['m', 'f']), __data_len__=n)
    content.update(override)
    path = str(ctx.tmp / 'human_data.npz')
    np.savez_compressed(path, **content)
    return path, lambda: HumanDataDataset(ann_file=path)


PAYLOAD_MARKER = osp.join(tempfile.gettempdir(), 'mmhmr_fault_payload_ran')




@case(ValueError, 'key "bbox_xywh" has shape (2, 3)')
def human_data_bbox(ctx):
    return human_data(ctx, bbox_xywh=np.zeros((2, 3)))


@case(ValueError, 'key "keypoints2d" has shape (2, 17, 3)', '190 joints')
def human_data_other_convention(ctx):
    return human_data(ctx, keypoints2d=np.zeros((2, 17, 3)))


@case(ValueError, 'key "keypoints2d_mask" has shape (17,)')
def human_data_mask(ctx):
    return human_data(ctx, keypoints2d_mask=np.ones(17))


@case(ValueError, '"__data_len__" is 7')
def human_data_length(ctx):
    return human_data(ctx, __data_len__=7)


@case(KeyError, 'key "smpl" lacks', 'global_orient')
def human_data_smpl_keys(ctx):
    return human_data(ctx, smpl=dict(betas=np.zeros((2, 10))))


@case(ValueError, 'confidence 3.0 outside [0, 1] at index 1', "joint 'nose_openpose'")
def human_data_confidence(ctx):
    kp2d = np.zeros((2, 190, 3))
    kp2d[1, 153, 2] = 3.
    return human_data(ctx, keypoints2d=kp2d)


@case(pickle.UnpicklingError, 'key "meta"', 'refusing to unpickle io.open')
def human_data_pickle_payload(ctx):
    return human_data(ctx, meta=dict(gender=['m', 'f'], x=Payload(PAYLOAD_MARKER)))


# ---- 3DPW and EFT sources -----------------------------------------------------------
@case(KeyError, "missing 3DPW key(s) ['cam_intrinsics']")
def threedpw_missing_key(ctx):
    folder = ctx.tmp / 'sequenceFiles' / 'test'
    folder.mkdir(parents=True)
    path = str(folder / 'seq.pkl')
    with open(path, 'wb') as f:
        pickle.dump(dict(sequence='seq', poses=[], betas=[], poses2d=[], campose_valid=[],
                         cam_poses=np.zeros((0, 4, 4)), genders=[]), f, protocol=2)
    from mmhmr.datasets.converters import convert_sequence
    return path, lambda: convert_sequence(path)


@case(pickle.UnpicklingError, 'refusing to unpickle io.open')
def threedpw_pickle_payload(ctx):
    folder = ctx.tmp / 'sequenceFiles' / 'test'
    folder.mkdir(parents=True)
    with open(folder / 'seq.pkl', 'wb') as f:
        pickle.dump(dict(sequence=Payload(PAYLOAD_MARKER)), f, protocol=2)
    return str(folder / 'seq.pkl'), lambda: convert_3dpw(str(ctx.tmp), 'test')


@case(ValueError, 'gave a sample', 'refusing to unpickle io.open')
def threedpw_only_bad_files_skipped(ctx):
    threedpw_pickle_payload(ctx)
    return str(ctx.tmp), lambda: convert_3dpw(str(ctx.tmp), 'test', skip_bad_files=True)


class ForgedObjectDtype:
    """An object dtype whose pickled flags say it holds no references: numpy would then read
    the array's raw bytes as object pointers (a crash, or worse)."""

    def __reduce__(self):
        return (np.dtype, ('O8', False, True), (3, '|', None, None, None, -1, -1, 0))


class ArrayOfForgedDtype:

    def __reduce__(self):
        from numpy.core.multiarray import _reconstruct
        return (_reconstruct, (np.ndarray, (0, ), b'b'),
                (1, (1, ), ForgedObjectDtype(), False, b'A' * 8))


@case(pickle.UnpicklingError, 'key "smpl"', 'refusing a numpy dtype state')
def human_data_forged_dtype(ctx):
    return human_data(ctx, smpl=dict(global_orient=ArrayOfForgedDtype()))


def eft(ctx, entry):
    path = str(ctx.tmp / 'eft.json')
    good = dict(imageName='a.jpg', bbox_center=[1., 2.], bbox_scale=1.,
                gt_keypoint_2d=np.zeros((49, 3)).tolist(),
                parm_pose=np.tile(np.eye(3), (24, 1, 1)).tolist(), parm_shape=[0.] * 10)
    with open(path, 'w') as f:
        json.dump(dict(data=[good, dict(good, **entry)]), f)
    return path, lambda: convert_eft(path)


@case(ValueError, 'entry 1 (b.jpg)', '"parm_pose" holds matrices that are not rotations')
def eft_not_rotations(ctx):
    return eft(ctx, dict(imageName='b.jpg', parm_pose=np.ones((24, 3, 3)).tolist()))


@case(ValueError, 'entry 1 (b.jpg)', '"gt_keypoint_2d" has shape (25, 3)')
def eft_keypoints(ctx):
    return eft(ctx, dict(imageName='b.jpg', gt_keypoint_2d=np.zeros((25, 3)).tolist()))


# ---- SMPL model files ---------------------------------------------------------------
def model_file(ctx, edit, name='SMPL_NEUTRAL.npz'):
    arrays = ctx.make_arrays(seed=3, num_faces=100)
    edit(arrays)
    path = str(ctx.tmp / name)
    np.savez(path, **arrays)
    return path, lambda: load_smpl_model(path)


@case(ValueError, "'v_template'", 'NaN / inf', '[10, 1]')
def model_nan_template(ctx):
    return model_file(ctx, lambda a: a['v_template'].__setitem__((10, 1), np.nan))


@case(ValueError, "'weights'", 'row 7', 'expected 1')
def model_weights_not_normalised(ctx):
    return model_file(ctx, lambda a: a['weights'].__setitem__(7, a['weights'][7] * 2))


@case(ValueError, "'f'", 'expected numbers')
def model_string_faces(ctx):
    return model_file(ctx, lambda a: a.__setitem__('f', a['f'].astype(str)))


@case(ValueError, 'not a readable SMPL pickle')
def model_truncated_pickle(ctx):
    path = str(ctx.tmp / 'SMPL_NEUTRAL.pkl')
    data = pickle.dumps(ctx.make_arrays(seed=3, num_faces=100), protocol=2)
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 3])
    return path, lambda: load_smpl_model(path)


# ---- checkpoints --------------------------------------------------------------------
def checkpoint(ctx, content):
    path = str(ctx.tmp / 'epoch_1.pth')
    if content is not None:
        with open(path, 'wb') as f:
            f.write(content)
    return path, lambda: check_checkpoint_file(path)


@case(ValueError, 'the checkpoint file is empty')
def checkpoint_empty(ctx):
    return checkpoint(ctx, b'')


@case(ValueError, 'not a PyTorch checkpoint')
def checkpoint_random_bytes(ctx):
    return checkpoint(ctx, np.random.default_rng(0).bytes(4096).replace(b'PK', b'pk'))


@case(FileNotFoundError, 'checkpoint file not found')
def checkpoint_missing(ctx):
    return checkpoint(ctx, None)


# ---- synthetic domains, sampler ratios, configs (named by key, no file) -------------
@case(ValueError, 'distance_range')
def domain_nan(ctx):
    return 'distance_range', lambda: resolve_domain(dict(preset='train',
                                                         distance_range=(2., math.nan)))


@case(ValueError, 'image_size')
def domain_bool(ctx):
    return 'image_size', lambda: resolve_domain(dict(preset='train', image_size=(160, True)))


@case(ValueError, 'pose_scale')
def domain_inf(ctx):
    return 'pose_scale', lambda: resolve_domain(dict(preset='train', pose_scale=math.inf))


@case(ValueError, 'finite positive numbers')
def sampler_nan_ratio(ctx):
    concat = SimpleNamespace(datasets=[[0] * 4, [0] * 4], cumulative_sizes=[4, 8])
    return 'source_ratio', lambda: MultiSourceRatioSampler(concat, batch_size=4,
                                                           source_ratio=[1, math.nan])


@case(ValueError, "body_model.joint_set must be 'spin_49'")
def config_head_joint_set(ctx):
    from mmhmr.registry import MODELS
    return 'body_model', lambda: MODELS.build(dict(
        type='CLIFFHead', in_channels=8,
        body_model=dict(type='SMPL', model_path=str(ctx.smpl_dir), joint_set='h36m_17')))


@case(ValueError, 'protocol must be one of')
def config_metric_protocol(ctx):
    from mmhmr.registry import METRICS
    return 'protocol', lambda: METRICS.build(dict(
        type='SMPLMetric', protocol='3DPW', body_model=dict(
            type='GenderedSMPL', model_path=str(ctx.smpl_dir), joint_set='h36m_17')))


# ---- SPIN's mean parameters (CLIFFHead.mean_params) ----------------------------------
def mean_params(ctx, **arrays):
    from mmhmr.registry import MODELS
    path = str(ctx.tmp / 'smpl_mean_params.npz')
    content = dict(pose=np.zeros(144), shape=np.zeros(10), cam=np.array([0.9, 0., 0.]))
    content.update(arrays)
    np.savez(path, **content)
    return path, lambda: MODELS.build(dict(
        type='CLIFFHead', in_channels=8, mean_params=path,
        body_model=dict(type='SMPL', model_path=str(ctx.smpl_dir), joint_set='spin_49')))


@case(ValueError, 'key "pose" has shape (72,)', 'expected 144 numbers')
def mean_params_axis_angle_pose(ctx):
    return mean_params(ctx, pose=np.zeros(72))


@case(ValueError, 'key "cam" has NaN / inf')
def mean_params_nan(ctx):
    return mean_params(ctx, cam=np.array([np.nan, 0., 0.]))


@case(ValueError, 'is not a readable npz')
def mean_params_text(ctx):
    path, build = mean_params(ctx)
    with open(path, 'w') as f:
        f.write('pose: 0 0 0\n')
    return path, build


def test_there_are_at_least_40_cases():
    assert len(CASES) >= 40, len(CASES)


@pytest.mark.parametrize('name', sorted(CASES))
def test_fault_is_named(name, tmp_path, make_random_smpl_arrays, random_smpl_dir):
    build, error, words = CASES[name]
    ctx = SimpleNamespace(tmp=tmp_path, kwargs={}, make_arrays=make_random_smpl_arrays,
                          smpl_dir=random_smpl_dir)
    where, call = build(ctx)
    if osp.exists(PAYLOAD_MARKER):
        os.remove(PAYLOAD_MARKER)
    with pytest.raises(error) as info:
        call()
    assert not osp.exists(PAYLOAD_MARKER), 'a pickle payload ran'
    message = str(info.value)
    for word in (where, *words):
        assert word in message, f'{word!r} not in {message!r}'
