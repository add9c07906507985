"""EFT's fitting JSON (``COCO2014-All-ver01.json``, ``MPII_ver01.json``, ``LSPet_ver01.json``)
to an HMR npz annotation file.

The JSON holds ``data``: one entry per person with ``imageName``, ``bbox_center`` (px),
``bbox_scale`` (box size / 200), ``gt_keypoint_2d`` ``(49, 3)`` (SPIN's 49 joints: OpenPose
25 then the 24 ground-truth joints, px and confidence), ``parm_pose`` ``(24, 3, 3)`` (SMPL
rotation matrices), ``parm_shape`` ``(10,)`` and ``parm_cam``. Rows: ``imgname`` (the
prefix joined with ``imageName``), ``center``, ``scale``, ``openpose`` / ``part`` (the two
halves of ``gt_keypoint_2d``), ``pose`` (axis-angle of ``parm_pose``), ``shape``,
``has_smpl`` = 1 (EFT's pseudo ground truth).
"""
import json
import os.path as osp
from typing import Dict

import numpy as np
import torch

from mmhmr.models.utils.rotation import matrix_to_axis_angle

ENTRY_SHAPES = {'bbox_center': (2, ), 'bbox_scale': (), 'gt_keypoint_2d': (49, 3),
                'parm_pose': (24, 3, 3), 'parm_shape': (10, )}


def load_eft_json(path: str) -> list:
    """The ``data`` list of an EFT fitting file."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'EFT fitting file not found: {path}')
    try:
        with open(path) as f:
            content = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f'{path}: not a JSON file ({e})') from None
    data = content.get('data') if isinstance(content, dict) else None
    if not isinstance(data, list) or not data:
        raise ValueError(f'{path}: expected an EFT fitting file, a JSON object whose "data" is '
                         'a non-empty list of fits')
    return data


def convert_eft(path: str, image_prefix: str = '') -> Dict[str, np.ndarray]:
    """The npz arrays of an EFT fitting file; errors name the file, entry and key."""
    data = load_eft_json(path)
    columns = {k: [] for k in ENTRY_SHAPES}
    names = []
    for i, entry in enumerate(data):
        if not isinstance(entry, dict) or 'imageName' not in entry:
            raise KeyError(f'{path}: entry {i} has no "imageName"')
        names.append(osp.join(image_prefix, str(entry['imageName'])))
        for key, shape in ENTRY_SHAPES.items():
            if key not in entry:
                raise KeyError(f'{path}: entry {i} ({entry["imageName"]}) has no "{key}"')
            value = np.asarray(entry[key], np.float64)
            if value.shape != shape:
                raise ValueError(f'{path}: entry {i} ({entry["imageName"]}): "{key}" has '
                                 f'shape {value.shape}, expected {shape}')
            columns[key].append(value)
    arrays = {k: np.stack(v) for k, v in columns.items()}
    rot = arrays['parm_pose']
    bad = ~np.isfinite(rot).all((1, 2, 3))
    bad |= np.abs(rot @ rot.transpose(0, 1, 3, 2) - np.eye(3)).max((1, 2, 3)) > 1e-3
    bad |= np.abs(np.linalg.det(rot) - 1).max(1) > 1e-3
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f'{path}: entry {i} ({names[i]}): "parm_pose" holds matrices that are '
                         'not rotations (R R^T != I or det != 1)')
    pose = matrix_to_axis_angle(torch.from_numpy(rot)).reshape(len(rot), 72).numpy()
    keypoints = arrays['gt_keypoint_2d']
    return dict(imgname=np.array(names), center=arrays['bbox_center'],
                scale=arrays['bbox_scale'], openpose=keypoints[:, :25], part=keypoints[:, 25:],
                pose=pose, shape=arrays['parm_shape'], has_smpl=np.ones(len(names)))
