import os.path as osp
import pickle

import numpy as np
import pytest
import scipy.sparse
import smplx
import torch
from scipy.spatial.transform import Rotation
from smplx.utils import Struct

from mmhmr.models.body_models import (SMPL, GenderedSMPL, load_smpl_model, resolve_model_file)
from mmhmr.registry import MODELS

PROCEDURAL_DIR = osp.join(osp.dirname(__file__), '..', '..', 'data', 'body_models', 'procedural')


@pytest.fixture(scope='module')
def neutral(random_smpl_dir):
    return SMPL(str(random_smpl_dir), joint_set='spin_49')


@pytest.fixture(scope='module')
def arrays(random_smpl_dir):
    with np.load(random_smpl_dir / 'SMPL_NEUTRAL.npz') as npz:
        return {k: npz[k].astype(np.float64) for k in npz.files}


def random_params(batch, seed=0, scale=0.4):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 10, generator=g), scale * torch.randn(batch, 72, generator=g)


def test_nothing_trainable_nothing_in_state_dict(neutral):
    assert list(neutral.parameters()) == []
    assert neutral.state_dict() == {}  # the licensed arrays never go into checkpoints
    assert neutral.body_model.v_template.shape == (6890, 3)  # but they are buffers
    assert neutral.faces.shape == (13776, 3) and neutral.faces.dtype == np.int64
    assert neutral.num_vertices == 6890 and neutral.num_joints == 49


def test_build_from_registry(random_smpl_dir):
    model = MODELS.build(dict(type='SMPL', model_path=str(random_smpl_dir), joint_set='smpl_24'))
    assert isinstance(model, SMPL) and model.num_joints == 24


def test_matches_plain_smplx(random_smpl_dir, arrays):
    reference = smplx.SMPL(model_path='', data_struct=Struct(**arrays), batch_size=3)
    ours = SMPL(str(random_smpl_dir), joint_set='smpl_24')
    betas, pose = random_params(3)
    transl = torch.tensor([[0.1, -0.2, 3.0], [0.0, 0.0, 5.0], [-1.0, 0.5, 2.0]])
    ref = reference(betas=betas, global_orient=pose[:, :3], body_pose=pose[:, 3:],
                    transl=transl)
    rotmat = torch.from_numpy(Rotation.from_rotvec(pose.reshape(-1, 3).double().numpy())
                              .as_matrix()).float().reshape(3, 24, 3, 3)
    for pose_input in (pose, pose.reshape(3, 24, 3), rotmat):
        out = ours(betas, pose_input, transl)
        torch.testing.assert_close(out['vertices'], ref.vertices, atol=2e-6, rtol=1e-5)
        torch.testing.assert_close(out['smpl_joints'], ref.joints[:, :24], atol=2e-6, rtol=1e-5)
        torch.testing.assert_close(out['joints'], out['smpl_joints'])


def test_rest_pose_is_template(neutral, arrays):
    out = neutral(torch.zeros(2, 10), torch.zeros(2, 72))
    expected = torch.from_numpy(arrays['v_template']).float().expand(2, -1, -1)
    torch.testing.assert_close(out['vertices'], expected)
    joints = arrays['J_regressor'] @ arrays['v_template']
    torch.testing.assert_close(out['smpl_joints'][0].double(), torch.from_numpy(joints),
                               atol=1e-6, rtol=1e-6)


