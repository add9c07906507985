"""The result of assigning the pixels of a dense keypoint map to ground-truth keypoints."""
from dataclasses import dataclass

from torch import Tensor


@dataclass
class KeypointAssignResult:
    """Which pixels are each keypoint's positives (mmdet's ``AssignResult`` for keypoints:
    a pixel can be a positive of several keypoints, one class channel each).

    Attributes:
        pos_mask (Tensor): ``(B, N, K)`` bool, pixel n is a positive of keypoint k.
        matched (Tensor): ``(B, K)`` long, keypoint k's best pixel; ``-1`` when it has none
            (an invisible keypoint).
        num_pos (Tensor): ``(B, K)`` long, positives per keypoint (0 for invisible ones).
    """
    pos_mask: Tensor
    matched: Tensor
    num_pos: Tensor

    @property
    def gt_inds(self) -> Tensor:
        """``(B, N, K)`` long: 1 where a pixel is keypoint k's positive, 0 elsewhere (mmdet's
        1-based convention, per keypoint channel)."""
        return self.pos_mask.long()
