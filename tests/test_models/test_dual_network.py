"""DualNetworkHMR: a per-sample inner step inside the training loss, first and second order."""
import copy

import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from torch.func import functional_call

from mmhmr.registry import DATASETS, MODELS

PIPELINE = [dict(type='HMRTopdownAffine', input_size=(64, 64)), dict(type='CLIFFBBoxInfo'),
            dict(type='PackHMRInputs')]


def estimator(body_dir, neck=False):
    return dict(
        type='HMREstimator',
        backbone=dict(type='ResNet', depth=18, base_channels=8, stem_channels=8),
        neck=dict(type='FPN', in_channels=[64], out_channels=16, num_outs=1) if neck else None,
        head=dict(type='CLIFFHead', in_channels=16 if neck else 64, hidden_dims=(16, ),
                  n_iter=2, dropout=0.,
                  body_model=dict(type='SMPL', model_path=body_dir, joint_set='spin_49')))


def build(body_dir, first_order, inner_lr=0.05, inner_steps=1, adapt='head', **kwargs):
    torch.manual_seed(0)
    kwargs.setdefault('meta', dict(inner_lr=inner_lr, inner_steps=inner_steps,
                                   first_order=first_order, adapt=adapt))
    model = MODELS.build(dict(
        type='DualNetworkHMR', main=estimator(body_dir, neck=adapt == 'head+neck'),
        outer_weight=2.0, aux_weight=0.5, **kwargs,
        data_preprocessor=dict(type='PoseDataPreprocessor', mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], bgr_to_rgb=True)))
    # BatchNorm in eval mode, no dropout: samples independent, as the meta-gradient test needs
    return model.double().eval()


@pytest.fixture(scope='module')
def batch(procedural_body_dir):
    init_default_scope('mmhmr')
    ds = DATASETS.build(dict(type='SyntheticHumanDataset', num_samples=4,
                             domain=dict(image_size=(96, 96)),
                             body_model=dict(model_path=procedural_body_dir), pipeline=PIPELINE))
    model = build(procedural_body_dir, True)
    data = model.data_preprocessor(pseudo_collate([ds[i] for i in range(4)]), False)
    return dict(inputs=data['inputs'].double(), data_samples=data['data_samples'])


def total(losses):
    return sum(v for k, v in losses.items() if 'loss' in k)  # as mmengine's parse_losses


def grads(model, inputs, samples):
    model.zero_grad()
    total(model.loss(inputs, samples)).backward()
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize('first_order,adapt,use_aux', [
    (True, 'head', True), (False, 'head', True), (True, 'head+neck', True),
    (False, 'all', True), (False, 'head', False)])
def test_batch_meta_gradient_is_the_mean_of_the_samples(procedural_body_dir, batch, first_order,
                                                        adapt, use_aux):
    """A batch-shared inner step would fail this: each sample's step is its own."""
    model = build(procedural_body_dir, first_order, adapt=adapt, use_aux=use_aux)
    full = grads(model, batch['inputs'], batch['data_samples'])
    singles = [grads(model, batch['inputs'][i:i + 1], batch['data_samples'][i:i + 1])
               for i in range(4)]
    assert full.keys() == singles[0].keys()
    assert any(k.startswith('aux.') for k in full) == use_aux
    assert any(k.startswith('main.backbone.') for k in full)
    if adapt == 'head+neck':
        assert any(k.startswith('main.neck.') for k in full)
    for name, grad in full.items():
        mean = sum(s[name] for s in singles) / 4
        scale = mean.abs().max().clamp(min=1e-12)
        assert ((grad - mean).abs().max() / scale).item() < 1e-6, name


@pytest.mark.parametrize('first_order,adapt', [(True, 'head'), (False, 'head'), (True, 'all'),
                                               (False, 'all')])
