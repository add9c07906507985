"""tools/dataset_converters on small files built here in the layouts of raw 3DPW
(sequenceFiles/<split>/*.pkl) and of EFT's fitting JSON; expected values by hand."""
import json
import math
import os
import pickle
import sys

import numpy as np
import pytest
from pickle_payload import Payload

from mmhmr.datasets import HMRDataset
from mmhmr.datasets.converters import convert_3dpw, convert_eft

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'tools',
                                'dataset_converters'))
import eft_to_hmr  # noqa: E402
import threedpw_to_hmr  # noqa: E402

FRAMES = 4


def rot_y(deg):
    a = math.radians(deg)
    return np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])


def poses2d(offset):
    """(F, 3, 18): joint j of frame f at (100 + 10 j + offset, 200 + 5 j), confidence 0.9;
    frame 2 has no confident joint."""
    kp = np.zeros((FRAMES, 3, 18))
    for f in range(FRAMES):
        kp[f, 0] = 100 + 10 * np.arange(18) + offset
        kp[f, 1] = 200 + 5 * np.arange(18)
        kp[f, 2] = 0.9
    kp[2, 2] = 0.
    return kp


def write_sequence(folder, name='courtyard_test_00'):
    cam_poses = np.tile(np.eye(4), (FRAMES, 1, 1))
    cam_poses[:, :3, :3] = rot_y(90)
    poses = np.zeros((FRAMES, 72))
    poses[:, 3:6] = 0.1  # a body joint: left as it is
    seq = dict(
        sequence=name, poses=[poses, poses.copy()], betas=[np.arange(10) / 10, np.zeros(16)],
        trans=[np.zeros((FRAMES, 3))] * 2, poses2d=[poses2d(0), poses2d(50)],
        campose_valid=[np.array([1, 1, 1, 0], bool), np.ones(FRAMES, bool)],
        cam_poses=cam_poses,
        cam_intrinsics=np.array([[1960., 0, 540], [0, 1962., 960], [0, 0, 1]]),
        img_frame_ids=2 * np.arange(FRAMES), genders=['m', 'f'])  # indices of the 60 Hz poses
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, f'{name}.pkl'), 'wb') as f:
        pickle.dump(seq, f, protocol=2)  # the protocol of 3DPW's Python 2 pickles


def test_3dpw_sequences_to_npz(tmp_path):
    seq_dir = tmp_path / '3dpw' / 'sequenceFiles' / 'test'
    write_sequence(str(seq_dir))
    marker = str(tmp_path / 'ran')
    with open(seq_dir / 'broken.pkl', 'wb') as f:
        pickle.dump(dict(sequence=Payload(marker)), f, protocol=2)
    with pytest.raises(pickle.UnpicklingError, match='broken.pkl: refusing to unpickle'):
        convert_3dpw(str(tmp_path / '3dpw'), 'test')
    arrays, messages = convert_3dpw(str(tmp_path / '3dpw'), 'test', skip_bad_files=True)
    assert not os.path.exists(marker)
    assert any('broken.pkl' in m and 'refusing to unpickle' in m for m in messages)
    # actor 0: frame 3 has no valid camera pose, frame 2 no keypoints -> frames 0, 1;
    # actor 1: frames 0, 1, 3 (frame 2 again: reported). Images are numbered by frame.
    assert list(arrays['imgname']) == [f'imageFiles/courtyard_test_00/image_{f:05d}.jpg'
                                       for f in (0, 1, 0, 1, 3)]
    assert any('2 actor-frames with a valid camera pose but too few' in m for m in messages)
    # box of x in 100..270, y in 200..285: centre (185, 242.5), scale 1.2 * 170 / 200
    np.testing.assert_allclose(arrays['center'][0], [185., 242.5])
    np.testing.assert_allclose(arrays['center'][2], [235., 242.5])
    np.testing.assert_allclose(arrays['scale'][0], 1.2 * 170 / 200)
    # the root turned by the camera: identity -> 90 degrees about y
    np.testing.assert_allclose(arrays['pose'][:, :3], [[0, math.pi / 2, 0]] * 5, atol=1e-9)
    np.testing.assert_allclose(arrays['pose'][:, 3:6], 0.1)
    np.testing.assert_allclose(arrays['shape'][0], np.arange(10) / 10)
    assert arrays['shape'].shape == (5, 10)  # 16 betas cut to 10
    assert list(arrays['gender']) == ['m', 'm', 'f', 'f', 'f']
    np.testing.assert_allclose(arrays['focal_length'], 1961.)
    # BODY_18 in OpenPose-25 slots by name: right hip (18-slot 8) -> slot 9, mid-hip empty
    np.testing.assert_allclose(arrays['openpose'][0, 9], [180., 240., 0.9])
    np.testing.assert_allclose(arrays['openpose'][0, 8], 0.)
    np.testing.assert_allclose(arrays['openpose'][0, 19:], 0.)


