"""The global-to-pixel head's dense keypoint branch: per-pixel keypoint scores and offsets,
trained on the pixels an assigner matches to each ground-truth keypoint."""
from typing import Dict, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmhmr.registry import MODELS, TASK_UTILS


@MODELS.register_module()
class DenseKeypointBranch(BaseModule):
    """On one feature level, per pixel: keypoint classification scores ``(B, K, h, w)`` and 2D
    offsets from the pixel's centre to each keypoint ``(B, K, 2, h, w)`` (in pixels of the
    level). The assigner (``DynamicMatchingAssigner``, or ``FixedRadiusAssigner`` for the "w/o
    dynamic matching" ablation) picks each visible keypoint's positive pixels; the losses are
    the sigmoid focal loss of the scores and the L1 error of the positives' keypoints, each
    normalised by the sample's own positives.

    Args:
        num_keypoints (int): ``K``.
        in_channels (int): channels of the level.
        level (int): which level of the backbone's outputs. Defaults to 0 (the finest).
        feat_channels (int): channels of the shared 3x3 conv. Defaults to 64.
        assigner (dict): the assigner config.
        loss_cls_weight, loss_offset_weight (float): Defaults to 1 and 5.
        alpha, gamma (float): the focal loss's. Defaults to 0.25 and 2.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self, num_keypoints: int, in_channels: int, level: int = 0,
                 feat_channels: int = 64,
                 assigner: dict = dict(type='DynamicMatchingAssigner'),
                 loss_cls_weight: float = 1.0, loss_offset_weight: float = 5.0,
                 alpha: float = 0.25, gamma: float = 2.0, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.num_keypoints, self.level = num_keypoints, level
        self.conv = nn.Sequential(nn.Conv2d(in_channels, feat_channels, 3, padding=1),
                                  nn.ReLU(inplace=True))
        self.cls = nn.Conv2d(feat_channels, num_keypoints, 1)
        self.offset = nn.Conv2d(feat_channels, 2 * num_keypoints, 1)
        self.assigner = TASK_UTILS.build(assigner)
        self.loss_cls_weight, self.loss_offset_weight = loss_cls_weight, loss_offset_weight
        self.alpha, self.gamma = alpha, gamma
        self.map_size = None  # (h, w) of the last forward pass
        self._init_outputs()

    def _init_outputs(self) -> None:
        # a 1 % prior for every pixel (focal loss's initialisation); offsets start at zero
        nn.init.constant_(self.cls.bias, -4.595)
        nn.init.zeros_(self.offset.weight)
        nn.init.zeros_(self.offset.bias)

    def init_weights(self) -> None:
        super().init_weights()
        self._init_outputs()

    def forward(self, feats: Sequence[Tensor]) -> Dict[str, Tensor]:
        """``feats[level] (B, C, h, w)`` -> ``scores (B, K, N)`` logits, ``keypoints (B, K, N,
        2)`` the keypoint each pixel points at (crop-normalised), ``N = h w``."""
        x = self.conv(feats[self.level])
        batch, _, h, w = x.shape
        self.map_size = (h, w)
        scores = self.cls(x).flatten(2)
        offsets = self.offset(x).view(batch, self.num_keypoints, 2, h * w).transpose(2, 3)
        centres = self.centres(h, w, x)
        keypoints = centres + offsets * x.new_tensor([2. / w, 2. / h])
        return dict(scores=scores, keypoints=keypoints)

    @staticmethod
    def centres(h: int, w: int, like: Tensor) -> Tensor:
        """``(N, 2)`` crop-normalised pixel centres, row-major."""
        ys, xs = torch.meshgrid(torch.arange(h, device=like.device, dtype=like.dtype),
                                torch.arange(w, device=like.device, dtype=like.dtype),
                                indexing='ij')
        return torch.stack([(xs + 0.5) / w * 2 - 1, (ys + 0.5) / h * 2 - 1], -1).reshape(-1, 2)

    @staticmethod
    def decode(dense: Dict[str, Tensor]) -> Tensor:
        """``(B, K, 2)``: each keypoint where its best-scoring pixel points."""
        best = dense['scores'].argmax(-1)  # (B, K)
        index = best[..., None, None].expand(-1, -1, 1, 2)
        return dense['keypoints'].gather(2, index)[:, :, 0]

    def loss(self, dense: Dict[str, Tensor], gt_keypoints: Tensor,
             visible: Tensor) -> Dict[str, Tensor]:
        """``loss_dense_cls`` and ``loss_dense_offset`` against ``gt_keypoints (B, K, 2)``
        (crop-normalised) with ``visible (B, K)``."""
        scores, keypoints = dense['scores'], dense['keypoints']
        h, w = self.map_size
        result = self.assigner.assign(scores.detach(), keypoints.detach(), gt_keypoints,
                                      visible, centres=self.centres(h, w, scores),
                                      map_size=(h, w))
        pos = result.pos_mask.transpose(1, 2).to(scores.dtype)  # (B, K, N)
        num_pos = pos.sum((1, 2)).clamp(min=1)  # (B,)
        focal = sigmoid_focal_loss(scores, pos, self.alpha, self.gamma).sum((1, 2)) / num_pos
        l1 = (keypoints - gt_keypoints[:, :, None]).abs().sum(-1)  # (B, K, N)
        offset = (l1 * pos).sum((1, 2)) / num_pos
        return dict(loss_dense_cls=self.loss_cls_weight * focal.mean(),
                    loss_dense_offset=self.loss_offset_weight * offset.mean())


def sigmoid_focal_loss(logits: Tensor, targets: Tensor, alpha: float, gamma: float) -> Tensor:
    """The sigmoid focal loss per element (Lin et al., 2017)."""
    p = logits.sigmoid()
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction='none')
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * (1 - p_t) ** gamma
    if alpha >= 0:
        loss = loss * (alpha * targets + (1 - alpha) * (1 - targets))
    return loss
