"""mmhuman3d's HumanData ``.npz`` files, read as HMR annotations.

A HumanData file (mmhuman3d's ``HumanData.dump``) holds, per sample: ``image_path (N,)``,
``bbox_xywh (N, 4 or 5)`` (px; a fifth column is a confidence), ``keypoints2d (N, 190, 3)`` and
``keypoints3d (N, 190, 4)`` in the ``human_data`` convention with ``keypoints2d_mask`` /
``keypoints3d_mask (190,)`` (1 where the dataset has the joint), ``smpl`` (a dict:
``global_orient (N, 3)``, ``body_pose (N, 23, 3)`` or ``(N, 69)``, ``betas (N, B)``,
optionally ``transl``) and ``meta`` (a dict with ``gender (N,)``), plus ``config``,
``__data_len__``, ``__key_strict__`` and ``__keypoints_compressed__`` (keypoint arrays that
hold only the joints of their mask). ``smpl`` and ``meta`` are pickled object arrays: they are
read with :class:`~mmhmr.utils.safe_pickle.SafeNumpyUnpickler`, which builds numpy arrays and
plain containers only, never other classes.
"""
import os.path as osp
import pickle
import zipfile
from typing import Dict

import numpy as np

from mmhmr.registry import DATASETS
from mmhmr.utils.safe_pickle import SafeNumpyUnpickler
from .hmr_dataset import HMRDataset, check_hmr_arrays
from .human_data_joints import HUMAN_DATA_NAMES, OPENPOSE_25_ROWS, SPIN_24_ROWS

NUM_HUMAN_DATA = len(HUMAN_DATA_NAMES)


