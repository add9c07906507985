"""Test-time optimization: per sample, batched, batch-independent, never touching the model."""
import copy

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

from mmhmr.models.tto import TestTimeOptimizer as TTO  # not collected as a test class
from mmhmr.models.utils.camera import crop_normalized_to_full
from mmhmr.registry import DATASETS, MODELS

PIPELINE = [dict(type='HMRTopdownAffine', input_size=(64, 64)), dict(type='CLIFFBBoxInfo'),
            dict(type='PackHMRInputs')]


@pytest.fixture(scope='module')
def model(procedural_body_dir):
    init_default_scope('mmhmr')  # module fixtures are set up before the autouse scope fixture
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='HMREstimator',
        data_preprocessor=dict(type='PoseDataPreprocessor', mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
        backbone=dict(type='ResNet', depth=18, base_channels=8, stem_channels=8),
        head=dict(type='CLIFFHead', in_channels=64, hidden_dims=(32, 32), n_iter=3,
                  body_model=dict(type='SMPL', model_path=procedural_body_dir,
                                  joint_set='spin_49'))))
    return model.eval()


@pytest.fixture(scope='module')
def batch(model, procedural_body_dir):
    """33 synthetic samples whose detections are the exact projections of their bodies."""
    ds = DATASETS.build(dict(type='SyntheticHumanDataset', num_samples=33,
                             domain=dict(image_size=(96, 96)),
                             body_model=dict(model_path=procedural_body_dir), pipeline=PIPELINE))
    data = pseudo_collate([ds[i] for i in range(len(ds))])
    for d in data['data_samples']:
        d.gt_instances.det_keypoints_2d = d.gt_instances.keypoints_2d.copy()
        d.gt_instances.det_keypoints_2d_score = d.gt_instances.keypoints_2d_visible.copy()
    return model.data_preprocessor(data, False)


def run(model, batch, idx=None, **cfg):
    """TTO through the estimator's predict(), under no_grad as mmengine's test loop runs it."""
    inputs, samples = batch['inputs'], batch['data_samples']
    if idx is not None:
        inputs, samples = inputs[idx], [samples[i] for i in idx]
    model.tto = TTO(**cfg)
    try:
        with torch.no_grad():
            return model.predict(inputs, copy.deepcopy(samples))
    finally:
        model.tto = None


def field(samples, key, owner='pred_instances'):
    return torch.cat([getattr(s, owner)[key] for s in samples])


def kpt_error_px(samples, owner):
    """Mean distance in px between predicted and detected (= exact) keypoints."""
    pred = field(samples, 'keypoints_2d', owner)
    gt = torch.cat([torch.as_tensor(s.gt_instances.keypoints_2d) for s in samples])
    center = torch.cat([torch.as_tensor(s.gt_instances.bbox_center) for s in samples])
    size = torch.cat([torch.as_tensor(s.gt_instances.bbox_size) for s in samples])
    return (pred - crop_normalized_to_full(gt, center, size)).norm(dim=-1).mean().item()


def test_exact_detections_drive_the_2d_loss_and_error_down(model, batch):
    out = run(model, batch, idx=list(range(8)), steps=30, optimizer='adam', lr=1e-3,
              early_stop_tol=0.)
    before, after = field(out, 'tto_loss_init'), field(out, 'tto_loss')
    assert (after < 0.2 * before).all(), (before, after)
    assert kpt_error_px(out, 'pred_instances') < 0.5 * kpt_error_px(out, 'pred_instances_init')


def test_a_sample_alone_and_in_a_batch_of_33_get_the_same_result(model, batch):
    for cfg in (dict(optimizer='adam', lr=1e-3), dict(optimizer='sgd', lr=1e-2),
                dict(optimizer='adam', lr=1e-4, params='all', steps=3)):
        full = run(model, batch, **cfg)
        alone = run(model, batch, idx=[5], **cfg)
        diff = (field(full, 'vertices')[5] - field(alone, 'vertices')[0]).abs().max().item()
        assert diff < 1e-5, (cfg, diff)
        moved = (field(full, 'vertices') - field(full, 'vertices', 'pred_instances_init'))
        assert moved.abs().max() > 1e-4, cfg  # TTO did something


