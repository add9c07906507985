"""Multi-scale deformable sampling, the core of Deformable DETR's attention, two ways.

Every query samples every level of a feature pyramid at ``P`` points per attention head and
level, bilinearly, and sums the samples with its attention weights. Both implementations take
the tensors of mmcv's ``MultiScaleDeformableAttnFunction`` and return the same values:

* :func:`deformable_sample_pytorch`: ``F.grid_sample`` per level; any device, and twice
  differentiable (second-order meta-learning through it);
* mmcv's CUDA op (``mmcv.ops.multi_scale_deform_attn``): faster on a GPU; its backward is
  once-differentiable.

:func:`deformable_sample` picks one (``impl='auto'``: the op on CUDA when no second-order
gradient is asked for, else PyTorch).

Locations are normalised to the map: ``(0, 0)`` is the top-left corner of the top-left pixel,
``(1, 1)`` the bottom-right corner of the bottom-right one, so pixel ``j``'s centre on a level
of width ``W`` is ``(j + 0.5) / W`` (``grid_sample`` with ``align_corners=False``); samples
outside the map read zeros.
"""
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

IMPLS = ('auto', 'pytorch', 'mmcv')


def deformable_sample_pytorch(value: Tensor, spatial_shapes: Sequence[Sequence[int]],
                              locations: Tensor, weights: Tensor) -> Tensor:
    """Multi-scale deformable sampling with ``F.grid_sample``.

    Args:
        value (Tensor): ``(B, S, M, C)``: the levels' maps flattened row-major and
            concatenated (``S = sum_l H_l W_l``), ``M`` heads of ``C`` channels.
        spatial_shapes (Sequence): ``(H_l, W_l)`` of each of the ``L`` levels.
        locations (Tensor): ``(B, Q, M, L, P, 2)`` sampling points ``(x, y)`` in ``[0, 1]``.
        weights (Tensor): ``(B, Q, M, L, P)`` attention weights.

    Returns:
        Tensor: ``(B, Q, M * C)``, the weighted sums of the samples.
    """
    batch, _, heads, channels = value.shape
    queries = locations.shape[1]
    shapes = [(int(h), int(w)) for h, w in spatial_shapes]
    levels = value.split([h * w for h, w in shapes], dim=1)
    grids = 2 * locations - 1
    out = value.new_zeros(batch * heads, channels, queries)
    for level, ((h, w), v) in enumerate(zip(shapes, levels)):
        # (B, HW, M, C) -> (B * M, C, H, W)
        v = v.permute(0, 2, 3, 1).reshape(batch * heads, channels, h, w)
        grid = grids[:, :, :, level].transpose(1, 2).flatten(0, 1)  # (B * M, Q, P, 2)
        samples = F.grid_sample(v, grid, mode='bilinear', padding_mode='zeros',
                                align_corners=False)  # (B * M, C, Q, P)
        weight = weights[:, :, :, level].transpose(1, 2).flatten(0, 1)  # (B * M, Q, P)
        out = out + (samples * weight[:, None]).sum(-1)
    return out.view(batch, heads, channels, queries).permute(0, 3, 1, 2).reshape(
        batch, queries, heads * channels)


def deformable_sample_mmcv(value: Tensor, spatial_shapes: Sequence[Sequence[int]],
                           locations: Tensor, weights: Tensor, im2col_step: int = 64) -> Tensor:
    """The same with mmcv's CUDA op (inputs on a CUDA device)."""
    from mmcv.ops.multi_scale_deform_attn import MultiScaleDeformableAttnFunction
    shapes = torch.as_tensor([[int(h), int(w)] for h, w in spatial_shapes],
                             dtype=torch.long, device=value.device)
    starts = torch.cat([shapes.new_zeros(1), (shapes[:, 0] * shapes[:, 1]).cumsum(0)[:-1]])
    return MultiScaleDeformableAttnFunction.apply(value, shapes, starts, locations, weights,
                                                  im2col_step)


def deformable_sample(value: Tensor, spatial_shapes: Sequence[Sequence[int]], locations: Tensor,
                      weights: Tensor, impl: str = 'auto',
                      second_order: bool = False) -> Tensor:
    """Multi-scale deformable sampling by ``impl``: ``'pytorch'``, ``'mmcv'`` (CUDA only,
    once-differentiable) or ``'auto'`` (mmcv on CUDA unless ``second_order``, else PyTorch).
    Arguments and result as :func:`deformable_sample_pytorch`."""
    if impl not in IMPLS:
        raise ValueError(f'deformable sampling impl must be one of {IMPLS}, got {impl!r}')
    if impl == 'auto':
        impl = 'mmcv' if value.is_cuda and not second_order else 'pytorch'
    if impl == 'mmcv':
        if not value.is_cuda:
            raise RuntimeError("impl='mmcv' runs mmcv's multi-scale deformable attention op, "
                               "which needs CUDA tensors; use impl='pytorch' (or 'auto') here")
        if second_order:
            raise RuntimeError("mmcv's deformable attention op is once-differentiable; "
                               "second-order gradients need impl='pytorch' (or 'auto')")
        return deformable_sample_mmcv(value, spatial_shapes, locations, weights)
    return deformable_sample_pytorch(value, spatial_shapes, locations, weights)
