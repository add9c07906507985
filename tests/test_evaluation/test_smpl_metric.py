"""SMPLMetric on both protocols, with the random SMPL-format models of tests/conftest.py.

Expected values are worked out here with numpy from the regressor file and the joint maps:
joints are linear in the vertices (regressor rows sum to 1), so a similarity transform of the
mesh moves the joints the same way.
"""
import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from mmhmr.evaluation import SMPLMetric
from mmhmr.models.body_models import SMPL
from mmhmr.models.body_models.joint_sets import H36M_TO_J14
from mmhmr.registry import METRICS

K = 49


@pytest.fixture(scope='module')
def model_dir(random_smpl_dir):
    return str(random_smpl_dir)


@pytest.fixture(scope='module')
def h36m_regressor(random_smpl_dir):
    return np.load(random_smpl_dir / 'J_regressor_h36m.npy').astype(np.float64)


@pytest.fixture(scope='module')
def metric_3dpw(model_dir):
    return METRICS.build(
        dict(type='SMPLMetric', protocol='3dpw',
             body_model=dict(type='GenderedSMPL', model_path=model_dir, joint_set='h36m_17')))


@pytest.fixture(scope='module')
def metric_h36m(model_dir):
    return SMPLMetric(
        body_model=dict(type='GenderedSMPL', model_path=model_dir, joint_set='h36m_17'),
        protocol='h36m', prefix='h36m-p2')


@pytest.fixture(scope='module')
def posed(model_dir):
    """Vertices of 4 random bodies posed by each gender's model, float64 numpy."""
    g = torch.Generator().manual_seed(3)
    betas, pose = torch.randn(4, 10, generator=g), 0.3 * torch.randn(4, 72, generator=g)
    out = {'betas': betas, 'pose': pose}
    for gender in ('neutral', 'male', 'female'):
        model = SMPL(model_dir, gender=gender, joint_set='smpl_24')
        out[gender] = model(betas, pose)['vertices'].double().numpy()
    return out


def make_sample(vertices, betas=None, pose=None, gender=0, has_smpl=1.0, keypoints_3d=None,
                keypoints_3d_visible=None, pred_kp2d=None, gt_kp2d_crop=None,
                kp2d_visible=None, center=(320.0, 240.0), size=200.0):
    """A data sample as mmengine hands it to ``process()`` (nested dicts of tensors)."""
    f32 = lambda a, shape: torch.as_tensor(np.asarray(a, np.float32)).reshape(shape)  # noqa
    pred = dict(vertices=f32(vertices, (1, 6890, 3)))
    gt = dict(
        smpl_pose=f32(np.zeros(72) if pose is None else pose, (1, 72)),
        smpl_betas=f32(np.zeros(10) if betas is None else betas, (1, 10)),
        gender=torch.tensor([gender], dtype=torch.long),
        has_smpl=f32(has_smpl, (1, )),
        keypoints_3d=f32(np.zeros((K, 3)) if keypoints_3d is None else keypoints_3d, (1, K, 3)),
        keypoints_3d_visible=f32(
            np.ones(K) if keypoints_3d_visible is None else keypoints_3d_visible, (1, K)),
        bbox_center=f32(center, (1, 2)),
        bbox_size=f32(size, (1, )))
    if pred_kp2d is not None:
        pred['keypoints_2d'] = f32(pred_kp2d, (1, K, 2))
        gt['keypoints_2d'] = f32(gt_kp2d_crop, (1, K, 2))
        gt['keypoints_2d_visible'] = f32(kp2d_visible, (1, K))
    return dict(pred_instances=pred, gt_instances=gt)


def similarity(points, rotvec, scale, transl):
    rot = Rotation.from_rotvec(rotvec).as_matrix()
    return scale * points @ rot.T + np.asarray(transl)


def lsp_joints(vertices, regressor):
    """(14, 3) LSP joints minus the H36M pelvis, and the pelvis."""
    h36m = regressor @ vertices
    return h36m[list(H36M_TO_J14)] - h36m[0], h36m[0]


