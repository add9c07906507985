"""Joint sets: names, index maps between them and flip permutations.

The 49-joint set of SPIN / CLIFF is the 25 OpenPose (BODY_25) joints followed by the 24 joints of
SPIN's ground truth (``part`` / ``S`` in SPIN npz files). See docs/en/conventions.md.
"""

SMPL_24_NAMES = (
    'pelvis', 'left_hip', 'right_hip', 'spine1', 'left_knee', 'right_knee', 'spine2',
    'left_ankle', 'right_ankle', 'spine3', 'left_foot', 'right_foot', 'neck', 'left_collar',
    'right_collar', 'head', 'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow',
    'left_wrist', 'right_wrist', 'left_hand', 'right_hand')

OPENPOSE_25_NAMES = (
    'nose', 'neck', 'right_shoulder', 'right_elbow', 'right_wrist', 'left_shoulder',
    'left_elbow', 'left_wrist', 'mid_hip', 'right_hip', 'right_knee', 'right_ankle', 'left_hip',
    'left_knee', 'left_ankle', 'right_eye', 'left_eye', 'right_ear', 'left_ear', 'left_big_toe',
    'left_small_toe', 'left_heel', 'right_big_toe', 'right_small_toe', 'right_heel')

# SPIN's ground-truth joints: LSP 14, then MPII / H36M extras and the face.
SPIN_24_NAMES = (
    'right_ankle', 'right_knee', 'right_hip', 'left_hip', 'left_knee', 'left_ankle',
    'right_wrist', 'right_elbow', 'right_shoulder', 'left_shoulder', 'left_elbow', 'left_wrist',
    'neck_lsp', 'head_top_lsp', 'pelvis_mpii', 'thorax_mpii', 'spine_h36m', 'jaw_h36m',
    'head_h36m', 'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear')

SPIN_49_NAMES = tuple(f'op_{n}' for n in OPENPOSE_25_NAMES) + SPIN_24_NAMES

# The 17 joints of J_regressor_h36m (SPIN's file), in its order: with this order SPIN's
# H36M_TO_J14 map below yields the LSP joints.
H36M_17_NAMES = (
    'pelvis', 'left_hip', 'left_knee', 'left_ankle', 'right_hip', 'right_knee', 'right_ankle',
    'spine', 'thorax', 'neck_nose', 'head', 'left_shoulder', 'left_elbow', 'left_wrist',
    'right_shoulder', 'right_elbow', 'right_wrist')

LSP_14_NAMES = SPIN_24_NAMES[:14]

# index maps
H36M_TO_J17 = (6, 5, 4, 1, 2, 3, 16, 15, 14, 11, 12, 13, 8, 10, 0, 7, 9)
H36M_TO_J14 = H36M_TO_J17[:14]
J24_TO_J14 = tuple(range(14))
J49_TO_J24 = tuple(range(25, 49))  # SPIN's 24 ground-truth joints inside the 49
# pelvis of the SPIN 24-joint ground truth: the mid-point of the two hips (LSP indices 2, 3)
J24_HIP_INDICES = (2, 3)


def _flip_perm(names):
    """Index of each joint's mirror image (left <-> right) in ``names``."""
    def mirror(name):
        for a, b in (('left', 'right'), ('right', 'left')):
            if a in name:
                return name.replace(a, b)
        return name
    return tuple(names.index(mirror(n)) for n in names)


SMPL_24_FLIP_PERM = _flip_perm(SMPL_24_NAMES)
OPENPOSE_25_FLIP_PERM = _flip_perm(OPENPOSE_25_NAMES)
SPIN_24_FLIP_PERM = _flip_perm(SPIN_24_NAMES)
SPIN_49_FLIP_PERM = _flip_perm(SPIN_49_NAMES)
H36M_17_FLIP_PERM = _flip_perm(H36M_17_NAMES)
