from .keypoint_losses import KeypointReprojectionLoss, PelvisAlignedKeypoint3DLoss
from .prior_losses import CameraPriorLoss, ShapePriorLoss
from .smpl_losses import SMPLBetasLoss, SMPLPoseLoss, VertexLoss

__all__ = [
    'KeypointReprojectionLoss', 'PelvisAlignedKeypoint3DLoss', 'CameraPriorLoss',
    'ShapePriorLoss', 'SMPLBetasLoss', 'SMPLPoseLoss', 'VertexLoss'
]
