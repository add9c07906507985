"""GlobalToPixelHead: an untrained stage 2 returns stage 1 exactly, anchors are the stage-1
joints in the crop, both stages' losses train, and TTO and the dual network use it unchanged."""
import copy

import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

from mmhmr.registry import DATASETS, MODELS

PIPELINE = [dict(type='HMRTopdownAffine', input_size=(64, 64)), dict(type='CLIFFBBoxInfo'),
            dict(type='PackHMRInputs')]
PREPROCESSOR = dict(type='PoseDataPreprocessor', mean=[123.675, 116.28, 103.53],
                    std=[58.395, 57.12, 57.375], bgr_to_rgb=True)


def estimator(body_dir, **head):
    return dict(
        type='HMREstimator',
        backbone=dict(type='ResNet', depth=18, base_channels=8, stem_channels=8,
                      out_indices=(0, 1, 2, 3)),
        head=dict(type='GlobalToPixelHead', in_channels=64, hidden_dims=(16, ), n_iter=2,
                  dropout=0.,
                  encoder=dict(type='DeformableKeypointEncoder', in_channels=[8, 16, 32, 64],
                               embed_dims=16, num_heads=2, num_points=2),
                  body_model=dict(type='SMPL', model_path=body_dir, joint_set='spin_49'),
                  **head),
        data_preprocessor=PREPROCESSOR)


@pytest.fixture(scope='module')
def batch(procedural_body_dir):
    init_default_scope('mmhmr')
    ds = DATASETS.build(dict(type='SyntheticHumanDataset', num_samples=3,
                             domain=dict(image_size=(96, 96)),
                             body_model=dict(model_path=procedural_body_dir), pipeline=PIPELINE))
    model = MODELS.build(estimator(procedural_body_dir))
    data = model.data_preprocessor(pseudo_collate([ds[i] for i in range(3)]), False)
    for s in data['data_samples']:  # detections for TTO: the exact joints
        s.gt_instances.det_keypoints_2d = s.gt_instances.keypoints_2d.copy()
        s.gt_instances.det_keypoints_2d_score = s.gt_instances.keypoints_2d_visible.copy()
    return data


def build(body_dir, **head):
    torch.manual_seed(0)
    return MODELS.build(estimator(body_dir, **head)).eval()


def randomise_decoders(head):
    with torch.no_grad():
        for dec in (head.dec_pose_local, head.dec_betas_local, head.dec_cam_local):
            dec.weight.normal_(0, 0.05)


def test_untrained_stage_2_returns_stage_1_and_carries_it(procedural_body_dir, batch):
    model = build(procedural_body_dir, n_refine=2)
    model.init_weights()  # keeps the residual decoders at zero
    x, samples = batch['inputs'], batch['data_samples']
    pred = model.head.decode_smpl(model.head.regress(model.extract_feat(x), samples), samples)
    for field in ('smpl_pose', 'smpl_betas', 'pred_cam', 'vertices', 'keypoints_3d'):
        assert torch.equal(pred[field], pred['stage1_' + field]), field
    randomise_decoders(model.head)
    pred = model.head.decode_smpl(model.head.regress(model.extract_feat(x), samples), samples)
    assert not torch.allclose(pred['smpl_pose'], pred['stage1_smpl_pose'])
    out = model.predict(x, copy.deepcopy(samples))
    assert out[0].pred_instances.stage1_vertices.shape == (1, 6890, 3)


def test_without_residual_stage_2_starts_from_the_mean(procedural_body_dir, batch):
    model = build(procedural_body_dir, residual=False)
    x, samples = batch['inputs'], batch['data_samples']
    params = model.head.regress(model.extract_feat(x), samples)
    reg = model.head.regressor
    torch.testing.assert_close(params['betas'], reg.init_betas.expand(3, -1))
    torch.testing.assert_close(params['pred_cam'], reg.init_cam.expand(3, -1))
    assert not torch.allclose(params['betas'], params['stage1_betas'])


