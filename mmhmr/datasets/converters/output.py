"""Writing a converter's arrays as an npz annotation file, read back with HMRDataset's checks."""
import os
import os.path as osp
from typing import Dict

import numpy as np

from ..hmr_dataset import load_hmr_npz


def save_hmr_npz(path: str, arrays: Dict[str, np.ndarray]) -> int:
    """Write ``arrays`` to ``path`` (folders made as needed) and read the file back with
    :func:`~mmhmr.datasets.hmr_dataset.load_hmr_npz`, so that a converter never leaves a file
    HMRDataset would refuse; returns its number of samples."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    np.savez(path, **arrays)
    return len(load_hmr_npz(path)['imgname'])
