"""HumanDataDataset on files built here in mmhuman3d's documented HumanData layout (what
``HumanData.dump`` writes: ``np.savez_compressed`` of arrays, the ``smpl`` and ``meta`` dicts
as pickled object arrays)."""
import os
import os.path as osp
import pickle

import numpy as np
import pytest
from pickle_payload import Payload

from mmhmr.datasets import HumanDataDataset
from mmhmr.models.body_models.joint_sets import SPIN_49_NAMES

# human_data joint rows, written out by hand from mmhuman3d's convention list
ROW = dict(pelvis=0, right_hip=2, nose=55, left_eye=57, right_hip_extra=144, headtop=147,
           nose_openpose=153, pelvis_openpose=161, right_heel_openpose=177, left_hand=188)
N = 3


def human_data(tmp_path, name='hd.npz', compressed=False, **override):
    rng = np.random.default_rng(0)
    kp2d = np.zeros((N, 190, 3), np.float32)
    kp3d = np.zeros((N, 190, 4), np.float32)
    mask = np.zeros(190, np.uint8)
    for joint, row in ROW.items():
        kp2d[:, row] = [[10 * row + i, 20 * row + i, 1.] for i in range(N)]
        kp3d[:, row] = [[row / 100, -row / 100, i / 10, 1.] for i in range(N)]
        mask[row] = 1
    mask[ROW['left_hand']] = 0  # annotated in the array but masked out
    if compressed:
        kp2d, kp3d = kp2d[:, mask > 0], kp3d[:, mask > 0]
    content = dict(
        image_path=np.array([f'images/{i:03d}.jpg' for i in range(N)]),
        bbox_xywh=np.array([[100., 50., 80., 160., 1.], [0., 0., 200., 100., 0.9],
                            [10., 10., 30., 30., 1.]], np.float32),
        keypoints2d=kp2d, keypoints2d_mask=mask, keypoints3d=kp3d, keypoints3d_mask=mask,
        smpl=dict(global_orient=rng.normal(size=(N, 3)).astype(np.float32),
                  body_pose=rng.normal(size=(N, 23, 3)).astype(np.float32),
                  betas=rng.normal(size=(N, 10)).astype(np.float32)),
        meta=dict(gender=['m', 'f', 'neutral']),
        config='test', __data_len__=N, __key_strict__=False,
        __keypoints_compressed__=compressed)
    content.update(override)
    path = str(tmp_path / name)
    np.savez_compressed(path, **content)
    return path, content


def slot(name):
    return SPIN_49_NAMES.index(name)


@pytest.mark.parametrize('compressed', [False, True])
def test_reads_the_documented_layout(tmp_path, compressed):
    path, content = human_data(tmp_path, compressed=compressed)
    ds = HumanDataDataset(ann_file=path, data_prefix=dict(img='root'))
    assert len(ds) == N
    info = ds.get_data_info(1)
    assert info['img_path'] == osp.join('root', 'images', '001.jpg')
    # box (0, 0, 200, 100): centre (100, 50), the longer side as it is (already enlarged)
    np.testing.assert_allclose(info['bbox_center'], [100., 50.])
    assert info['bbox_size'] == pytest.approx(200.)
    enlarged = HumanDataDataset(ann_file=path, bbox_scale=1.25).get_data_info(1)
    assert enlarged['bbox_size'] == pytest.approx(250.)
    kp2d, kp3d = info['keypoints_2d'], info['keypoints_3d']
    # by name: OpenPose nose / mid-hip / right heel, LSP right hip = right_hip_extra, head top
    for ours, theirs in (('op_nose', 'nose_openpose'), ('op_mid_hip', 'pelvis_openpose'),
                         ('op_right_heel', 'right_heel_openpose'),
                         ('right_hip', 'right_hip_extra'), ('head_top_lsp', 'headtop'),
                         ('nose', 'nose'), ('left_eye', 'left_eye')):
        row = ROW[theirs]
        np.testing.assert_allclose(kp2d[slot(ours)], [10 * row + 1, 20 * row + 1, 1.])
    np.testing.assert_allclose(kp3d[slot('head_top_lsp')], [1.47, -1.47, 0.1, 1.])
    assert kp3d[:25, 3].sum() == 0  # 3D OpenPose rows: none, as in SPIN files
    # the SMPL hip (row 2) is not the LSP hip: nothing there, confidence 0
    assert kp2d[slot('op_left_hip'), 2] == 0 and kp2d[slot('left_hip'), 2] == 0
    # 7 of the 10 joints written are ours (not the SMPL pelvis / hip; the hand is masked)
    assert (kp2d[:, 2] > 0).sum() == 7
    smpl = content['smpl']
    np.testing.assert_allclose(info['smpl_pose'], np.concatenate(
        [smpl['global_orient'][1], smpl['body_pose'][1].reshape(-1)]), rtol=1e-6)
    np.testing.assert_allclose(info['smpl_betas'], smpl['betas'][1], rtol=1e-6)
    assert info['has_smpl'] == 1.
    assert [ds.get_data_info(i)['gender'] for i in range(N)] == [1, 2, 0]


