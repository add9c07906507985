"""Multi-scale deformable sampling: the grid convention by hand, mmcv's own PyTorch reference,
second-order gradients (on any torch: a gather form where grid_sample has no double
backward), and the implementation switch."""
import pytest
import torch
import torch.nn.functional as F
from torch.autograd import gradcheck, gradgradcheck

from mmhmr.models.utils.deformable_sampling import (bilinear_gather, deformable_sample,
                                                    deformable_sample_projected,
                                                    deformable_sample_pytorch)


def coordinate_maps(shapes, heads=1):
    """Levels whose channel 0 holds each pixel's column index and channel 1 its row index,
    flattened to mmcv's ``(1, S, M, 2)``."""
    levels = []
    for h, w in shapes:
        ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float64),
                                torch.arange(w, dtype=torch.float64), indexing='ij')
        levels.append(torch.stack([xs, ys], -1).reshape(h * w, 1, 2).expand(-1, heads, -1))
    return torch.cat(levels)[None]


def test_a_pixel_centre_reads_that_pixel_and_offsets_move_by_pixels():
    shapes = [(4, 6), (2, 3)]
    value = coordinate_maps(shapes)
    # level 0 is 6 wide, 4 high: pixel (column 2, row 1) has its centre at (2.5 / 6, 1.5 / 4)
    centre = torch.tensor([2.5 / 6, 1.5 / 4], dtype=torch.float64)
    # a second point 1.25 pixels right and 0.5 down of it (bilinear is exact on a linear map)
    moved = centre + torch.tensor([1.25 / 6, 0.5 / 4], dtype=torch.float64)
    locations = torch.zeros(1, 2, 1, 2, 1, 2, dtype=torch.float64)
    locations[0, 0, 0, 0, 0] = centre
    locations[0, 1, 0, 0, 0] = moved
    weights = torch.zeros(1, 2, 1, 2, 1, dtype=torch.float64)
    weights[:, :, :, 0] = 1.  # level 0 only
    out = deformable_sample_pytorch(value, shapes, locations, weights)
    torch.testing.assert_close(out[0, 0], torch.tensor([2., 1.], dtype=torch.float64))
    torch.testing.assert_close(out[0, 1], torch.tensor([3.25, 1.5], dtype=torch.float64))
    # the same image point on level 1 (3 wide, 2 high): column 2.5 * 3 / 6 - 0.5 = 0.75
    weights = weights.flip(3)  # level 1 only
    locations_l1 = locations.clone()
    locations_l1[:, :, :, 1] = locations[:, :, :, 0]
    out = deformable_sample_pytorch(value, shapes, locations_l1, weights)
    torch.testing.assert_close(out[0, 0], torch.tensor([0.75, 0.25], dtype=torch.float64))


def test_outside_the_map_reads_zeros_and_weights_sum():
    shapes = [(3, 3)]
    value = torch.ones(1, 9, 1, 1, dtype=torch.float64)
    locations = torch.tensor([0.5, 0.5, 5., 5.], dtype=torch.float64).view(1, 1, 1, 1, 2, 2)
    weights = torch.tensor([0.25, 0.75], dtype=torch.float64).view(1, 1, 1, 1, 2)
    out = deformable_sample_pytorch(value, shapes, locations, weights)
    assert out.item() == pytest.approx(0.25)


