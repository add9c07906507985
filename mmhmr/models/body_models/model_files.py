"""Finding, loading and checking SMPL model files (.npz, or official .pkl without chumpy).

An SMPL model file holds ``v_template (6890, 3)``, ``shapedirs (6890, 3, >=10)``,
``posedirs (6890, 3, 207)``, ``J_regressor (24, 6890)``, ``weights (6890, 24)``,
``kintree_table (2, 24)`` and ``f (F, 3)``. The official ``.pkl`` files store some of them as
chumpy objects and ``J_regressor`` as a scipy sparse matrix; :class:`SafeSMPLUnpickler` reads
them without chumpy and without unpickling anything but arrays.
"""
import os.path as osp
import pickle
import zipfile
from typing import Dict, Optional, Sequence

import numpy as np
import scipy.sparse

from mmhmr.utils.safe_pickle import SafeNumpyUnpickler

NUM_VERTICES = 6890
NUM_JOINTS = 24
NUM_POSE_BASIS = 9 * (NUM_JOINTS - 1)  # 207
MIN_NUM_BETAS = 10
GENDERS = ('neutral', 'male', 'female')

# the official file names, beside our SMPL_{GENDER}.{npz,pkl}
OFFICIAL_FILE_NAMES = {
    'neutral': ('basicmodel_neutral_lbs_10_207_0_v1.1.0.pkl',
                'basicModel_neutral_lbs_10_207_0_v1.0.0.pkl'),
    'male': ('basicModel_m_lbs_10_207_0_v1.0.0.pkl', 'basicmodel_m_lbs_10_207_0_v1.1.0.pkl'),
    'female': ('basicModel_f_lbs_10_207_0_v1.0.0.pkl', 'basicmodel_f_lbs_10_207_0_v1.1.0.pkl'),
}

HOW_TO_GET_SMPL = (
    'SMPL model files are licensed and not shipped with mmhmr: register at '
    'https://smpl.is.tue.mpg.de and download the SMPL model; convert .pkl files with '
    'tools/misc/convert_smpl_model.py; or use the procedural body model in '
    'data/body_models/procedural for tests.')

# key -> expected shape; None is "any size"
SMPL_KEYS = {
    'v_template': (NUM_VERTICES, 3),
    'shapedirs': (NUM_VERTICES, 3, None),
    'posedirs': (NUM_VERTICES, 3, NUM_POSE_BASIS),
    'J_regressor': (NUM_JOINTS, NUM_VERTICES),
    'weights': (NUM_VERTICES, NUM_JOINTS),
    'kintree_table': (2, NUM_JOINTS),
    'f': (None, 3),
}


def _shape_str(shape) -> str:
    return '(' + ', '.join('N' if s is None else str(s) for s in shape) + ')'


def _check_gender(gender: str) -> str:
    if not isinstance(gender, str) or gender.lower() not in GENDERS:
        raise ValueError(f'gender must be one of {GENDERS}, got {gender!r}')
    return gender.lower()


def smpl_file_names(gender: str) -> list:
    """File names that hold the SMPL model of ``gender``, in the order they are looked for."""
    gender = _check_gender(gender)
    return [f'SMPL_{gender.upper()}.npz', f'SMPL_{gender.upper()}.pkl',
            *OFFICIAL_FILE_NAMES[gender]]


def missing_model_error(path: str, what: str = 'SMPL model file') -> FileNotFoundError:
    """The error for a missing body model file, saying what is expected and where to get it."""
    return FileNotFoundError(
        f'{what} not found: {path}. Expected a file, or a directory (or its smpl/ subfolder) '
        'holding SMPL_NEUTRAL.pkl|npz, SMPL_MALE.pkl|npz, SMPL_FEMALE.pkl|npz (or the official '
        'basicmodel_neutral_lbs_10_207_0_v1.1.0.pkl / '
        'basicModel_{f,m}_lbs_10_207_0_v1.0.0.pkl). '
        f'{HOW_TO_GET_SMPL}')