def fresh(metric):
    metric.results.clear()
    return metric


def test_3dpw_similarity_of_the_gt_mesh(metric_3dpw, posed, h36m_regressor):
    """pred = s R (gt mesh) + t, GT posed by the female / male model: PA-MPJPE 0, MPJPE and
    PVE as computed here by hand."""
    metric = fresh(metric_3dpw)
    samples, expected = [], []
    transforms = [([0.2, -0.1, 0.3], 1.1, [0.5, 0.2, 3.0]), ([0.0, 0.4, 0.0], 0.9, [0, 0, 0]),
                  ([0.0, 0.0, 0.0], 1.0, [1.0, -2.0, 5.0])]
    for i, (gender_code, gender) in enumerate(((2, 'female'), (1, 'male'), (0, 'neutral'))):
        gt_vertices = posed[gender][i]
        pred_vertices = similarity(gt_vertices, *transforms[i])
        samples.append(make_sample(pred_vertices, posed['betas'][i], posed['pose'][i],
                                   gender=gender_code))
        gt_joints, gt_pelvis = lsp_joints(gt_vertices, h36m_regressor)
        pred_joints, pred_pelvis = lsp_joints(pred_vertices, h36m_regressor)
        expected.append(
            (np.linalg.norm(pred_joints - gt_joints, axis=-1).mean() * 1000,
             np.linalg.norm((pred_vertices - pred_pelvis) - (gt_vertices - gt_pelvis),
                            axis=-1).mean() * 1000))
    metric.process([], samples)
    assert len(metric.results) == 3
    for result, (exp_mpjpe, exp_pve) in zip(metric.results, expected):
        assert result['pa_mpjpe'] == pytest.approx(0.0, abs=1e-3)  # float32 meshes
        assert result['mpjpe'] == pytest.approx(exp_mpjpe, abs=1e-3)
        assert result['pve'] == pytest.approx(exp_pve, abs=1e-3)
    # the pure translation (third sample) is removed by the pelvis alignment
    assert expected[2] == pytest.approx((0.0, 0.0), abs=1e-3)  # float32 regressor rows
    assert metric.results[2]['mpjpe'] == pytest.approx(0.0, abs=1e-3)
    assert expected[0][0] > 10 and expected[1][1] > 10  # the others are not trivially 0
    metrics = metric.compute_metrics(metric.results)
    assert set(metrics) == {'MPJPE', 'PA-MPJPE', 'PVE', 'nonfinite'}
    assert metrics['nonfinite'] == 0
    assert metrics['MPJPE'] == pytest.approx(np.mean([e[0] for e in expected]), abs=1e-3)
    assert metrics['PVE'] == pytest.approx(np.mean([e[1] for e in expected]), abs=1e-3)


def test_3dpw_gt_uses_the_sample_gender(metric_3dpw, posed):
    """The same pose and shape posed by the female model is the female GT, not the male one."""
    metric = fresh(metric_3dpw)
    female = posed['female'][0]
    metric.process([], [
        make_sample(female, posed['betas'][0], posed['pose'][0], gender=2),
        make_sample(female, posed['betas'][0], posed['pose'][0], gender=1),
    ])
    right, wrong = metric.results
    assert right['pve'] == pytest.approx(0.0, abs=1e-3)
    assert right['mpjpe'] == pytest.approx(0.0, abs=1e-3)
    pelvis_free_gap = np.abs(posed['female'][0] - posed['male'][0]).mean() * 1000
    assert pelvis_free_gap > 1 and wrong['pve'] > 1  # the models differ, and so do the errors


