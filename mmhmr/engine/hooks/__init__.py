from .meta_learning_hook import MetaLearningHook
from .visualization_hook import HMRVisualizationHook

__all__ = ['HMRVisualizationHook', 'MetaLearningHook']