def test_anchors_are_the_stage_1_joints_in_the_crop(procedural_body_dir, batch):
    """Checked against the full-image projection: the crop covers input_scale (w, h) around
    input_center, so a full-image point p sits at 2 (p - input_center) / input_scale."""
    from mmhmr.models.body_models.joint_sets import J49_TO_J24
    model = build(procedural_body_dir)
    x, samples = batch['inputs'], batch['data_samples']
    params = model.head.regressor(torch.cat([
        model.extract_feat(x)[-1].mean((2, 3)),
        torch.cat([torch.as_tensor(s.gt_instances.bbox_info) for s in samples])], 1))
    anchors = model.head.anchors(params, samples)
    full = model.head.decode_smpl(params, samples)['keypoints_2d'][:, list(J49_TO_J24)]
    center = torch.stack([torch.as_tensor(s.metainfo['input_center']) for s in samples])
    scale = torch.stack([torch.as_tensor(s.metainfo['input_scale']) for s in samples])
    torch.testing.assert_close(anchors, 2 * (full - center[:, None]) / scale[:, None],
                               rtol=1e-4, atol=1e-5)


def test_both_stages_losses_train_the_encoder_and_the_regressor(procedural_body_dir, batch):
    model = build(procedural_body_dir, global_weight=0.5).train()
    randomise_decoders(model.head)
    losses = model.loss(batch['inputs'], batch['data_samples'])
    assert {'loss_keypoints_2d', 'loss_global_keypoints_2d', 'loss_vertices',
            'loss_global_vertices'} <= set(losses)
    sum(losses.values()).backward()
    head = model.head
    assert head.encoder.sampling_offsets.weight.grad.abs().sum() > 0
    assert head.regressor.dec_pose.weight.grad.abs().sum() > 0
    assert head.dec_pose_local.weight.grad.abs().sum() > 0


def test_stage_1_mesh_loss_reads_every_stride_th_vertex_in_training(procedural_body_dir,
                                                                   batch):
    """Training mode: stage 1's mesh is vertices 0, s, 2s, ... of the whole mesh, and its
    vertex loss is the mean L1 over those (VertexLoss x 0.5, x global_weight 0.5, written out
    here); eval mode: the whole mesh."""
    from mmhmr.models.utils.rotation import axis_angle_to_matrix
    model = build(procedural_body_dir, stage1_vertex_stride=5).train()
    head, samples = model.head, batch['data_samples']
    params = head.regress(model.extract_feat(batch['inputs']), samples)
    sparse = head.decode_smpl(params, samples)
    model.eval()
    whole = head.decode_smpl(params, samples)
    assert whole['stage1_vertices'].shape == (3, 6890, 3)
    assert sparse['stage1_vertices'].shape == (3, 1378, 3)  # ceil(6890 / 5)
    torch.testing.assert_close(sparse['stage1_vertices'], whole['stage1_vertices'][:, ::5],
                               atol=1e-6, rtol=0)
    assert torch.equal(sparse['vertices'], whole['vertices'])
    model.train()
    losses = head.loss_by_pred(sparse, samples)
    betas = torch.cat([torch.as_tensor(s.gt_instances.smpl_betas) for s in samples]).float()
    pose = torch.cat([torch.as_tensor(s.gt_instances.smpl_pose) for s in samples]).float()
    gt = head.body_model(betas, axis_angle_to_matrix(pose.reshape(-1, 24, 3)))['vertices']
    has = torch.cat([torch.as_tensor(s.gt_instances.has_smpl) for s in samples]).float()
    per_sample = (sparse['stage1_vertices'] - gt[:, ::5]).abs().mean((1, 2)) * has
    expected = 0.5 * 0.5 * per_sample.sum() / has.sum().clamp(min=1)
    torch.testing.assert_close(losses['loss_global_vertices'], expected, rtol=1e-5, atol=1e-7)