def resolve_model_file(model_path: str, gender: str = 'neutral') -> str:
    """The SMPL model file of ``gender`` that ``model_path`` points at.

    Args:
        model_path (str): a model file, or a directory holding ``SMPL_{NEUTRAL,MALE,FEMALE}``
            ``.npz`` / ``.pkl`` or the official file names, directly or in a ``smpl/`` subfolder.
        gender (str): 'neutral', 'male' or 'female'; used for directories.

    Returns:
        str: path of an existing file (``.npz`` preferred over ``.pkl``).

    Raises:
        FileNotFoundError: nothing matches; the message says what is expected and where to get it.
    """
    gender = _check_gender(gender)
    model_path = osp.expanduser(str(model_path))
    if osp.isfile(model_path):
        return model_path
    if osp.isdir(model_path):
        for folder in (model_path, osp.join(model_path, 'smpl')):
            for name in smpl_file_names(gender):
                candidate = osp.join(folder, name)
                if osp.isfile(candidate):
                    return candidate
        raise missing_model_error(
            osp.join(model_path, f'SMPL_{gender.upper()}.pkl|npz'), f'SMPL model ({gender})')
    raise missing_model_error(model_path)


class _ChumpyStandIn:
    """Takes the place of a chumpy object while unpickling; keeps its pickled state.

    A chumpy object pickles as its ``__dict__`` (minus caches): a plain ``Ch`` keeps its value
    in ``x``; operations keep their operands (``a``, ``m0``, ...) and parameters, and their value
    is computed on demand (:meth:`value`).
    """
    chumpy_class = 'Ch'
    state: dict = {}  # a pickle with an empty state never calls __setstate__

    def __setstate__(self, state):
        self.state = state if isinstance(state, dict) else {'x': state}

    def _term(self, name):
        if name not in self.state:
            raise ValueError(f'chumpy {self.chumpy_class} object has no {name!r} in its state')
        return to_array(self.state[name])

    def value(self) -> np.ndarray:
        """The array this chumpy object evaluates to (Ch and the reordering operations)."""
        op = self.chumpy_class
        if op == 'Ch':
            return np.asarray(self._term('x'))
        if op not in _CHUMPY_OPS:
            raise ValueError(f'cannot evaluate a chumpy {op} object without chumpy; supported: '
                             f'Ch, {", ".join(sorted(_CHUMPY_OPS))}')
        return np.asarray(_CHUMPY_OPS[op](self))


def _select(ch):
    out = ch._term('a').ravel()[np.asarray(ch.state['idxs']).ravel()]
    shape = ch.state.get('preferred_shape')
    return out if shape is None else out.reshape(shape)


def _atleast_nd(ch):
    fn = {1: np.atleast_1d, 2: np.atleast_2d, 3: np.atleast_3d}[ch.state['ndims']]
    return fn(ch._term('x'))


def _concatenate(ch):
    names = ch.state.get('dterms') or sorted(
        (k for k in ch.state if k[:1] == 'm' and k[1:].isdigit()), key=lambda k: int(k[1:]))
    return np.concatenate([ch._term(n) for n in names], axis=ch.state['axis'])


# chumpy.reordering operations: how each computes its value from its pickled state
_CHUMPY_OPS = {
    'Reshape': lambda ch: ch._term('a').reshape(ch.state['newshape']),
    'transpose': lambda ch: np.transpose(ch._term('a'), ch.state.get('axes')),
    'Select': _select,
    'Concatenate': _concatenate,
    'AtleastNd': _atleast_nd,
    'Tile': lambda ch: np.tile(ch._term('a'), ch.state['reps']),
    'Repeat': lambda ch: np.repeat(ch._term('a'), ch.state['repeats'], ch.state.get('axis')),
    'rollaxis': lambda ch: np.rollaxis(ch._term('a'), ch.state['axis'], ch.state.get('start', 0)),
    'swapaxes': lambda ch: np.swapaxes(ch._term('a'), ch.state['axis1'], ch.state['axis2']),
    'Roll': lambda ch: np.roll(ch._term('a'), ch.state['shift'], ch.state.get('axis')),
    'Rot90': lambda ch: np.rot90(ch._term('a'), ch.state['k']),
    'Diag': lambda ch: np.diag(ch._term('a'), ch.state.get('k', 0)),
    'DiagFlat': lambda ch: np.diagflat(ch._term('a'), ch.state.get('k', 0)),
}