def test_betas_add_shape_blend(neutral, arrays):
    betas = torch.tensor([[1.0, -2.0, 0.5, 0, 0, 0, 0, 0, 0, 3.0]])
    out = neutral(betas, torch.zeros(1, 72))
    shaped = arrays['v_template'] + arrays['shapedirs'] @ betas[0].double().numpy()
    torch.testing.assert_close(out['vertices'][0].double(), torch.from_numpy(shaped),
                               atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(out['smpl_joints'][0].double(),
                               torch.from_numpy(arrays['J_regressor'] @ shaped),
                               atol=1e-6, rtol=1e-6)


def test_global_rotation_rotates_about_root(neutral, arrays):
    pose = torch.zeros(1, 72)
    pose[0, 2] = np.pi / 2  # 90 degrees about z
    out = neutral(torch.zeros(1, 10), pose)
    rz = np.array([[0., -1., 0.], [1., 0., 0.], [0., 0., 1.]])
    root = arrays['J_regressor'][0] @ arrays['v_template']
    expected = (arrays['v_template'] - root) @ rz.T + root
    torch.testing.assert_close(out['vertices'][0].double(), torch.from_numpy(expected),
                               atol=1e-5, rtol=1e-5)


def test_transl_shifts_everything(neutral):
    betas, pose = random_params(2, seed=1)
    transl = torch.tensor([[1.0, 2.0, 3.0], [-0.5, 0.0, 4.0]])
    moved, still = neutral(betas, pose, transl), neutral(betas, pose)
    for key in ('vertices', 'smpl_joints', 'joints'):
        torch.testing.assert_close(moved[key], still[key] + transl[:, None], atol=1e-5, rtol=0)


def test_spin_49_joints(neutral, random_smpl_dir):
    betas, pose = random_params(2, seed=2)
    out = neutral(betas, pose)
    v, j24, j49 = out['vertices'], out['smpl_joints'], out['joints']
    assert j49.shape == (2, 49, 3)
    extra = torch.from_numpy(np.load(random_smpl_dir / 'J_regressor_extra.npy'))
    extra_joints = torch.einsum('jv,bvc->bjc', extra, v)
    # SPIN's constants.JOINT_MAP over smplx's 45 joints + the 9 extra ones (24 + 45 + 9 = 54)
    spin_joint_map = [24, 12, 17, 19, 21, 16, 18, 20, 0, 2, 5, 8, 1, 4, 7, 25, 26, 27, 28, 29,
                      30, 31, 32, 33, 34, 8, 5, 45, 46, 4, 7, 21, 19, 17, 16, 18, 20, 47, 48, 49,
                      50, 51, 52, 53, 24, 26, 25, 28, 27]
    # smplx's vertex ids (smplx.vertex_ids['smplh']): nose, reye, leye, rear, lear,
    # LBigToe, LSmallToe, LHeel, RBigToe, RSmallToe, RHeel
    vertex_ids = [332, 6260, 2800, 4071, 583, 3216, 3226, 3387, 6617, 6624, 6787]
    sources = torch.cat([j24, v[:, vertex_ids], extra_joints], dim=1)  # the first 35 + 9 of 54
    table = [i if i < 35 else i - 10 for i in spin_joint_map]  # no finger tips in SPIN_49
    torch.testing.assert_close(j49, sources[:, table], atol=1e-6, rtol=1e-6)


def test_h36m_and_lsp_joints(neutral, random_smpl_dir):
    betas, pose = random_params(2, seed=3)
    out = neutral(betas, pose)
    h36m = np.load(random_smpl_dir / 'J_regressor_h36m.npy')
    expected = np.einsum('jv,bvc->bjc', h36m, out['vertices'].numpy())
    got = neutral.regress_joints(out['vertices'], out['smpl_joints'], 'h36m_17')
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-6)
    lsp = neutral.regress_joints(out['vertices'], out['smpl_joints'], 'lsp_14')
    np.testing.assert_allclose(lsp.numpy(),
                               expected[:, [6, 5, 4, 1, 2, 3, 16, 15, 14, 11, 12, 13, 8, 10]],
                               atol=1e-6)
    torch.testing.assert_close(
        neutral.regress_joints(out['vertices'], out['smpl_joints'], 'smpl_24'),
        out['smpl_joints'])


def test_gradient_finite_at_zero_pose(neutral):
    pose = torch.zeros(2, 72, requires_grad=True)
    betas = torch.zeros(2, 10, requires_grad=True)
    out = neutral(betas, pose)
    (out['joints'].sum() + out['vertices'].square().sum()).backward()
    assert torch.isfinite(pose.grad).all() and torch.isfinite(betas.grad).all()
    assert betas.grad.abs().sum() > 0


