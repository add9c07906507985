from .per_sample_estimator import PerSampleEstimator
from .per_sample_optim import PerSampleOptimizer
from .per_sample_params import PerSampleLinearCopies, PerSampleLinearLowRank, PerSampleModule
from .test_time_loss import TestTimeLoss
from .test_time_optimizer import TestTimeOptimizer, TTOResult, detected_keypoints, tto_instances

__all__ = [
    'PerSampleEstimator', 'PerSampleLinearCopies', 'PerSampleLinearLowRank',
    'PerSampleModule', 'PerSampleOptimizer', 'TTOResult', 'TestTimeLoss', 'TestTimeOptimizer',
    'detected_keypoints', 'tto_instances'
]
