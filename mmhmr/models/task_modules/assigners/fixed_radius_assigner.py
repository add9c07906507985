"""The "w/o dynamic matching" ablation: pixels near a keypoint are its positives."""
import torch
from torch import Tensor

from mmhmr.registry import TASK_UTILS
from .keypoint_assign_result import KeypointAssignResult


@TASK_UTILS.register_module()
class FixedRadiusAssigner:
    """Every pixel whose centre lies within ``radius`` pixels of a visible ground-truth
    keypoint is its positive (a fixed threshold, whatever the predictions); the nearest pixel
    is the matched one, a positive even when the radius holds no centre.

    Args:
        radius (float): in pixels of the assigned map. Defaults to 1.5.
    """

    def __init__(self, radius: float = 1.5):
        if not radius >= 0:
            raise ValueError(f'radius must be >= 0, got {radius}')
        self.radius = float(radius)

    @torch.no_grad()
    def assign(self, scores: Tensor, pred_keypoints: Tensor, gt_keypoints: Tensor,
               visible: Tensor, centres: Tensor, map_size) -> KeypointAssignResult:
        """As :meth:`DynamicMatchingAssigner.assign`, plus ``centres (N, 2)``, the pixel
        centres (crop-normalised), and ``map_size`` ``(H, W)`` to convert to pixels."""
        h, w = map_size
        scale = gt_keypoints.new_tensor([w / 2, h / 2])  # normalised units -> pixels
        d = ((centres[None, None] - gt_keypoints[:, :, None]) * scale).norm(dim=-1)  # (B,K,N)
        visible = visible > 0
        nearest = d.argmin(-1)
        pos = (d <= self.radius) & visible[..., None]
        pos.scatter_(-1, nearest[..., None], visible[..., None])
        matched = torch.where(visible, nearest, torch.full_like(nearest, -1))
        return KeypointAssignResult(pos_mask=pos.transpose(1, 2), matched=matched,
                                    num_pos=pos.sum(-1))
