from .dual_network import DualNetworkHMR
from .hmr_estimator import HMREstimator

__all__ = ['HMREstimator', 'DualNetworkHMR']
