from .visualization_hook import HMRVisualizationHook

__all__ = ['HMRVisualizationHook']
