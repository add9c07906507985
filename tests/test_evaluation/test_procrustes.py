"""Batched similarity Procrustes and the keypoint errors, checked against a per-sample SVD
reference (SPIN's ``compute_similarity_transform``, written out here with numpy) and against
hand-computed values."""
import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from mmhmr.evaluation.functional import mpjpe, pa_mpjpe, pve, similarity_procrustes

# 1e-6 mm in metres: the agreement asked of the batched solver
ATOL_M = 1e-9


def svd_similarity(pred, gt):
    """Reference: one sample's least-squares similarity alignment by SVD (Umeyama).

    Returns the aligned points (J, 3) and the residual sum of squares.
    """
    mu_p, mu_g = pred.mean(0), gt.mean(0)
    xp, xg = pred - mu_p, gt - mu_g
    cov = xp.T @ xg  # (3, 3)
    u, _, vt = np.linalg.svd(cov)
    d = np.sign(np.linalg.det(vt.T @ u.T))
    rot = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    var = (xp**2).sum()
    scale = np.trace(rot @ cov) / var if var > 0 else 0.0
    aligned = scale * xp @ rot.T + mu_g
    return aligned, ((aligned - gt)**2).sum()


def reference(pred, gt):
    out = [svd_similarity(p, g) for p, g in zip(pred, gt)]
    aligned = np.stack([a for a, _ in out])
    rss = np.array([r for _, r in out])
    return aligned, rss, np.linalg.norm(aligned - gt, axis=-1).mean(-1)


def run(pred, gt, mask=None):
    """Aligned points, residual sum of squares and PA-MPJPE of the batched code (numpy)."""
    pred_t, gt_t = torch.from_numpy(pred), torch.from_numpy(gt)
    mask_t = None if mask is None else torch.from_numpy(mask)
    aligned, scale, rot, transl = similarity_procrustes(pred_t, gt_t, mask_t,
                                                        return_transform=True)
    aligned = aligned.numpy()
    m = np.ones(pred.shape[:2]) if mask is None else mask.astype(np.float64)
    rss = (((aligned - gt)**2).sum(-1) * m).sum(-1)
    return aligned, rss, pa_mpjpe(pred_t, gt_t, mask_t).numpy(), (scale, rot, transl)


def random_rotations(n, rng):
    return Rotation.random(n, random_state=rng).as_matrix()


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def body_like(rng, n, j=14):
    """Point sets with a body's extent: about 1.7 x 0.5 x 0.3 m."""
    return rng.standard_normal((n, j, 3)) * np.array([0.5, 0.15, 0.1])


def test_random_pairs_match_svd(rng):
    pred, gt = body_like(rng, 500), body_like(rng, 500)
    aligned, rss, err, (_, rot, _) = run(pred, gt)
    ref_aligned, ref_rss, ref_err = reference(pred, gt)
    np.testing.assert_allclose(aligned, ref_aligned, atol=ATOL_M)
    np.testing.assert_allclose(err, ref_err, atol=ATOL_M)
    np.testing.assert_allclose(rss, ref_rss, atol=ATOL_M)
    # proper rotations
    np.testing.assert_allclose(np.linalg.det(rot.numpy()), 1.0, atol=1e-12)
    np.testing.assert_allclose(rot.numpy() @ rot.numpy().transpose(0, 2, 1),
                               np.broadcast_to(np.eye(3), rot.shape), atol=1e-12)


def test_noisy_similarity_copies_match_svd(rng):
    n = 400
    pred = body_like(rng, n)
    rot = random_rotations(n, rng)
    scale = rng.uniform(0.5, 2.0, n)
    gt = scale[:, None, None] * pred @ rot.transpose(0, 2, 1) + rng.normal(0, 3, (n, 1, 3))
    gt += rng.normal(0, 0.02, gt.shape)
    aligned, _, err, _ = run(pred, gt)
    ref_aligned, _, ref_err = reference(pred, gt)
    np.testing.assert_allclose(aligned, ref_aligned, atol=ATOL_M)
    np.testing.assert_allclose(err, ref_err, atol=ATOL_M)


def test_exact_similarity_copy_is_recovered(rng):
    n = 200
    pred = body_like(rng, n) + np.array([0.1, -0.3, 4.0])  # camera frame, far from the origin
    rot = random_rotations(n, rng)
    scale = rng.uniform(0.3, 3.0, n)
    transl = rng.normal(0, 2, (n, 3))
    gt = scale[:, None, None] * pred @ rot.transpose(0, 2, 1) + transl[:, None]
    aligned, _, err, (s, r, t) = run(pred, gt)
    np.testing.assert_allclose(aligned, gt, atol=ATOL_M)
    assert np.abs(err).max() < ATOL_M
    np.testing.assert_allclose(s.numpy(), scale, rtol=1e-12)
    np.testing.assert_allclose(r.numpy(), rot, atol=1e-12)
    np.testing.assert_allclose(t.numpy(), transl, atol=1e-10)
    # ... while the unaligned MPJPE of the same pairs is large
    assert mpjpe(torch.from_numpy(pred), torch.from_numpy(gt)).min() > 0.05


