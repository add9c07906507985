import mmpose.datasets  # noqa: F401  (registers mmpose's datasets, samplers, transforms)

from .hmr_dataset import HMRDataset, load_hmr_npz
from .samplers import MultiSourceRatioSampler
from .synthetic_dataset import SyntheticHumanDataset
from .transforms import *  # noqa: F401,F403

__all__ = ['HMRDataset', 'load_hmr_npz', 'MultiSourceRatioSampler', 'SyntheticHumanDataset']
