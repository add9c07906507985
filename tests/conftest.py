"""Shared fixtures: mmhmr's default scope, a random body model in SMPL's format (not SMPL; for
tests only)."""
import numpy as np
import pytest
from mmengine.registry import DefaultScope, init_default_scope


@pytest.fixture(autouse=True)
def mmhmr_scope():
    """Build from mmhmr's registries, as a config with default_scope='mmhmr' does."""
    previous = DefaultScope.get_current_instance()
    init_default_scope('mmhmr')
    yield
    if previous is not None:
        init_default_scope(previous.scope_name)

# SMPL's kinematic tree (parent of each of the 24 joints)
SMPL_PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)


def _random_regressor(rng, num_joints, num_vertices=6890, support=20):
    """``(num_joints, num_vertices)``, each row a convex combination of ``support`` vertices."""
    regressor = np.zeros((num_joints, num_vertices), np.float32)
    for j in range(num_joints):
        idx = rng.choice(num_vertices, support, replace=False)
        w = rng.uniform(0.1, 1.0, support)
        regressor[j, idx] = w / w.sum()
    return regressor


def random_smpl_arrays(seed=0, num_betas=10, num_faces=13776):
    """A random model with SMPL's keys, shapes and kinematic tree (6890 vertices, 24 joints).

    Weights rows sum to 1 (each vertex bound to 3 joints); J_regressor rows too.
    """
    rng = np.random.default_rng(seed)
    nv = 6890
    weights = np.zeros((nv, 24), np.float32)
    for k in range(3):
        weights[np.arange(nv), rng.integers(0, 24, nv)] += rng.uniform(0.2, 1.0, nv)
    weights /= weights.sum(1, keepdims=True)
    kintree = np.stack([np.array(SMPL_PARENTS, np.int64) % 2**32, np.arange(24)])
    return dict(
        v_template=rng.uniform([-0.4, -1.1, -0.15], [0.4, 0.6, 0.15], (nv, 3)).astype(np.float32),
        shapedirs=rng.normal(0, 0.01, (nv, 3, num_betas)).astype(np.float32),
        posedirs=rng.normal(0, 0.002, (nv, 3, 207)).astype(np.float32),
        J_regressor=_random_regressor(rng, 24),
        weights=weights,
        kintree_table=kintree.astype(np.uint32),  # as in the official files: root parent 2**32-1
        f=rng.integers(0, nv, (num_faces, 3)).astype(np.uint32))


@pytest.fixture(scope='session')
def make_random_smpl_arrays():
    """The function ``random_smpl_arrays(seed=0, num_betas=10, num_faces=13776) -> dict``."""
    return random_smpl_arrays


@pytest.fixture(scope='session')
def random_smpl_dir(tmp_path_factory):
    """A directory with SMPL_{NEUTRAL,MALE,FEMALE}.npz (seeds 0, 1, 2),
    J_regressor_extra.npy (9, 6890) and J_regressor_h36m.npy (17, 6890), all random."""
    root = tmp_path_factory.mktemp('random_smpl')
    for seed, gender in enumerate(('NEUTRAL', 'MALE', 'FEMALE')):
        np.savez(root / f'SMPL_{gender}.npz', **random_smpl_arrays(seed))
    rng = np.random.default_rng(100)
    np.save(root / 'J_regressor_extra.npy', _random_regressor(rng, 9))
    np.save(root / 'J_regressor_h36m.npy', _random_regressor(rng, 17))
    return root


@pytest.fixture(scope='session')
def procedural_body_dir(tmp_path_factory):
    """The procedural SMPL-format body model (neutral, male, female), generated once."""
    from mmhmr.models.body_models.procedural import ensure_procedural_body_model
    return ensure_procedural_body_model(str(tmp_path_factory.mktemp('procedural')), seed=0)
