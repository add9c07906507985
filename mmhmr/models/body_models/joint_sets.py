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

# COCO's 17 keypoints, in COCO's order (also the order of mmpose's COCO top-down detectors).
COCO_17_NAMES = (
    'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder', 'right_shoulder',
    'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist', 'left_hip', 'right_hip',
    'left_knee', 'right_knee', 'left_ankle', 'right_ankle')

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
# SPIN's ground-truth joints that pair with H36M_TO_J17 (SPIN's constants.J24_TO_J17): the 12
# LSP limb joints, the LSP neck, then "Head (H36M)" (18), paired with the H36M regressor's head
# (joint 10), not the LSP head top (13), which SPIN's Human3.6M files leave empty.
J24_TO_J17 = tuple(range(13)) + (18, 14, 16, 17)
J24_TO_J14 = J24_TO_J17[:14]
J49_TO_J24 = tuple(range(25, 49))  # SPIN's 24 ground-truth joints inside the 49
# pelvis of the SPIN 24-joint ground truth: the mid-point of the two hips (LSP indices 2, 3)
J24_HIP_INDICES = (2, 3)


def _slots_in_spin_49(names, prefix):
    """Slot in SPIN_49_NAMES of each joint of ``names``, looked up as ``prefix + name``."""
    return tuple(SPIN_49_NAMES.index(prefix + n) for n in names)


# Detector outputs in the 49-joint set: the slot of each of their joints, so that
# ``j49[J49_TO_X] = x`` writes a (n, ...) array of joint set X into a (49, ...) one and
# ``j49[J49_TO_X]`` reads it back (as J49_TO_J24 for SPIN's ground truth). OpenPose fills
# slots 0-24; COCO's 17 joints all exist in BODY_25 and go to the OpenPose slots of their names.
J49_TO_OPENPOSE_25 = _slots_in_spin_49(OPENPOSE_25_NAMES, 'op_')
J49_TO_COCO_17 = _slots_in_spin_49(COCO_17_NAMES, 'op_')


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
COCO_17_FLIP_PERM = _flip_perm(COCO_17_NAMES)

# The 45 joints smplx's SMPL outputs: the 24 SMPL joints, then joints picked at vertices
# (smplx.vertex_ids['smplh']: face, feet, finger tips), in smplx's VertexJointSelector order.
SMPL_45_NAMES = SMPL_24_NAMES + (
    'nose', 'right_eye', 'left_eye', 'right_ear', 'left_ear', 'left_big_toe', 'left_small_toe',
    'left_heel', 'right_big_toe', 'right_small_toe', 'right_heel', 'left_thumb_tip',
    'left_index_tip', 'left_middle_tip', 'left_ring_tip', 'left_pinky_tip', 'right_thumb_tip',
    'right_index_tip', 'right_middle_tip', 'right_ring_tip', 'right_pinky_tip')

# The 9 joints of SPIN's J_regressor_extra.npy, in its order (named as in SPIN_24_NAMES).
J_REGRESSOR_EXTRA_9_NAMES = ('right_hip', 'left_hip', 'neck_lsp', 'head_top_lsp', 'pelvis_mpii',
                             'thorax_mpii', 'spine_h36m', 'jaw_h36m', 'head_h36m')


def _spin_49_from_smpl_54():
    """Index of each SPIN_49 joint among smplx's 45 joints followed by the 9 extra joints.

    As SPIN / CLIFF build it: an OpenPose joint is the vertex joint of its name, else the SMPL
    joint (OpenPose's neck is SMPL's neck, its mid-hip SMPL's pelvis); a ground-truth joint is the
    J_regressor_extra joint of its name (hips, LSP / MPII / H36M extras), else the vertex joint
    (face), else the SMPL joint (limbs).
    """
    smpl = {n: i for i, n in enumerate(SMPL_24_NAMES)}
    vertex = {n: i + 24 for i, n in enumerate(SMPL_45_NAMES[24:])}
    extra = {n: i + 45 for i, n in enumerate(J_REGRESSOR_EXTRA_9_NAMES)}
    openpose_renames = {'mid_hip': 'pelvis'}
    indices = []
    for name in SPIN_49_NAMES:
        if name.startswith('op_'):
            name = openpose_renames.get(name[3:], name[3:])
            sources = (vertex, smpl)
        else:
            sources = (extra, vertex, smpl)
        indices.append(next(s[name] for s in sources if name in s))
    return tuple(indices)


SMPL_54_TO_SPIN_49 = _spin_49_from_smpl_54()

# The global-to-pixel head's keypoint -> body-part map: for each SMPL joint, the SPIN 24
# ground-truth keypoints whose local features predict its rotation residual. A joint's
# rotation moves the bones below it, so it is governed by the keypoints at their far ends
# (the hip by the knee, the knee by the ankle, ...); the pelvis (global orientation) by the
# hips and the torso, the head by the face.
SMPL_24_PARTS = {
    'pelvis': ('right_hip', 'left_hip', 'pelvis_mpii', 'spine_h36m'),
    'left_hip': ('left_knee', ),
    'right_hip': ('right_knee', ),
    'spine1': ('spine_h36m', ),
    'left_knee': ('left_ankle', ),
    'right_knee': ('right_ankle', ),
    'spine2': ('thorax_mpii', ),
    'left_ankle': ('left_ankle', ),
    'right_ankle': ('right_ankle', ),
    'spine3': ('thorax_mpii', 'neck_lsp'),
    'left_foot': ('left_ankle', ),
    'right_foot': ('right_ankle', ),
    'neck': ('neck_lsp', 'head_h36m'),
    'left_collar': ('left_shoulder', ),
    'right_collar': ('right_shoulder', ),
    'head': ('head_top_lsp', 'jaw_h36m', 'head_h36m', 'nose', 'left_eye', 'right_eye',
             'left_ear', 'right_ear'),
    'left_shoulder': ('left_elbow', ),
    'right_shoulder': ('right_elbow', ),
    'left_elbow': ('left_wrist', ),
    'right_elbow': ('right_wrist', ),
    'left_wrist': ('left_wrist', ),
    'right_wrist': ('right_wrist', ),
    'left_hand': ('left_wrist', ),
    'right_hand': ('right_wrist', ),
}
