"""Unpickling numpy data without running arbitrary code.

Several file formats HMR data comes in are pickles of numpy arrays: SMPL model ``.pkl`` files,
3DPW's ``sequenceFiles/*.pkl`` (Python 2 pickles) and the object arrays inside mmhuman3d's
HumanData ``.npz`` files. A plain ``pickle.load`` (or ``np.load(allow_pickle=True)``) of such a
file runs whatever callable the file names. :class:`SafeNumpyUnpickler` resolves only numpy's
array / dtype / scalar reconstruction (and latin-1 bytes, ``bytes`` / ``set`` / ``frozenset`` /
``object``); any other global raises ``pickle.UnpicklingError`` naming it and the file.
"""
import io
import pickle
from typing import Any, BinaryIO


def _latin1_encode(text, encoding='latin1'):
    """``_codecs.encode`` as Python 3 writes bytes into protocol 0-2 pickles, latin-1 only."""
    if not isinstance(text, str) or encoding.replace('-', '').lower() != 'latin1':
        raise pickle.UnpicklingError(f'refusing _codecs.encode with encoding {encoding!r}')
    return text.encode('latin1')


def _check_dtype_state(dtype, state, source: str) -> None:
    """Refuse a dtype state (pickle BUILD) other than the one numpy itself gives that dtype in
    that byte order: a forged one (e.g. an object dtype whose flags say it holds no references)
    would let the array's raw bytes become object pointers."""
    if not isinstance(state, tuple) or len(state) < 8 or any(
            part is not None for part in state[2:5]):
        raise pickle.UnpicklingError(f'{source}: refusing a structured or malformed numpy dtype '
                                     f'state {state!r}')
    endian = state[1]
    expected = dtype.newbyteorder(endian) if endian in ('<', '>') else dtype
    if expected.__reduce__()[2] != state:
        raise pickle.UnpicklingError(f'{source}: refusing a numpy dtype state {state!r} that '
                                     f'is not numpy\'s own for {expected!r}')


class SafeNumpyUnpickler(pickle._Unpickler):
    """An unpickler that resolves numpy arrays, dtypes and scalars (written by numpy 1 or 2,
    Python 2 or 3) and plain containers only. ``source`` names the file in errors. Python 2
    strings are read as latin-1 by default, as numpy arrays' raw bytes need.

    It is the pure-Python unpickler, whose BUILD step can be checked: a dtype's state must be
    exactly what numpy gives that dtype (see :func:`_check_dtype_state`)."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def load_build(self):
        import numpy as np
        if isinstance(self.stack[-2], np.dtype):
            _check_dtype_state(self.stack[-2], self.stack[-1], self.source)
        pickle._Unpickler.load_build(self)

    dispatch[pickle.BUILD[0]] = load_build

    NUMPY = {
        ('numpy.core.multiarray', '_reconstruct'), ('numpy._core.multiarray', '_reconstruct'),
        ('numpy.core.multiarray', 'scalar'), ('numpy._core.multiarray', 'scalar'),
        ('numpy.core.numeric', '_frombuffer'), ('numpy._core.numeric', '_frombuffer'),
        ('numpy', 'ndarray'), ('numpy', 'dtype'),
    }
    # protocol 0-2 pickles name these (Python 3 writes empty bytes as ``bytes()``)
    BUILTINS = {'object': object, 'set': set, 'frozenset': frozenset, 'bytes': bytes}
    # what the refusal message says the file should hold
    expected = 'numpy arrays and plain Python containers'

    def __init__(self, file: BinaryIO, source: str = '<pickle>', encoding: str = 'latin1'):
        super().__init__(file, encoding=encoding)
        self.source = source

    def find_class(self, module, name):
        if (module, name) in self.NUMPY:
            try:
                return super().find_class(module, name)
            except ModuleNotFoundError:  # a numpy 2 pickle read with numpy 1.x
                return super().find_class(module.replace('numpy._core', 'numpy.core'), name)
        if module == '_codecs' and name == 'encode':
            return _latin1_encode
        if module in ('builtins', '__builtin__') and name in self.BUILTINS:
            return self.BUILTINS[name]
        raise pickle.UnpicklingError(
            f'{self.source}: refusing to unpickle {module}.{name}: the file should hold only '
            f'{self.expected}')


def safe_load(file: BinaryIO, source: str = '<pickle>') -> Any:
    """:class:`SafeNumpyUnpickler` ``(file).load()``."""
    return SafeNumpyUnpickler(file, source).load()


def safe_loads(data: bytes, source: str = '<pickle>') -> Any:
    """:func:`safe_load` of bytes."""
    return safe_load(io.BytesIO(data), source)