def test_bad_inputs(neutral):
    with pytest.raises(ValueError, match='pose'):
        neutral(torch.zeros(2, 10), torch.zeros(2, 69))
    with pytest.raises(ValueError, match='betas'):
        neutral(torch.zeros(2, 11), torch.zeros(2, 72))
    with pytest.raises(ValueError, match='joint_set'):
        neutral.regress_joints(torch.zeros(1, 6890, 3), torch.zeros(1, 24, 3), 'coco_17')


def test_regressors_only_needed_when_asked(random_smpl_dir):
    model_file = str(random_smpl_dir / 'SMPL_NEUTRAL.npz')
    model = SMPL(model_file, joint_set='smpl_24')  # a file: no search for regressors
    out = model(torch.zeros(1, 10), torch.zeros(1, 72))
    assert out['joints'].shape == (1, 24, 3)
    with pytest.raises(FileNotFoundError, match='J_regressor_h36m'):
        model.regress_joints(out['vertices'], out['smpl_joints'], 'lsp_14')
    with pytest.raises(FileNotFoundError, match='J_regressor_extra'):
        SMPL(model_file, joint_set='spin_49')
    # given explicitly, as a path or an array
    model = SMPL(model_file, joint_set='h36m_17',
                 joint_regressor_h36m=str(random_smpl_dir / 'J_regressor_h36m.npy'),
                 joint_regressor_extra=np.load(random_smpl_dir / 'J_regressor_extra.npy'))
    assert model(torch.zeros(1, 10), torch.zeros(1, 72))['joints'].shape == (1, 17, 3)
    with pytest.raises(ValueError, match=r'\(9, 6890\)'):
        SMPL(model_file, joint_set='smpl_24', joint_regressor_extra=np.zeros((8, 6890)))


def test_gendered_smpl(random_smpl_dir):
    gendered = GenderedSMPL(str(random_smpl_dir), joint_set='lsp_14')
    assert list(gendered.parameters()) == [] and gendered.state_dict() == {}
    betas, pose = random_params(5, seed=4)
    betas.requires_grad_(True)
    gender = torch.tensor([2, 0, 1, 2, 1])
    out = gendered(betas, pose, gender)
    assert out['vertices'].shape == (5, 6890, 3) and out['joints'].shape == (5, 14, 3)
    for i, g in enumerate(gender.tolist()):
        single = SMPL(str(random_smpl_dir), gender=('neutral', 'male', 'female')[g],
                      joint_set='lsp_14')
        ref = single(betas[i:i + 1].detach(), pose[i:i + 1])
        for key in ('vertices', 'smpl_joints', 'joints'):
            torch.testing.assert_close(out[key][i:i + 1], ref[key])
    out['vertices'].sum().backward()
    assert torch.isfinite(betas.grad).all() and (betas.grad.abs().sum(1) > 0).all()

    two = GenderedSMPL(str(random_smpl_dir), genders=('male', 'female'), joint_set='smpl_24')
    with pytest.raises(ValueError, match=r'\[0\]'):
        two(betas.detach(), pose, torch.tensor([1, 0, 2, 1, 1]))


def test_resolve_model_file(tmp_path):
    (tmp_path / 'smpl').mkdir()
    for name in ('smpl/SMPL_MALE.pkl', 'smpl/SMPL_MALE.npz', 'SMPL_FEMALE.pkl',
                 'basicmodel_neutral_lbs_10_207_0_v1.1.0.pkl'):
        (tmp_path / name).touch()  # empty: only the names matter here
    assert resolve_model_file(str(tmp_path), 'male') == str(tmp_path / 'smpl' / 'SMPL_MALE.npz')
    assert resolve_model_file(str(tmp_path), 'FEMALE') == str(tmp_path / 'SMPL_FEMALE.pkl')
    assert resolve_model_file(str(tmp_path), 'neutral') == str(
        tmp_path / 'basicmodel_neutral_lbs_10_207_0_v1.1.0.pkl')
    assert resolve_model_file(str(tmp_path / 'SMPL_FEMALE.pkl')) == str(
        tmp_path / 'SMPL_FEMALE.pkl')
    with pytest.raises(ValueError, match='gender'):
        resolve_model_file(str(tmp_path), 'other')