_chumpy_stand_ins = {}


def _chumpy_stand_in(name: str) -> type:
    """A stand-in class named after the chumpy class ``name`` (one per name)."""
    if name not in _chumpy_stand_ins:
        _chumpy_stand_ins[name] = type(f'ChumpyStandIn_{name}', (_ChumpyStandIn, ),
                                       {'chumpy_class': name})
    return _chumpy_stand_ins[name]


class _SparseStandIn:
    """Takes the place of a scipy csc/csr matrix while unpickling; rebuilt by :meth:`value`."""
    sparse_format = 'csc'
    state: dict = {}

    def __setstate__(self, state):
        self.state = state

    def value(self):
        st = self.state
        shape = st.get('_shape', st.get('shape'))
        if shape is None or not all(k in st for k in ('data', 'indices', 'indptr')):
            raise ValueError(f'a pickled {self.sparse_format} matrix lacks data / indices / '
                             f'indptr / shape (state keys: {sorted(st)})')
        cls = scipy.sparse.csc_matrix if self.sparse_format == 'csc' else scipy.sparse.csr_matrix
        return cls((np.asarray(st['data']), np.asarray(st['indices']), np.asarray(st['indptr'])),
                   shape=tuple(shape))


class _CscStandIn(_SparseStandIn):
    sparse_format = 'csc'


class _CsrStandIn(_SparseStandIn):
    sparse_format = 'csr'


def _safe_reconstructor(cls, base, state):
    """``copyreg._reconstructor`` (protocol 0/1 pickles) for the stand-in classes only."""
    if not (isinstance(cls, type) and issubclass(cls, (_ChumpyStandIn, _SparseStandIn))
            and base is object and state is None):
        raise pickle.UnpicklingError(f'refusing to reconstruct {cls!r} from base {base!r}')
    return object.__new__(cls)


class SafeSMPLUnpickler(SafeNumpyUnpickler):
    """Unpickles SMPL model files without chumpy and without running arbitrary code.

    Resolves what :class:`~mmhmr.utils.safe_pickle.SafeNumpyUnpickler` does (numpy array /
    dtype / scalar reconstruction, latin-1 ``_codecs.encode``, ``set`` / ``frozenset`` /
    ``object``), and scipy csc/csr matrices (as :class:`_SparseStandIn`), chumpy classes (as
    :class:`_ChumpyStandIn`) and ``copyreg._reconstructor`` restricted to those stand-ins.
    Anything else raises ``pickle.UnpicklingError``.
    """
    expected = 'numpy arrays, scipy sparse matrices and chumpy arrays (an SMPL model file)'
    _SPARSE_MODULES = ('scipy.sparse.csc', 'scipy.sparse._csc', 'scipy.sparse.csr',
                       'scipy.sparse._csr', 'scipy.sparse.compressed', 'scipy.sparse._compressed',
                       'scipy.sparse')

    def find_class(self, module, name):
        if module in ('copyreg', 'copy_reg') and name == '_reconstructor':
            return _safe_reconstructor
        if module in self._SPARSE_MODULES and name in ('csc_matrix', 'csc_array'):
            return _CscStandIn
        if module in self._SPARSE_MODULES and name in ('csr_matrix', 'csr_array'):
            return _CsrStandIn
        if module == 'chumpy' or module.startswith('chumpy.'):
            return _chumpy_stand_in(name)
        return super().find_class(module, name)


def to_array(obj):
    """A plain numpy array (or scipy sparse matrix) from an unpickled value."""
    if isinstance(obj, (_ChumpyStandIn, _SparseStandIn)):
        return obj.value()
    return obj


