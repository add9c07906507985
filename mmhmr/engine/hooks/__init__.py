from .checkpoint_check_hook import CheckpointCheckHook
from .meta_learning_hook import MetaLearningHook
from .visualization_hook import HMRVisualizationHook

__all__ = ['CheckpointCheckHook', 'HMRVisualizationHook', 'MetaLearningHook']