def test_one_sample_equals_a_plain_autograd_reference(procedural_body_dir, batch, first_order,
                                                      adapt):
    """w' = w - lr grad(inner loss) on the head's linear layers (adapt='head') or on every
    parameter of f_w ('all'), then the outer loss, written with torch.func here; the same
    losses and gradients as DualNetworkHMR.loss."""
    model = build(procedural_body_dir, first_order, inner_lr=0.05, adapt=adapt)
    inputs, samples = batch['inputs'][:1], batch['data_samples'][:1]
    main, aux = model.main, model.aux
    head = main.head

    feats_u = aux.extract_feat(inputs)
    aux_pred = aux.head.decode_smpl(aux.head.regress(feats_u, samples), samples)
    pseudo = {k: v.detach() if first_order else v for k, v in aux_pred.items()}
    targets = head.targets_from_samples(samples, inputs)
    det = dict(keypoints_2d=targets['keypoints_2d'], score=targets['keypoints_2d_visible'])
    bbox_info = torch.as_tensor(samples[0].gt_instances.bbox_info).double()
    prefix = 'head.regressor.' if adapt == 'head' else ''
    linear = {n: p for n, p in main.named_parameters() if n.startswith(prefix)}

    def decode(params):
        params = dict(dict(main.named_parameters()), **params)
        part = lambda name: {k[len(name) + 1:]: v for k, v in params.items()  # noqa: E731
                             if k.startswith(name + '.')}
        feats = functional_call(main.backbone, part('backbone'), (inputs, ))
        out = functional_call(head, part('head'), (feats, bbox_info))
        return head.decode_smpl(out, samples)

    inner = model.inner_loss(decode(linear), det, None, pseudo)['loss'].sum()
    g = torch.autograd.grad(inner, list(linear.values()), create_graph=not first_order)
    adapted = {n: p - 0.05 * (gi.detach() if first_order else gi)
               for (n, p), gi in zip(linear.items(), g)}
    outer = head.loss_by_pred(decode(adapted), samples)
    reference = 2.0 * sum(outer.values()) + 0.5 * sum(aux.head.loss_by_pred(aux_pred, samples)
                                                      .values())
    model.zero_grad()
    reference.backward()
    expected = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    losses = model.loss(inputs, samples)
    assert total(losses).item() == pytest.approx(reference.item(), rel=1e-9)
    got = grads(model, inputs, samples)
    assert got.keys() == expected.keys()
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], rtol=1e-7, atol=1e-12)


def test_aux_network_learns_in_first_order_training(procedural_body_dir, batch):
    model = build(procedural_body_dir, True)
    before = copy.deepcopy(model.aux.state_dict())
    optim = torch.optim.Adam(model.parameters(), lr=1e-3)
    total(model.loss(batch['inputs'], batch['data_samples'])).backward()
    optim.step()
    changed = [k for k, v in model.aux.state_dict().items()
               if v.is_floating_point() and not torch.equal(v, before[k])]
    assert any('head.regressor' in k for k in changed) and any('backbone' in k for k in changed)


def test_the_inner_step_lowers_the_inner_loss_and_predict_runs(procedural_body_dir, batch):
    # two small steps (0.05 overshoots on this model)
    model = build(procedural_body_dir, True, inner_lr=1e-3, inner_steps=2,
                  test_cfg=dict(tto=None))
    losses = model.loss(batch['inputs'], batch['data_samples'])
    assert 'inner_objective' in losses and torch.isfinite(total(losses))
    assert losses['inner_objective_after'] < losses['inner_objective']
    with torch.no_grad():
        out = model.predict(batch['inputs'], copy.deepcopy(batch['data_samples']))
    assert out[0].pred_instances.vertices.shape == (1, 6890, 3)
    assert 'pred_instances_init' not in out[0]
    model.tto = MODELS.build(dict(type='TestTimeOptimizer', steps=2, optimizer='sgd', lr=1e-3,
                                  early_stop_tol=0.))
    samples = copy.deepcopy(batch['data_samples'])
    for s in samples:
        s.gt_instances.det_keypoints_2d = s.gt_instances.keypoints_2d.copy()
        s.gt_instances.det_keypoints_2d_score = s.gt_instances.keypoints_2d_visible.copy()
    with torch.no_grad():
        out = model.predict(batch['inputs'], samples)
    assert 'pseudo_vertices' in model.tto.phases[0]['loss'].terms
    assert out[0].pred_instances_init.vertices.shape == (1, 6890, 3)
    assert float(out[0].pred_instances.tto_loss) <= float(out[0].pred_instances.tto_loss_init)


