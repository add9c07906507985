from .dynamic_matching_assigner import DynamicMatchingAssigner
from .fixed_radius_assigner import FixedRadiusAssigner
from .keypoint_assign_result import KeypointAssignResult

__all__ = ['DynamicMatchingAssigner', 'FixedRadiusAssigner', 'KeypointAssignResult']