def test_3dpw_tool_writes_a_file_hmr_dataset_reads(tmp_path, capsys):
    write_sequence(str(tmp_path / '3dpw' / 'sequenceFiles' / 'test'))
    out = str(tmp_path / 'extras' / '3dpw_test.npz')
    threedpw_to_hmr.main([str(tmp_path / '3dpw'), '--out', out])
    assert 'wrote' in capsys.readouterr().out
    ds = HMRDataset(ann_file=out, data_prefix=dict(img=str(tmp_path / '3dpw')),
                    det_keypoints='openpose')
    info = ds.get_data_info(2)
    assert info['gender'] == 2 and info['has_smpl'] == 1 and info['focal_length'] == 1961.
    np.testing.assert_allclose(info['det_keypoints_2d'][0], [150., 200., 0.9])


def test_3dpw_without_sequences_says_where_it_looked(tmp_path):
    with pytest.raises(FileNotFoundError, match='sequenceFiles/test'):
        convert_3dpw(str(tmp_path), 'test')


def eft_entry(name, joint_rot=None):
    rot = np.tile(np.eye(3), (24, 1, 1))
    if joint_rot is not None:
        rot[5] = joint_rot
    kp = np.zeros((49, 3))
    kp[:, 0], kp[:, 1], kp[:, 2] = np.arange(49), 2 * np.arange(49), 1.
    return dict(imageName=name, bbox_center=[320., 240.], bbox_scale=1.5,
                gt_keypoint_2d=kp.tolist(), parm_pose=rot.tolist(),
                parm_shape=(np.arange(10) / 100).tolist(), parm_cam=[1., 0., 0.],
                annotId=7, smpltype='smpl')


def write_eft(path, entries):
    with open(path, 'w') as f:
        json.dump(dict(ver='01', data=entries), f)


def test_eft_json_to_npz(tmp_path, capsys):
    rx90 = np.array([[1., 0, 0], [0, 0, -1], [0, 1, 0]])  # 90 degrees about x
    path = str(tmp_path / 'COCO2014-Part-ver01.json')
    write_eft(path, [eft_entry('COCO_train2014_000000000036.jpg', rx90), eft_entry('b.jpg')])
    arrays = convert_eft(path, 'train2014')
    assert list(arrays['imgname']) == ['train2014/COCO_train2014_000000000036.jpg',
                                       'train2014/b.jpg']
    np.testing.assert_allclose(arrays['pose'][0, 15:18], [math.pi / 2, 0, 0], atol=1e-7)
    assert np.abs(arrays['pose'][0, :15]).max() == 0 and np.abs(arrays['pose'][1]).max() == 0
    np.testing.assert_allclose(arrays['openpose'][0, 3], [3., 6., 1.])
    np.testing.assert_allclose(arrays['part'][0, 0], [25., 50., 1.])
    out = str(tmp_path / 'coco_eft.npz')
    eft_to_hmr.main([path, '--image-prefix', 'train2014', '--out', out])
    info = HMRDataset(ann_file=out).get_data_info(0)
    assert info['bbox_size'] == pytest.approx(300.) and info['has_smpl'] == 1.
    np.testing.assert_allclose(info['smpl_betas'], np.arange(10) / 100, rtol=1e-6)


@pytest.mark.parametrize('entry,error,match', [
    (dict(imageName='x.jpg'), KeyError, r'entry 1 \(x.jpg\) has no "bbox_center"'),
    (dict(eft_entry('x.jpg'), parm_shape=[0.] * 11), ValueError,
     r'entry 1 \(x.jpg\): "parm_shape" has shape \(11,\)'),
    (eft_entry('x.jpg', joint_rot=2 * np.eye(3)), ValueError,
     r'entry 1 \(x.jpg\): "parm_pose" holds matrices that are not rotations'),
])
def test_bad_eft_entries_are_named(tmp_path, entry, error, match):
    path = str(tmp_path / 'eft.json')
    write_eft(path, [eft_entry('ok.jpg'), entry])
    with pytest.raises(error, match=match):
        convert_eft(path)


def test_eft_not_json(tmp_path):
    path = tmp_path / 'eft.json'
    path.write_bytes(b'\x80\x02}q\x00.')
    with pytest.raises(ValueError, match='eft.json: not a JSON file'):
        convert_eft(str(path))
