from .robust_keypoint_3d_loss import RobustKeypoint3DLoss

__all__ = ['RobustKeypoint3DLoss']