def test_matches_mmcvs_pytorch_reference():
    from mmcv.ops.multi_scale_deform_attn import multi_scale_deformable_attn_pytorch
    torch.manual_seed(0)
    shapes = [(8, 6), (4, 3), (2, 2)]
    batch, queries, heads, channels, points = 2, 5, 4, 8, 3
    value = torch.randn(batch, sum(h * w for h, w in shapes), heads, channels)
    locations = torch.rand(batch, queries, heads, len(shapes), points, 2) * 1.2 - 0.1
    weights = torch.rand(batch, queries, heads, len(shapes), points).softmax(-1)
    ours = deformable_sample_pytorch(value, shapes, locations, weights)
    theirs = multi_scale_deformable_attn_pytorch(value, torch.tensor(shapes), locations,
                                                 weights)
    assert ours.shape == (batch, queries, heads * channels)
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('queries', [1, 40])
def test_sampling_raw_maps_then_projecting_equals_projecting_first(queries):
    """Sampling commutes with a 1x1 projection, bias included where samples leave the map
    (locations reach 0.3 outside it): checked against projecting every pixel first and
    sampling with mmcv's own PyTorch reference. One query samples fewer points than a level
    has pixels (the raw maps are sampled), 40 queries more (the maps are projected first)."""
    from mmcv.ops.multi_scale_deform_attn import multi_scale_deformable_attn_pytorch
    torch.manual_seed(0)
    shapes = [(8, 6), (4, 3)]
    batch, heads, channels, points, in_channels = 2, 2, 3, 2, [5, 7]
    feats = [torch.randn(batch, c, h, w, dtype=torch.float64)
             for c, (h, w) in zip(in_channels, shapes)]
    proj_w = [torch.randn(heads * channels, c, dtype=torch.float64) for c in in_channels]
    proj_b = [torch.randn(heads * channels, dtype=torch.float64) for _ in in_channels]
    locations = torch.rand(batch, queries, heads, 2, points, 2, dtype=torch.float64) * 1.6 - 0.3
    weights = torch.rand(batch, queries, heads, 2, points, dtype=torch.float64).softmax(-1)
    value = torch.cat([(torch.einsum('dc,bchw->bhwd', w, f) + b).reshape(batch, -1, heads,
                                                                         channels)
                       for f, w, b in zip(feats, proj_w, proj_b)], 1)
    expected = multi_scale_deformable_attn_pytorch(value, torch.tensor(shapes), locations,
                                                   weights)
    ours = deformable_sample_projected(feats, proj_w, proj_b, locations, weights)
    torch.testing.assert_close(ours, expected, rtol=1e-10, atol=1e-10)


def test_twice_differentiable():
    torch.manual_seed(0)
    shapes = [(3, 4), (2, 2)]
    value = torch.randn(1, 16, 2, 2, dtype=torch.float64, requires_grad=True)
    # away from pixel centres, where bilinear interpolation is not differentiable
    locations = (torch.rand(1, 2, 2, 2, 2, 2, dtype=torch.float64) * 0.8 + 0.1 +
                 0.013).requires_grad_()
    weights = torch.rand(1, 2, 2, 2, 2, dtype=torch.float64, requires_grad=True)

    def fn(v, loc, w):
        return deformable_sample_pytorch(v, shapes, loc, w, second_order=True)
    assert gradcheck(fn, (value, locations, weights))
    assert gradgradcheck(fn, (value, locations, weights))


def test_impl_switch():
    value = torch.zeros(1, 4, 1, 1)
    locations, weights = torch.full((1, 1, 1, 1, 1, 2), 0.5), torch.ones(1, 1, 1, 1, 1)
    out = deformable_sample(value, [(2, 2)], locations, weights)  # 'auto' on CPU: PyTorch
    assert out.shape == (1, 1, 1)
    with pytest.raises(RuntimeError, match='CUDA'):
        deformable_sample(value, [(2, 2)], locations, weights, impl='mmcv')
    with pytest.raises(ValueError, match='impl'):
        deformable_sample(value, [(2, 2)], locations, weights, impl='cuda')


def test_bilinear_gather_is_grid_sample():
    """The gather form equals ``grid_sample`` (bilinear, zeros, align_corners=False), values
    and first derivatives, inside the map, across its border and far outside."""
    torch.manual_seed(0)
    maps = torch.randn(2, 3, 4, 5, dtype=torch.float64, requires_grad=True)
    grid = (torch.rand(2, 6, 7, 2, dtype=torch.float64) * 2.6 - 1.3).requires_grad_()
    ours = bilinear_gather(maps, grid)
    theirs = F.grid_sample(maps, grid, mode='bilinear', padding_mode='zeros',
                           align_corners=False)
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)
    cotangent = torch.randn_like(ours)
    g_ours = torch.autograd.grad(ours, (maps, grid), cotangent)
    g_theirs = torch.autograd.grad(theirs, (maps, grid), cotangent)
    for a, b in zip(g_ours, g_theirs):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)
    # a pixel centre reads the pixel: x = (j + 0.5) / W * 2 - 1
    centre = torch.tensor([[[[(2 + 0.5) / 5 * 2 - 1, (1 + 0.5) / 4 * 2 - 1]]]],
                          dtype=torch.float64)
    torch.testing.assert_close(bilinear_gather(maps[:1], centre)[0, :, 0, 0], maps[0, :, 1, 2])


