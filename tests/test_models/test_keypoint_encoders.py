"""Keypoint encoders: with zero offsets the deformable encoder reads the features at the
anchors, a hand-set offset moves its sample by the expected pixels, it is twice
differentiable; the fixed-RoI encoder has the same interface."""
import pytest
import torch
from torch import nn
from torch.autograd import gradgradcheck

from mmhmr.models.heads.keypoint_encoders import (DeformableKeypointEncoder,
                                                  RoIKeypointEncoder)

SHAPES = [(8, 6), (4, 3)]  # (H, W) of two levels of a 32x24 crop


def coordinate_feats(batch=2, channels=8):
    """Levels whose channel 0 holds each pixel centre's crop-normalised x and channel 1 its
    y (the same function on every level), other channels zero."""
    feats = []
    for h, w in SHAPES:
        f = torch.zeros(batch, channels, h, w, dtype=torch.float64)
        f[:, 0] = ((torch.arange(w, dtype=torch.float64) + 0.5) / w * 2 - 1)[None, None, :]
        f[:, 1] = ((torch.arange(h, dtype=torch.float64) + 0.5) / h * 2 - 1)[None, :, None]
        feats.append(f)
    return feats


def transparent(encoder):
    """Identity value and output projections, no query embedding: the output is the sampled
    feature."""
    with torch.no_grad():
        for proj in encoder.value_proj:
            proj.weight.copy_(torch.eye(proj.weight.shape[0])[:, :, None, None])
            proj.bias.zero_()
        encoder.out_proj.weight.copy_(torch.eye(encoder.embed_dims))
        encoder.out_proj.bias.zero_()
        encoder.query_embed.weight.zero_()
    return encoder.double()


# inside the finest level's outer half pixel, where bilinear interpolation of a linear map is
# exact on every level
ANCHORS = torch.tensor([[[-0.5, 0.25], [0.1, -0.6], [0.6, 0.5]],
                        [[0., 0.], [-0.3, 0.7], [0.4, -0.2]]], dtype=torch.float64)


def test_zero_offsets_read_the_features_at_the_anchors():
    encoder = transparent(DeformableKeypointEncoder(3, [8, 8], embed_dims=8, num_heads=1,
                                                    num_points=2))
    with torch.no_grad():
        encoder.sampling_offsets.bias.zero_()
    out = encoder(coordinate_feats(), ANCHORS)
    assert out.shape == (2, 3, 8)
    torch.testing.assert_close(out[..., :2], ANCHORS)
    assert out[..., 2:].abs().max() == 0


def test_a_hand_set_offset_moves_the_sample_by_pixels():
    encoder = transparent(DeformableKeypointEncoder(3, [8, 8], embed_dims=8, num_heads=1,
                                                    num_points=2))
    with torch.no_grad():
        # offsets (levels, points, 2): level 0 point 0 by (+1, -0.5) pixels of that level
        bias = torch.zeros(2, 2, 2, dtype=torch.float64)
        bias[0, 0] = torch.tensor([1., -0.5])
        encoder.sampling_offsets.bias.copy_(bias.flatten())
        # all attention on level 0 point 0
        logits = torch.full((2, 2), -1e4, dtype=torch.float64)
        logits[0, 0] = 0.
        encoder.attention_weights.bias.copy_(logits.flatten())
    anchors = ANCHORS * 0.5  # away from the edges after the move
    out = encoder(coordinate_feats(), anchors)
    # level 0 is 6 x 8 pixels spanning 2 normalised units: a pixel is 2/6 in x, 2/8 in y
    expected = anchors + torch.tensor([1. * 2 / 6, -0.5 * 2 / 8], dtype=torch.float64)
    torch.testing.assert_close(out[..., :2], expected)


