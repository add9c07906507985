from .model_files import (HOW_TO_GET_SMPL, SMPL_KEYS, SafeSMPLUnpickler, load_joint_regressor,
                          load_smpl_model, load_smpl_pickle, resolve_model_file)
from .procedural import (ensure_procedural_body_model, generate_joint_regressors,
                         generate_smpl_model)
from .procedural_smpl import PROCEDURAL_MODEL_DIR, ProceduralGenderedSMPL, ProceduralSMPL
from .smpl import JOINT_SET_SIZES, SMPL, GenderedSMPL, pose_to_rotmat

__all__ = [
    'SMPL', 'GenderedSMPL', 'ProceduralSMPL', 'ProceduralGenderedSMPL', 'PROCEDURAL_MODEL_DIR',
    'JOINT_SET_SIZES', 'pose_to_rotmat', 'load_smpl_model', 'load_smpl_pickle',
    'load_joint_regressor', 'resolve_model_file', 'SafeSMPLUnpickler', 'SMPL_KEYS',
    'HOW_TO_GET_SMPL', 'ensure_procedural_body_model', 'generate_smpl_model',
    'generate_joint_regressors'
]