def load_smpl_pickle(path: str) -> dict:
    """The dict stored in an SMPL ``.pkl``, chumpy objects and sparse matrices left as stand-ins
    (turn values into arrays with :func:`to_array`)."""
    with open(path, 'rb') as f:
        try:
            data = SafeSMPLUnpickler(f, source=path).load()
        except pickle.UnpicklingError as e:
            if str(e).startswith(path):
                raise
            raise pickle.UnpicklingError(f'{path}: {e}') from e
    if not isinstance(data, dict):
        raise ValueError(f'{path}: expected a dict of SMPL arrays, got {type(data).__name__}')
    return data


def _normalise(path: str, key: str, value) -> np.ndarray:
    """``value`` as the dense array smplx expects for ``key``; checks its shape."""
    try:
        value = to_array(value)
    except (ValueError, KeyError, TypeError, IndexError) as e:
        raise ValueError(f'{path}: cannot read key {key!r}: {e}') from e
    if scipy.sparse.issparse(value):
        value = value.toarray()
    value = np.asarray(value)
    if key == 'posedirs' and value.shape == (NUM_POSE_BASIS, NUM_VERTICES * 3):
        # smplx's internal layout (207, 6890 * 3) -> (6890, 3, 207)
        value = value.T.reshape(NUM_VERTICES, 3, NUM_POSE_BASIS)
    elif key == 'posedirs' and value.shape == (NUM_VERTICES * 3, NUM_POSE_BASIS):
        value = value.reshape(NUM_VERTICES, 3, NUM_POSE_BASIS)
    expected = SMPL_KEYS[key]
    if value.ndim != len(expected) or any(
            e is not None and s != e for s, e in zip(value.shape, expected)):
        raise ValueError(f'{path}: key {key!r} has shape {tuple(value.shape)}, expected '
                         f'{_shape_str(expected)}')
    if key == 'shapedirs' and value.shape[2] < MIN_NUM_BETAS:
        raise ValueError(f'{path}: key {key!r} has shape {tuple(value.shape)}, expected '
                         f'(6890, 3, >={MIN_NUM_BETAS})')
    if value.dtype == object or not (np.issubdtype(value.dtype, np.number) or
                                      value.dtype == bool):
        raise ValueError(f'{path}: key {key!r} has dtype {value.dtype}, expected numbers')
    if key in ('f', 'kintree_table'):
        # kintree_table[0, 0] is the root's "no parent" (2**32 - 1 in the official files)
        return value.astype(np.int64)
    value = value.astype(np.float32)
    if not np.isfinite(value).all():
        where = np.argwhere(~np.isfinite(value))[0].tolist()
        raise ValueError(f'{path}: key {key!r} has NaN / inf values, first at index {where}')
    if key == 'weights':
        sums = value.sum(1)
        bad = np.abs(sums - 1) > 1e-3
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f'{path}: key \'weights\' (skinning weights): row {i} sums to '
                             f'{sums[i]:.4f}, expected 1 (each vertex\'s weights over the '
                             f'24 joints); {int(bad.sum())} rows are off')
    return value


def _check_topology(path: str, arrays: Dict[str, np.ndarray]) -> None:
    parents = arrays['kintree_table'][0, 1:]
    bad = np.nonzero((parents < 0) | (parents >= np.arange(1, NUM_JOINTS)))[0]
    if len(bad):
        j = int(bad[0]) + 1
        raise ValueError(f'{path}: key \'kintree_table\': joint {j} has parent {parents[j - 1]}, '
                         f'expected a joint index in [0, {j}) (parents before children)')
    faces = arrays['f']
    if faces.size and (faces.min() < 0 or faces.max() >= NUM_VERTICES):
        raise ValueError(f'{path}: key \'f\' has vertex indices in [{faces.min()}, '
                         f'{faces.max()}], expected [0, {NUM_VERTICES})')


