"""The procedurally generated SMPL-format body model: format, anatomy, smplx posing, files."""
import functools
import importlib.util
import json
import os
import os.path as osp
import sys
import threading

import numpy as np
import pytest
import smplx
import torch
from smplx.utils import Struct
from smplx.vertex_ids import vertex_ids as SMPLX_VERTEX_IDS

from mmhmr.models.body_models import procedural
from mmhmr.models.body_models.joint_sets import H36M_17_NAMES, SMPL_24_NAMES
from mmhmr.models.body_models.procedural import (
    MODEL_FILES, SMPL_PARENTS, SMPL_VERTEX_IDS, SPIN_EXTRA_9_NAMES, ensure_procedural_body_model,
    generate_joint_regressors, generate_smpl_model)

J = {name: i for i, name in enumerate(SMPL_24_NAMES)}
ROOT = osp.join(osp.dirname(__file__), '..', '..')


@functools.lru_cache(maxsize=None)
def cached_model(gender='neutral', seed=0):
    return generate_smpl_model(gender, seed)


@pytest.fixture(scope='module')
def models():
    return {g: cached_model(g) for g in ('neutral', 'male', 'female')}


@pytest.fixture
def fast_generator(monkeypatch):
    """Generation memoised per (gender, seed): the file tests exercise the file handling."""
    # ensure_procedural_body_model (procedural/files.py) calls the generator it imported
    monkeypatch.setattr(procedural.files, 'generate_smpl_model', cached_model)


def joints(model, betas=None):
    V = model['v_template'] + (0 if betas is None else model['shapedirs'] @ betas)
    return model['J_regressor'] @ V


def signed_volume(V, F):
    return np.einsum('ij,ij->i', V[F[:, 0]], np.cross(V[F[:, 1]], V[F[:, 2]])).sum() / 6


def winding_numbers(points, V, F):
    """Generalised winding number of closed triangle mesh (V, F) at each point (1 inside)."""
    a, b, c = (V[F[:, k]][None] - points[:, None] for k in range(3))
    la, lb, lc = (np.linalg.norm(x, axis=-1) for x in (a, b, c))
    num = np.einsum('pfi,pfi->pf', a, np.cross(b, c))
    den = (la * lb * lc + np.einsum('pfi,pfi->pf', a, b) * lc
           + np.einsum('pfi,pfi->pf', a, c) * lb + np.einsum('pfi,pfi->pf', b, c) * la)
    return 2 * np.arctan2(num, den).sum(1) / (4 * np.pi)


def smplx_layer(model):
    return smplx.SMPL(model_path='', data_struct=Struct(**model), create_betas=False,
                      create_global_orient=False, create_body_pose=False, create_transl=False,
                      dtype=torch.float64)


# ------------------------------------------------------------------------------------------------
# format
# ------------------------------------------------------------------------------------------------
def test_smpl_keys_shapes_and_tree(models):
    for model in models.values():
        expected = dict(v_template=(6890, 3), f=(13776, 3), kintree_table=(2, 24),
                        J_regressor=(24, 6890), weights=(6890, 24), shapedirs=(6890, 3, 10),
                        posedirs=(6890, 3, 207))
        assert {k: v.shape for k, v in model.items()} == expected
        assert model['v_template'].dtype == np.float64
        assert all(np.isfinite(v).all() for v in model.values())
        kintree = model['kintree_table']
        assert kintree[0, 0] == 4294967295
        assert kintree[0, 1:].tolist() == list(SMPL_PARENTS[1:])
        assert kintree[1].tolist() == list(range(24))


def test_mesh_is_closed_and_outward(models):
    F = models['neutral']['f']
    assert F.min() == 0 and F.max() == 6889
    assert len(np.unique(F)) == 6890  # every vertex is used
    directed = np.concatenate([F[:, [0, 1]], F[:, [1, 2]], F[:, [2, 0]]])
    keys = directed[:, 0] * 6890 + directed[:, 1]
    reverse = directed[:, 1] * 6890 + directed[:, 0]
    # each directed edge once, and its reverse present: closed, manifold, consistently oriented
    assert len(np.unique(keys)) == len(keys)
    assert np.isin(reverse, keys).all()
    assert 6890 - len(keys) // 2 + 13776 == 2  # Euler characteristic of a sphere
    for model in models.values():
        np.testing.assert_array_equal(model['f'], F)  # one topology for all genders
        # outward normals give a positive volume; an adult's ~ 45-95 litres (density ~1 kg/l)
        assert 0.045 < signed_volume(model['v_template'], F) < 0.095


