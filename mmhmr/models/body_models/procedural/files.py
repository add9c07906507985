"""The model files on disk: written atomically, regenerated when stale."""
import json
import os
import os.path as osp
import tempfile
import zipfile

import numpy as np

from .constants import GENDERS, GENERATOR_VERSION
from .model import generate_smpl_model
from .regressors import generate_joint_regressors


MODEL_FILES = tuple(f'SMPL_{g.upper()}.npz' for g in GENDERS) + (
    'J_regressor_extra.npy', 'J_regressor_h36m.npy')
_META_FILE = 'meta.json'


def _write_atomic(path, write):
    """Write through ``write(file object)`` to a temporary name, then rename onto ``path``."""
    fd, tmp = tempfile.mkstemp(dir=osp.dirname(path), prefix='.' + osp.basename(path) + '.')
    try:
        with os.fdopen(fd, 'wb') as f:
            write(f)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def _save_npz(f, arrays):
    """``np.savez_compressed`` with fast (level 1) compression: posedirs is mostly zeros."""
    with zipfile.ZipFile(f, 'w', zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for key, value in arrays.items():
            with zf.open(key + '.npy', 'w', force_zip64=True) as entry:
                np.lib.format.write_array(entry, np.asarray(value), allow_pickle=False)


def _read_meta(model_dir):
    try:
        with open(osp.join(model_dir, _META_FILE)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def ensure_procedural_body_model(model_dir='data/body_models/procedural', seed=0, force=False):
    """Write the procedural body model files into ``model_dir`` unless they are there already.

    Files: ``SMPL_NEUTRAL.npz``, ``SMPL_MALE.npz``, ``SMPL_FEMALE.npz`` (SMPL's keys, see
    :func:`generate_smpl_model`), ``J_regressor_extra.npy``, ``J_regressor_h36m.npy`` and
    ``meta.json`` (generator version and seed, written last). They are regenerated when
    ``meta.json`` names another version or seed, when one is missing, or with ``force``.
    Every file is written to a temporary name and renamed, so processes of a distributed
    run may call this at the same time.

    Args:
        model_dir (str): the directory (created if needed); it belongs to the generator.
        seed (int): see :func:`generate_smpl_model`.
        force (bool): regenerate even if the files are up to date.

    Returns:
        str: ``model_dir``.
    """
    meta = dict(generator='mmhmr.models.body_models.procedural', version=GENERATOR_VERSION,
                seed=int(seed))
    up_to_date = _read_meta(model_dir) == meta and all(
        osp.isfile(osp.join(model_dir, name)) for name in MODEL_FILES)
    if up_to_date and not force:
        return model_dir
    os.makedirs(model_dir, exist_ok=True)
    for gender in GENDERS:
        model = generate_smpl_model(gender, seed)
        if gender == 'neutral':
            regressors = generate_joint_regressors(model)
        _write_atomic(osp.join(model_dir, f'SMPL_{gender.upper()}.npz'),
                      lambda f: _save_npz(f, model))
    for name, array in regressors.items():
        _write_atomic(osp.join(model_dir, name + '.npy'), lambda f: np.save(f, array))
    text = json.dumps(meta, indent=2).encode()
    _write_atomic(osp.join(model_dir, _META_FILE), lambda f: f.write(text))
    return model_dir
