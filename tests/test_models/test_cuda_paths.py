"""CUDA paths (skipped without a GPU): mmcv's deformable attention and roi_align ops agree with
the PyTorch / CPU paths, forward and backward; the global-to-pixel head picks mmcv's op on the
GPU and trains there alone, inside the dual network in both gradient orders (second order
keeps the twice-differentiable PyTorch sampling), and under autocast."""
import pytest
import torch
from mmengine.dataset import pseudo_collate

import mmhmr.models.heads.keypoint_encoders as keypoint_encoders
from mmhmr.models.heads.keypoint_encoders import DeformableKeypointEncoder, RoIKeypointEncoder
from mmhmr.models.utils.deformable_sampling import resolve_impl
from mmhmr.registry import DATASETS, MODELS

# the tiny estimator and the pipeline of the CPU tests of the head
from test_g2p_head import PIPELINE, PREPROCESSOR, randomise_decoders  # noqa: E402
from test_g2p_head import estimator as g2p_estimator  # noqa: E402

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')


@pytest.fixture(autouse=True)
def full_float32(monkeypatch):
    """IEEE float32 convolutions and matrix products (no TF32) and deterministic cuDNN
    algorithms, so that two runs differ only by the sampling implementation."""
    monkeypatch.setattr(torch.backends.cudnn, 'allow_tf32', False)
    monkeypatch.setattr(torch.backends.cuda.matmul, 'allow_tf32', False)
    monkeypatch.setattr(torch.backends.cudnn, 'deterministic', True)
    monkeypatch.setattr(torch.backends.cudnn, 'benchmark', False)


@pytest.fixture(scope='module')
def samples(procedural_body_dir):
    from mmengine.registry import init_default_scope
    init_default_scope('mmhmr')
    ds = DATASETS.build(dict(type='SyntheticHumanDataset', num_samples=4,
                             domain=dict(image_size=(96, 96)),
                             body_model=dict(model_path=procedural_body_dir), pipeline=PIPELINE))
    return pseudo_collate([ds[i] for i in range(4)])


@pytest.fixture
def mmcv_calls(monkeypatch):
    """Counts the encoder's calls of mmcv's op."""
    calls = []
    original = keypoint_encoders.deformable_sample_mmcv

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)
    monkeypatch.setattr(keypoint_encoders, 'deformable_sample_mmcv', counted)
    return calls


def run_encoder(encoder, feats, anchors, cotangent):
    """Output and the gradients of <output, cotangent> for the inputs and parameters."""
    encoder.zero_grad(set_to_none=True)
    inputs = [f.detach().requires_grad_() for f in feats] + [anchors.detach().requires_grad_()]
    out = encoder(inputs[:-1], inputs[-1])
    (out * cotangent).sum().backward()
    grads = [x.grad for x in inputs] + [p.grad for p in encoder.parameters() if p.grad is not None]
    # copies: moving the module to another device later moves its .grad tensors in place
    return out.detach(), [g.detach().clone() for g in grads]


def test_mmcv_op_forward_and_backward_match_pytorch():
    torch.manual_seed(0)
    encoder = DeformableKeypointEncoder(5, [8, 16], embed_dims=32, num_heads=4).cuda()
    with torch.no_grad():
        encoder.sampling_offsets.weight.normal_(0, 0.5)
        encoder.attention_weights.weight.normal_(0, 0.5)
    feats = [torch.randn(3, 8, 16, 12).cuda(), torch.randn(3, 16, 8, 6).cuda()]
    anchors = (torch.rand(3, 5, 2) * 1.6 - 0.8).cuda()
    cotangent = torch.randn(3, 5, 32).cuda()
    encoder.impl = 'mmcv'
    out_mmcv, grads_mmcv = run_encoder(encoder, feats, anchors, cotangent)
    encoder.impl = 'pytorch'
    out_torch, grads_torch = run_encoder(encoder, feats, anchors, cotangent)
    torch.testing.assert_close(out_mmcv, out_torch, rtol=1e-5, atol=1e-5)
    assert len(grads_mmcv) == len(grads_torch) > 4
    for g_mmcv, g_torch in zip(grads_mmcv, grads_torch):
        torch.testing.assert_close(g_mmcv, g_torch, rtol=1e-4, atol=1e-5)


def test_roi_encoder_on_cuda_matches_cpu():
    torch.manual_seed(0)
    encoder = RoIKeypointEncoder(3, [8, 16], embed_dims=8, roi_size=0.5, window=2)
    feats = [torch.randn(2, 8, 8, 6), torch.randn(2, 16, 4, 3)]
    anchors = torch.rand(2, 3, 2) * 1.6 - 0.8
    cotangent = torch.randn(2, 3, 8)
    out_cpu, grads_cpu = run_encoder(encoder, feats, anchors, cotangent)
    out_gpu, grads_gpu = run_encoder(encoder.cuda(), [f.cuda() for f in feats], anchors.cuda(),
                                     cotangent.cuda())
    torch.testing.assert_close(out_gpu.cpu(), out_cpu, rtol=1e-5, atol=1e-5)
    for g_gpu, g_cpu in zip(grads_gpu, grads_cpu):
        torch.testing.assert_close(g_gpu.cpu(), g_cpu, rtol=1e-4, atol=1e-5)


