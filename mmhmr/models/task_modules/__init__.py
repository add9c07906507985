from .assigners import *  # noqa: F401,F403
from .match_costs import KeypointClassificationCost, KeypointOffsetCost

__all__ = ['KeypointClassificationCost', 'KeypointOffsetCost']