def test_tto_adapts_the_head_per_sample(procedural_body_dir, batch):
    model = build(procedural_body_dir)
    randomise_decoders(model.head)
    model.tto = MODELS.build(dict(type='TestTimeOptimizer', steps=3, optimizer='sgd', lr=1e-3,
                                  early_stop_tol=0.))
    x, samples = batch['inputs'], batch['data_samples']
    with torch.no_grad():
        full = model.predict(x, copy.deepcopy(samples))
        alone = model.predict(x[1:2], copy.deepcopy(samples[1:2]))
    torch.testing.assert_close(full[1].pred_instances.vertices, alone[0].pred_instances.vertices,
                               rtol=1e-4, atol=1e-5)
    assert all(float(s.pred_instances.tto_loss) < float(s.pred_instances.tto_loss_init)
               for s in full)
    # TTO fits and returns the final estimate: no stage-1 fields in what it kept
    assert not any(k.startswith('stage1_') for k in full[0].pred_instances.keys())
    # its steps decode the fitted estimate alone: the anchors' joints and the final mesh, no
    # stage 1 (which its loss does not read), also when the loss reads vertices
    from mmhmr.models.tto import PerSampleEstimator
    state = PerSampleEstimator(model, 3)
    calls = count_body_model_passes(model.head)
    pred = state(x, samples, vertices=True, estimate_only=True)
    assert calls == [False, True] and not any(k.startswith('stage1_') for k in pred)
    calls.clear()
    assert 'stage1_vertices' in state(x, samples) and calls == [False, True, True]


@pytest.mark.parametrize('first_order', [True, False])
def test_trains_inside_the_dual_network(procedural_body_dir, batch, first_order):
    torch.manual_seed(0)
    main = estimator(procedural_body_dir)
    main.pop('data_preprocessor')
    model = MODELS.build(dict(
        type='DualNetworkHMR', main=main,
        meta=dict(inner_lr=1e-3, inner_steps=1, first_order=first_order),
        data_preprocessor=PREPROCESSOR, test_cfg=dict(tto=None))).eval()
    randomise_decoders(model.main.head)
    losses = model.loss(batch['inputs'], batch['data_samples'])
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total) and 'loss_global_keypoints_2d' in losses
    total.backward()
    assert model.main.head.encoder.sampling_offsets.weight.grad.abs().sum() > 0
    assert model.aux.head.dec_pose_local.weight.grad.abs().sum() > 0
    # second order keeps the twice-differentiable sampling on every device
    assert model.main.head.encoder.second_order == (not first_order)


def test_dense_branch_decodes_and_its_losses_vanish_on_a_perfect_prediction():
    from mmhmr.models.heads import DenseKeypointBranch
    init_default_scope('mmhmr')
    branch = DenseKeypointBranch(2, in_channels=4, feat_channels=4).double()
    feats = [torch.randn(1, 4, 3, 4, dtype=torch.float64)]
    dense = branch(feats)
    assert dense['scores'].shape == (1, 2, 12) and dense['keypoints'].shape == (1, 2, 12, 2)
    # offsets start at zero: every pixel points at its own centre
    torch.testing.assert_close(dense['keypoints'][0, 0], branch.centres(3, 4, feats[0]))
    scores = torch.full((1, 2, 12), -5., dtype=torch.float64)
    scores[0, 0, 7], scores[0, 1, 2] = 3., 2.
    dense = dict(scores=scores, keypoints=dense['keypoints'])
    torch.testing.assert_close(branch.decode(dense), branch.centres(3, 4, scores)[[7, 2]][None])
    # the ground truth at pixel centres 7 and 2, predicted there: zero offset loss
    gt = branch.centres(3, 4, scores)[[7, 2]][None]
    losses = branch.loss(dense, gt, torch.ones(1, 2))
    assert losses['loss_dense_offset'].item() == pytest.approx(0., abs=1e-12)
    assert losses['loss_dense_cls'].item() > 0
    # an invisible keypoint has no positive, so no offset loss from it
    far = gt.clone()
    far[0, 1] += 5.
    losses = branch.loss(dense, far, torch.tensor([[1., 0.]]))
    assert losses['loss_dense_offset'].item() == pytest.approx(0., abs=1e-12)