def test_row_sums(models):
    for model in models.values():
        for key in ('J_regressor', 'weights'):
            rows = model[key]
            assert rows.min() >= 0
            np.testing.assert_allclose(rows.sum(1), 1.0, atol=1e-10)
    regressors = generate_joint_regressors(models['neutral'])
    assert regressors['J_regressor_extra'].shape == (9, 6890)
    assert regressors['J_regressor_h36m'].shape == (17, 6890)
    for r in regressors.values():
        assert r.min() >= 0
        np.testing.assert_allclose(r.sum(1), 1.0, atol=1e-10)


def test_deterministic_per_seed_and_different_bodies(models):
    again = generate_smpl_model('neutral', 0)
    for key, value in models['neutral'].items():
        np.testing.assert_array_equal(again[key], value)
    other_seed = cached_model('neutral', 1)
    np.testing.assert_array_equal(other_seed['f'], again['f'])
    assert np.abs(other_seed['v_template'] - again['v_template']).max() > 0.005
    male, female = models['male']['v_template'], models['female']['v_template']
    assert np.abs(male - female).max() > 0.05
    with pytest.raises(ValueError, match='gender'):
        generate_smpl_model('child')


# ------------------------------------------------------------------------------------------------
# anatomy
# ------------------------------------------------------------------------------------------------
def test_rest_joints_in_human_places(models):
    for gender, model in models.items():
        Jt = joints(model)
        floor = model['v_template'][:, 1].min()
        y = {name: Jt[i, 1] for name, i in J.items()}
        # SMPL's frame: y up, root near the origin, person facing +z
        assert abs(Jt[0, 0]) < 1e-9 and -0.35 < Jt[0, 1] < -0.1
        assert 0.78 < y['left_hip'] - floor < 0.95
        for side in ('left_', 'right_'):
            chain = ['head', 'neck', 'spine3', 'spine2', 'spine1', 'pelvis', side + 'hip',
                     side + 'knee', side + 'ankle', side + 'foot']
            heights = [y[c] if c in y else y[side + c] for c in chain]
            assert heights == sorted(heights, reverse=True), (gender, chain)
        for name, i in J.items():  # SMPL's left is +x; the skeleton is mirror-symmetric
            if name.startswith('left_'):
                k = J[name.replace('left_', 'right_')]
                assert Jt[i, 0] > 0.05 and Jt[k, 0] < -0.05
                np.testing.assert_allclose(Jt[i] * [-1, 1, 1], Jt[k], atol=1e-9)
        # arms stretched out sideways: shoulder < elbow < wrist < hand in x, about level
        xs = [Jt[J['left_' + n], 0] for n in ('collar', 'shoulder', 'elbow', 'wrist', 'hand')]
        assert xs == sorted(xs) and np.ptp(Jt[[16, 18, 20, 22], 1]) < 0.05
        # every joint lies inside the closed surface
        np.testing.assert_allclose(winding_numbers(Jt, model['v_template'], model['f']), 1.0,
                                   atol=1e-6)
    stature = {g: np.ptp(m['v_template'][:, 1]) for g, m in models.items()}
    assert stature['female'] < stature['neutral'] < stature['male']
    assert 1.6 < stature['neutral'] < 1.8

    def shoulder_to_hip(model):
        Jt = joints(model)
        return np.ptp(Jt[[16, 17], 0]) / np.ptp(Jt[[1, 2], 0])
    assert shoulder_to_hip(models['male']) > shoulder_to_hip(models['female']) + 0.2


def test_limb_joints_at_centre_of_their_cross_section(models):
    V = models['neutral']['v_template']
    Jt = joints(models['neutral'])
    for name, axis in (('left_knee', 1), ('left_elbow', 0),
                       ('left_wrist', 0), ('right_knee', 1), ('right_elbow', 0)):
        j = Jt[J[name]]
        ring = V[(np.abs(V[:, axis] - j[axis]) < 0.01) & (np.linalg.norm(V - j, axis=1) < 0.12)]
        other = [a for a in range(3) if a != axis]
        centre = (ring.min(0) + ring.max(0)) / 2  # middle of the limb's extent across
        assert np.abs(centre[other] - j[other]).max() < 0.02, name


