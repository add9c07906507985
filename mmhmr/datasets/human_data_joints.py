"""mmhuman3d's ``human_data`` keypoint convention (190 joints) and where our 49 joints sit in it.

HumanData files store ``keypoints2d (N, 190, 3)`` / ``keypoints3d (N, 190, 4)`` in this order
(mmhuman3d, ``core/conventions/keypoints_mapping/human_data.py``). Our 49-joint set maps into
it by name: the OpenPose joints are its ``*_openpose`` joints, and SPIN's LSP / MPII / H36M
joints its ``*_extra`` / ``headtop`` joints (the joints of SPIN's ``J_regressor_extra``), as
mmhuman3d's own ``smpl_49`` convention names them.
"""
from mmhmr.models.body_models.joint_sets import OPENPOSE_25_NAMES, SPIN_24_NAMES

_FINGERS = ('index', 'middle', 'pinky', 'ring', 'thumb')
_TIPS = ('thumb', 'index', 'middle', 'ring', 'pinky')
_OPENPOSE = ('nose', 'neck', 'right_shoulder', 'right_elbow', 'right_wrist', 'left_shoulder',
             'left_elbow', 'left_wrist', 'pelvis', 'right_hip', 'right_knee', 'right_ankle',
             'left_hip', 'left_knee', 'left_ankle', 'right_eye', 'left_eye', 'right_ear',
             'left_ear', 'left_bigtoe', 'left_smalltoe', 'left_heel', 'right_bigtoe',
             'right_smalltoe', 'right_heel')

HUMAN_DATA_NAMES = (
    # SMPL-X body (22) and face joints
    'pelvis', 'left_hip', 'right_hip', 'spine_1', 'left_knee', 'right_knee', 'spine_2',
    'left_ankle', 'right_ankle', 'spine_3', 'left_foot', 'right_foot', 'neck', 'left_collar',
    'right_collar', 'head', 'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow',
    'left_wrist', 'right_wrist', 'jaw', 'left_eyeball', 'right_eyeball',
    # finger joints, left hand then right hand
    *(f'{side}_{finger}_{k}' for side in ('left', 'right') for finger in _FINGERS
      for k in (1, 2, 3)),
    # face and feet of SMPL-X's extra joints, then the finger tips
    'nose', 'right_eye', 'left_eye', 'right_ear', 'left_ear', 'left_bigtoe', 'left_smalltoe',
    'left_heel', 'right_bigtoe', 'right_smalltoe', 'right_heel',
    *(f'{side}_{tip}' for side in ('left', 'right') for tip in _TIPS),
    # face landmarks: eyebrows, nose, eyes, mouth, lips, contour (mmhuman3d's order)
    *(f'right_eyebrow_{k}' for k in range(1, 6)), *(f'left_eyebrow_{k}' for k in range(5, 0, -1)),
    *(f'nosebridge_{k}' for k in range(1, 5)),
    'right_nose_2', 'right_nose_1', 'nose_middle', 'left_nose_1', 'left_nose_2',
    *(f'right_eye_{k}' for k in range(1, 7)),
    'left_eye_4', 'left_eye_3', 'left_eye_2', 'left_eye_1', 'left_eye_6', 'left_eye_5',
    'right_mouth_1', 'right_mouth_2', 'right_mouth_3', 'mouth_top', 'left_mouth_3',
    'left_mouth_2', 'left_mouth_1', 'left_mouth_5', 'left_mouth_4', 'mouth_bottom',
    'right_mouth_4', 'right_mouth_5',
    'right_lip_1', 'right_lip_2', 'lip_top', 'left_lip_2', 'left_lip_1', 'left_lip_3',
    'lip_bottom', 'right_lip_3',
    *(f'right_contour_{k}' for k in range(1, 9)), 'contour_middle',
    *(f'left_contour_{k}' for k in range(8, 0, -1)),
    # the joints of SPIN's J_regressor_extra
    'right_hip_extra', 'left_hip_extra', 'neck_extra', 'headtop', 'pelvis_extra',
    'thorax_extra', 'spine_extra', 'jaw_extra', 'head_extra',
    # OpenPose BODY_25
    *(f'{n}_openpose' for n in _OPENPOSE),
    # MPI-INF-3DHP, H36M, PoseTrack, SMPL hands
    'spine_4_3dhp', 'left_clavicle_3dhp', 'right_clavicle_3dhp', 'left_hand_3dhp',
    'right_hand_3dhp', 'left_toe_3dhp', 'right_toe_3dhp', 'head_h36m', 'headtop_h36m',
    'head_bottom_pt', 'left_hand', 'right_hand')

# our SPIN-24 names whose HumanData name differs (the J_regressor_extra joints)
_SPIN_RENAMES = {'right_hip': 'right_hip_extra', 'left_hip': 'left_hip_extra',
                 'neck_lsp': 'neck_extra', 'head_top_lsp': 'headtop',
                 'pelvis_mpii': 'pelvis_extra', 'thorax_mpii': 'thorax_extra',
                 'spine_h36m': 'spine_extra', 'jaw_h36m': 'jaw_extra', 'head_h36m': 'head_extra'}
# our OpenPose names whose HumanData stem differs
_OPENPOSE_RENAMES = {'mid_hip': 'pelvis', 'left_big_toe': 'left_bigtoe',
                     'left_small_toe': 'left_smalltoe', 'right_big_toe': 'right_bigtoe',
                     'right_small_toe': 'right_smalltoe'}

# HumanData names of our OpenPose 25 and SPIN 24 joints, in our order
OPENPOSE_25_IN_HUMAN_DATA = tuple(f'{_OPENPOSE_RENAMES.get(n, n)}_openpose'
                                  for n in OPENPOSE_25_NAMES)
SPIN_24_IN_HUMAN_DATA = tuple(_SPIN_RENAMES.get(n, n) for n in SPIN_24_NAMES)
# their rows in a HumanData keypoint array
OPENPOSE_25_ROWS = tuple(HUMAN_DATA_NAMES.index(n) for n in OPENPOSE_25_IN_HUMAN_DATA)
SPIN_24_ROWS = tuple(HUMAN_DATA_NAMES.index(n) for n in SPIN_24_IN_HUMAN_DATA)