@pytest.mark.parametrize('assigner', ['DynamicMatchingAssigner', 'FixedRadiusAssigner'])
def test_dense_anchors_and_losses_in_the_head(procedural_body_dir, batch, assigner):
    model = build(procedural_body_dir, anchors='dense',
                  dense=dict(in_channels=8, feat_channels=8, assigner=dict(type=assigner)))
    model.train()
    losses = model.loss(batch['inputs'], batch['data_samples'])
    assert {'loss_dense_cls', 'loss_dense_offset', 'loss_global_vertices'} <= set(losses)
    sum(losses.values()).backward()
    assert model.head.dense.cls.weight.grad.abs().sum() > 0
    assert model.head.dense.offset.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='dense branch'):
        build(procedural_body_dir, anchors='dense')


def count_body_model_passes(head):
    calls = []
    head.body_model.register_forward_hook(
        lambda module, args, kwargs, out: calls.append(kwargs.get('vertices', True)),
        with_kwargs=True)
    return calls


def test_body_model_passes_are_the_ones_read(procedural_body_dir, batch):
    """Training: stage 1 is decoded once, for the anchors and its losses (every stride-th
    vertex), then the final estimate: two passes, and the anchors are the joints that a
    separate joints-only decode gives. Without stage-1 losses (global_weight=0) only stage
    1's joints are decoded, for the anchors. In eval mode stage 1 is decoded for the
    prediction too, as asked (joints only with vertices=False)."""
    model = build(procedural_body_dir, stage1_vertex_stride=5).train()
    head, samples = model.head, batch['data_samples']
    feats = model.extract_feat(batch['inputs'])
    calls = count_body_model_passes(head)
    params = head.regress(feats, samples)
    pred = head.decode_smpl(params, samples)
    assert calls == [head.stage1_vertex_ids, True]
    assert pred['stage1_vertices'].shape == (3, 1378, 3)
    stage1 = {k[len('stage1_'):]: params[k] for k in ('stage1_pose_6d', 'stage1_betas',
                                                      'stage1_pred_cam')}
    torch.testing.assert_close(head.anchors(stage1, samples),
                               head._crop_anchors(pred['stage1_keypoints_2d_crop'], samples),
                               rtol=1e-5, atol=1e-6)
    head.global_weight = 0.
    calls.clear()
    pred = head.decode_smpl(head.regress(feats, samples), samples)
    assert calls == [False, True] and 'stage1_vertices' not in pred
    assert 'loss_global_vertices' not in head.loss_by_pred(pred, samples)
    model.eval()
    calls.clear()
    pred = head.decode_smpl(head.regress(feats, samples), samples, vertices=False)
    assert calls == [False, False, False] and 'stage1_keypoints_3d' in pred


def test_the_stage_1_cache_serves_only_its_own_parameters(procedural_body_dir, batch):
    """regress()'s stage-1 decode is reused by decode_smpl only for the stage-1 parameters it
    decoded: with other stage-1 parameters (edited between the calls), stage 1 is decoded
    again and its fields are theirs."""
    model = build(procedural_body_dir).train()
    head, samples = model.head, batch['data_samples']
    params = head.regress(model.extract_feat(batch['inputs']), samples)
    calls = count_body_model_passes(head)
    head.decode_smpl(params, samples)
    assert calls == [True]  # the final estimate only: stage 1 came from the cache
    edited = dict(params, stage1_betas=params['stage1_betas'] + 0.5)
    calls.clear()
    pred = head.decode_smpl(edited, samples)
    assert calls == [True, head.stage1_vertex_ids]
    assert torch.equal(pred['stage1_smpl_betas'], edited['stage1_betas'])