def test_vertex_ids_at_their_landmarks(models):
    assert SMPL_VERTEX_IDS == SMPLX_VERTEX_IDS['smplh']
    V = models['neutral']['v_template']
    Jt = joints(models['neutral'])
    p = {name: V[i] for name, i in SMPL_VERTEX_IDS.items()}
    head, neck = Jt[J['head']], Jt[J['neck']]
    # face: nose in front on the mid-line, eyes above it on their side, ears on the sides
    assert abs(p['nose'][0]) < 0.005 and p['nose'][2] > head[2] + 0.07
    assert p['nose'][1] > neck[1]
    for s, sx in (('l', 1), ('r', -1)):
        eye, ear = p[s + 'eye'], p[s + 'ear']
        assert 0.015 < sx * eye[0] < 0.05 and eye[1] > p['nose'][1]
        assert eye[2] > head[2] + 0.05
        assert sx * ear[0] > 0.06 and abs(ear[2] - head[2]) < 0.05 and ear[1] > head[1]
    for S, sx in (('L', 1), ('R', -1)):
        side = 'left_' if sx > 0 else 'right_'
        ankle = Jt[J[side + 'ankle']]
        big, small, heel = p[S + 'BigToe'], p[S + 'SmallToe'], p[S + 'Heel']
        assert big[2] > ankle[2] + 0.15 and small[2] > ankle[2] + 0.1  # toes in front
        assert sx * big[0] < sx * small[0]  # big toe on the inside
        assert heel[2] < ankle[2] and heel[1] < ankle[1]  # heel behind, below
        for q in (big, small, heel):
            assert q[1] < ankle[1] and sx * q[0] > 0
        hand = Jt[J[side + 'hand']]
        tips = [p[S.lower() + f] for f in ('thumb', 'index', 'middle', 'ring', 'pinky')]
        for tip in tips:  # fingertips beyond the hand joint, on the hand
            assert sx * (tip[0] - hand[0]) > 0.0 and np.linalg.norm(tip - hand) < 0.15
        # palm down in the T-pose: thumb in front, then index, middle, ring, pinky
        zs = [t[2] for t in tips]
        assert zs == sorted(zs, reverse=True)
        assert sx * (tips[2][0] - tips[4][0]) > 0  # middle finger longer than the pinky


def test_smpl_extra_and_h36m_joints(models):
    model = models['neutral']
    regressors = generate_joint_regressors(model)
    Jt = joints(model)
    extra = dict(zip(SPIN_EXTRA_9_NAMES, regressors['J_regressor_extra'] @ model['v_template']))
    h36m = dict(zip(H36M_17_NAMES, regressors['J_regressor_h36m'] @ model['v_template']))
    assert extra['right_hip'][0] < 0 < extra['left_hip'][0]
    assert extra['head_top_lsp'][1] > extra['head_h36m'][1] > extra['jaw_h36m'][1]
    assert extra['head_top_lsp'][1] > Jt[J['head'], 1] + 0.1
    assert Jt[J['neck'], 1] < extra['neck_lsp'][1] < Jt[J['head'], 1]
    assert Jt[J['spine3'], 1] < extra['thorax_mpii'][1] < Jt[J['neck'], 1]
    assert extra['pelvis_mpii'][1] < extra['spine_h36m'][1] < extra['thorax_mpii'][1]
    assert extra['jaw_h36m'][2] > Jt[J['head'], 2]  # chin in front of the head joint
    # H36M: its leg order (left first in this regressor), limbs at SMPL's joints
    assert h36m['left_hip'][0] > 0 > h36m['right_hip'][0]
    for name in ('left_knee', 'right_ankle', 'left_shoulder', 'right_elbow', 'left_wrist'):
        np.testing.assert_allclose(h36m[name], Jt[J[name]], atol=1e-6)
    assert h36m['head'][1] > h36m['neck_nose'][1] > h36m['thorax'][1] > h36m['spine'][1]
    assert h36m['spine'][1] > h36m['pelvis'][1]
    points = np.concatenate([regressors['J_regressor_extra'], regressors['J_regressor_h36m']])
    inside = winding_numbers(points @ model['v_template'], model['v_template'], model['f'])
    np.testing.assert_allclose(inside, 1.0, atol=1e-6)


# ------------------------------------------------------------------------------------------------
# blend shapes and posing with smplx
# ------------------------------------------------------------------------------------------------
def test_shape_space(models):
    model = models['neutral']
    G = model['shapedirs'].reshape(-1, 10)
    cos = G.T @ G / np.outer(np.linalg.norm(G, axis=0), np.linalg.norm(G, axis=0))
    np.testing.assert_allclose(cos, np.eye(10), atol=1e-8)
    V0, F = model['v_template'], model['f']
    e = np.eye(10)
    # beta 0: taller by a few cm per unit; beta 1: heavier at the same height
    taller = np.ptp((V0 + model['shapedirs'] @ e[0])[:, 1]) - np.ptp(V0[:, 1])
    assert 0.04 < taller < 0.1
    heavier = V0 + model['shapedirs'] @ e[1]
    assert signed_volume(heavier, F) > 1.1 * signed_volume(V0, F)
    assert abs(np.ptp(heavier[:, 1]) - np.ptp(V0[:, 1])) < 0.005
    # betas ~ N(0, 1): plausible adults, joints still inside the body
    rng = np.random.default_rng(0)
    for betas in rng.standard_normal((6, 10)):
        V = V0 + model['shapedirs'] @ betas
        assert 1.45 < np.ptp(V[:, 1]) < 1.95
        assert 0.035 < signed_volume(V, F) < 0.12
        inside = winding_numbers(joints(model, betas), V, F)
        np.testing.assert_allclose(inside, 1.0, atol=1e-6)