def test_3dpw_samples_without_smpl_are_left_out(metric_3dpw, posed):
    metric = fresh(metric_3dpw)
    good = make_sample(posed['neutral'][0], posed['betas'][0], posed['pose'][0])
    bad = make_sample(posed['neutral'][0] + 0.5, has_smpl=0.0)  # GT pose zeros, not GT
    metric.process([], [good, bad])
    assert np.isnan(metric.results[1]['mpjpe']) and np.isnan(metric.results[1]['pve'])
    metrics = metric.compute_metrics(metric.results)
    assert metrics['MPJPE'] == pytest.approx(0.0, abs=1e-3)


def test_two_ranks_give_the_same_metrics(metric_3dpw, model_dir, posed):
    """Results of two metric instances (two "ranks"), merged, equal one instance's."""
    samples = [
        make_sample(similarity(posed['male'][i], [0.1 * i, 0.2, 0.0], 1.0 + 0.05 * i, [0, 0, 2]),
                    posed['betas'][i], posed['pose'][i], gender=1) for i in range(4)
    ]
    single = fresh(metric_3dpw)
    single.process([], samples[:3])
    single.process([], samples[3:])
    whole = single.compute_metrics(list(single.results))
    ranks = [
        SMPLMetric(dict(type='GenderedSMPL', model_path=model_dir, joint_set='h36m_17'))
        for _ in range(2)
    ]
    ranks[0].process([], samples[0::2])  # a distributed sampler deals samples out in turn
    ranks[1].process([], samples[1::2])
    merged = [r for pair in zip(ranks[0].results, ranks[1].results) for r in pair]
    # one small entry per sample, in dataset order (float32 body-model outputs may differ in
    # the last bits with the batch composition)
    assert len(merged) == len(single.results) == 4
    for got, want in zip(merged, single.results):
        assert got.keys() == want.keys()
        assert got == pytest.approx(want, abs=1e-4)
    assert ranks[0].compute_metrics(merged) == pytest.approx(whole, abs=1e-4)
    # the entries are plain floats and the sample's short name, cheap to gather
    assert all(isinstance(v, float) for r in merged for k, v in r.items() if k != 'sample')
    assert all(isinstance(r['sample'], str) for r in merged)


# SPIN's evaluation joints among its 24 (constants.J24_TO_J14 = J24_TO_J17[:14]), typed in by
# hand from SPIN's constants.py: the 12 LSP limb joints, the LSP neck, then 18 "Head (H36M)".
SPIN_J24_TO_J14 = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 18]
SPIN_J24_TO_J17 = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 18, 14, 16, 17]


def test_h36m_evaluation_joints_are_spins():
    from mmhmr.models.body_models.joint_sets import J24_TO_J14, J24_TO_J17, SPIN_24_NAMES
    assert list(J24_TO_J14) == SPIN_J24_TO_J14 and list(J24_TO_J17) == SPIN_J24_TO_J17
    assert SPIN_24_NAMES[18] == 'head_h36m' and SPIN_24_NAMES[13] == 'head_top_lsp'


def spin_24_keypoints(gt_14):
    """(49, 3) GT keypoints holding ``gt_14`` in SPIN's 14 evaluation slots; the others,
    among them the LSP head top (empty in SPIN's H36M files), hold far-off values."""
    keypoints = np.full((K, 3), 99.0)
    keypoints[[25 + j for j in SPIN_J24_TO_J14]] = gt_14
    return keypoints


def _h36m_gt(pred_vertices, regressor, offsets, camera_shift):
    """GT keypoints (49, 3) whose 14 SPIN evaluation joints are the prediction's LSP joints
    plus ``offsets`` (14, 3), moved to the camera frame; the expected per-joint errors."""
    pred_joints, _ = lsp_joints(pred_vertices, regressor)
    gt_14 = pred_joints + offsets + camera_shift
    keypoints = spin_24_keypoints(gt_14)  # joints outside the 14 are not used
    # the metric centres the GT on the hips' mid-point: errors relative to that
    hip_mid = (gt_14[2] + gt_14[3]) / 2
    per_joint = np.linalg.norm(pred_joints - (gt_14 - hip_mid), axis=-1)
    return keypoints, per_joint


