from .cliff_head import CLIFFHead
from .regressor import IterativeSMPLRegressor

__all__ = ['CLIFFHead', 'IterativeSMPLRegressor']
