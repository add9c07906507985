"""Converters of public HMR annotation formats to mmhmr's npz layout (SPIN / CLIFF keys, see
:class:`~mmhmr.datasets.HMRDataset`); the command-line tools are in tools/dataset_converters/."""
from .eft import convert_eft
from .output import save_hmr_npz
from .threedpw import convert_3dpw, convert_sequence

__all__ = ['convert_3dpw', 'convert_eft', 'convert_sequence', 'save_hmr_npz']