def test_identical_inputs_give_identity(rng):
    pred = body_like(rng, 50)
    _, _, err, (s, r, t) = run(pred, pred.copy())
    assert np.abs(err).max() < 1e-12
    np.testing.assert_allclose(s.numpy(), 1.0, rtol=1e-12)
    np.testing.assert_allclose(r.numpy(), np.broadcast_to(np.eye(3), (50, 3, 3)), atol=1e-12)


def test_reflection_is_never_used(rng):
    """GT = mirror image of pred: the best *proper* rotation (SVD with the det fix) is used."""
    pred = body_like(rng, 300)
    gt = pred * np.array([-1.0, 1.0, 1.0])
    aligned, _, err, (_, rot, _) = run(pred, gt)
    ref_aligned, _, ref_err = reference(pred, gt)
    np.testing.assert_allclose(np.linalg.det(rot.numpy()), 1.0, atol=1e-12)
    np.testing.assert_allclose(aligned, ref_aligned, atol=ATOL_M)
    np.testing.assert_allclose(err, ref_err, atol=ATOL_M)
    assert err.min() > 1e-3  # a reflection cannot be undone by a rotation


def test_planar_points(rng):
    """All points in one plane (cross-covariance of rank 2), also mirrored in the plane."""
    n = 200
    flat = body_like(rng, n) * np.array([1.0, 1.0, 0.0])
    rot = random_rotations(n, rng)
    pred = flat @ rot.transpose(0, 2, 1)
    gt = flat * np.array([-1.0, 1.0, 0.0]) + rng.normal(0, 0.01, flat.shape)
    aligned, _, err, _ = run(pred, gt)
    ref_aligned, _, ref_err = reference(pred, gt)
    np.testing.assert_allclose(aligned, ref_aligned, atol=ATOL_M)
    np.testing.assert_allclose(err, ref_err, atol=ATOL_M)


def test_collinear_points(rng):
    """Points on a line: the rotation about the line is free but moves no point."""
    n = 100
    t = rng.standard_normal((n, 14, 1))
    pred = t * rng.standard_normal((n, 1, 3)) + rng.standard_normal((n, 1, 3))
    gt = rng.standard_normal((n, 14, 3))
    aligned, rss, err, (_, rot, _) = run(pred, gt)
    ref_aligned, ref_rss, ref_err = reference(pred, gt)
    np.testing.assert_allclose(aligned, ref_aligned, atol=ATOL_M)
    np.testing.assert_allclose(err, ref_err, atol=ATOL_M)
    np.testing.assert_allclose(np.linalg.det(rot.numpy()), 1.0, atol=1e-12)


def test_reflection_of_isotropic_points_has_many_optima(rng):
    """Mirror image of points with isotropic spread: the top eigenvalue of Horn's matrix is
    triple (a whole family of optimal rotations); every optimum has the same residual."""
    cube = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float)
    rot = random_rotations(20, rng)
    pred = cube @ rot.transpose(0, 2, 1)
    gt = pred * np.array([1.0, 1.0, -1.0])
    _, rss, _, (_, r, _) = run(pred, gt)
    _, ref_rss, _ = reference(pred, gt)
    np.testing.assert_allclose(rss, ref_rss, atol=ATOL_M)
    np.testing.assert_allclose(np.linalg.det(r.numpy()), 1.0, atol=1e-12)


def test_degenerate_samples_mixed_into_a_batch(rng):
    """Samples solved by the fallback keep their place among regular ones."""
    regular = body_like(rng, 30)
    t = rng.standard_normal((30, 14, 1))
    collinear = t * rng.standard_normal((30, 1, 3))
    pred = np.stack([regular, collinear], 1).reshape(60, 14, 3)
    gt = body_like(rng, 60)
    aligned, _, err, _ = run(pred, gt)
    ref_aligned, _, ref_err = reference(pred, gt)
    np.testing.assert_allclose(aligned, ref_aligned, atol=ATOL_M)
    np.testing.assert_allclose(err, ref_err, atol=ATOL_M)


def test_zero_variance_prediction(rng):
    """All predicted points equal: scale 0, everything at the GT centroid."""
    pred = np.broadcast_to(rng.standard_normal((5, 1, 3)), (5, 14, 3)).copy()
    gt = body_like(rng, 5)
    aligned, _, err, (s, _, _) = run(pred, gt)
    np.testing.assert_allclose(s.numpy(), 0.0)
    np.testing.assert_allclose(aligned, np.broadcast_to(gt.mean(1, keepdims=True), gt.shape),
                               atol=1e-12)
    np.testing.assert_allclose(err, np.linalg.norm(gt - gt.mean(1, keepdims=True), axis=-1)
                               .mean(-1), atol=1e-12)


