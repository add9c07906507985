import os.path as osp
import re

import numpy as np
import pytest
from npz_samples import spin_arrays

from mmhmr.datasets.hmr_dataset import HMRDataset
from mmhmr.datasets.transforms import HMRLoadImage

DATA_INFO_KEYS = {
    'img_path', 'bbox_center', 'bbox_size', 'focal_length', 'keypoints_2d', 'keypoints_3d',
    'smpl_pose', 'smpl_betas', 'has_smpl', 'gender', 'cam_transl', 'has_transl',
    'dataset_name', 'sample_idx'
}


def test_data_info_has_the_conventions_keys_and_values(write_npz, tmp_path):
    arrays = spin_arrays(3)
    write_npz('h36m_train.npz', arrays, images=False)
    ds = HMRDataset(ann_file='h36m_train.npz', data_root=str(tmp_path),
                    data_prefix=dict(img='imgs'))
    assert len(ds) == 3
    info = ds.get_data_info(2)
    assert set(info) == DATA_INFO_KEYS
    assert info['img_path'] == osp.join(str(tmp_path), 'imgs', 'images/img_002.jpg')
    assert info['sample_idx'] == 2
    assert info['dataset_name'] == 'h36m_train'  # the file's stem
    np.testing.assert_allclose(info['bbox_center'], arrays['center'][2], rtol=1e-6)
    assert info['bbox_size'] == pytest.approx(arrays['scale'][2] * 200)
    assert info['focal_length'] == 5000.
    assert info['keypoints_2d'].shape == (49, 3)
    np.testing.assert_allclose(info['keypoints_2d'][:25], arrays['openpose'][2], rtol=1e-6)
    np.testing.assert_allclose(info['keypoints_2d'][25:], arrays['part'][2], rtol=1e-6)
    assert info['keypoints_3d'].shape == (49, 4)
    assert (info['keypoints_3d'][:25] == 0).all()
    np.testing.assert_allclose(info['keypoints_3d'][25:], arrays['S'][2], rtol=1e-6)
    np.testing.assert_allclose(info['smpl_pose'], arrays['pose'][2], rtol=1e-6)
    np.testing.assert_allclose(info['smpl_betas'], arrays['shape'][2], rtol=1e-6)
    assert info['has_smpl'] == 1.
    # 'm', 'f', 'n' -> 1, 2, 0
    assert [ds.get_data_info(i)['gender'] for i in range(3)] == [1, 2, 0]
    assert (info['cam_transl'] == 0).all() and info['cam_transl'].shape == (3, )
    assert info['has_transl'] == 0.
    for key in ('bbox_center', 'keypoints_2d', 'keypoints_3d', 'smpl_pose', 'smpl_betas'):
        assert info[key].dtype == np.float32, key


def test_missing_optional_keys_are_filled(write_npz):
    arrays = spin_arrays(2)
    for key in ('openpose', 'S', 'pose', 'shape', 'has_smpl', 'gender', 'focal_length'):
        del arrays[key]
    ds = HMRDataset(ann_file=write_npz('lsp.npz', arrays, images=False),
                    dataset_name='lsp')
    info = ds.get_data_info(1)
    assert set(info) == DATA_INFO_KEYS
    assert info['dataset_name'] == 'lsp'
    assert (info['keypoints_2d'][:25] == 0).all()
    np.testing.assert_allclose(info['keypoints_2d'][25:], arrays['part'][1], rtol=1e-6)
    assert (info['keypoints_3d'] == 0).all()
    assert (info['smpl_pose'] == 0).all() and (info['smpl_betas'] == 0).all()
    assert info['has_smpl'] == 0.
    assert info['gender'] == 0
    assert info['focal_length'] == -1.


def test_pose_without_has_smpl_counts_as_ground_truth(write_npz):
    """As in SPIN: files with ``pose`` / ``shape`` but no ``has_smpl`` flag are ground truth."""
    arrays = spin_arrays(2)
    del arrays['has_smpl']
    ds = HMRDataset(ann_file=write_npz('a.npz', arrays, images=False))
    assert ds.get_data_info(0)['has_smpl'] == 1.


def test_gender_as_ints_with_their_convention_and_as_words(write_npz):
    arrays = spin_arrays(3)
    arrays['gender'] = np.array([2, 0, 1])
    path = write_npz('a.npz', arrays, images=False)
    ds = HMRDataset(ann_file=path, gender_codes='mmhmr')
    assert [ds.get_data_info(i)['gender'] for i in range(3)] == [2, 0, 1]
    with pytest.raises(ValueError, match='gender_codes'):  # integers are never guessed
        HMRDataset(ann_file=path)
    arrays['gender'] = np.array([0, 1, 0])  # SPIN's 0 male, 1 female
    ds = HMRDataset(ann_file=write_npz('s.npz', arrays, images=False), gender_codes='spin')
    assert [ds.get_data_info(i)['gender'] for i in range(3)] == [1, 2, 1]
    arrays['gender'] = np.array([b'female', b' M', b'NEUTRAL'])
    ds = HMRDataset(ann_file=write_npz('b.npz', arrays, images=False))
    assert [ds.get_data_info(i)['gender'] for i in range(3)] == [2, 1, 0]