def test_h36m_known_per_joint_errors_and_masking(metric_h36m, posed, h36m_regressor):
    metric = fresh(metric_h36m)
    vertices = posed['neutral'][1]
    offsets = np.zeros((14, 3))
    offsets[0] = [0.03, 0.0, 0.0]  # right ankle 30 mm off
    offsets[9] = [0.0, -0.04, 0.0]  # left shoulder 40 mm off
    offsets[5] = [5.0, 5.0, 5.0]  # left ankle far off, but invisible
    offsets[13] = [0.0, 0.0, 0.05]  # the H36M head 50 mm off: it counts
    keypoints, per_joint = _h36m_gt(vertices, h36m_regressor, offsets, [0.2, 0.1, 4.0])
    visible = np.ones(K)
    visible[25 + 5] = 0
    metric.process([], [make_sample(vertices, keypoints_3d=keypoints,
                                    keypoints_3d_visible=visible)])
    expected = np.delete(per_joint, 5).mean() * 1000
    assert metric.results[0]['mpjpe'] == pytest.approx(expected, abs=1e-3)
    assert 'pve' not in metric.results[0]
    metrics = metric.evaluate(1)  # also checks the prefix
    assert set(metrics) == {'h36m-p2/MPJPE', 'h36m-p2/PA-MPJPE', 'h36m-p2/nonfinite'}
    assert metrics['h36m-p2/MPJPE'] == pytest.approx(expected, abs=1e-3)


def test_h36m_similarity_copy_and_missing_hips(metric_h36m, posed, h36m_regressor):
    """GT = s R (pred joints) + t: PA-MPJPE 0; with invisible hips no MPJPE."""
    metric = fresh(metric_h36m)
    vertices = posed['neutral'][2]
    pred_joints, _ = lsp_joints(vertices, h36m_regressor)
    gt_14 = similarity(pred_joints, [0.3, -0.2, 0.1], 1.2, [0.0, 0.3, 5.0])
    keypoints = spin_24_keypoints(gt_14)
    no_hips = np.ones(K)
    no_hips[25 + 2] = 0
    metric.process([], [
        make_sample(vertices, keypoints_3d=keypoints),
        make_sample(vertices, keypoints_3d=keypoints, keypoints_3d_visible=no_hips)
    ])
    first, second = metric.results
    hip_mid = (gt_14[2] + gt_14[3]) / 2
    expected = np.linalg.norm(pred_joints - (gt_14 - hip_mid), axis=-1).mean() * 1000
    assert first['mpjpe'] == pytest.approx(expected, abs=1e-3) and expected > 20
    assert first['pa_mpjpe'] == pytest.approx(0.0, abs=1e-3)
    assert np.isnan(second['mpjpe']) and second['pa_mpjpe'] == pytest.approx(0.0, abs=1e-3)


def test_keypoint_2d_error_in_pixels(metric_h36m, posed):
    metric = fresh(metric_h36m)
    rng = np.random.default_rng(0)
    center, size = np.array([400.0, 300.0]), 250.0
    crop = rng.uniform(-1, 1, (K, 2))
    gt_px = center + crop * size / 2
    pred_px = gt_px + np.array([3.0, 4.0])  # 5 px off everywhere ...
    visible = np.ones(K)
    visible[:10] = 0
    pred_px[:10] += 1000.0  # ... except at invisible keypoints
    pred_px[10] += np.array([0.0, 10.0])  # one keypoint further off: |(3, 14)|
    metric.process([], [
        make_sample(posed['neutral'][0], pred_kp2d=pred_px, gt_kp2d_crop=crop,
                    kp2d_visible=visible, center=center, size=size)
    ])
    expected = (38 * 5.0 + np.hypot(3.0, 14.0)) / 39
    assert metric.results[0]['kpt2d_err'] == pytest.approx(expected, abs=1e-3)
    assert metric.compute_metrics(metric.results)['kpt2d_err'] == pytest.approx(
        expected, abs=1e-3)