@pytest.mark.parametrize('tol', [0., 1e-3])
def test_low_rank_sgd_equals_per_sample_copies(model, batch, tol):
    cfg = dict(optimizer='sgd', lr=2e-2, steps=10, early_stop_tol=tol, select='last')
    lowrank = run(model, batch, idx=list(range(6)), per_sample='lowrank', **cfg)
    copies = run(model, batch, idx=list(range(6)), per_sample='copies', **cfg)
    torch.testing.assert_close(field(lowrank, 'vertices'), field(copies, 'vertices'),
                               atol=1e-5, rtol=0)
    assert field(lowrank, 'tto_steps').tolist() == field(copies, 'tto_steps').tolist()
    if tol:  # some samples stop early, others run every step
        steps = field(copies, 'tto_steps').tolist()
        assert min(steps) < 10 and max(steps) == 10, steps


def test_low_rank_with_a_loss_that_ignores_some_outputs(model, batch):
    """Only the camera prior: the last pose / shape decoders reach no loss (no gradient)."""
    loss = dict(type='TestTimeLoss', keypoints_2d=None, camera_prior=dict(
        type='CameraPriorLoss', loss_weight=1.0))
    lowrank = run(model, batch, idx=[0, 1], optimizer='sgd', lr=1e-2, steps=3, loss=loss,
                  early_stop_tol=0., select='last')
    copies = run(model, batch, idx=[0, 1], optimizer='sgd', lr=1e-2, steps=3, loss=loss,
                 early_stop_tol=0., select='last', per_sample='copies')
    torch.testing.assert_close(field(lowrank, 'vertices'), field(copies, 'vertices'),
                               atol=1e-5, rtol=0)


def test_early_stopping_is_per_phase(model, batch):
    """A sample that stalls in a first phase (a tiny SGD step) still takes the second."""
    out = run(model, batch, idx=[0, 1], early_stop_tol=2e-5,
              phases=[dict(steps=3, optimizer='sgd', lr=1e-9),
                      dict(steps=4, optimizer='adam', lr=1e-3)])
    assert all(s >= 1 + 4 for s in field(out, 'tto_steps').tolist())
    assert (field(out, 'tto_loss') < field(out, 'tto_loss_init')).all()


def test_head_and_neck_with_a_neck_that_has_parameters(procedural_body_dir, batch):
    torch.manual_seed(0)
    with_neck = MODELS.build(dict(
        type='HMREstimator',
        backbone=dict(type='ResNet', depth=18, base_channels=8, stem_channels=8),
        neck=dict(type='FPN', in_channels=[64], out_channels=16, num_outs=1),
        head=dict(type='CLIFFHead', in_channels=16, hidden_dims=(32, ), n_iter=2,
                  body_model=dict(type='SMPL', model_path=procedural_body_dir,
                                  joint_set='spin_49')))).eval()
    before = {k: v.clone() for k, v in with_neck.state_dict().items()}
    cfg = dict(optimizer='adam', lr=1e-3, steps=3, params='head+neck', early_stop_tol=0.)
    full = run(with_neck, batch, idx=[0, 1, 2], **cfg)
    alone = run(with_neck, batch, idx=[1], **cfg)
    torch.testing.assert_close(field(full, 'vertices')[1:2], field(alone, 'vertices'),
                               atol=1e-5, rtol=0)
    head_only = run(with_neck, batch, idx=[1], **dict(cfg, params='head'))
    assert (field(alone, 'vertices') - field(head_only, 'vertices')).abs().max() > 1e-6
    assert all(torch.equal(before[k], v) for k, v in with_neck.state_dict().items())


