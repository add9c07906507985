"""Malformed SMPL model files: each is an error naming the file and the key (or what the file
is not), never a model that silently poses wrong."""
import pickle

import numpy as np
import pytest

from mmhmr.models.body_models.model_files import load_smpl_model


def _write(tmp_path, arrays, case):
    """One kind of broken model file; the words its error must contain."""
    npz, pkl = str(tmp_path / 'SMPL_NEUTRAL.npz'), str(tmp_path / 'SMPL_NEUTRAL.pkl')
    if case == 'nan_template':
        arrays['v_template'][10, 1] = np.nan
        np.savez(npz, **arrays)
        return npz, ["'v_template'", 'NaN / inf', '[10, 1]']
    if case == 'inf_shapedirs':
        arrays['shapedirs'][0, 0, 3] = np.inf
        np.savez(npz, **arrays)
        return npz, ["'shapedirs'", 'NaN / inf']
    if case == 'weights_not_normalised':
        arrays['weights'][7] *= 2
        np.savez(npz, **arrays)
        return npz, ["'weights'", 'row 7', 'sums to 2', 'expected 1']
    if case == 'object_array':
        np.savez(npz, **dict(arrays, v_template=np.array([object()] * 3, dtype=object)))
        return npz, ['object arrays']
    if case == 'empty_npz':
        open(npz, 'wb').close()
        return npz, ['not a readable npz']
    if case == 'truncated_npz':
        np.savez(npz, **arrays)
        data = open(npz, 'rb').read()
        open(npz, 'wb').write(data[:len(data) // 2])
        return npz, ['not a readable npz']
    if case == 'text_npz':
        open(npz, 'w').write('v_template: 0 0 0\n')
        return npz, ['not a readable npz']
    if case == 'empty_pkl':
        open(pkl, 'wb').close()
        return pkl, ['empty']
    if case == 'truncated_pkl':
        data = pickle.dumps(arrays, protocol=2)
        open(pkl, 'wb').write(data[:len(data) // 3])
        return pkl, ['not a readable SMPL pickle']
    if case == 'string_faces':
        np.savez(npz, **dict(arrays, f=arrays['f'].astype(str)))
        return npz, ["'f'", 'dtype', 'expected numbers']
    raise AssertionError(case)


@pytest.mark.parametrize('case', [
    'nan_template', 'inf_shapedirs', 'weights_not_normalised', 'object_array', 'empty_npz',
    'truncated_npz', 'text_npz', 'empty_pkl', 'truncated_pkl', 'string_faces'
])
def test_broken_model_files_name_file_and_key(tmp_path, make_random_smpl_arrays, case):
    path, words = _write(tmp_path, make_random_smpl_arrays(seed=3, num_faces=100), case)
    with pytest.raises(ValueError) as info:
        load_smpl_model(path)
    for word in [path] + words:
        assert word in str(info.value), (word, str(info.value))