def test_bad_input_raises(metric_3dpw, model_dir, posed):
    sample = make_sample(posed['neutral'][0])
    del sample['gt_instances']['smpl_pose']
    with pytest.raises(KeyError, match='gt_instances.smpl_pose'):
        fresh(metric_3dpw).process([], [sample])
    with pytest.raises(ValueError, match='protocol'):
        SMPLMetric(dict(type='SMPL', model_path=model_dir), protocol='lsp')
    plain = SMPLMetric(dict(type='SMPL', model_path=model_dir, joint_set='h36m_17'))
    with pytest.raises(ValueError, match='GenderedSMPL'):
        plain.process([], [make_sample(posed['neutral'][0], gender=2)])


def test_through_mmengine_evaluator(model_dir, posed):
    """The way the test loop calls it: data samples (PoseDataSample) through an Evaluator."""
    from mmengine.evaluator import Evaluator
    from mmengine.structures import InstanceData
    from mmpose.structures import PoseDataSample
    evaluator = Evaluator(
        dict(type='SMPLMetric',
             body_model=dict(type='GenderedSMPL', model_path=model_dir, joint_set='h36m_17')))
    samples = []
    for i in range(3):
        sample = make_sample(posed['male'][i] + 0.1, posed['betas'][i], posed['pose'][i],
                             gender=1)
        samples.append(PoseDataSample(gt_instances=InstanceData(**sample['gt_instances']),
                                      pred_instances=InstanceData(**sample['pred_instances'])))
    evaluator.process(samples[:2])
    evaluator.process(samples[2:])
    metrics = evaluator.evaluate(3)
    assert set(metrics) == {'3dpw/MPJPE', '3dpw/PA-MPJPE', '3dpw/PVE', '3dpw/nonfinite'}
    assert all(abs(v) < 1e-3 for v in metrics.values())  # translated GT meshes


def test_tto_results_before_after_and_per_step(metric_3dpw, posed, h36m_regressor):
    """With pred_instances_init and recorded steps: the '_init' and '@k' metrics are those of
    the prediction before TTO and of each step's vertices, computed by hand here."""
    metric = fresh(metric_3dpw)
    gt_vertices = posed['neutral'][0]
    init = similarity(gt_vertices, [0.3, 0.0, 0.0], 1.0, [0, 0, 0])  # 0.3 rad off
    final = similarity(gt_vertices, [0.1, 0.0, 0.0], 1.0, [0, 0, 0])  # 0.1 rad off
    sample = make_sample(final, posed['betas'][0], posed['pose'][0])
    sample['pred_instances_init'] = dict(
        vertices=torch.as_tensor(init, dtype=torch.float32)[None])
    sample['pred_instances']['vertices_steps'] = torch.as_tensor(
        np.stack([init, (init + final) / 2, final]), dtype=torch.float32)[None]
    sample['pred_instances']['tto_loss'] = torch.tensor([0.25])
    sample['pred_instances']['tto_loss_init'] = torch.tensor([1.5])
    metric.process([], [sample])

    def by_hand(pred):
        gt_joints, _ = lsp_joints(gt_vertices, h36m_regressor)
        pred_joints, _ = lsp_joints(pred, h36m_regressor)
        return np.linalg.norm(pred_joints - gt_joints, axis=-1).mean() * 1000

    metrics = metric.compute_metrics(metric.results)
    assert metrics['MPJPE'] == pytest.approx(by_hand(final), abs=1e-3)
    assert metrics['MPJPE_init'] == pytest.approx(by_hand(init), abs=1e-3)
    assert metrics['MPJPE@0'] == pytest.approx(by_hand(init), abs=1e-3)
    assert metrics['MPJPE@1'] == pytest.approx(by_hand((init + final) / 2), abs=1e-3)
    assert metrics['MPJPE@2'] == pytest.approx(by_hand(final), abs=1e-3)
    assert metrics['PA-MPJPE@2'] == pytest.approx(0., abs=1e-3)
    assert metrics['tto_loss'] == pytest.approx(0.25) and metrics['tto_loss_init'] == 1.5
    assert by_hand(init) > by_hand(final) > 1  # not trivially equal
    # the per-step vertices are not kept: results hold one float per metric and step
    assert all(isinstance(v, float) for k, v in metric.results[0].items() if k != 'sample')
    assert list(metrics)[:3] == ['MPJPE', 'PA-MPJPE', 'PVE']
    assert metrics['oracle_det_keypoints'] == 0.  # no source recorded: not the GT oracle
    # TTO on the ground-truth 2D joints is flagged in the metrics
    sample['det_keypoints_source'] = 'gt (oracle)'
    metric = fresh(metric_3dpw)
    metric.process([], [sample])
    assert metric.compute_metrics(metric.results)['oracle_det_keypoints'] == 1.


