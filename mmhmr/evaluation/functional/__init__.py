from .keypoint_errors import mpjpe, pa_mpjpe, pve
from .procrustes import SimilarityFit, fit_similarity_transform, similarity_procrustes

__all__ = [
    'mpjpe', 'pa_mpjpe', 'pve', 'similarity_procrustes', 'fit_similarity_transform',
    'SimilarityFit'
]
