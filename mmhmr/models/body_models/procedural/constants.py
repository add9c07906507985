"""The generator's version, SMPL's sizes, genders, parents and smplx's vertex ids."""
from ..joint_sets import SMPL_24_NAMES


GENERATOR_VERSION = 1
NUM_VERTICES = 6890
NUM_FACES = 13776
NUM_BETAS = 10
GENDERS = ('neutral', 'male', 'female')

SMPL_PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)
_ROOT_PARENT_ID = 4294967295  # how SMPL files store the root's parent (uint32 -1)

# Vertex indices that smplx turns into extra joints (``smplx.vertex_ids.vertex_ids['smplh']``).
SMPL_VERTEX_IDS = {
    'nose': 332, 'reye': 6260, 'leye': 2800, 'rear': 4071, 'lear': 583,
    'rthumb': 6191, 'rindex': 5782, 'rmiddle': 5905, 'rring': 6016, 'rpinky': 6133,
    'lthumb': 2746, 'lindex': 2319, 'lmiddle': 2445, 'lring': 2556, 'lpinky': 2673,
    'LBigToe': 3216, 'LSmallToe': 3226, 'LHeel': 3387,
    'RBigToe': 6617, 'RSmallToe': 6624, 'RHeel': 6787,
}

# SPIN's J_regressor_extra.npy rows, in order: SPIN's SMPL wrapper appends them after smplx's
# 45 joints, and constants.JOINT_MAP sends 'Right Hip' to 45, 'Left Hip' to 46, ...,
# 'Head (H36M)' to 53 (github.com/nkolot/SPIN, constants.py and models/smpl.py).
SPIN_EXTRA_9_NAMES = (
    'right_hip', 'left_hip', 'neck_lsp', 'head_top_lsp', 'pelvis_mpii', 'thorax_mpii',
    'spine_h36m', 'jaw_h36m', 'head_h36m')

_J = {name: i for i, name in enumerate(SMPL_24_NAMES)}
_Y_SHIFT = -1.15  # floor height in SMPL's frame: puts the neutral pelvis near y = -0.22