def test_bilinear_gather_is_twice_differentiable():
    torch.manual_seed(0)
    maps = torch.randn(1, 2, 3, 4, dtype=torch.float64, requires_grad=True)
    grid = (torch.rand(1, 2, 3, 2, dtype=torch.float64) * 2.2 - 1.1).requires_grad_()
    assert gradgradcheck(bilinear_gather, (maps, grid))


def test_second_order_sampling_without_grid_sample_double_backward(monkeypatch):
    """On a torch whose grid_sample backward is not differentiable (< 2.13), second_order
    samples by gathers: the same values, and twice differentiable."""
    import mmhmr.models.utils.deformable_sampling as sampling
    monkeypatch.setattr(sampling, 'grid_sample_has_double_backward', lambda: False)
    torch.manual_seed(0)
    shapes = [(3, 4), (2, 2)]
    value = torch.randn(1, 16, 2, 2, dtype=torch.float64, requires_grad=True)
    locations = (torch.rand(1, 2, 2, 2, 2, 2, dtype=torch.float64) * 1.2 - 0.1).requires_grad_()
    weights = torch.rand(1, 2, 2, 2, 2, dtype=torch.float64, requires_grad=True)
    torch.testing.assert_close(
        sampling.deformable_sample_pytorch(value, shapes, locations, weights, second_order=True),
        sampling.deformable_sample_pytorch(value, shapes, locations, weights))

    def fn(v, loc, w):
        return sampling.deformable_sample_pytorch(v, shapes, loc, w, second_order=True)
    assert gradgradcheck(fn, (value, locations, weights))


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_bilinear_gather_addresses_large_maps_in_half_precision(dtype):
    """Half-precision grids (under autocast) are converted before they become pixel indices:
    a 96x96 map is read where float32 grid_sample reads it."""
    torch.manual_seed(0)
    maps = torch.randn(1, 2, 96, 96)
    grid = (torch.rand(1, 5, 7, 2) * 2 - 1).to(dtype)
    expected = F.grid_sample(maps, grid.float(), mode='bilinear', padding_mode='zeros',
                             align_corners=False)
    torch.testing.assert_close(bilinear_gather(maps, grid), expected, rtol=1e-5, atol=1e-5)


def test_in_map_share_of_the_bilinear_weights():
    """The share of a sample's bilinear weights on the map: by hand at a few points of a 4x2
    map (pixel centres at x = (j + 0.5) / 4), and against sampling a map of ones with
    grid_sample (zeros outside) at random points in and around the map."""
    from mmhmr.models.utils.deformable_sampling import in_map_share
    # x = 1/16: a quarter pixel left of the first centre -> 3/4 of the weight on pixel 0;
    # x = 0.5: between pixels 1 and 2 -> all inside; x = -1/8: half a pixel outside -> 0;
    # y = 0.25 is row 0's centre of a 2-row map -> 1; y = 1.0 is the bottom edge -> 1/2
    points = torch.tensor([[1 / 16, 0.25], [0.5, 0.25], [-1 / 8, 0.25], [0.5, 1.0],
                           [1 / 16, 1.0]], dtype=torch.float64)
    expected = torch.tensor([0.75, 1., 0., 0.5, 0.375], dtype=torch.float64)
    torch.testing.assert_close(in_map_share(points, 2, 4), expected)
    torch.manual_seed(0)
    loc = torch.rand(3, 50, 2, dtype=torch.float64) * 1.6 - 0.3
    ones = torch.ones(3, 1, 5, 7, dtype=torch.float64)
    reference = F.grid_sample(ones, 2 * loc[:, :, None] - 1, mode='bilinear',
                              padding_mode='zeros', align_corners=False)[:, 0, :, 0]
    torch.testing.assert_close(in_map_share(loc, 5, 7), reference)


def test_project_first_projects_only_maps_smaller_than_the_samples():
    from mmhmr.models.utils.deformable_sampling import project_first
    feats = [torch.randn(2, 3, 4, 5), torch.randn(2, 3, 2, 2)]
    w, b = torch.randn(6, 3), torch.randn(6)
    projected = project_first(feats, [w, w], [b, b], samples=10)
    assert projected[0] is None  # 20 pixels > 10 samples: sampled raw
    torch.testing.assert_close(projected[1],
                               torch.einsum('dc,bchw->bdhw', w, feats[1]) + b[:, None, None])