@pytest.mark.parametrize('where', ['dir', 'file'])
def test_missing_model_file_says_where_to_get_it(tmp_path, where):
    path = str(tmp_path) if where == 'dir' else str(tmp_path / 'nope.npz')
    with pytest.raises(FileNotFoundError) as info:
        SMPL(path, joint_set='smpl_24')
    message = str(info.value)
    for part in (str(tmp_path), 'SMPL_NEUTRAL.pkl|npz', 'SMPL_MALE', 'SMPL_FEMALE',
                 'https://smpl.is.tue.mpg.de', 'tools/misc/convert_smpl_model.py',
                 'data/body_models/procedural'):
        assert part in message


def test_load_validation(tmp_path, make_random_smpl_arrays):
    arrays = make_random_smpl_arrays(seed=5, num_faces=100)
    missing = {k: v for k, v in arrays.items() if k != 'weights'}
    np.savez(tmp_path / 'missing.npz', **missing)
    with pytest.raises(ValueError, match=r"missing\.npz.*missing key\(s\) \['weights'\]"):
        load_smpl_model(str(tmp_path / 'missing.npz'))

    np.savez(tmp_path / 'short.npz', **dict(arrays, v_template=arrays['v_template'][:6000]))
    with pytest.raises(ValueError, match=r"short\.npz: key 'v_template' has shape \(6000, 3\), "
                       r'expected \(6890, 3\)'):
        load_smpl_model(str(tmp_path / 'short.npz'))

    kintree = arrays['kintree_table'].copy()
    kintree[0, 5] = 7  # a parent after its child
    np.savez(tmp_path / 'tree.npz', **dict(arrays, kintree_table=kintree))
    with pytest.raises(ValueError, match='joint 5 has parent 7'):
        load_smpl_model(str(tmp_path / 'tree.npz'))

    with pytest.raises(FileNotFoundError, match='nothing.npz'):
        load_smpl_model(str(tmp_path / 'nothing.npz'))


def test_load_normalises_layouts(tmp_path, make_random_smpl_arrays):
    arrays = make_random_smpl_arrays(seed=6, num_faces=100)
    # smplx's internal posedirs layout (207, 6890 * 3), a sparse J_regressor (from a pickle)
    flat_posedirs = arrays['posedirs'].reshape(-1, 207).T
    with open(tmp_path / 'model.pkl', 'wb') as f:
        pickle.dump(dict(arrays, posedirs=flat_posedirs,
                         J_regressor=scipy.sparse.csc_matrix(arrays['J_regressor'])), f)
    loaded = load_smpl_model(str(tmp_path / 'model.pkl'))
    np.testing.assert_array_equal(loaded['posedirs'], arrays['posedirs'])
    np.testing.assert_array_equal(loaded['J_regressor'], arrays['J_regressor'])
    assert loaded['kintree_table'].dtype == np.int64 and loaded['kintree_table'][0, 0] == 2**32 - 1
    assert loaded['f'].dtype == np.int64


def test_reads_procedural_body_model():
    from mmhmr.models.body_models import ensure_procedural_body_model
    model = GenderedSMPL(ensure_procedural_body_model(PROCEDURAL_DIR), joint_set='spin_49')
    out = model(torch.zeros(3, 10), torch.zeros(3, 72), torch.tensor([0, 1, 2]))
    assert out['joints'].shape == (3, 49, 3) and torch.isfinite(out['vertices']).all()
    lsp = model.models['neutral'].regress_joints(out['vertices'], out['smpl_joints'], 'lsp_14')
    assert lsp.shape == (3, 14, 3)