@pytest.mark.parametrize('gather', [False, True])
def test_starts_as_deformable_detr_and_is_twice_differentiable(monkeypatch, gather):
    if gather:  # a torch whose grid_sample backward is not differentiable (< 2.13)
        import mmhmr.models.utils.deformable_sampling as sampling
        monkeypatch.setattr(sampling, 'grid_sample_has_double_backward', lambda: False)
    torch.manual_seed(0)
    encoder = DeformableKeypointEncoder(2, [3, 5], embed_dims=8, num_heads=2,
                                        num_points=2).double()
    offsets = encoder.sampling_offsets.bias.view(2, 2, 2, 2)  # heads, levels, points, xy
    torch.testing.assert_close(offsets[0, 0], torch.tensor([[1., 0.], [2., 0.]],
                                                           dtype=torch.float64))
    torch.testing.assert_close(offsets[1, 1], torch.tensor([[-1., 0.], [-2., 0.]],
                                                           dtype=torch.float64), atol=1e-6,
                               rtol=0)
    assert torch.all(encoder.attention_weights.weight == 0)
    feats = [torch.randn(1, 3, 4, 3, dtype=torch.float64),
             torch.randn(1, 5, 2, 2, dtype=torch.float64)]
    anchors = torch.tensor([[[0.13, -0.21], [-0.37, 0.44]]], dtype=torch.float64)
    with torch.no_grad():  # non-zero offsets and weights: every path carries gradient
        encoder.sampling_offsets.weight.normal_(0, 0.1)
        encoder.attention_weights.weight.normal_(0, 0.1)

    encoder.second_order = True  # as second-order meta-learning sets it

    def fn(f0, f1, a):
        return encoder([f0, f1], a)
    inputs = tuple(t.clone().requires_grad_() for t in (*feats, anchors))
    assert gradgradcheck(fn, inputs, atol=1e-5)


def test_bad_inputs_are_named():
    encoder = DeformableKeypointEncoder(3, [8, 8], embed_dims=8, num_heads=2)
    feats = [f.float() for f in coordinate_feats()]
    with pytest.raises(ValueError, match='anchors must be'):
        encoder(feats, torch.zeros(2, 4, 2))
    with pytest.raises(ValueError, match='2 feature levels'):
        encoder(feats[:1], torch.zeros(2, 3, 2))
    with pytest.raises(ValueError, match='divisible'):
        DeformableKeypointEncoder(3, [8], embed_dims=10, num_heads=4)


def test_roi_encoder_has_the_same_interface_and_follows_its_anchor():
    torch.manual_seed(0)
    encoder = RoIKeypointEncoder(3, [8, 8], embed_dims=8, roi_size=0.5, window=2)
    feats = [f.float() for f in coordinate_feats()]
    anchors = ANCHORS.float()
    out = encoder(feats, anchors)
    assert out.shape == (2, 3, 8)
    moved = encoder(feats, anchors + 0.2)
    assert not torch.allclose(out, moved)
    out.sum().backward()
    assert encoder.pool_proj.weight.grad.abs().sum() > 0


def test_each_level_is_projected_once_per_forward(monkeypatch):
    """The queries' samples at the anchors and the deformable samples read the same projected
    maps: one 1x1 convolution per projected level, none twice (both levels here have fewer
    pixels, 6 and 2, than an image's 3 keypoints x 2 heads x 2 points = 12 samples; the
    queries' own 3 samples would have projected only the second)."""
    import torch.nn.functional as F
    calls = []
    conv2d = F.conv2d

    def counting(x, weight, *args, **kwargs):
        calls.append(tuple(x.shape[-2:]))
        return conv2d(x, weight, *args, **kwargs)
    monkeypatch.setattr(F, 'conv2d', counting)
    encoder = DeformableKeypointEncoder(3, [8, 8], embed_dims=8, num_heads=2, num_points=2)
    feats = [torch.randn(2, 8, 2, 3), torch.randn(2, 8, 1, 2)]  # 6 and 2 pixels <= 12 samples
    encoder(feats, ANCHORS.float())
    assert sorted(calls) == [(1, 2), (2, 3)]


def test_the_mmcv_branch_reads_the_same_projections(monkeypatch):
    """The encoder's branch for mmcv's op (CUDA only) runs here with the op's PyTorch twin in
    its place: the queries and the op's value tensor come from the same projected levels, and
    the output equals the PyTorch path's."""
    import mmhmr.models.heads.keypoint_encoders as encoders
    from mmhmr.models.utils.deformable_sampling import deformable_sample_pytorch
    torch.manual_seed(0)
    encoder = DeformableKeypointEncoder(3, [8, 6], embed_dims=8, num_heads=2,
                                        num_points=2).double()
    for p in encoder.parameters():
        nn.init.normal_(p, std=0.3)
    feats = [torch.randn(2, 8, 8, 6, dtype=torch.float64),
             torch.randn(2, 6, 4, 3, dtype=torch.float64)]
    expected = encoder(feats, ANCHORS)
    used = []
    monkeypatch.setattr(encoders, 'resolve_impl', lambda *args: 'mmcv')
    monkeypatch.setattr(encoders, 'deformable_sample_mmcv',
                        lambda *args: used.append(1) or deformable_sample_pytorch(*args))
    torch.testing.assert_close(encoder(feats, ANCHORS), expected)
    assert used == [1]
