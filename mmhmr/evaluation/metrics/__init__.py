from .smpl_metric import SMPLMetric

__all__ = ['SMPLMetric']