def named(sample, index, dataset='3dpw'):
    """The sample with the metainfo that names it in errors."""
    return dict(sample, sample_idx=index, dataset_name=dataset)


def test_a_nonfinite_prediction_is_never_averaged_away(model_dir, posed):
    """8 samples predicted exactly (error 0) but one with a single NaN vertex: by default an
    error naming that sample; with nonfinite_error=1000 it counts as 1000 mm, so every mean is
    1000 / 8 = 125 mm (worked out here), and nonfinite = 1."""
    samples = []
    for i in range(8):
        vertices = posed['neutral'][i % 4].copy()
        if i == 5:
            vertices[100, 1] = np.nan
        samples.append(named(make_sample(vertices, posed['betas'][i % 4],
                                         posed['pose'][i % 4]), i))
    body = dict(type='GenderedSMPL', model_path=model_dir, joint_set='h36m_17')
    strict = SMPLMetric(body_model=body)
    strict.process([], samples)
    with pytest.raises(ValueError, match=r'1 of 8 samples have a non-finite .*3dpw\[5\]'):
        strict.compute_metrics(strict.results)
    lenient = SMPLMetric(body_model=body, nonfinite_error=1000.)
    lenient.process([], samples)
    metrics = lenient.compute_metrics(lenient.results)
    assert metrics['nonfinite'] == 1
    for name in ('MPJPE', 'PA-MPJPE', 'PVE'):
        assert metrics[name] == pytest.approx(125.0, abs=1e-2), name
    with pytest.raises(ValueError, match='nonfinite_error must be a finite error'):
        SMPLMetric(body_model=body, nonfinite_error=float('nan'))


def test_nonfinite_ground_truth_names_the_sample(metric_3dpw, posed):
    metric = fresh(metric_3dpw)
    betas = posed['betas'][0].clone()
    betas[3] = np.inf
    good = named(make_sample(posed['neutral'][0], posed['betas'][0], posed['pose'][0]), 0)
    bad = named(make_sample(posed['neutral'][0], betas, posed['pose'][0]), 7, 'h36m-train')
    with pytest.raises(ValueError, match=r'ground truth \(vertices\) of sample '
                                         r'h36m-train\[7\] is not finite'):
        metric.process([], [good, bad])
    # without SMPL ground truth the same sample is simply not evaluated
    metric.process([], [good, named(make_sample(posed['neutral'][0], betas, has_smpl=0.), 8)])


def test_empty_evaluation_and_absent_ground_truth_are_errors(metric_3dpw, posed):
    metric = fresh(metric_3dpw)
    with pytest.raises(ValueError, match='no samples to evaluate'):
        metric.compute_metrics([])
    metric.process([], [make_sample(posed['neutral'][i], has_smpl=0.) for i in range(3)])
    with pytest.raises(ValueError, match=r"none of the 3 samples has SMPL ground truth "
                                         r"\(has_smpl = 1\)"):
        metric.compute_metrics(metric.results)
