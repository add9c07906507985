import mmpose.datasets  # noqa: F401  (registers mmpose's datasets, samplers, transforms)

from .transforms import *  # noqa: F401,F403