def read_human_data_npz(path: str) -> Dict[str, object]:
    """Every array of a HumanData file; object arrays unpickled safely (0-d ones as the object
    they hold, e.g. the ``smpl`` dict)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'HumanData file not found: {path}')
    if not zipfile.is_zipfile(path):
        raise ValueError(f'{path}: not a readable npz file (not a zip archive: empty, truncated '
                         'or another format); expected an mmhuman3d HumanData .npz')
    out = {}
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if not name.endswith('.npy'):
                continue
            key = name[:-4]
            try:
                out[key] = _read_member(archive, name, f'{path}, key "{key}"')
            except pickle.UnpicklingError:
                raise
            except Exception as e:  # truncated members, bad headers
                raise ValueError(f'{path}: cannot read key "{key}" ({type(e).__name__}: '
                                 f'{e})') from None
    return out


def _read_member(archive: zipfile.ZipFile, name: str, source: str):
    with archive.open(name) as f:
        version = np.lib.format.read_magic(f)
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0) else
                       np.lib.format.read_array_header_2_0)
        _, _, dtype = read_header(f)
        if dtype.hasobject:
            array = SafeNumpyUnpickler(f, source=source).load()
            if not isinstance(array, np.ndarray):
                raise ValueError(f'{source}: expected a pickled numpy array, got '
                                 f'{type(array).__name__}')
            return array.item() if array.ndim == 0 else array
    with archive.open(name) as f:
        return np.lib.format.read_array(f, allow_pickle=False)


def load_human_data(path: str, bbox_scale: float = 1.0) -> Dict[str, np.ndarray]:
    """A HumanData file as arrays in the layout of SPIN / CLIFF npz files (see
    :class:`~mmhmr.datasets.HMRDataset`), not yet checked (:func:`check_hmr_arrays` does).

    ``center`` is the box centre and ``scale = max(w, h) * bbox_scale / 200``: mmhuman3d's
    converters store boxes already enlarged (e.g. SPIN's 1.2 for 3DPW and EFT) and its
    datasets crop ``max(w, h)`` as it is, hence ``bbox_scale = 1``; ``part`` / ``openpose`` /
    ``S`` are the joints of our 49-joint set picked from the 190 by name, their confidences
    times the masks; ``pose`` is ``global_orient`` then ``body_pose``, ``shape`` the first 10
    ``betas``; ``gender`` comes from ``meta``.
    """
    data = read_human_data_npz(path)
    for key in ('image_path', 'bbox_xywh'):
        if key not in data:
            raise KeyError(f'{path}: missing HumanData key "{key}" (found '
                           f'{sorted(data)})')
    raw = dict(imgname=np.asarray(data['image_path']))
    num = len(raw['imgname'])
    declared = data.get('__data_len__')
    if declared is not None and int(declared) not in (-1, num):
        raise ValueError(f'{path}: "__data_len__" is {int(declared)} but "image_path" has '
                         f'{num} entries')
    box = np.asarray(data['bbox_xywh'], np.float64)
    if box.ndim != 2 or box.shape[1] not in (4, 5) or len(box) != num:
        raise ValueError(f'{path}: key "bbox_xywh" has shape {box.shape}, expected ({num}, 4) '
                         'or (N, 5)')
    raw['center'] = box[:, :2] + box[:, 2:4] / 2
    raw['scale'] = box[:, 2:4].max(1) * bbox_scale / 200
    compressed = bool(data.get('__keypoints_compressed__', False))
    if 'keypoints2d' in data:
        kp2d = _keypoints(data, 'keypoints2d', 3, num, compressed, path)
        raw['openpose'] = kp2d[:, OPENPOSE_25_ROWS]
        raw['part'] = kp2d[:, SPIN_24_ROWS]
    if 'keypoints3d' in data:
        raw['S'] = _keypoints(data, 'keypoints3d', 4, num, compressed, path)[:, SPIN_24_ROWS]
    if 'smpl' in data:
        raw.update(_smpl(data['smpl'], num, path))
    meta = data.get('meta')
    if isinstance(meta, dict) and meta.get('gender') is not None:
        raw['gender'] = np.asarray(meta['gender'])
    return raw


def _keypoints(data: dict, key: str, dims: int, num: int, compressed: bool,
               path: str) -> np.ndarray:
    """``(N, 190, dims)`` keypoints, confidences times the mask; decompressed if needed."""
    kp = np.asarray(data[key], np.float64)
    mask = np.asarray(data.get(f'{key}_mask', np.ones(NUM_HUMAN_DATA)), np.float64)
    if mask.shape != (NUM_HUMAN_DATA, ):
        raise ValueError(f'{path}: key "{key}_mask" has shape {mask.shape}, expected '
                         f'({NUM_HUMAN_DATA},) (the human_data convention)')
    joints = int((mask > 0).sum()) if compressed else NUM_HUMAN_DATA
    if kp.shape != (num, joints, dims):
        what = (f'{joints} joints: __keypoints_compressed__ keeps the mask\'s joints only'
                if compressed else f'{NUM_HUMAN_DATA} joints, the human_data convention')
        raise ValueError(f'{path}: key "{key}" has shape {kp.shape}, expected '
                         f'({num}, {joints}, {dims}) ({what})')
    if compressed:
        full = np.zeros((num, NUM_HUMAN_DATA, dims))
        full[:, mask > 0] = kp
        kp = full
    conf = kp[..., -1]
    bad = ~((conf >= 0) & (conf <= 1))
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(f'{path}: key "{key}" has a confidence {conf[i, j]} outside [0, 1] '
                         f'at index {i}, joint {HUMAN_DATA_NAMES[j]!r}')
    kp[..., -1] = conf * mask
    return kp


def _smpl(smpl, num: int, path: str) -> Dict[str, np.ndarray]:
    """``pose (N, 72)``, ``shape (N, 10)`` and ``has_smpl`` from the ``smpl`` dict."""
    if not isinstance(smpl, dict):
        raise ValueError(f'{path}: key "smpl" should hold a dict, got {type(smpl).__name__}')
    missing = [k for k in ('global_orient', 'body_pose', 'betas') if k not in smpl]
    if missing:
        raise KeyError(f'{path}: key "smpl" lacks {missing} (has {sorted(smpl)})')
    parts = dict(global_orient=3, body_pose=69)
    pose = []
    for name, width in parts.items():
        value = np.asarray(smpl[name], np.float64)
        if value.size != num * width or len(value) != num:
            raise ValueError(f'{path}: smpl "{name}" has shape {value.shape}, expected '
                             f'({num}, {width})' + (' or (N, 23, 3)' if width == 69 else ''))
        pose.append(value.reshape(num, width))
    betas = np.asarray(smpl['betas'], np.float64)
    if betas.ndim != 2 or len(betas) != num:
        raise ValueError(f'{path}: smpl "betas" has shape {betas.shape}, expected ({num}, B)')
    shape = np.zeros((num, 10))
    shape[:, :min(10, betas.shape[1])] = betas[:, :10]
    return dict(pose=np.concatenate(pose, 1), shape=shape, has_smpl=np.ones(num))


@DATASETS.register_module()
class HumanDataDataset(HMRDataset):
    """An mmhuman3d HumanData ``.npz`` file as an HMR dataset: the samples, keys and checks of
    :class:`HMRDataset` (see :func:`load_human_data` for how the file maps onto them).

    Args:
        ann_file (str): The HumanData ``.npz``.
        bbox_scale (float): Enlargement of ``bbox_xywh``'s longer side to the crop's size.
            Defaults to 1 (mmhuman3d's boxes are enlarged already, and its datasets crop
            them as they are).
        **kwargs: Those of :class:`HMRDataset` (``data_root``, ``data_prefix``, ``pipeline``,
            ``gender_codes``, ``det_keypoints``, ...). ``allow_pickle`` is not needed: object
            arrays are always read safely.
    """

    def __init__(self, ann_file: str, bbox_scale: float = 1.0, **kwargs) -> None:
        if not bbox_scale > 0:
            raise ValueError(f'HumanDataDataset: bbox_scale must be > 0, got {bbox_scale}')
        self.bbox_scale = float(bbox_scale)
        super().__init__(ann_file=ann_file, **kwargs)

    def read_annotations(self) -> Dict[str, np.ndarray]:
        return check_hmr_arrays(load_human_data(self.ann_file, self.bbox_scale),
                                self.ann_file, self.gender_codes)

