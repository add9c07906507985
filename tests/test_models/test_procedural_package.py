"""The procedural body model, split into a package, writes the very arrays the single module did.

``MODEL_DIGEST`` was computed with ``procedural.py`` before the split (``seed=0``); the arrays
must stay bit for bit the same, and so must ``meta.json`` (it holds no timestamp or path).
"""
import hashlib
import importlib
import os

import numpy as np

from mmhmr.models.body_models.procedural import ensure_procedural_body_model

MODEL_DIGEST = 'ec4b39295240ed0e4f785f4ac2ab0ed872509c2d99e31aa3728fcacceeb57898'
META_TEXT = ('{\n  "generator": "mmhmr.models.body_models.procedural",\n  "version": 1,\n'
             '  "seed": 0\n}')
FILES = ['J_regressor_extra.npy', 'J_regressor_h36m.npy', 'SMPL_FEMALE.npz', 'SMPL_MALE.npz',
         'SMPL_NEUTRAL.npz', 'meta.json']


def model_digest(model_dir):
    """sha256 over every array of every file: files in sorted order, an npz's keys in sorted
    order; for each array its key (the file name for an npy), dtype, shape and bytes."""
    h = hashlib.sha256()
    for name in sorted(os.listdir(model_dir)):
        path = os.path.join(model_dir, name)
        if name.endswith('.npz'):
            with np.load(path, allow_pickle=False) as npz:
                arrays = [(key, npz[key]) for key in sorted(npz.files)]
        elif name.endswith('.npy'):
            arrays = [(name, np.load(path, allow_pickle=False))]
        else:
            continue
        h.update(name.encode())
        for key, a in arrays:
            h.update(key.encode())
            h.update(a.dtype.str.encode())
            h.update(repr(a.shape).encode())
            h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def test_package_writes_the_same_model_as_the_module(tmp_path):
    ensure_procedural_body_model(str(tmp_path), seed=0)
    assert sorted(os.listdir(tmp_path)) == FILES
    assert model_digest(str(tmp_path)) == MODEL_DIGEST
    assert (tmp_path / 'meta.json').read_text() == META_TEXT


def test_old_import_paths_resolve():
    """Every name the repository imports from ``procedural`` (or uses on it) is still there."""
    procedural = importlib.import_module('mmhmr.models.body_models.procedural')
    for name in ('GENERATOR_VERSION', 'MODEL_FILES', 'SMPL_PARENTS', 'SMPL_VERTEX_IDS',
                 'SPIN_EXTRA_9_NAMES', '_write_atomic', 'ensure_procedural_body_model',
                 'generate_joint_regressors', 'generate_smpl_model'):
        assert hasattr(procedural, name), name
