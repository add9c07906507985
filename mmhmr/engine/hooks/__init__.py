from .atomic_checkpoint_hook import AtomicCheckpointHook
from .checkpoint_check_hook import CheckpointCheckHook
from .meta_learning_hook import MetaLearningHook
from .random_states_hook import RandomStatesHook
from .visualization_hook import HMRVisualizationHook

__all__ = [
    'AtomicCheckpointHook', 'CheckpointCheckHook', 'HMRVisualizationHook', 'MetaLearningHook',
    'RandomStatesHook'
]