def _break(arrays, case):
    """Make one kind of malformed file; return the words the error must contain."""
    if case == 'missing_center':
        del arrays['center']
        return KeyError, ['center']
    if case == 'no_keypoints':
        for key in ('part', 'openpose', 'S'):
            del arrays[key]
        return KeyError, ['part', 'openpose', 'S']
    if case == 'wrong_shape':
        arrays['part'] = arrays['part'][:, :17]
        return ValueError, ['part', '(4, 17, 3)', '(4, 24, 3)']
    if case == 'nan':
        arrays['S'][2, 5, 1] = np.nan
        return ValueError, ['"S"', 'NaN', 'index 2']
    if case == 'inf':
        arrays['center'][3, 0] = np.inf
        return ValueError, ['"center"', 'index 3']
    if case == 'length_mismatch':
        arrays['pose'] = arrays['pose'][:3]
        return ValueError, ['length mismatch', '"pose"', '3 rows', '4']
    if case == 'bad_gender':
        arrays['gender'] = np.array(['m', 'f', 'x', 'n'])
        return ValueError, ['gender', 'index 2']
    if case == 'zero_scale':
        arrays['scale'][1] = 0
        return ValueError, ['scale', 'index 1']
    if case == 'gender_word_prefix':  # 'fish' is not female (whole words only)
        arrays['gender'] = np.array(['m', 'fish', 'f', 'n'])
        return ValueError, ['gender', 'fish', 'index 1']
    if case == 'int_gender_unstated':
        arrays['gender'] = np.array([0, 1, 0, 1])
        return ValueError, ['gender', 'gender_codes']
    if case == 'has_smpl_not_binary':
        arrays['has_smpl'] = np.array([1., 0.5, 1., 0.])
        return ValueError, ['"has_smpl"', '0.5', 'index 1']
    if case == 'confidence_above_one':
        arrays['part'][3, 7, 2] = 2.
        return ValueError, ['"part"', 'confidence 2.0', 'index 3', 'joint 7']
    if case == 'negative_3d_confidence':
        arrays['S'][0, 1, 3] = -1.
        return ValueError, ['"S"', 'index 0', 'joint 1']
    if case == 'nonpositive_focal':
        arrays['focal_length'] = np.array([1000., 1000., 0., 1000.])
        return ValueError, ['"focal_length"', 'index 2', '> 0']
    if case == 'huge_box':
        arrays['scale'][2] = 1e4
        return ValueError, ['implausible box', 'index 2']
    if case == 'far_centre':
        arrays['center'][1] = [1e6, 10.]
        return ValueError, ['implausible box', 'index 1']
    raise AssertionError(case)


@pytest.mark.parametrize('case', [
    'missing_center', 'no_keypoints', 'wrong_shape', 'nan', 'inf', 'length_mismatch',
    'bad_gender', 'zero_scale', 'gender_word_prefix', 'int_gender_unstated',
    'has_smpl_not_binary', 'confidence_above_one', 'negative_3d_confidence',
    'nonpositive_focal', 'huge_box', 'far_centre'
])
def test_malformed_file_raises_naming_file_key_and_index(write_npz, case):
    arrays = spin_arrays(4)
    error, words = _break(arrays, case)
    path = write_npz(f'bad_{case}.npz', arrays, images=False)
    with pytest.raises(error) as info:
        HMRDataset(ann_file=path)
    message = str(info.value)
    for word in [path] + words:
        assert word in message, (word, message)


def test_missing_annotation_file(tmp_path):
    path = str(tmp_path / 'nope.npz')
    with pytest.raises(FileNotFoundError, match=re.escape(path)):
        HMRDataset(ann_file=path)


def test_missing_image_names_path_and_sample_index(write_npz, tmp_path):
    arrays = spin_arrays(3)
    path = write_npz('a.npz', arrays, images=True)
    (tmp_path / 'images' / 'img_001.jpg').unlink()
    ds = HMRDataset(ann_file=path, data_prefix=dict(img=str(tmp_path)),
                    pipeline=[dict(type='HMRLoadImage')], dataset_name='demo')
    assert ds[0]['img'].shape == (80, 100, 3)
    with pytest.raises(FileNotFoundError) as info:
        ds[1]
    message = str(info.value)
    for word in [osp.join(str(tmp_path), 'images/img_001.jpg'), 'sample 1', "'demo'"]:
        assert word in message, (word, message)
    assert isinstance(HMRLoadImage(), HMRLoadImage)


@pytest.mark.parametrize('kind', ['text', 'npy', 'truncated', 'empty', 'zero_rows'])
def test_files_that_are_not_annotations_name_their_path(write_npz, tmp_path, kind):
    path = str(tmp_path / f'{kind}.npz')
    if kind == 'text':
        open(path, 'w').write('imgname,center,scale\n')
    elif kind == 'npy':
        np.save(open(path, 'wb'), np.zeros(3))
    elif kind == 'truncated':
        good = write_npz('good.npz', spin_arrays(4), images=False)
        open(path, 'wb').write(open(good, 'rb').read()[:300])
    elif kind == 'empty':
        open(path, 'wb').close()
    else:
        arrays = {k: v[:0] for k, v in spin_arrays(2).items()}
        np.savez(path, **arrays)
    with pytest.raises(ValueError) as info:
        HMRDataset(ann_file=path)
    assert path in str(info.value)
    assert {'text': 'not a readable npz', 'npy': 'single array', 'truncated': 'not a readable',
            'empty': 'not a readable', 'zero_rows': 'no samples'}[kind] in str(info.value)


def test_an_index_past_the_end_names_the_length(write_npz):
    ds = HMRDataset(ann_file=write_npz('a.npz', spin_arrays(3), images=False),
                    dataset_name='mine')
    with pytest.raises(IndexError, match="'mine': index 3 is out of range; the dataset has 3"):
        ds.get_data_info(3)
    assert ds.get_data_info(-1)['sample_idx'] == 2