def test_meta_learning_hook_warm_up_and_inner_lr_ramp(procedural_body_dir, batch):
    from mmengine.logging import MessageHub
    from mmhmr.engine.hooks import MetaLearningHook
    model = build(procedural_body_dir, True, inner_lr=0.05)
    hook = MetaLearningHook(warmup_iters=2, ramp_iters=4, start_factor=0.5)

    class Runner:  # what the hook reads of mmengine's runner
        message_hub = MessageHub.get_instance('test_meta_hook')
        iter = 0
    runner = Runner()
    runner.model = model
    seen = []
    for it in range(8):
        runner.iter = it
        hook.before_train_iter(runner, it)
        seen.append((model.meta_enabled, round(model.inner_lr, 6)))
    # warm-up 2 iterations, then 0.05 * (0.5 + 0.5 * min(1, (it - 2) / 4))
    assert [s[0] for s in seen] == [False, False] + [True] * 6
    assert [s[1] for s in seen[2:]] == [0.025, 0.03125, 0.0375, 0.04375, 0.05, 0.05]
    assert runner.message_hub.get_scalar('train/inner_lr').current() == 0.05

    # during the warm-up f_w trains by plain regression: its head's own loss
    model.meta_enabled = False
    plain = model.loss(batch['inputs'], batch['data_samples'])
    assert 'inner_objective' not in plain
    own = model.main.head.loss(model.main.extract_feat(batch['inputs']), batch['data_samples'])
    for key, value in own.items():
        torch.testing.assert_close(plain[key], 2.0 * value)
    model.meta_enabled, model.inner_lr = True, 1e-3  # a small step lowers its objective
    meta = model.loss(batch['inputs'], batch['data_samples'])
    # the logged diagnostics: the step lowers its own objective; the meta gain is their gap
    assert meta['inner_objective_after'] < meta['inner_objective']
    outer = sum(v for k, v in meta.items() if k.startswith('loss_'))
    torch.testing.assert_close(meta['meta_gain'], meta['outer_unadapted'] - outer)
    with pytest.raises(TypeError, match='DualNetworkHMR'):
        runner.model = model.main
        hook.before_train_iter(runner, 0)


def test_aux_network_starts_from_its_checkpoint(procedural_body_dir, tmp_path):
    """aux_checkpoint loads f_u (e.g. a trained CLIFF); init_weights leaves it as loaded."""
    trained = MODELS.build(estimator(procedural_body_dir))
    with torch.no_grad():
        for p in trained.parameters():
            p.add_(0.5)
    path = str(tmp_path / 'cliff.pth')
    torch.save(dict(state_dict=trained.state_dict()), path)
    model = MODELS.build(dict(type='DualNetworkHMR', main=estimator(procedural_body_dir),
                              aux_checkpoint=path))
    model.init_weights()
    for name, value in trained.state_dict().items():
        torch.testing.assert_close(model.aux.state_dict()[name], value)
    assert not torch.equal(model.main.head.regressor.dec_cam.weight,
                           trained.head.regressor.dec_cam.weight)


def test_inference_defaults_to_the_reference_schedule(procedural_body_dir, batch):
    """Step 0: the training inner step on the head with the full test-time loss; then up to 14
    Adam steps at 1e-5 of the 2D loss on all parameters, early stop at 2e-5, the last iterate."""
    model = build(procedural_body_dir, True, inner_lr=1e-3, inner_steps=1)
    first, second = model.tto.phases
    assert (first['steps'], first['optimizer'], first['lr'], first['params']) == \
        (1, 'sgd', 1e-3, 'head')
    assert {'keypoints_2d', 'camera_prior', 'pseudo_vertices', 'pseudo_keypoints_3d',
            'pseudo_smpl_pose', 'pseudo_smpl_betas'} <= set(first['loss'].terms)
    assert (second['steps'], second['optimizer'], second['lr'], second['params']) == \
        (14, 'adam', 1e-5, 'all')
    assert set(second['loss'].terms) == {'keypoints_2d'}
    assert model.tto.early_stop_tol == 2e-5 and model.tto.select == 'last'
    samples = copy.deepcopy(batch['data_samples'])
    for s in samples:
        s.gt_instances.det_keypoints_2d = s.gt_instances.keypoints_2d.copy()
        s.gt_instances.det_keypoints_2d_score = s.gt_instances.keypoints_2d_visible.copy()
    before = copy.deepcopy(model.state_dict())
    with torch.no_grad():
        out = model.predict(batch['inputs'], samples)
    steps = [int(s.pred_instances.tto_steps) for s in out]
    assert all(1 <= n <= 15 for n in steps)
    for s in out:  # TTO moved every prediction and lowered its 2D loss
        assert not torch.equal(s.pred_instances.vertices, s.pred_instances_init.vertices)
        assert float(s.pred_instances.tto_loss) < float(s.pred_instances.tto_loss_init)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    # the test-time step 0 adapts what the training inner step adapts; knobs by test_cfg
    model = build(procedural_body_dir, True, adapt='all', test_cfg=dict(
        reference_tto=dict(steps=3, chunk_size=2, record_steps=True)))
    assert model.tto.phases[0]['params'] == 'all' and model.tto.phases[1]['steps'] == 3
    assert model.tto.chunk_size == 2 and model.tto.record_steps
    with pytest.raises(KeyError, match='select'):
        build(procedural_body_dir, True, test_cfg=dict(reference_tto=dict(select='best')))
    # an explicit tto wins (tools/test.py --no-tto writes tto=None)
    assert build(procedural_body_dir, True, test_cfg=dict(tto=None, reference_tto={})).tto is None