def test_the_mask_zeroes_confidences(tmp_path):
    kp2d = np.zeros((N, 190, 3), np.float32)
    kp2d[:, ROW['nose'], 2] = 1.
    mask = np.ones(190, np.uint8)
    mask[ROW['nose']] = 0
    path, _ = human_data(tmp_path, keypoints2d=kp2d, keypoints2d_mask=mask)
    info = HumanDataDataset(ann_file=path).get_data_info(0)
    assert info['keypoints_2d'][slot('nose'), 2] == 0


def test_an_object_array_naming_another_class_is_refused_unrun(tmp_path):
    marker = str(tmp_path / 'ran')
    path, _ = human_data(tmp_path, meta=dict(gender=['m'] * N, extra=Payload(marker)))
    with pytest.raises(pickle.UnpicklingError,
                       match=r'hd\.npz, key "meta": refusing to unpickle io\.open'):
        HumanDataDataset(ann_file=path)
    assert not os.path.exists(marker)


@pytest.mark.parametrize('override,error,match', [
    (dict(bbox_xywh=np.zeros((N, 3))), ValueError, r'"bbox_xywh" has shape \(3, 3\)'),
    (dict(keypoints2d=np.zeros((N, 133, 3))), ValueError,
     r'"keypoints2d" has shape \(3, 133, 3\).*190 joints'),
    (dict(keypoints2d_mask=np.ones(17)), ValueError, r'"keypoints2d_mask" has shape \(17,\)'),
    (dict(__data_len__=5), ValueError, r'"__data_len__" is 5 but "image_path" has 3'),
    (dict(smpl=dict(betas=np.zeros((N, 10)))), KeyError, r'"smpl" lacks'),
    (dict(smpl=dict(global_orient=np.zeros((N, 3)), body_pose=np.zeros((N, 22, 3)),
                    betas=np.zeros((N, 10)))), ValueError, r'smpl "body_pose" has shape'),
    (dict(meta=dict(gender=['m', 'x', 'f'])), ValueError,
     r'"gender" has an unknown value .x. at index 1'),
    (dict(bbox_xywh=np.array([[0, 0, 10, 10], [0, 0, 0, 0], [0, 0, 5, 5]], np.float32)),
     ValueError, r'"scale" must be > 0, first bad index 1'),
])
def test_bad_files_name_the_file_key_and_index(tmp_path, override, error, match):
    path, _ = human_data(tmp_path, **override)
    with pytest.raises(error, match=match) as info:
        HumanDataDataset(ann_file=path)
    assert 'hd.npz' in str(info.value)


def test_confidence_outside_0_1_names_the_joint(tmp_path):
    kp2d = np.zeros((N, 190, 3), np.float32)
    kp2d[2, ROW['headtop'], 2] = 2.
    path, _ = human_data(tmp_path, keypoints2d=kp2d)
    with pytest.raises(ValueError, match=r"confidence 2.0 outside \[0, 1\] at index 2, joint "
                                         r"'headtop'"):
        HumanDataDataset(ann_file=path)


def test_not_an_npz(tmp_path):
    path = tmp_path / 'hd.npz'
    path.write_text('image_path,bbox\n')
    with pytest.raises(ValueError, match='hd.npz: not a readable npz'):
        HumanDataDataset(ann_file=str(path))
