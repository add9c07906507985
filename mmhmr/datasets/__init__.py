import mmpose.datasets  # noqa: F401  (registers mmpose's datasets, samplers, transforms)

from .hmr_dataset import HMRDataset, check_hmr_arrays, load_hmr_npz
from .human_data import HumanDataDataset, load_human_data, read_human_data_npz
from .samplers import MultiSourceRatioSampler
from .synthetic_dataset import SyntheticHumanDataset
from .transforms import *  # noqa: F401,F403

__all__ = [
    'HMRDataset', 'HumanDataDataset', 'MultiSourceRatioSampler', 'SyntheticHumanDataset',
    'check_hmr_arrays', 'load_hmr_npz', 'load_human_data', 'read_human_data_npz'
]
