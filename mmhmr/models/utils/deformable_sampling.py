"""Multi-scale deformable sampling, the core of Deformable DETR's attention, two ways.

Every query samples every level of a feature pyramid at ``P`` points per attention head and
level, bilinearly, and sums the samples with its attention weights. Both implementations take
the tensors of mmcv's ``MultiScaleDeformableAttnFunction`` and return the same values:

* :func:`deformable_sample_pytorch`: ``F.grid_sample`` per level; any device, and twice
  differentiable (second-order meta-learning through it). ``grid_sample``'s backward is
  itself differentiable only from torch 2.13 on (older releases raise "derivative for
  aten::grid_sampler_2d_backward is not implemented"): there, ``second_order=True`` samples
  with :func:`bilinear_gather`, the same interpolation from gathers and products;
* mmcv's CUDA op (``mmcv.ops.multi_scale_deform_attn``): faster on a GPU; its backward is
  once-differentiable.

:func:`deformable_sample` picks one (``impl='auto'``: the op on CUDA when no second-order
gradient is asked for, else PyTorch).

When the values are a per-pixel linear projection of the maps (Deformable DETR's
``value_proj``, a 1x1 convolution), :func:`deformable_sample_projected` samples the raw maps
and projects the few samples instead of projecting every pixel: bilinear sampling and the
projection commute, so the result is the same, at a fraction of the cost when the queries are
few (the keypoint encoder's 24 per image). The bias needs care: a sample that reaches outside
the map reads zeros of the projected map, i.e. the bias times the in-map share of its bilinear
weights (:func:`in_map_share`, a product of one share per axis).

Locations are normalised to the map: ``(0, 0)`` is the top-left corner of the top-left pixel,
``(1, 1)`` the bottom-right corner of the bottom-right one, so pixel ``j``'s centre on a level
of width ``W`` is ``(j + 0.5) / W`` (``grid_sample`` with ``align_corners=False``); samples
outside the map read zeros.
"""
import functools
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

IMPLS = ('auto', 'pytorch', 'mmcv')


@functools.lru_cache(maxsize=None)
def grid_sample_has_double_backward() -> bool:
    """Whether this torch differentiates ``F.grid_sample``'s backward (torch >= 2.13 does)."""
    with torch.inference_mode(False), torch.enable_grad():
        maps = torch.ones(1, 1, 2, 2, dtype=torch.float64, requires_grad=True)
        grid = torch.full((1, 1, 1, 2), 0.25, dtype=torch.float64, requires_grad=True)
        out = F.grid_sample(maps, grid, mode='bilinear', padding_mode='zeros',
                            align_corners=False)
        (grad_grid, ) = torch.autograd.grad(out.sum(), grid, create_graph=True)
        try:
            torch.autograd.grad(grad_grid.sum(), maps)
        except RuntimeError:
            return False
    return True


def bilinear_gather(maps: Tensor, grid: Tensor) -> Tensor:
    """``F.grid_sample(maps, grid, 'bilinear', 'zeros', align_corners=False)`` computed from
    gathers and products, so that it can be differentiated any number of times.

    Args:
        maps (Tensor): ``(N, C, H, W)``.
        grid (Tensor): ``(N, H_o, W_o, 2)`` sampling points ``(x, y)`` in ``[-1, 1]``
            (``grid_sample``'s convention; outside the map reads zeros).

    Returns:
        Tensor: ``(N, C, H_o, W_o)``.
    """
    n, c, h, w = maps.shape
    if grid.dtype not in (torch.float32, torch.float64):
        grid = grid.float()  # half precision cannot address a pixel of a large map
    x = ((grid[..., 0] + 1) * w - 1) / 2  # pixel coordinates, pixel centres at integers
    y = ((grid[..., 1] + 1) * h - 1) / 2
    x0, y0 = x.detach().floor(), y.detach().floor()
    flat = maps.reshape(n, c, h * w)
    out = 0.
    for dx, wx in ((0, 1 - (x - x0)), (1, x - x0)):
        for dy, wy in ((0, 1 - (y - y0)), (1, y - y0)):
            xi, yi = x0 + dx, y0 + dy
            inside = (xi >= 0) & (xi <= w - 1) & (yi >= 0) & (yi <= h - 1)
            index = (yi.clamp(0, h - 1).long() * w + xi.clamp(0, w - 1).long()).flatten(1)
            corner = flat.gather(2, index[:, None].expand(n, c, -1))  # (N, C, H_o * W_o)
            out = out + corner * (wx * wy * inside).flatten(1)[:, None]
    return out.view(n, c, *grid.shape[1:3])


def bilinear_sample(maps: Tensor, grid: Tensor, second_order: bool = False) -> Tensor:
    """``F.grid_sample`` (bilinear, zeros outside, ``align_corners=False``), or
    :func:`bilinear_gather` when ``second_order`` gradients are needed and this torch cannot
    differentiate ``grid_sample``'s backward."""
    if second_order and not grid_sample_has_double_backward():
        return bilinear_gather(maps, grid)
    return F.grid_sample(maps, grid, mode='bilinear', padding_mode='zeros', align_corners=False)


