"""Per-pixel matching costs between dense keypoint predictions and ground-truth keypoints
(the dynamic-matching assigner combines them by config, as mmdet's ``match_cost.py`` does)."""
import torch
import torch.nn.functional as F
from torch import Tensor

from mmhmr.registry import TASK_UTILS


@TASK_UTILS.register_module()
class KeypointClassificationCost:
    """The classification loss a pixel would pay as keypoint k's positive:
    ``-log sigmoid(score)`` (BCE), or the focal loss's positive term with ``gamma > 0``.

    Args:
        weight (float): λ_cls. Defaults to 1.
        gamma (float): focal exponent; 0 is BCE. Defaults to 0.
    """

    def __init__(self, weight: float = 1., gamma: float = 0.):
        self.weight, self.gamma = float(weight), float(gamma)

    def __call__(self, scores: Tensor, offsets_kpts: Tensor, gt_keypoints: Tensor) -> Tensor:
        """``scores (B, K, N)`` logits -> ``(B, K, N)`` costs."""
        cost = F.softplus(-scores)  # -log sigmoid
        if self.gamma:
            cost = cost * (1 - scores.sigmoid()) ** self.gamma
        return self.weight * cost


@TASK_UTILS.register_module()
class KeypointOffsetCost:
    """The L1 distance between the keypoint a pixel predicts (its centre + its offset) and the
    ground-truth keypoint, in crop-normalised units.

    Args:
        weight (float): λ_kpt. Defaults to 1.
    """

    def __init__(self, weight: float = 1.):
        self.weight = float(weight)

    def __call__(self, scores: Tensor, pred_keypoints: Tensor, gt_keypoints: Tensor) -> Tensor:
        """``pred_keypoints (B, K, N, 2)``, ``gt_keypoints (B, K, 2)`` -> ``(B, K, N)``."""
        return self.weight * (pred_keypoints - gt_keypoints[:, :, None]).abs().sum(-1)


def total_cost(costs, scores: Tensor, pred_keypoints: Tensor, gt_keypoints: Tensor) -> Tensor:
    """The sum of the cost terms ``(B, K, N)``."""
    return torch.stack([c(scores, pred_keypoints, gt_keypoints) for c in costs]).sum(0)