def test_pose_blend_shapes_are_small_and_local(models):
    model = models['neutral']
    posedirs = model['posedirs']
    assert np.abs(posedirs).max() < 0.01  # metres per unit of the pose feature R - I
    Jt = joints(model)
    V = model['v_template']
    for j in (J['left_elbow'], J['right_knee'], J['neck']):
        block = np.abs(posedirs[:, :, 9 * (j - 1):9 * j]).max((1, 2))
        assert block.max() > 0.001
        assert (np.linalg.norm(V[block > 0] - Jt[j], axis=1) < 0.2).all()


def test_smplx_loads_and_poses_it(models):
    model = models['neutral']
    layer = smplx_layer(model)
    zeros = torch.zeros(1, 72, dtype=torch.float64)
    rest = layer(betas=torch.zeros(1, 10, dtype=torch.float64), global_orient=zeros[:, :3],
                 body_pose=zeros[:, 3:])
    np.testing.assert_allclose(rest.vertices[0].numpy(), model['v_template'], atol=1e-12)
    assert rest.joints.shape == (1, 45, 3)  # 24 + the 21 vertex-id joints
    # smplx's extra joints are our landmark vertices, in smplx's order
    order = ['nose', 'reye', 'leye', 'rear', 'lear', 'LBigToe', 'LSmallToe', 'LHeel', 'RBigToe',
             'RSmallToe', 'RHeel'] + [s + f for s in 'lr'
                                      for f in ('thumb', 'index', 'middle', 'ring', 'pinky')]
    np.testing.assert_allclose(rest.joints[0, 24:].numpy(),
                               model['v_template'][[SMPL_VERTEX_IDS[n] for n in order]],
                               atol=1e-12)

    # bend the left elbow 90 degrees (forearm to the front): about -y for the left arm
    pose = torch.zeros(1, 72, dtype=torch.float64)
    pose[0, 3 * J['left_elbow'] + 1] = -np.pi / 2
    out = layer(betas=torch.zeros(1, 10, dtype=torch.float64), global_orient=pose[:, :3],
                body_pose=pose[:, 3:])
    V0, V = model['v_template'], out.vertices[0].numpy()
    Jt = joints(model)
    elbow, wrist = Jt[J['left_elbow']], Jt[J['left_wrist']]
    proximal = V0[:, 0] < elbow[0] - 0.15  # torso, head, legs, right arm, upper left arm
    np.testing.assert_allclose(V[proximal], V0[proximal], atol=1e-12)
    R = np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])  # x -> +z
    hand = V0[:, 0] > wrist[0] + 0.01
    # rigid to 1e-6 m (smplx's Rodrigues adds 1e-8 to the rotation vector)
    np.testing.assert_allclose(V[hand], (V0[hand] - elbow) @ R.T + elbow, atol=1e-6)
    assert (V[hand][:, 2] > elbow[2] + 0.2).any()  # the hand is now in front
    moved = np.linalg.norm(V - V0, axis=1) > 1e-6
    assert moved[hand].all() and not moved[proximal].any()