@pytest.mark.parametrize('joint_set', ['spin_49', 'h36m_17', 'lsp_14', 'smpl_24'])
def test_joints_without_the_mesh_equal_the_full_model(random_smpl_dir, joint_set):
    """vertices=False skins only the vertices the joints read: the same joints and gradients
    (the random model is asymmetric, its regressors dense over 20 vertices a joint). The
    whole mesh is checked against smplx itself in test_matches_plain_smplx."""
    model = SMPL(random_smpl_dir, joint_set=joint_set).double()
    g = torch.Generator().manual_seed(4)
    betas = torch.randn(3, 10, generator=g, dtype=torch.float64, requires_grad=True)
    pose = (0.5 * torch.randn(3, 72, generator=g, dtype=torch.float64)).requires_grad_()
    transl = torch.randn(3, 3, generator=g, dtype=torch.float64)
    full = model(betas, pose, transl)
    part = model(betas, pose, transl, vertices=False)
    assert 'vertices' not in part
    for key in ('joints', 'smpl_joints'):
        torch.testing.assert_close(part[key], full[key], atol=1e-6, rtol=0)
    weights = torch.randn(full['joints'].shape, generator=g, dtype=torch.float64)
    grads_full = torch.autograd.grad((full['joints'] * weights).sum(), (betas, pose))
    grads_part = torch.autograd.grad((part['joints'] * weights).sum(), (betas, pose))
    for a, b in zip(grads_full, grads_part):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-6)
    if joint_set != 'smpl_24':  # far fewer vertices than the mesh
        assert 0 < len(model._joint_vertex_ids()) < model.num_vertices / 4


def test_a_few_vertices_by_id_equal_the_full_mesh(random_smpl_dir):
    """vertices=<ids> skins those vertices (and the joints' own): the same vertices, in the
    asked order, and the same joints as the whole mesh."""
    model = SMPL(random_smpl_dir, joint_set='spin_49').double()
    g = torch.Generator().manual_seed(5)
    betas = torch.randn(2, 10, generator=g, dtype=torch.float64)
    pose = 0.5 * torch.randn(2, 72, generator=g, dtype=torch.float64)
    transl = torch.randn(2, 3, generator=g, dtype=torch.float64)
    ids = torch.tensor([6889, 3, 500, 3])
    full = model(betas, pose, transl)
    part = model(betas, pose, transl, vertices=ids)
    torch.testing.assert_close(part['vertices'], full['vertices'][:, ids], atol=1e-9, rtol=0)
    torch.testing.assert_close(part['joints'], full['joints'], atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match=r'vertex ids must be in \[0, 6890\)'):
        model(betas, pose, vertices=torch.tensor([6890]))


def test_cached_arrays_survive_inference_mode_and_device_moves(random_smpl_dir):
    """The skinning arrays cached by a first call under torch.inference_mode() still let a
    later call with gradients back-propagate (TTO after an inference-mode prediction), and
    .double() rebuilds them in the new dtype."""
    model = SMPL(random_smpl_dir, joint_set='spin_49')
    with torch.inference_mode():
        model(torch.zeros(1, 10), torch.zeros(1, 72))
        model(torch.zeros(1, 10), torch.zeros(1, 72), vertices=False)
    betas = torch.zeros(1, 10, requires_grad=True)
    for vertices in (True, False):
        out = model(betas, torch.zeros(1, 72), vertices=vertices)
        (grad, ) = torch.autograd.grad(out['joints'].sum(), betas)
        assert torch.isfinite(grad).all()
    model.double()
    out = model(betas.double(), torch.zeros(1, 72, dtype=torch.float64))
    assert out['vertices'].dtype == torch.float64
    with pytest.raises(ValueError, match='1-D integer vertex ids'):
        model(betas, torch.zeros(1, 72), vertices=torch.tensor([True, False]))