def test_g2p_head_uses_mmcv_on_cuda_and_its_losses_match_pytorch(procedural_body_dir, samples,
                                                                  mmcv_calls):
    torch.manual_seed(0)
    model = MODELS.build(g2p_estimator(procedural_body_dir)).cuda().train()
    randomise_decoders(model.head)
    data = model.data_preprocessor(samples, True)
    assert data['inputs'].is_cuda
    results = {}
    for impl in ('auto', 'pytorch'):
        model.head.encoder.impl = impl
        model.zero_grad(set_to_none=True)
        losses = model.loss(data['inputs'], data['data_samples'])
        sum(v for k, v in losses.items() if 'loss' in k).backward()
        results[impl] = ({k: v.detach() for k, v in losses.items()},
                         model.head.encoder.sampling_offsets.weight.grad.clone())
        if impl == 'auto':
            assert len(mmcv_calls) >= 1  # 'auto' on CUDA runs mmcv's op
    calls = len(mmcv_calls)
    (losses_mmcv, grad_mmcv), (losses_torch, grad_torch) = results['auto'], results['pytorch']
    assert len(mmcv_calls) == calls and set(losses_mmcv) == set(losses_torch)
    for key in losses_mmcv:
        assert torch.isfinite(losses_mmcv[key]).all(), key
        torch.testing.assert_close(losses_mmcv[key], losses_torch[key], rtol=1e-4, atol=1e-5)
    assert grad_mmcv.abs().sum() > 0
    torch.testing.assert_close(grad_mmcv, grad_torch, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize('first_order', [True, False])
def test_g2p_head_trains_inside_the_dual_network_on_cuda(procedural_body_dir, samples,
                                                        mmcv_calls, first_order):
    torch.manual_seed(0)
    main = g2p_estimator(procedural_body_dir)
    main.pop('data_preprocessor')
    model = MODELS.build(dict(
        type='DualNetworkHMR', main=main,
        meta=dict(inner_lr=1e-3, inner_steps=1, first_order=first_order),
        data_preprocessor=PREPROCESSOR, test_cfg=dict(tto=None))).cuda().train()
    randomise_decoders(model.main.head)
    data = model.data_preprocessor(samples, True)
    losses = model.loss(data['inputs'], data['data_samples'])
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert total.is_cuda and torch.isfinite(total)
    total.backward()
    grad = model.main.head.encoder.sampling_offsets.weight.grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0
    # f_w's encoder: mmcv's op in first order; the twice-differentiable sampling in second
    # order, whose backward above went through the inner step's gradient (mmcv's op would
    # refuse). f_u (aux) is differentiated once in both orders and keeps mmcv's op.
    main_impl = resolve_impl('auto', True, model.main.head.encoder.second_order)
    assert main_impl == ('mmcv' if first_order else 'pytorch')
    assert len(mmcv_calls) >= (3 if first_order else 1)


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_g2p_head_loss_under_autocast(procedural_body_dir, samples, mmcv_calls, dtype):
    torch.manual_seed(0)
    model = MODELS.build(g2p_estimator(procedural_body_dir)).cuda().train()
    randomise_decoders(model.head)
    data = model.data_preprocessor(samples, True)
    with torch.autocast('cuda', dtype=dtype):
        losses = model.loss(data['inputs'], data['data_samples'])
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total), {k: float(v) for k, v in losses.items()}
    total.backward()
    assert len(mmcv_calls) >= 1
    for name, p in model.named_parameters():
        assert p.grad is None or torch.isfinite(p.grad).all(), name


def test_second_order_through_the_encoder_on_cuda():
    """A gradient of a gradient through the encoder on the GPU (what second-order meta-learning
    needs when the inner step adapts what feeds the sampling), on any torch release."""
    torch.manual_seed(0)
    encoder = DeformableKeypointEncoder(5, [8, 16], embed_dims=32, num_heads=4).cuda()
    encoder.second_order = True
    feats = [torch.randn(2, 8, 16, 12).cuda().requires_grad_(),
             torch.randn(2, 16, 8, 6).cuda().requires_grad_()]
    anchors = (torch.rand(2, 5, 2) * 1.6 - 0.8).cuda().requires_grad_()
    out = encoder(feats, anchors)
    grads = torch.autograd.grad(out.square().sum(), [*feats, anchors], create_graph=True)
    sum(g.square().sum() for g in grads).backward()
    assert anchors.grad is not None and torch.isfinite(anchors.grad).all()
    assert encoder.sampling_offsets.weight.grad.abs().sum() > 0