# ------------------------------------------------------------------------------------------------
# files
# ------------------------------------------------------------------------------------------------
def test_ensure_writes_once_and_regenerates_stale_files(tmp_path, fast_generator):
    out = ensure_procedural_body_model(str(tmp_path), seed=0)
    assert out == str(tmp_path)
    assert sorted(os.listdir(tmp_path)) == sorted(MODEL_FILES + ('meta.json',))
    meta = json.loads((tmp_path / 'meta.json').read_text())
    assert meta['seed'] == 0 and meta['version'] == procedural.GENERATOR_VERSION
    with np.load(tmp_path / 'SMPL_MALE.npz', allow_pickle=False) as npz:
        for key, value in cached_model('male', 0).items():
            np.testing.assert_array_equal(npz[key], value)
    extra = np.load(tmp_path / 'J_regressor_extra.npy')
    np.testing.assert_array_equal(
        extra, generate_joint_regressors(cached_model('neutral', 0))['J_regressor_extra'])
    inodes = {n: os.stat(tmp_path / n).st_ino for n in os.listdir(tmp_path)}
    ensure_procedural_body_model(str(tmp_path), seed=0)  # up to date: nothing rewritten
    assert inodes == {n: os.stat(tmp_path / n).st_ino for n in os.listdir(tmp_path)}
    (tmp_path / 'SMPL_FEMALE.npz').unlink()  # a file missing: regenerated
    ensure_procedural_body_model(str(tmp_path), seed=0)
    assert (tmp_path / 'SMPL_FEMALE.npz').is_file()
    # files of another seed (or generator version): everything rewritten
    (tmp_path / 'meta.json').write_text(json.dumps(dict(meta, seed=7)))
    inodes = {n: os.stat(tmp_path / n).st_ino for n in os.listdir(tmp_path)}
    ensure_procedural_body_model(str(tmp_path), seed=0)
    assert all(os.stat(tmp_path / n).st_ino != inodes[n] for n in inodes)
    assert json.loads((tmp_path / 'meta.json').read_text()) == meta


def test_ensure_is_atomic(tmp_path, monkeypatch):
    def fail_on_male(gender='neutral', seed=0):
        if gender == 'male':
            raise RuntimeError('disk full')
        return cached_model(gender, seed)

    monkeypatch.setattr(procedural.files, 'generate_smpl_model', fail_on_male)
    with pytest.raises(RuntimeError, match='disk full'):
        ensure_procedural_body_model(str(tmp_path), seed=0)
    # the neutral file is complete, no half-written or temporary files, no meta: not "done"
    assert sorted(os.listdir(tmp_path)) == ['SMPL_NEUTRAL.npz']
    with np.load(tmp_path / 'SMPL_NEUTRAL.npz') as npz:
        assert npz['v_template'].shape == (6890, 3)

    def broken_writer(f):
        f.write(b'half a file')
        raise OSError('interrupted')

    (tmp_path / 'keep.bin').write_bytes(b'old')
    with pytest.raises(OSError, match='interrupted'):
        procedural._write_atomic(str(tmp_path / 'keep.bin'), broken_writer)
    assert (tmp_path / 'keep.bin').read_bytes() == b'old'
    assert sorted(os.listdir(tmp_path)) == ['SMPL_NEUTRAL.npz', 'keep.bin']


def test_ensure_concurrent_calls(tmp_path, fast_generator):
    errors = []

    def call():
        try:
            ensure_procedural_body_model(str(tmp_path / 'model'), seed=0)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=call) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(os.listdir(tmp_path / 'model')) == sorted(MODEL_FILES + ('meta.json',))
    with np.load(tmp_path / 'model' / 'SMPL_NEUTRAL.npz') as npz:
        np.testing.assert_array_equal(npz['f'], cached_model('neutral', 0)['f'])


def test_cli(tmp_path, monkeypatch, fast_generator, capsys):
    path = osp.join(ROOT, 'tools', 'misc', 'generate_body_model.py')
    spec = importlib.util.spec_from_file_location('generate_body_model', path)
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    out_dir = str(tmp_path / 'bm')
    monkeypatch.setattr(sys, 'argv', [path, '--out-dir', out_dir, '--seed', '0'])
    cli.main()
    assert json.loads(open(osp.join(out_dir, 'meta.json')).read())['seed'] == 0
    assert out_dir in capsys.readouterr().out
    inode = os.stat(osp.join(out_dir, 'SMPL_NEUTRAL.npz')).st_ino
    monkeypatch.setattr(sys, 'argv', [path, '--out-dir', out_dir, '--force'])
    cli.main()
    assert os.stat(osp.join(out_dir, 'SMPL_NEUTRAL.npz')).st_ino != inode


def test_procedural_smpl_classes_generate_on_first_use(tmp_path):
    from mmhmr.registry import MODELS
    model_dir = tmp_path / 'procedural'
    smpl = MODELS.build(dict(type='ProceduralSMPL', model_path=str(model_dir),
                             joint_set='h36m_17'))
    assert (model_dir / 'SMPL_NEUTRAL.npz').exists() and smpl.num_vertices == 6890
    gendered = MODELS.build(dict(type='ProceduralGenderedSMPL', model_path=str(model_dir),
                                 joint_set='h36m_17'))
    out = gendered(torch.zeros(3, 10), torch.zeros(3, 72), torch.tensor([0, 1, 2]))
    # at rest the male body is taller than the neutral, the neutral taller than the female
    height = out['vertices'][..., 1].max(1).values - out['vertices'][..., 1].min(1).values
    assert height[1] > height[0] > height[2]
