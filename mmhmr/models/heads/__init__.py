from .cliff_head import CLIFFHead
from .dense_keypoint_branch import DenseKeypointBranch
from .g2p_head import GlobalToPixelHead
from .keypoint_encoders import DeformableKeypointEncoder, RoIKeypointEncoder
from .regressor import IterativeSMPLRegressor

__all__ = [
    'CLIFFHead', 'DeformableKeypointEncoder', 'DenseKeypointBranch', 'GlobalToPixelHead', 'IterativeSMPLRegressor',
    'RoIKeypointEncoder'
]