@pytest.mark.parametrize('optimizer', ['adam', 'sgd'])
def test_per_sample_steps_equal_torch_optim_on_a_copy_of_the_head(model, batch, optimizer):
    """The reference: for each sample, a deep copy of the head and a torch.optim optimizer on
    its linear layers, one sample at a time, with the same test-time loss."""
    steps, lr = 6, (1e-3 if optimizer == 'adam' else 2e-2)
    out = run(model, batch, idx=[0, 1, 2], optimizer=optimizer, lr=lr, steps=steps,
              early_stop_tol=0., select='last', per_sample='copies')
    loss_fn = MODELS.build(dict(type='TestTimeLoss'))
    for j, i in enumerate([0, 1, 2]):
        head = copy.deepcopy(model.head)
        linears = [p for m in head.modules() if isinstance(m, torch.nn.Linear)
                   for p in m.parameters()]
        opt = (torch.optim.Adam if optimizer == 'adam' else torch.optim.SGD)(linears, lr=lr)
        inputs, samples = batch['inputs'][i:i + 1], batch['data_samples'][i:i + 1]
        with torch.no_grad():
            feats = model.extract_feat(inputs)
        det = dict(keypoints_2d=torch.as_tensor(samples[0].gt_instances.det_keypoints_2d),
                   score=torch.as_tensor(samples[0].gt_instances.det_keypoints_2d_score))
        for _ in range(steps):
            pred = head.decode_smpl(head.regress(feats, samples), samples)
            opt.zero_grad()
            loss_fn(pred, det)['loss'].sum().backward()
            opt.step()
        with torch.no_grad():
            final = head.decode_smpl(head.regress(feats, samples), samples)['vertices'][0]
        torch.testing.assert_close(out[j].pred_instances.vertices[0], final, atol=1e-5, rtol=0)


def test_model_weights_are_never_changed(model, batch):
    before = {k: v.clone() for k, v in model.state_dict().items()}
    run(model, batch, idx=[0, 1], optimizer='adam', lr=1e-2, params='all', steps=2)
    run(model, batch, idx=[0, 1], optimizer='sgd', lr=1e-2, steps=2)
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(p.grad is None for p in model.parameters())


def test_early_stopping_is_per_sample(model, batch):
    """Sample 0's detections are replaced by its own initial projections (nothing to gain: it
    stops after one step); sample 1 keeps its far-off detections and runs every step, exactly
    as it does alone with early stopping off."""
    first = run(model, batch, idx=[0], steps=0)
    samples = copy.deepcopy(batch['data_samples'][:2])
    pred0 = first[0].pred_instances
    center = torch.as_tensor(samples[0].gt_instances.bbox_center)
    size = torch.as_tensor(samples[0].gt_instances.bbox_size)
    crop = (pred0.keypoints_2d - center[:, None]) / (size[:, None, None] / 2)
    samples[0].gt_instances.det_keypoints_2d = crop.numpy()
    local = dict(inputs=batch['inputs'][:2], data_samples=samples)
    cfg = dict(optimizer='sgd', lr=1e-2, steps=8)  # sample 1's loss moves by ~1e-3 a step
    out = run(model, local, early_stop_tol=1e-6, **cfg)
    steps = field(out, 'tto_steps').tolist()
    assert steps[0] <= 1 and steps[1] == 8, steps
    free = run(model, local, idx=[1], early_stop_tol=0., **cfg)
    torch.testing.assert_close(out[1].pred_instances.vertices, free[0].pred_instances.vertices,
                               atol=1e-6, rtol=0)


def test_best_never_ends_above_the_start_and_last_can(model, batch):
    cfg = dict(optimizer='sgd', lr=5., steps=5, early_stop_tol=0.)  # diverges (to inf / NaN)
    last = run(model, batch, idx=[0, 1, 2], select='last', **cfg)
    best = run(model, batch, idx=[0, 1, 2], select='best', **cfg)
    assert not (field(last, 'tto_loss') <= field(last, 'tto_loss_init')).all()
    assert (field(best, 'tto_loss') <= field(best, 'tto_loss_init')).all()
    assert torch.isfinite(field(best, 'vertices')).all()


def test_recorded_steps_chunks_and_phases(model, batch):
    idx = list(range(5))
    cfg = dict(phases=[dict(steps=1, optimizer='sgd', lr=1e-2),
                       dict(steps=3, optimizer='adam', lr=1e-3, params='all')],
               record_steps=True, early_stop_tol=0.)
    whole = run(model, batch, idx=idx, **cfg)
    chunked = run(model, batch, idx=idx, chunk_size=2, **cfg)
    steps = field(whole, 'vertices_steps')
    assert steps.shape == (5, 5, 6890, 3)  # the initial prediction + 1 + 3 steps
    torch.testing.assert_close(steps[:, 0], field(whole, 'vertices', 'pred_instances_init'))
    torch.testing.assert_close(field(whole, 'vertices'), field(chunked, 'vertices'),
                               atol=1e-5, rtol=0)
    assert field(whole, 'tto_loss_steps').shape == (5, 5)