def test_ablation_switches(procedural_body_dir, batch):
    """use_aux=False: no f_u, no pseudo-SMPL terms; meta=None: f_w by plain regression."""
    no_aux = build(procedural_body_dir, True, use_aux=False)
    assert no_aux.aux is None and not any(k.startswith('aux.') for k in no_aux.state_dict())
    losses = no_aux.loss(batch['inputs'], batch['data_samples'])
    assert 'inner_objective' in losses and not any(k.startswith('aux_') for k in losses)
    # without a pseudo ground truth the inner objective is the 2D + camera terms alone
    x, samples = batch['inputs'], batch['data_samples']
    head = no_aux.main.head
    pred = head.decode_smpl(head.regress(no_aux.main.extract_feat(x), samples), samples)
    targets = head.targets_from_samples(samples, like=x)
    det = dict(keypoints_2d=targets['keypoints_2d'], score=targets['keypoints_2d_visible'])
    expected = no_aux.inner_loss(pred, det, None, None)['loss']
    with_pseudo = no_aux.inner_loss(pred, det, None, {k: v + 0.1 for k, v in pred.items()})
    assert (with_pseudo['loss'] > expected).all()  # the pseudo terms would add to it
    torch.testing.assert_close(losses['inner_objective'], expected.mean())
    with pytest.raises(ValueError, match='use_aux=False'):
        build(procedural_body_dir, True, use_aux=False, aux_checkpoint='cliff.pth')

    plain = build(procedural_body_dir, True, meta=None)
    assert not plain.meta_enabled
    losses = plain.loss(batch['inputs'], batch['data_samples'])
    assert 'inner_objective' not in losses and any(k.startswith('aux_') for k in losses)
    own = plain.main.head.loss(plain.main.extract_feat(batch['inputs']), batch['data_samples'])
    for key, value in own.items():
        torch.testing.assert_close(losses[key], 2.0 * value)
    from mmhmr.engine.hooks import MetaLearningHook

    class Runner:
        model = plain
    with pytest.raises(ValueError, match='meta=None'):
        MetaLearningHook().before_train_iter(Runner(), 0)


def test_meta_learning_hook_warns_when_the_warm_up_outlasts_the_run(procedural_body_dir,
                                                                    monkeypatch):
    """A schedule shortened with --cfg-options keeps the configured warmup_iters: a run of no
    more iterations than the warm-up says that the meta step never turns on."""
    import mmhmr.engine.hooks.meta_learning_hook as hook_module
    logged = []
    monkeypatch.setattr(hook_module, 'print_log', lambda msg, **kw: logged.append(msg))

    class Runner:
        model = build(procedural_body_dir, True)
        max_iters = 3
    hook = hook_module.MetaLearningHook(warmup_iters=2)
    hook.before_train(Runner())
    assert not logged
    Runner.max_iters = 2
    hook.before_train(Runner())
    assert len(logged) == 1 and 'never turns on' in logged[0]


def test_adapting_the_backbone_needs_frozen_batchnorm(procedural_body_dir, batch):
    model = build(procedural_body_dir, True, adapt='all').train()
    with pytest.raises(RuntimeError, match='norm_eval=True'):
        model.loss(batch['inputs'], batch['data_samples'])
    with pytest.raises(ValueError, match='meta.adapt'):
        build(procedural_body_dir, True, adapt='backbone')
    with pytest.raises(ValueError, match='no neck'):
        MODELS.build(dict(type='DualNetworkHMR', main=estimator(procedural_body_dir),
                          meta=dict(adapt='head+neck')))


def test_frozen_backbone_parameters_stay_shared(procedural_body_dir, batch):
    """adapt='all' with frozen stages: the frozen parameters are neither adapted nor trained,
    the others are."""
    model = build(procedural_body_dir, True, adapt='all')
    frozen = [p for n, p in model.main.backbone.named_parameters() if n.startswith('conv1')]
    for p in frozen:
        p.requires_grad_(False)
    total(model.loss(batch['inputs'], batch['data_samples'])).backward()
    assert all(p.grad is None for p in frozen)
    assert model.main.backbone.layer1[0].conv1.weight.grad is not None
