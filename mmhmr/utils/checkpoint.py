"""Safe (``weights_only``) checkpoint loading of mmengine checkpoints on torch >= 2.6.

torch 2.6 made ``torch.load(weights_only=True)`` the default, and mmengine 0.10.7 loads with the
default, so resuming fails: a checkpoint's ``message_hub`` holds mmengine ``HistoryBuffer`` s of
numpy arrays. Instead of turning safe loading off, allow exactly the globals those checkpoints
need: mmengine's history buffer, numpy's array / dtype reconstruction, and the builtin
``getattr``, because a history buffer pickles its statistics methods as
``getattr(HistoryBuffer, 'min')``. The weights-only unpickler still calls only allow-listed
callables, so ``getattr`` can look attributes up but not run what it finds.
"""
import importlib

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer


def mmengine_checkpoint_globals() -> list:
    """The globals an mmengine training checkpoint needs beyond torch's defaults."""
    try:  # numpy 2 renamed numpy.core to numpy._core
        multiarray = importlib.import_module('numpy._core.multiarray')
    except ImportError:
        multiarray = importlib.import_module('numpy.core.multiarray')
    dtype_classes = [getattr(np.dtypes, name) for name in dir(np.dtypes)
                     if name.endswith('DType')] if hasattr(np, 'dtypes') else []
    return [
        HistoryBuffer,
        getattr,
        multiarray._reconstruct,
        multiarray.scalar,
        np.ndarray,
        np.dtype,
        *dtype_classes,
    ]


def allow_mmengine_checkpoints() -> None:
    """Allow-list :func:`mmengine_checkpoint_globals` for ``torch.load(weights_only=True)``."""
    if hasattr(torch.serialization, 'add_safe_globals'):  # torch >= 2.4
        torch.serialization.add_safe_globals(mmengine_checkpoint_globals())


def check_checkpoint_file(path: str) -> None:
    """Raise an error naming ``path`` when it is not a PyTorch checkpoint: missing, empty, or
    neither a zip archive (torch >= 1.6's format) nor a pickle (the legacy one), e.g. random
    bytes or a partial download. Cheap: reads a few bytes, not the weights."""
    import os.path as osp
    import zipfile
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint file not found: {path}')
    if osp.getsize(path) == 0:
        raise ValueError(f'{path}: the checkpoint file is empty (an interrupted save or '
                         'download?)')
    with open(path, 'rb') as f:
        first = f.read(1)
    if not zipfile.is_zipfile(path) and first != b'\x80':
        raise ValueError(f'{path}: not a PyTorch checkpoint (neither a zip archive nor a '
                         'pickle); was it written by torch.save / tools/train.py?')
