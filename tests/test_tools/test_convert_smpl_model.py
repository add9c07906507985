import importlib.util
import os
import os.path as osp
import pickle
import subprocess
import sys
import types

import numpy as np
import pytest
import scipy.sparse

from mmhmr.models.body_models import SMPL, load_smpl_model, load_smpl_pickle
from mmhmr.models.body_models.model_files import to_array

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
TOOL = osp.join(REPO, 'tools', 'misc', 'convert_smpl_model.py')


def load_tool():
    spec = importlib.util.spec_from_file_location('convert_smpl_model', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def fake_chumpy(monkeypatch):
    """Minimal classes that pickle like chumpy's (module paths, __dict__ state), for writing
    chumpy-style pickles only; removed from sys.modules afterwards."""

    class Ch:

        def __init__(self, x=None, **terms):
            # chumpy keeps bookkeeping beside the value; __getstate__ drops its caches
            self.__dict__.update(_dirty_vars={'x'}, _itr=None, _depends_on_deps={},
                                 _make_dense=False, _make_sparse=False)
            if x is not None:
                self.x = np.asarray(x, np.float64)
            self.__dict__.update(terms)

    def chumpy_class(module, name):
        cls = type(name, (Ch, ), {})
        cls.__module__ = module
        return cls

    Ch.__module__, Ch.__qualname__ = 'chumpy.ch', 'Ch'
    modules = {
        'chumpy': types.ModuleType('chumpy'),
        'chumpy.ch': types.ModuleType('chumpy.ch'),
        'chumpy.reordering': types.ModuleType('chumpy.reordering'),
        'chumpy.ch_ops': types.ModuleType('chumpy.ch_ops'),
    }
    modules['chumpy.ch'].Ch = Ch
    for name in ('Reshape', 'transpose', 'Select', 'Concatenate'):
        setattr(modules['chumpy.reordering'], name, chumpy_class('chumpy.reordering', name))
    modules['chumpy.ch_ops'].add = chumpy_class('chumpy.ch_ops', 'add')
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    return types.SimpleNamespace(Ch=Ch, ops=modules['chumpy.reordering'],
                                 add=modules['chumpy.ch_ops'].add)


def chumpy_style_model(arrays, ch):
    """An SMPL dict as the official .pkl files hold it: chumpy arrays, some behind reorder
    operations, a sparse J_regressor, extra keys."""
    Ch, ops = ch.Ch, ch.ops
    shapedirs = Ch(arrays['shapedirs'])
    weights = arrays['weights']
    return {
        'v_template': Ch(arrays['v_template']),
        'shapedirs': shapedirs,
        'posedirs': ops.Reshape(a=Ch(arrays['posedirs'].ravel()),
                                newshape=arrays['posedirs'].shape),
        # weights = rows 0:3000 and 3000: joined, the second part transposed back from (24, N)
        'weights': ops.Concatenate(
            m0=ops.Select(a=Ch(weights[:3000]), idxs=np.arange(3000 * 24),
                          preferred_shape=(3000, 24)),
            m1=ops.transpose(a=Ch(weights[3000:].T), axes=None),
            dterms=['m0', 'm1'], axis=0),
        'J_regressor': scipy.sparse.csc_matrix(arrays['J_regressor']),
        'kintree_table': arrays['kintree_table'],
        'f': arrays['f'],
        'bs_style': 'lbs',
        'bs_type': 'lrotmin',
        'J': np.zeros((24, 3)),
        # an operation the loader cannot evaluate, on a key it never needs
        'v_shaped': ch.add(a=shapedirs, b=Ch(arrays['v_template'])),
    }


def assert_same_model(loaded, arrays):
    for key, value in arrays.items():
        np.testing.assert_allclose(loaded[key], value, rtol=1e-6, err_msg=key)


def test_converts_chumpy_pickle(tmp_path, capsys, fake_chumpy, make_random_smpl_arrays):
    arrays = make_random_smpl_arrays(seed=7)
    pkl = tmp_path / 'SMPL_MALE.pkl'
    with open(pkl, 'wb') as f:  # protocol 2, as the official (Python 2) files
        pickle.dump(chumpy_style_model(arrays, fake_chumpy), f, protocol=2)
    out = tmp_path / 'out' / 'SMPL_MALE.npz'
    assert load_tool().main([str(pkl), str(out)]) == 0
    printed = capsys.readouterr().out
    assert str(out) in printed and 'posedirs' in printed and '(6890, 3, 207)' in printed
    with np.load(out, allow_pickle=False) as npz:  # plain arrays only
        assert sorted(npz.files) == sorted(arrays)
        assert npz['J_regressor'].shape == (24, 6890)
        assert_same_model(dict(npz), arrays)
    # the converted model works, and so does the .pkl directly
    assert SMPL(str(tmp_path / 'out'), gender='male', joint_set='smpl_24').num_vertices == 6890
    assert_same_model(load_smpl_model(str(pkl)), arrays)


def test_reads_protocol_0_pickles(tmp_path, fake_chumpy):
    # protocol 0 rebuilds objects with copyreg._reconstructor, allowed for the stand-ins only
    jreg = np.array([[0., 0.5, 0.5], [1., 0., 0.]])
    data = {'x': fake_chumpy.Ch(np.arange(6.)), 'J': scipy.sparse.csr_matrix(jreg),
            'r': fake_chumpy.ops.Reshape(a=fake_chumpy.Ch(np.arange(6.)), newshape=(3, 2))}
    with open(tmp_path / 'p0.pkl', 'wb') as f:
        pickle.dump(data, f, protocol=0)
    loaded = {k: to_array(v) for k, v in load_smpl_pickle(str(tmp_path / 'p0.pkl')).items()}
    np.testing.assert_array_equal(loaded['x'], np.arange(6.))
    np.testing.assert_array_equal(loaded['J'].toarray(), jreg)
    np.testing.assert_array_equal(loaded['r'], [[0., 1.], [2., 3.], [4., 5.]])


def test_converts_a_directory_without_chumpy(tmp_path, fake_chumpy, make_random_smpl_arrays):
    """The conversion runs in a fresh interpreter where no chumpy module exists; a .pkl that is
    not an SMPL model is reported and skipped."""
    models = tmp_path / 'models'
    models.mkdir()
    arrays = make_random_smpl_arrays(seed=10, num_faces=500)
    with open(models / 'SMPL_FEMALE.pkl', 'wb') as f:
        pickle.dump(chumpy_style_model(arrays, fake_chumpy), f, protocol=2)
    with open(models / 'notes.pkl', 'wb') as f:
        pickle.dump({'note': 'not a body model'}, f, protocol=2)
    result = subprocess.run([sys.executable, TOOL, str(models), str(tmp_path / 'out')],
                            capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 1, result.stderr
    assert 'SMPL_FEMALE.npz' in result.stdout
    assert 'skipped' in result.stderr and 'notes.pkl' in result.stderr
    assert "missing key(s) ['v_template'" in result.stderr
    assert_same_model(load_smpl_model(str(tmp_path / 'out' / 'SMPL_FEMALE.npz')), arrays)
    assert not (tmp_path / 'out' / 'notes.npz').exists()


class _Exploit:
    """Pickles as a call to os.system."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command, )


def test_refuses_other_classes(tmp_path, make_random_smpl_arrays):
    marker = tmp_path / 'pwned'
    pkl = tmp_path / 'evil.pkl'
    arrays = make_random_smpl_arrays(seed=8, num_faces=100)
    with open(pkl, 'wb') as f:
        pickle.dump(dict(arrays, bs_style=_Exploit(f'touch {marker}')), f, protocol=2)
    with pytest.raises(pickle.UnpicklingError, match=r'evil\.pkl.*system'):
        load_tool().main([str(pkl), str(tmp_path / 'evil.npz')])
    assert not marker.exists() and not (tmp_path / 'evil.npz').exists()

    # a class that is not allowed anywhere in the file, e.g. a module-level function
    with open(pkl, 'wb') as f:
        pickle.dump(dict(arrays, extra=subprocess.run), f, protocol=4)
    with pytest.raises(pickle.UnpicklingError, match='subprocess.run'):
        load_smpl_model(str(pkl))


def test_reports_bad_models(tmp_path, fake_chumpy, make_random_smpl_arrays):
    arrays = make_random_smpl_arrays(seed=9, num_faces=100)
    model = chumpy_style_model(arrays, fake_chumpy)
    # the value of v_template behind an operation that needs chumpy to evaluate
    model['v_template'] = model['v_shaped']
    with open(tmp_path / 'SMPL_NEUTRAL.pkl', 'wb') as f:
        pickle.dump(model, f, protocol=2)
    with pytest.raises(ValueError, match=r"SMPL_NEUTRAL\.pkl: cannot read key 'v_template'.*add"):
        load_tool().main([str(tmp_path / 'SMPL_NEUTRAL.pkl'), str(tmp_path / 'out.npz')])
    with pytest.raises(ValueError, match='.npz file or a directory'):
        load_tool().main([str(tmp_path / 'SMPL_NEUTRAL.pkl'), str(tmp_path / 'out.txt')])


def test_output_names():
    tool = load_tool()
    assert tool.output_name('a/basicmodel_neutral_lbs_10_207_0_v1.1.0.pkl') == 'SMPL_NEUTRAL.npz'
    assert tool.output_name('basicModel_f_lbs_10_207_0_v1.0.0.pkl') == 'SMPL_FEMALE.npz'
    assert tool.output_name('basicModel_m_lbs_10_207_0_v1.0.0.pkl') == 'SMPL_MALE.npz'
    assert tool.output_name('SMPL_MALE.pkl') == 'SMPL_MALE.npz'