def deformable_sample_pytorch(value: Tensor, spatial_shapes: Sequence[Sequence[int]],
                              locations: Tensor, weights: Tensor,
                              second_order: bool = False) -> Tensor:
    """Multi-scale deformable sampling with ``F.grid_sample``.

    Args:
        value (Tensor): ``(B, S, M, C)``: the levels' maps flattened row-major and
            concatenated (``S = sum_l H_l W_l``), ``M`` heads of ``C`` channels.
        spatial_shapes (Sequence): ``(H_l, W_l)`` of each of the ``L`` levels.
        locations (Tensor): ``(B, Q, M, L, P, 2)`` sampling points ``(x, y)`` in ``[0, 1]``.
        weights (Tensor): ``(B, Q, M, L, P)`` attention weights.
        second_order (bool): keep the result twice differentiable on every torch (see
            :func:`bilinear_sample`). Defaults to False.

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
        samples = bilinear_sample(v, grid, second_order)  # (B * M, C, Q, P)
        weight = weights[:, :, :, level].transpose(1, 2).flatten(0, 1)  # (B * M, Q, P)
        out = out + (samples * weight[:, None]).sum(-1)
    return out.view(batch, heads, channels, queries).permute(0, 3, 1, 2).reshape(
        batch, queries, heads * channels)


def project_first(feats: Sequence[Tensor], proj_weights: Sequence[Tensor],
                  proj_biases: Sequence[Tensor], samples: int) -> list:
    """Per level, the projected map ``(B, M * C, H_l, W_l)`` where the map has no more pixels
    than one image's ``samples`` (projecting it is then the cheaper order), else None (the raw
    map is sampled and the samples projected). Computed once per forward pass, the result is
    shared by every sampling of it (:func:`deformable_sample_projected`'s ``projected``)."""
    return [F.conv2d(f, w[:, :, None, None], b) if f.shape[2] * f.shape[3] <= samples else None
            for f, w, b in zip(feats, proj_weights, proj_biases)]


def in_map_share(locations: Tensor, height: int, width: int) -> Tensor:
    """The share of each bilinear sample's weights that falls on pixels of an ``H x W`` map
    (1 inside, less within a pixel of the border, 0 beyond): a product of one share per axis,
    since the bilinear weights and the in-map test are separable.

    Args:
        locations (Tensor): ``(..., 2)`` points ``(x, y)`` in ``[0, 1]`` map coordinates.

    Returns:
        Tensor: ``(...)``.
    """
    dtype = locations.dtype
    if dtype not in (torch.float32, torch.float64):
        locations = locations.float()  # half precision cannot address a pixel of a large map
    share = 1.
    for axis, size in ((0, width), (1, height)):
        u = locations[..., axis] * size - 0.5  # pixel centres at integers
        u0 = u.detach().floor()
        frac = u - u0
        share = share * ((1 - frac) * ((u0 >= 0) & (u0 <= size - 1)) +
                         frac * ((u0 >= -1) & (u0 <= size - 2)))
    return share.to(dtype)


def deformable_sample_projected(feats: Sequence[Tensor], proj_weights: Sequence[Tensor],
                                proj_biases: Sequence[Tensor], locations: Tensor,
                                weights: Tensor, second_order: bool = False,
                                projected: Optional[Sequence[Optional[Tensor]]] = None
                                ) -> Tensor:
    """:func:`deformable_sample_pytorch` of projected maps, computed by sampling the raw maps
    and projecting the weighted samples where a map has more pixels than samples (the same
    values; see the module's docstring), and by sampling the projected map elsewhere.

    Args:
        feats (Sequence[Tensor]): the ``L`` raw maps ``(B, C_l, H_l, W_l)``.
        proj_weights (Sequence[Tensor]): per level, ``(M * C, C_l)``: the projection whose
            output rows ``h * C .. (h + 1) * C`` are head ``h``'s values.
        proj_biases (Sequence[Tensor]): per level, ``(M * C,)``.
        locations (Tensor): ``(B, Q, M, L, P, 2)`` in ``[0, 1]``.
        weights (Tensor): ``(B, Q, M, L, P)``.
        second_order (bool): as in :func:`deformable_sample_pytorch`.
        projected (Sequence, optional): per level, the projected map (from
            :func:`project_first`) or None (sample the raw map). Defaults to
            :func:`project_first` for this call's ``Q * M * P`` samples per image.

    Returns:
        Tensor: ``(B, Q, M * C)``.
    """
    batch, queries, heads, levels, points, _ = locations.shape
    if projected is None:
        projected = project_first(feats, proj_weights, proj_biases, queries * heads * points)
    if not len(feats) == len(proj_weights) == len(proj_biases) == len(projected) == levels:
        raise ValueError(f'deformable_sample_projected: {levels} levels in the locations, but '
                         f'{len(feats)} maps, {len(proj_weights)} / {len(proj_biases)} '
                         f'projection weights / biases and {len(projected)} projected maps')
    out = 0.
    for level, (f, w, b, v) in enumerate(zip(feats, proj_weights, proj_biases, projected)):
        channels, (h, wd) = f.shape[1], f.shape[2:]
        if v is not None:
            v = v.view(batch * heads, -1, h, wd)
            grid = (2 * locations[:, :, :, level] - 1).transpose(1, 2).flatten(0, 1)
            samples = bilinear_sample(v, grid, second_order)  # (B * M, C, Q, P)
            weight = weights[:, :, :, level].transpose(1, 2).flatten(0, 1)  # (B * M, Q, P)
            mixed = (samples * weight[:, None]).sum(-1)  # (B * M, C, Q)
            out = out + mixed.view(batch, heads, -1, queries).permute(0, 3, 1, 2)
            continue
        loc = locations[:, :, :, level]  # (B, Q, M, P, 2)
        grid = (2 * loc - 1).reshape(batch, queries, heads * points, 2)
        samples = bilinear_sample(f, grid, second_order)  # (B, C_l, Q, M * P)
        weight = weights[:, :, :, level]  # (B, Q, M, P)
        mixed = (samples.view(batch, channels, queries, heads, points) *
                 weight[:, None]).sum(-1)  # (B, C_l, Q, M)
        # the projected map's bias, read with the in-map share of each sample's weights
        share = (in_map_share(loc, h, wd) * weight).sum(-1)  # (B, Q, M)
        w = w.reshape(heads, -1, channels)  # (M, C, C_l)
        out = out + torch.einsum('bcqm,mdc->bqmd', mixed, w) + \
            share[..., None] * b.reshape(heads, -1)
    return out.reshape(batch, queries, -1)


def deformable_sample_mmcv(value: Tensor, spatial_shapes: Sequence[Sequence[int]],
                           locations: Tensor, weights: Tensor, im2col_step: int = 64) -> Tensor:
    """The same with mmcv's CUDA op (inputs on a CUDA device). The op computes in ``value``'s
    dtype (float16 under fp16 autocast, as mmcv does) and has no bfloat16 kernel: a bfloat16
    ``value`` (bf16 autocast) is sampled in float32 and the result cast back."""
    from mmcv.ops.multi_scale_deform_attn import MultiScaleDeformableAttnFunction
    shapes = torch.as_tensor([[int(h), int(w)] for h, w in spatial_shapes],
                             dtype=torch.long, device=value.device)
    starts = torch.cat([shapes.new_zeros(1), (shapes[:, 0] * shapes[:, 1]).cumsum(0)[:-1]])
    if value.dtype == torch.bfloat16:
        return MultiScaleDeformableAttnFunction.apply(
            value.float(), shapes, starts, locations.float(), weights.float(),
            im2col_step).to(value.dtype)
    return MultiScaleDeformableAttnFunction.apply(value, shapes, starts, locations, weights,
                                                  im2col_step)


def deformable_sample(value: Tensor, spatial_shapes: Sequence[Sequence[int]], locations: Tensor,
                      weights: Tensor, impl: str = 'auto',
                      second_order: bool = False) -> Tensor:
    """Multi-scale deformable sampling by ``impl``: ``'pytorch'``, ``'mmcv'`` (CUDA only,
    once-differentiable) or ``'auto'`` (mmcv on CUDA unless ``second_order``, else PyTorch).
    Arguments and result as :func:`deformable_sample_pytorch`."""
    if resolve_impl(impl, value.is_cuda, second_order) == 'mmcv':
        return deformable_sample_mmcv(value, spatial_shapes, locations, weights)
    return deformable_sample_pytorch(value, spatial_shapes, locations, weights)


def resolve_impl(impl: str, is_cuda: bool, second_order: bool = False) -> str:
    """``'pytorch'`` or ``'mmcv'`` for ``impl`` (``'auto'``: mmcv on CUDA unless
    ``second_order``); asking the op for CPU tensors or second order is an error."""
    if impl not in IMPLS:
        raise ValueError(f'deformable sampling impl must be one of {IMPLS}, got {impl!r}')
    if impl == 'auto':
        return 'mmcv' if is_cuda and not second_order else 'pytorch'
    if impl == 'mmcv':
        if not is_cuda:
            raise RuntimeError("impl='mmcv' runs mmcv's multi-scale deformable attention op, "
                               "which needs CUDA tensors; use impl='pytorch' (or 'auto') here")
        if second_order:
            raise RuntimeError("mmcv's deformable attention op is once-differentiable; "
                               "second-order gradients need impl='pytorch' (or 'auto')")
    return impl