def load_smpl_model(path: str, keys: Optional[Sequence[str]] = None) -> Dict[str, np.ndarray]:
    """Load an SMPL model file into a dict of numpy arrays with SMPL's key names.

    Args:
        path (str): an ``.npz`` file, or an official ``.pkl`` (read without chumpy).
        keys (Sequence[str], optional): keys to return; all of :data:`SMPL_KEYS` by default.

    Returns:
        dict: ``v_template (6890, 3)``, ``shapedirs (6890, 3, S)``, ``posedirs (6890, 3, 207)``,
        ``J_regressor (24, 6890)`` (dense), ``weights (6890, 24)`` as float32;
        ``kintree_table (2, 24)`` and ``f (F, 3)`` as int64.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: a key is missing or has the wrong shape (the message names file, key, got
            and expected shapes).
    """
    path = str(path)
    if not osp.isfile(path):
        raise missing_model_error(path)
    if path.endswith('.npz'):
        if not zipfile.is_zipfile(path):
            raise ValueError(f'{path}: not a readable npz file (not a zip archive: empty, '
                             'truncated or another format); an SMPL model .npz (or the '
                             'official .pkl) is expected')
        try:
            with np.load(path, allow_pickle=False) as npz:
                raw = {k: npz[k] for k in npz.files}
        except ValueError as e:
            if 'allow_pickle' in str(e):
                raise ValueError(f'{path}: holds object arrays, which are not read (they would '
                                 'be unpickled); store plain numeric arrays') from None
            raise ValueError(f'{path}: not a readable npz file ({e})') from None
        except Exception as e:  # empty, truncated, not a zip
            raise ValueError(f'{path}: not a readable npz file ({type(e).__name__}: {e}); an '
                             'SMPL model .npz (or the official .pkl) is expected') from None
    elif path.endswith('.pkl'):
        if osp.getsize(path) == 0:
            raise ValueError(f'{path}: the file is empty; an SMPL model .pkl is expected')
        try:
            raw = load_smpl_pickle(path)
        except EOFError as e:  # truncated
            raise ValueError(f'{path}: not a readable SMPL pickle (truncated: {e})') from None
        except pickle.UnpicklingError as e:
            if 'refusing' in str(e):  # a class the file may not hold: stays an UnpicklingError
                raise
            raise ValueError(f'{path}: not a readable SMPL pickle ({e})') from None
    else:
        raise ValueError(f'{path}: unknown SMPL model file type, expected .npz or .pkl')
    keys = list(SMPL_KEYS) if keys is None else list(keys)
    missing = [k for k in keys if k not in raw]
    if missing:
        raise ValueError(f'{path}: missing key(s) {missing}; an SMPL model file holds '
                         + ', '.join(f'{k} {_shape_str(s)}' for k, s in SMPL_KEYS.items()))
    arrays = {k: _normalise(path, k, raw[k]) for k in keys}
    if 'kintree_table' in arrays and 'f' in arrays:
        _check_topology(path, arrays)
    return arrays


def load_joint_regressor(path: str, num_joints: int, name: str = 'joint regressor') -> np.ndarray:
    """Load a ``(num_joints, 6890)`` joint regressor from ``.npy`` (SPIN's files) or ``.npz``.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: wrong shape.
    """
    path = str(path)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{name} not found: {path}. Expected a ({num_joints}, {NUM_VERTICES}) array '
            f'(.npy), as shipped with SPIN / CLIFF, or the one in data/body_models/procedural '
            'for tests.')
    if path.endswith('.npz'):
        with np.load(path, allow_pickle=False) as npz:
            if len(npz.files) != 1:
                raise ValueError(f'{path}: expected one array, found {npz.files}')
            value = npz[npz.files[0]]
    else:
        value = np.load(path, allow_pickle=False)
    if value.shape != (num_joints, NUM_VERTICES):
        raise ValueError(f'{path}: {name} has shape {tuple(value.shape)}, expected '
                         f'({num_joints}, {NUM_VERTICES})')
    return value.astype(np.float32)
