"""Detected 2D keypoints of an ``HMRDataset``: test-time inputs read from the annotation or an
extra file, written into the 49-joint set (docs/en/conventions.md)."""
import logging
import os.path as osp
from typing import Dict, Tuple, Union

import numpy as np
from mmengine.logging import print_log

from mmhmr.models.body_models.joint_sets import (J49_TO_COCO_17, J49_TO_J24,
                                                 J49_TO_OPENPOSE_25)

# order of a detection file -> slot in the 49-joint set of each of its joints
DET_KEYPOINT_ORDERS = {'openpose25': J49_TO_OPENPOSE_25, 'coco17': J49_TO_COCO_17}
DET_KEYPOINT_NAMES = ('openpose', 'gt')
DET_FILE_KEYS = ('file', 'key', 'order', 'source')
GT_ORACLE_SOURCE = 'gt (oracle)'


def check_det_keypoints_spec(spec: Union[None, str, dict]) -> Union[None, str, dict]:
    """Check ``HMRDataset``'s ``det_keypoints`` argument (before any file is read).

    Args:
        spec (None | str | dict): None (no detections), ``'openpose'``, ``'gt'`` or
            ``dict(file=..., key=..., order='openpose25' | 'coco17', source=None)``.

    Returns:
        None | str | dict: ``spec``; a dict with ``order`` (default ``'openpose25'``) and
        ``source`` (default the file's name) filled in.
    """
    if spec is None or spec in DET_KEYPOINT_NAMES:
        return spec
    if not isinstance(spec, dict):
        raise ValueError(f'det_keypoints must be None, one of {list(DET_KEYPOINT_NAMES)} or '
                         f'dict(file=..., key=..., order=...), got {spec!r}')
    unknown = sorted(set(spec) - set(DET_FILE_KEYS))
    missing = [k for k in ('file', 'key') if k not in spec]
    if unknown or missing:
        raise KeyError(f'det_keypoints dict: unknown key(s) {unknown}, missing key(s) '
                       f'{missing}; expected keys {list(DET_FILE_KEYS)} (file and key required)')
    spec = dict(spec)
    spec.setdefault('order', 'openpose25')
    if spec['order'] not in DET_KEYPOINT_ORDERS:
        raise ValueError(f'det_keypoints dict (file {spec["file"]}): unknown order '
                         f'{spec["order"]!r}, expected one of {list(DET_KEYPOINT_ORDERS)}')
    if spec.get('source') is None:
        spec['source'] = osp.basename(str(spec['file']))
    return spec


def load_det_keypoints(spec: Union[str, dict],
                       columns: Dict[str, np.ndarray],
                       ann_file: str,
                       data_root: str = '',
                       allow_pickle: bool = False) -> Tuple[np.ndarray, Tuple[int, ...], str]:
    """The detections of every row of an annotation file, checked.

    * ``'openpose'``: the annotation's ``openpose (N, 25, 3)``, into slots 0-24.
    * ``'gt'``: the annotated 2D joints ``part (N, 24, 3)``, into slots 25-48. An oracle, not a
      detector: logged as a warning, source ``'gt (oracle)'``.
    * ``dict(file, key, order)``: ``key`` of the npz ``file`` (relative to ``data_root`` unless
      absolute), ``(N, 25, 3)`` (``order='openpose25'``, slots 0-24) or ``(N, 17, 3)``
      (``'coco17'``, the OpenPose slots of COCO's joints), px of the full image and
      confidence, one row per annotation row.

    Args:
        spec (str | dict): See :func:`check_det_keypoints_spec`.
        columns (dict[str, np.ndarray]): The annotation's columns (``load_hmr_npz``).
        ann_file (str): The annotation file, for messages.
        data_root (str): Root of a relative ``file``. Defaults to ''.
        allow_pickle (bool): Passed to ``np.load``. Defaults to False.

    Returns:
        tuple: ``keypoints (N, J, 3)`` float32 (x, y px, confidence in [0, 1]), ``slots (J,)``
        (their rows in the 49-joint set) and ``source`` (str).

    Raises:
        FileNotFoundError: The detection file does not exist.
        KeyError: The key is missing from the annotation or the detection file.
        ValueError: Wrong shape or row count, non-numeric, NaN/inf, confidence outside [0, 1].
    """
    spec = check_det_keypoints_spec(spec)
    num = len(columns['imgname'])
    if spec == 'openpose' or spec == 'gt':
        key = 'openpose' if spec == 'openpose' else 'part'
        if key not in columns:
            raise KeyError(f'{ann_file}: det_keypoints={spec!r} reads key "{key}", which the '
                           'file does not have')
        if spec == 'gt':
            print_log(
                f'{ann_file}: det_keypoints="gt" gives the annotated 2D joints ("part") as the '
                'detections: an ORACLE, not a detector; results with it are upper bounds',
                logger='current', level=logging.WARNING)
        keypoints = columns[key]  # shape and finiteness checked by load_hmr_npz
        _check_confidences(keypoints, f'{ann_file}: key "{key}"')
        slots = J49_TO_OPENPOSE_25 if spec == 'openpose' else J49_TO_J24
        return keypoints, slots, 'openpose' if spec == 'openpose' else GT_ORACLE_SOURCE

    path = str(spec['file'])
    if data_root and not osp.isabs(path):
        path = osp.join(data_root, path)
    slots = DET_KEYPOINT_ORDERS[spec['order']]
    keypoints = _read_det_file(path, spec['key'], (num, len(slots), 3), spec['order'],
                               allow_pickle)
    return keypoints, slots, spec['source']


def _read_det_file(path: str, key: str, expected: Tuple[int, int, int], order: str,
                   allow_pickle: bool) -> np.ndarray:
    """``key`` of the npz ``path`` checked against ``expected (N, J, 3)``, as float32."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'det_keypoints file not found: {path}')
    with np.load(path, allow_pickle=allow_pickle) as npz:
        if key not in npz.files:
            raise KeyError(f'{path}: no key "{key}" (det_keypoints), the file has {npz.files}')
        array = npz[key]
    where = f'{path}: key "{key}"'
    if array.shape != expected:
        raise ValueError(f'{where} has shape {array.shape}, expected {expected} (order '
                         f'{order!r}, one row per row of the annotation file)')
    if not np.issubdtype(array.dtype, np.number):
        raise ValueError(f'{where} has dtype {array.dtype}, expected numbers')
    bad = ~np.isfinite(array.reshape(len(array), -1)).all(axis=1)
    if bad.any():
        raise ValueError(f'{where} has NaN/inf values, first at index '
                         f'{int(np.flatnonzero(bad)[0])}')
    array = array.astype(np.float32)
    _check_confidences(array, where)
    return array


def _check_confidences(keypoints: np.ndarray, where: str) -> None:
    """Raise when a confidence ``keypoints[..., 2]`` of ``(N, J, 3)`` is outside [0, 1]."""
    conf = keypoints[..., 2]
    bad = ((conf < 0) | (conf > 1)).any(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        j = int(np.flatnonzero((conf[i] < 0) | (conf[i] > 1))[0])
        raise ValueError(f'{where} has a detection confidence {conf[i, j]} outside [0, 1] at '
                         f'index {i}, joint {j}')


def det_keypoints_49(keypoints: np.ndarray, slots: Tuple[int, ...]) -> np.ndarray:
    """One row's detections ``(J, 3)`` in the 49-joint set: ``(49, 3)`` float32, the slots not
    detected at confidence 0 (and coordinates 0)."""
    out = np.zeros((49, 3), np.float32)
    out[np.asarray(slots)] = keypoints
    return out