def test_clear_errors(model, batch):
    samples = copy.deepcopy(batch['data_samples'][:1])
    del samples[0].gt_instances.det_keypoints_2d
    model.tto = TTO()
    with pytest.raises(KeyError, match='det_keypoints'), torch.no_grad():
        model.predict(batch['inputs'][:1], samples)
    model.train()
    with pytest.raises(RuntimeError, match='eval'):
        model.predict(batch['inputs'][:1], copy.deepcopy(batch['data_samples'][:1]))
    model.eval()
    model.tto = None
    with pytest.raises(ValueError, match='lowrank'):
        TTO(optimizer='adam', per_sample='lowrank')
    with pytest.raises(ValueError, match='params'):
        TTO(params='backbone')
    with pytest.raises(KeyError, match='unknown keys'):
        TTO(phases=[dict(stpes=3)])


def test_test_time_loss_terms_by_hand():
    loss = MODELS.build(dict(type='TestTimeLoss', proximity_betas=dict(type='SMPLBetasLoss',
                                                                        loss_weight=2.)))
    b, k = 2, 49
    pred = dict(keypoints_2d_crop=torch.zeros(b, k, 2), pred_cam=torch.tensor([[0.1, 0, 0]] * b),
                smpl_betas=torch.ones(b, 10), smpl_pose=torch.eye(3).expand(b, 24, 3, 3),
                vertices=torch.zeros(b, 6890, 3), keypoints_3d=torch.zeros(b, k, 3))
    det = dict(keypoints_2d=torch.ones(b, k, 2), score=torch.zeros(b, k))
    det['score'][0, :10] = 1.  # sample 0: 10 joints at distance^2 2 -> mean over 2 coords: 1
    init = dict(smpl_betas=torch.zeros(b, 10))
    out = loss(pred, det, init)
    torch.testing.assert_close(out['loss_keypoints_2d'], torch.tensor([5., 0.]))
    prior = float(np.exp(-10 * 0.1) ** 2)
    torch.testing.assert_close(out['loss_camera_prior'], torch.tensor([prior, prior]))
    torch.testing.assert_close(out['loss_proximity_betas'], torch.tensor([2., 2.]))
    assert not any(k.startswith('loss_pseudo') for k in out)  # no pseudo ground truth given
    torch.testing.assert_close(out['loss'], torch.tensor([5. + prior + 2., prior + 2.]))
    pseudo = dict(vertices=torch.ones(b, 6890, 3), keypoints_3d=torch.zeros(b, k, 3),
                  smpl_pose=torch.eye(3).expand(b, 24, 3, 3), smpl_betas=torch.ones(b, 10),
                  valid=torch.tensor([1., 0.]))
    out = loss(pred, det, init, pseudo)
    torch.testing.assert_close(out['loss_pseudo_vertices'], torch.tensor([0.5, 0.]))


def test_a_selection_loss_that_reads_the_mesh(model, batch):
    """The mesh is skinned at every step when any loss, the selection loss included, reads it;
    with the pseudo ground truth set to the initial prediction, 'best' by that loss keeps it."""
    inputs, samples = batch['inputs'][:2], copy.deepcopy(batch['data_samples'][:2])
    with torch.no_grad():
        feats = model.extract_feat(inputs)
        pseudo = model.head.decode_smpl(model.head.regress(feats, samples), samples)
    tto = TTO(steps=3, optimizer='adam', lr=1e-2, early_stop_tol=0.,
              loss=dict(type='TestTimeLoss', pseudo_vertices=None),
              select_loss=dict(type='TestTimeLoss', keypoints_2d=None, camera_prior=None,
                               pseudo_keypoints_3d=None, pseudo_smpl_pose=None,
                               pseudo_smpl_betas=None))
    with torch.no_grad():
        result = tto.run(model, inputs, samples, pseudo=pseudo)
    # the selection loss is the vertex distance to the start: the start is the best iterate
    torch.testing.assert_close(result.final['vertices'], pseudo['vertices'], atol=1e-6, rtol=0)
    assert (result.loss_final < 1e-6).all() and (result.loss_final <= result.loss_init).all()
