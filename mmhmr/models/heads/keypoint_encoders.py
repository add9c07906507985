"""Keypoint-guided local encoders: one feature per keypoint, read from a feature pyramid around
the keypoint's anchor (the global-to-pixel head's stage 2)."""
import math
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmhmr.registry import MODELS
from ..utils.deformable_sampling import (deformable_sample_mmcv, deformable_sample_projected,
                                         project_first, resolve_impl)


def anchor_position_encoding(anchors: Tensor, dims: int, temperature: float = 10000.) -> Tensor:
    """Sine encoding of 2D anchors: ``(B, K, 2)`` in ``[-1, 1]`` -> ``(B, K, dims)`` (half the
    channels for x, half for y; DETR's encoding of normalised coordinates)."""
    if dims % 4:
        raise ValueError(f'the position encoding needs dims divisible by 4, got {dims}')
    freqs = temperature ** (torch.arange(dims // 4, device=anchors.device,
                                         dtype=anchors.dtype) / (dims // 4))
    angles = (anchors[..., None] + 1) * math.pi / freqs  # (B, K, 2, dims / 4)
    return torch.cat([angles.sin(), angles.cos()], -1).flatten(-2)


class _KeypointEncoder(BaseModule):
    """Shared parts: per-level value projections to ``embed_dims`` and the keypoint queries
    (a learned embedding + the feature at the anchor + a position encoding of the anchor)."""

    def __init__(self, num_keypoints: int, in_channels: Sequence[int], embed_dims: int,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.num_keypoints, self.embed_dims = num_keypoints, embed_dims
        self.in_channels = list(in_channels)
        self.value_proj = nn.ModuleList(
            nn.Conv2d(c, embed_dims, kernel_size=1) for c in self.in_channels)
        self.query_embed = nn.Embedding(num_keypoints, embed_dims)
        self.out_proj = nn.Linear(embed_dims, embed_dims)
        # set by the meta-learning inner loop when it keeps the graph (second order)
        self.second_order = False

    def _check_feats(self, feats: Sequence[Tensor]) -> None:
        if len(feats) != len(self.value_proj):
            raise ValueError(f'{type(self).__name__} was built for {len(self.value_proj)} '
                             f'feature levels (in_channels={self.in_channels}), got '
                             f'{len(feats)}')

    def _project_first(self, feats: Sequence[Tensor], samples: int) -> List[Optional[Tensor]]:
        """Per level, the projected map where it has no more pixels than ``samples`` per image,
        else None (:func:`project_first`): projected once, read by every pass."""
        return project_first(feats, [p.weight.flatten(1) for p in self.value_proj],
                             [p.bias for p in self.value_proj], samples)

    def _sample(self, feats: Sequence[Tensor], locations: Tensor, weights: Tensor,
                projected: Sequence[Optional[Tensor]]) -> Tensor:
        """The projected levels sampled at ``locations (B, K, M, L, P, 2)`` and mixed by
        ``weights (B, K, M, L, P)``: ``(B, K, D)``; the raw maps where ``projected`` has
        None, projecting the samples only."""
        return deformable_sample_projected(
            feats, [p.weight.flatten(1) for p in self.value_proj],
            [p.bias for p in self.value_proj], locations, weights,
            second_order=self.second_order, projected=projected)

    def _check_anchors(self, anchors: Tensor, batch: int) -> None:
        if anchors.shape != (batch, self.num_keypoints, 2):
            raise ValueError(f'anchors must be (B, K, 2) = ({batch}, {self.num_keypoints}, 2), '
                             f'got {tuple(anchors.shape)}')

    def queries(self, feats: Sequence[Tensor], anchors: Tensor,
                projected: Optional[Sequence[Optional[Tensor]]] = None) -> Tensor:
        """``(B, K, D)``: embedding + the mean over levels of the value at the anchor +
        the anchor's position encoding (``projected``: as in :meth:`_sample`; None projects
        the levels with no more pixels than the ``K`` samples)."""
        batch, levels = anchors.shape[0], len(feats)
        if projected is None:
            projected = self._project_first(feats, self.num_keypoints)
        loc = ((anchors + 1) / 2)[:, :, None, None, None].expand(-1, -1, 1, levels, 1, 2)
        weights = anchors.new_full((batch, self.num_keypoints, 1, levels, 1), 1. / levels)
        return (self.query_embed.weight[None] + self._sample(feats, loc, weights, projected) +
                anchor_position_encoding(anchors, self.embed_dims))


@MODELS.register_module()
class DeformableKeypointEncoder(_KeypointEncoder):
    """Keypoint-guided multi-scale deformable attention: ``F_local = DeformAttn(Q_k, P_k, V)``.

    Each keypoint's query predicts, per head, level and point, a sampling offset around its
    anchor (in pixels of that level) and an attention weight (softmax over levels and points);
    the projected feature maps are sampled bilinearly there and summed (Deformable DETR's
    attention with the keypoint anchors as reference points). The offsets start as Deformable
    DETR's: zero weights and a ring of points around the anchor in the biases.

    Args:
        num_keypoints (int): ``K``, one query each.
        in_channels (Sequence[int]): channels of each feature level (e.g. HRNet's branches).
        embed_dims (int): ``D``. Defaults to 128.
        num_heads (int): attention heads ``M``. Defaults to 4.
        num_points (int): sampling points per head and level ``P``. Defaults to 4.
        impl (str): the sampling: ``'auto'`` (mmcv's op on CUDA unless second-order
            gradients are needed, else PyTorch), ``'pytorch'`` or ``'mmcv'``.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self, num_keypoints: int, in_channels: Sequence[int], embed_dims: int = 128,
                 num_heads: int = 4, num_points: int = 4, impl: str = 'auto', init_cfg=None):
        super().__init__(num_keypoints, in_channels, embed_dims, init_cfg=init_cfg)
        if embed_dims % num_heads:
            raise ValueError(f'embed_dims ({embed_dims}) must be divisible by num_heads '
                             f'({num_heads})')
        self.num_heads, self.num_points, self.impl = num_heads, num_points, impl
        levels = len(self.in_channels)
        self.sampling_offsets = nn.Linear(embed_dims, num_heads * levels * num_points * 2)
        self.attention_weights = nn.Linear(embed_dims, num_heads * levels * num_points)
        self._init_offsets()

    def _init_offsets(self) -> None:
        """Deformable DETR's start: head h looks along direction 2 pi h / M, point p at
        ``p + 1`` pixels; uniform attention weights."""
        levels = len(self.in_channels)
        nn.init.zeros_(self.sampling_offsets.weight)
        angles = torch.arange(self.num_heads, dtype=torch.float32) * 2 * math.pi / self.num_heads
        grid = torch.stack([angles.cos(), angles.sin()], -1)
        grid = grid / grid.abs().max(-1, keepdim=True)[0]
        grid = grid[:, None, None].repeat(1, levels, self.num_points, 1)
        grid = grid * torch.arange(1, self.num_points + 1, dtype=torch.float32)[None, None, :,
                                                                                 None]
        with torch.no_grad():
            self.sampling_offsets.bias.copy_(grid.flatten())
        nn.init.zeros_(self.attention_weights.weight)
        nn.init.zeros_(self.attention_weights.bias)

    def init_weights(self) -> None:
        """Keep the offset initialisation through mmengine's ``init_cfg``."""
        super().init_weights()
        self._init_offsets()

    def forward(self, feats: Sequence[Tensor], anchors: Tensor) -> Tensor:
        """
        Args:
            feats (Sequence[Tensor]): ``L`` maps ``(B, C_l, H_l, W_l)`` of the crop.
            anchors (Tensor): ``(B, K, 2)`` keypoint anchors ``(x, y)`` in crop-normalised
                coordinates (``-1`` and ``1`` are the crop's edges).

        Returns:
            Tensor: ``(B, K, D)`` local features.
        """
        self._check_feats(feats)
        batch, levels = anchors.shape[0], len(feats)
        self._check_anchors(anchors, feats[0].shape[0])
        shapes = [tuple(f.shape[-2:]) for f in feats]
        heads, points = self.num_heads, self.num_points
        impl = resolve_impl(self.impl, anchors.is_cuda, self.second_order)
        # the levels projected before sampling (all for mmcv's op), shared with the queries
        projected = [proj(f) for proj, f in zip(self.value_proj, feats)] if impl == 'mmcv' \
            else self._project_first(feats, self.num_keypoints * heads * points)
        query = self.queries(feats, anchors, projected)
        offsets = self.sampling_offsets(query).view(batch, self.num_keypoints, heads, levels,
                                                    points, 2)
        # offsets are in pixels of each level: divide by (W_l, H_l)
        size = anchors.new_tensor([[w, h] for h, w in shapes])
        loc = ((anchors + 1) / 2)[:, :, None, None, None] + offsets / size[:, None]
        weights = self.attention_weights(query).view(batch, self.num_keypoints, heads,
                                                     levels * points)
        weights = weights.softmax(-1).view(batch, self.num_keypoints, heads, levels, points)
        if impl == 'mmcv':
            # (B, S, M, D / M): the levels flattened row-major, as mmcv's op reads them
            value = torch.cat([v.flatten(2).transpose(1, 2) for v in projected], 1)
            value = value.view(batch, value.shape[1], heads, self.embed_dims // heads)
            out = deformable_sample_mmcv(value, shapes, loc, weights)
        else:
            out = self._sample(feats, loc, weights, projected)
        return self.out_proj(out)


@MODELS.register_module()
class RoIKeypointEncoder(_KeypointEncoder):
    """A fixed window around each anchor (the "fixed RoI" ablation): mmcv's ``roi_align``
    pools a ``window`` x ``window`` grid of the projected level ``level`` in a square box of
    side ``roi_size`` (crop-normalised units) centred on the anchor; the pooled grid is
    flattened and projected to ``D``, added to the keypoint query.

    Args:
        num_keypoints (int), in_channels (Sequence[int]), embed_dims (int): as
            :class:`DeformableKeypointEncoder`.
        level (int): which feature level to pool. Defaults to 0 (the finest).
        roi_size (float): the box side, a fraction of the crop's side x 2 (``-1..1``).
            Defaults to 0.25 (an eighth of the crop).
        window (int): output grid of ``roi_align``. Defaults to 3.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self, num_keypoints: int, in_channels: Sequence[int], embed_dims: int = 128,
                 level: int = 0, roi_size: float = 0.25, window: int = 3, init_cfg=None):
        super().__init__(num_keypoints, in_channels, embed_dims, init_cfg=init_cfg)
        if not 0 <= level < len(self.in_channels):
            raise ValueError(f'level must index in_channels ({len(self.in_channels)} levels), '
                             f'got {level}')
        self.level, self.roi_size, self.window = level, roi_size, window
        self.pool_proj = nn.Linear(embed_dims * window * window, embed_dims)

    def forward(self, feats: Sequence[Tensor], anchors: Tensor) -> Tensor:
        """Same interface as :meth:`DeformableKeypointEncoder.forward`."""
        from mmcv.ops import roi_align
        self._check_feats(feats)
        batch = feats[0].shape[0]
        self._check_anchors(anchors, batch)
        projected = [None] * len(feats)
        projected[self.level] = level = self.value_proj[self.level](feats[self.level])
        query = self.queries(feats, anchors, projected)
        h, w = level.shape[-2:]
        # boxes in the level's pixel coordinates (x1, y1, x2, y2), one per keypoint
        centre = (anchors + 1) / 2 * anchors.new_tensor([w, h])
        half = self.roi_size / 4 * anchors.new_tensor([w, h])
        boxes = torch.cat([centre - half, centre + half], -1).reshape(-1, 4)
        index = torch.arange(batch, device=anchors.device, dtype=anchors.dtype)
        rois = torch.cat([index.repeat_interleave(self.num_keypoints)[:, None], boxes], 1)
        pooled = roi_align(level, rois, (self.window, self.window), 1.0, 2, 'avg', True)
        pooled = pooled.reshape(batch, self.num_keypoints, -1)
        return self.out_proj(query + F.relu(self.pool_proj(pooled)))