def test_mask_fits_on_visible_points_only(rng):
    n, j = 60, 14
    pred, gt = body_like(rng, n, j), body_like(rng, n, j)
    mask = rng.uniform(size=(n, j)) > 0.3
    mask[:, :3] = True  # at least three visible points
    pred_garbage = np.where(mask[..., None], pred, 1e3)  # invisible joints hold garbage
    aligned, _, err, (s, r, t) = run(pred_garbage, gt, mask)
    for i in range(n):
        vis = mask[i]
        ref_aligned, _ = svd_similarity(pred[i, vis], gt[i, vis])
        np.testing.assert_allclose(aligned[i, vis], ref_aligned, atol=ATOL_M)
        ref_err = np.linalg.norm(ref_aligned - gt[i, vis], axis=-1).mean()
        assert abs(err[i] - ref_err) < ATOL_M
    # the transform fitted on the visible points is applied to every point
    expected = s.numpy()[:, None, None] * pred_garbage @ r.numpy().transpose(0, 2, 1) + \
        t.numpy()[:, None]
    np.testing.assert_allclose(aligned, expected, rtol=1e-12, atol=1e-9)


def test_sample_without_visible_point_is_nan(rng):
    pred, gt = body_like(rng, 3), body_like(rng, 3)
    mask = np.ones((3, 14), bool)
    mask[1] = False
    err = pa_mpjpe(torch.from_numpy(pred), torch.from_numpy(gt), torch.from_numpy(mask))
    assert torch.isnan(err[1]) and torch.isfinite(err[[0, 2]]).all()
    err = mpjpe(torch.from_numpy(pred), torch.from_numpy(gt), torch.from_numpy(mask))
    assert torch.isnan(err[1]) and torch.isfinite(err[[0, 2]]).all()


def test_batch_larger_than_a_chunk(rng):
    """More samples than one internal chunk (8192): same answers as the reference."""
    n = 8300
    pred, gt = body_like(rng, n), body_like(rng, n)
    gt[::2] = pred[::2] + rng.normal(0, 0.03, pred[::2].shape)
    pick = np.r_[0:5, 8185:8200, n - 5:n]
    err = pa_mpjpe(torch.from_numpy(pred), torch.from_numpy(gt)).numpy()
    aligned = similarity_procrustes(torch.from_numpy(pred), torch.from_numpy(gt)).numpy()
    ref_aligned, _, ref_err = reference(pred[pick], gt[pick])
    np.testing.assert_allclose(err[pick], ref_err, atol=ATOL_M)
    np.testing.assert_allclose(aligned[pick], ref_aligned, atol=ATOL_M)


def test_float32_input_keeps_dtype(rng):
    pred = torch.from_numpy(body_like(rng, 4)).float()
    gt = pred * 2 + 1
    aligned = similarity_procrustes(pred, gt)
    assert aligned.dtype == torch.float32
    torch.testing.assert_close(aligned, gt, atol=1e-5, rtol=0)
    assert pa_mpjpe(pred, gt).dtype == torch.float64


def test_mpjpe_hand_computed():
    gt = torch.zeros(2, 4, 3, dtype=torch.float64)
    pred = gt.clone()
    pred[0] += torch.tensor([3.0, 4.0, 0.0])  # every joint 5 away
    pred[1, :, 0] = torch.tensor([1.0, 2.0, 3.0, 10.0])  # per-joint errors 1, 2, 3, 10
    np.testing.assert_allclose(mpjpe(pred, gt).numpy(), [5.0, 4.0])
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]], dtype=torch.bool)
    np.testing.assert_allclose(mpjpe(pred, gt, mask).numpy(), [5.0, 2.0])
    np.testing.assert_allclose(mpjpe(pred, gt, mask.float() * 0.5).numpy(), [5.0, 2.0])
    # scale and offset are removed by the PA alignment
    base = torch.tensor([[[0., 0, 0], [1, 0, 0], [0, 2, 0], [0, 0, 3]]], dtype=torch.float64)
    assert pa_mpjpe(3 * base + 7, base).item() < 1e-12
    # 2D keypoints work too: errors 5 and 0
    np.testing.assert_allclose(
        mpjpe(torch.tensor([[[3., 4.], [1., 1.]]]), torch.tensor([[[0., 0.], [1., 1.]]])).numpy(),
        [2.5])


def test_pve_is_mean_vertex_distance():
    gt = torch.zeros(1, 6, 3)
    pred = gt.clone()
    pred[0, :3, 2] = 0.006  # half of the vertices 6 mm off
    np.testing.assert_allclose(pve(pred, gt).numpy(), [0.003], rtol=1e-6)


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match='same shape'):
        similarity_procrustes(torch.zeros(2, 5, 3), torch.zeros(2, 4, 3))
    with pytest.raises(ValueError, match='mask'):
        similarity_procrustes(torch.zeros(2, 5, 3), torch.zeros(2, 5, 3), torch.ones(2, 4))
    with pytest.raises(ValueError, match='same shape'):
        mpjpe(torch.zeros(2, 5, 3), torch.zeros(2, 5, 2))
