from .cliff_head import CLIFFHead
from .keypoint_encoders import DeformableKeypointEncoder, RoIKeypointEncoder
from .regressor import IterativeSMPLRegressor

__all__ = [
    'CLIFFHead', 'DeformableKeypointEncoder', 'IterativeSMPLRegressor', 'RoIKeypointEncoder'
]
