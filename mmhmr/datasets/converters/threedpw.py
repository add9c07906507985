"""Raw 3DPW (``sequenceFiles/<split>/*.pkl``) to an HMR npz annotation file.

Each sequence file is a Python 2 pickle of a dict holding, per actor (lists): ``poses``
``(F, 72)`` (SMPL, world frame), ``betas`` ``(10,)`` (or more), ``trans`` ``(F, 3)``,
``poses2d`` ``(F, 3, 18)`` (OpenPose BODY_18 x / y / confidence, px), ``campose_valid``
``(F,)``, and ``genders`` (``'m'`` / ``'f'``); and per sequence ``cam_poses`` ``(F, 4, 4)``
(world to camera), ``cam_intrinsics`` ``(3, 3)`` and ``sequence``. Frame ``k`` of these arrays
is image ``imageFiles/<sequence>/image_<k>.jpg`` (``img_frame_ids`` indexes the 60 Hz poses, not
the images). It is read with a restricted unpickler (numpy arrays and containers only).

One row per actor and frame where the camera pose is valid (SPIN's test set) and the 2D
keypoints hold at least ``min_keypoints`` confident joints spanning a box of non-zero size (a
frame without is counted and reported): ``imgname``, the box around the confident 2D keypoints
(``center``, ``scale`` = 1.2 x its longer side / 200), ``pose`` with the global orientation
turned into the camera frame, ``shape`` (10 betas), ``has_smpl`` = 1, ``gender``,
``focal_length`` (the mean of f_x and f_y of the intrinsics) and ``openpose`` (the BODY_18
keypoints in the OpenPose-25 slots of their names; detections for ``det_keypoints='openpose'``).
"""
import glob
import os.path as osp
import pickle
from typing import Dict, List, Tuple

import numpy as np
import torch

from mmhmr.models.body_models.joint_sets import OPENPOSE_25_NAMES
from mmhmr.models.utils.rotation import axis_angle_to_matrix, matrix_to_axis_angle
from mmhmr.utils.safe_pickle import SafeNumpyUnpickler

BODY_18_NAMES = ('nose', 'neck', 'right_shoulder', 'right_elbow', 'right_wrist', 'left_shoulder',
                 'left_elbow', 'left_wrist', 'right_hip', 'right_knee', 'right_ankle',
                 'left_hip', 'left_knee', 'left_ankle', 'right_eye', 'left_eye', 'right_ear',
                 'left_ear')
BODY_18_TO_OPENPOSE_25 = tuple(OPENPOSE_25_NAMES.index(n) for n in BODY_18_NAMES)
SEQUENCE_KEYS = ('sequence', 'poses', 'betas', 'poses2d', 'campose_valid', 'cam_poses',
                 'cam_intrinsics', 'genders')


def load_sequence(path: str) -> dict:
    """The dict of a 3DPW sequence file, read safely; keys checked."""
    with open(path, 'rb') as f:
        data = SafeNumpyUnpickler(f, source=path).load()
    if not isinstance(data, dict):
        raise ValueError(f'{path}: expected a dict (a 3DPW sequence file), got '
                         f'{type(data).__name__}')
    missing = [k for k in SEQUENCE_KEYS if k not in data]
    if missing:
        raise KeyError(f'{path}: missing 3DPW key(s) {missing} (has {sorted(data)})')
    return data


def rotate_global_orient(pose: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """``pose (F, 72)`` with its first 3 values (the root's axis-angle) pre-multiplied by
    ``rotation (F, 3, 3)``."""
    root = axis_angle_to_matrix(torch.as_tensor(pose[:, :3], dtype=torch.float64))
    turned = matrix_to_axis_angle(torch.as_tensor(rotation, dtype=torch.float64) @ root)
    out = pose.astype(np.float64).copy()
    out[:, :3] = turned.numpy()
    return out


def convert_sequence(path: str, min_keypoints: int = 1,
                     conf_threshold: float = 0.0) -> Tuple[Dict[str, np.ndarray], int]:
    """The npz rows of one sequence file and the number of actor-frames with a valid camera
    pose left out for too few confident 2D keypoints (or a box of zero size)."""
    data = load_sequence(path)
    seq = str(data['sequence'])
    intrinsics = np.asarray(data['cam_intrinsics'], np.float64)
    cam_poses = np.asarray(data['cam_poses'], np.float64)
    if intrinsics.shape != (3, 3) or cam_poses.ndim != 3 or cam_poses.shape[1:] != (4, 4):
        raise ValueError(f'{path}: cam_intrinsics {intrinsics.shape} / cam_poses '
                         f'{cam_poses.shape}, expected (3, 3) / (F, 4, 4)')
    focal = (intrinsics[0, 0] + intrinsics[1, 1]) / 2
    rows: Dict[str, List[np.ndarray]] = {k: [] for k in (
        'imgname', 'center', 'scale', 'pose', 'shape', 'gender', 'openpose')}
    skipped = 0
    for actor, (poses, betas, kp2d, valid, gender) in enumerate(zip(
            data['poses'], data['betas'], data['poses2d'], data['campose_valid'],
            data['genders'])):
        poses, kp2d = np.asarray(poses, np.float64), np.asarray(kp2d, np.float64)
        num = len(poses)
        if poses.shape != (num, 72) or kp2d.shape != (num, 3, 18) or len(valid) != num or (
                len(cam_poses) != num):
            raise ValueError(f'{path}: actor {actor}: poses {poses.shape}, poses2d '
                             f'{kp2d.shape}, campose_valid {len(valid)}, cam_poses '
                             f'{len(cam_poses)}: expected ({num}, 72), ({num}, 3, 18), {num}')
        kp2d = kp2d.transpose(0, 2, 1)  # (F, 18, 3)
        confident = kp2d[..., 2] > conf_threshold
        # the box of the confident joints (none: low = inf, high = -inf, no box)
        low = np.where(confident[..., None], kp2d[..., :2], np.inf).min(1)
        high = np.where(confident[..., None], kp2d[..., :2], -np.inf).max(1)
        enough = (confident.sum(1) >= max(min_keypoints, 1)) & ((high - low).max(1) > 0)
        valid = np.asarray(valid, bool)
        keep = valid & enough
        skipped += int((valid & ~enough).sum())
        if not keep.any():
            continue
        kp2d, low, high = kp2d[keep], low[keep], high[keep]
        rows['center'].append((low + high) / 2)
        rows['scale'].append(1.2 * (high - low).max(1) / 200)
        rows['pose'].append(rotate_global_orient(poses[keep], cam_poses[keep, :3, :3]))
        betas = np.asarray(betas, np.float64).reshape(-1)[:10]
        rows['shape'].append(np.repeat(betas[None], int(keep.sum()), 0))
        rows['gender'].append(np.full(int(keep.sum()), str(gender)))
        openpose = np.zeros((int(keep.sum()), 25, 3))
        openpose[:, BODY_18_TO_OPENPOSE_25] = kp2d
        rows['openpose'].append(openpose)
        rows['imgname'].append(np.array([osp.join('imageFiles', seq, f'image_{int(k):05d}.jpg')
                                         for k in np.flatnonzero(keep)]))
    out = {k: np.concatenate(v) if v else np.zeros((0, )) for k, v in rows.items()}
    num = len(out['imgname'])
    out['has_smpl'] = np.ones(num)
    out['focal_length'] = np.full(num, focal)
    return out, skipped


def convert_3dpw(root: str, split: str = 'test', skip_bad_files: bool = False,
                 **kwargs) -> Tuple[Dict[str, np.ndarray], List[str]]:
    """All sequences of ``root/sequenceFiles/<split>``: the npz arrays and messages (frames
    left out; with ``skip_bad_files``, files that could not be read, the others converted --
    without it such a file is an error, so that a benchmark never shrinks quietly)."""
    files = sorted(glob.glob(osp.join(root, 'sequenceFiles', split, '*.pkl')))
    if not files:
        folder = osp.join(root, 'sequenceFiles', split)
        raise FileNotFoundError(f'no 3DPW sequence files (*.pkl) in {folder}')
    parts, messages = [], []
    for path in files:
        try:
            rows, skipped = convert_sequence(path, **kwargs)
        except (pickle.UnpicklingError, ValueError, KeyError, EOFError) as e:
            if not skip_bad_files:
                raise
            messages.append(f'skipped {path}: {e}')
            continue
        if skipped:
            messages.append(f'{path}: {skipped} actor-frames with a valid camera pose but too '
                            'few confident 2D keypoints left out')
        parts.append(rows)
    parts = [p for p in parts if len(p['imgname'])]
    if not parts:
        raise ValueError(f'no 3DPW sequence in {root} gave a sample:\n' + '\n'.join(messages))
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}, messages
