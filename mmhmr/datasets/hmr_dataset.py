"""Real-image HMR dataset read from SPIN / CLIFF npz annotation files."""
import os.path as osp
import zipfile
from typing import Callable, Dict, List, Optional, Sequence, Union

import numpy as np
from mmengine.dataset import BaseDataset

from mmhmr.registry import DATASETS
from .det_keypoints import check_det_keypoints_spec, det_keypoints_49, load_det_keypoints

NUM_OPENPOSE = 25
NUM_SPIN = 24

# key -> trailing shape of one sample (the first dimension is the sample count N)
NPZ_SHAPES = {
    'imgname': (),
    'center': (2, ),
    'scale': (),
    'part': (NUM_SPIN, 3),
    'openpose': (NUM_OPENPOSE, 3),
    'S': (NUM_SPIN, 4),
    'pose': (72, ),
    'shape': (10, ),
    'has_smpl': (),
    'gender': (),
    'focal_length': (),
}
REQUIRED_KEYS = ('imgname', 'center', 'scale')
KEYPOINT_KEYS = ('part', 'openpose', 'S')  # at least one of them

# gender words (any case, whole words) -> 0 neutral, 1 male, 2 female
GENDER_WORDS = {'n': 0, 'neutral': 0, 'm': 1, 'male': 1, 'f': 2, 'female': 2}
# integer gender conventions (gender_codes=): integer -> our code
GENDER_CONVENTIONS = {'mmhmr': {0: 0, 1: 1, 2: 2}, 'spin': {0: 1, 1: 2}}
# a sanity bound on box centres and sizes, px: no HMR image is larger
MAX_IMAGE_PX = 20000


@DATASETS.register_module()
class HMRDataset(BaseDataset):
    """A SPIN / CLIFF npz annotation file and its images.

    The npz holds one row per person crop: ``imgname (N,)``, ``center (N, 2)`` (px),
    ``scale (N,)`` (box size / 200) and at least one of ``part (N, 24, 3)`` (2D px),
    ``openpose (N, 25, 3)`` (2D px), ``S (N, 24, 4)`` (3D m, last column confidence); optional
    ``pose (N, 72)`` with ``shape (N, 10)`` and ``has_smpl (N,)`` (1 when absent but ``pose`` is
    there, as in SPIN), ``gender (N,)`` (words m / male / f / female / n / neutral, or integers
    of the convention ``gender_codes`` states)
    and CLIFF's ``focal_length (N,)``. Missing optional keys become zeros, zero confidence,
    ``has_smpl = 0``, neutral gender and ``focal_length = -1``.

    Each data info has exactly the keys of docs/en/conventions.md: ``img_path``,
    ``bbox_center (2,)``, ``bbox_size``, ``focal_length``, ``keypoints_2d (49, 3)`` (OpenPose 25
    then ``part``), ``keypoints_3d (49, 4)`` (25 zero-confidence rows then ``S``),
    ``smpl_pose (72,)``, ``smpl_betas (10,)``, ``has_smpl``, ``gender``, ``cam_transl (3,)``
    (zeros), ``has_transl`` (0), ``dataset_name`` and ``sample_idx``; with ``det_keypoints``
    also ``det_keypoints_2d (49, 3)`` (detections as test-time inputs: x, y px of the full
    image, confidence in [0, 1], 0 for the slots the source does not fill) and
    ``det_keypoints_source`` (str).

    ``focal_length`` is -1 when the file has none: the image size is unknown until the image is
    loaded, so ``CLIFFBBoxInfo`` (and, failing that, ``PackHMRInputs``) replaces it with
    ``sqrt(W^2 + H^2)`` of the loaded image.

    The file is read column-wise with numpy and checked as a whole (shapes, lengths, NaN/inf,
    positive scales) and kept as numpy columns (:attr:`columns`); mmengine's data list only
    holds row numbers, and :meth:`get_data_info` assembles a sample from its row (~8 us). A
    300k-sample file (0.8 GB) loads in about 3 s, mostly reading the file; dataloader workers
    share the arrays.

    Args:
        ann_file (str): The npz file, relative to ``data_root`` unless absolute.
        data_root (str): Root of ``ann_file`` and ``data_prefix``. Defaults to ''.
        data_prefix (dict): ``img``: folder that ``imgname`` is relative to.
            Defaults to ``dict(img='')``.
        pipeline (list[dict | callable]): Transforms. Defaults to [].
        test_mode (bool): Whether the dataset is for testing. Defaults to False.
        dataset_name (str): Name written into every sample and the metainfo; defaults to the
            npz file's stem.
        allow_pickle (bool): Passed to ``np.load``; only needed for files with object arrays.
            Defaults to False (a pickled npz can run code when read).
        gender_codes (str, optional): the meaning of an integer ``gender`` key: ``'mmhmr'``
            (0 neutral, 1 male, 2 female) or ``'spin'`` (0 male, 1 female). Integers are never
            guessed: without it an integer ``gender`` is an error. Strings (m / male / f /
            female / n / neutral, any case) need none.
        det_keypoints (None | str | dict): Detected 2D keypoints given to the model as
            test-time inputs (see ``det_keypoints.py``). None: none (the default).
            ``'openpose'``: the file's ``openpose`` key, into slots 0-24. ``'gt'``: the
            annotated ``part`` joints, into slots 25-48 -- an oracle (a warning is logged, the
            source is ``'gt (oracle)'``). ``dict(file=..., key=..., order='openpose25' |
            'coco17', source=None)``: an extra npz (relative to ``data_root`` unless absolute)
            whose ``key`` holds ``(N, 25, 3)`` / ``(N, 17, 3)`` px and confidences, row-aligned
            with ``ann_file``; COCO joints go to the OpenPose slots of their names; ``source``
            defaults to the file's name.
        **kwargs: Other arguments of :class:`mmengine.dataset.BaseDataset` (``metainfo``,
            ``indices``, ``serialize_data``, ``lazy_init``, ``max_refetch``).

    Attributes:
        columns (dict[str, np.ndarray]): After ``full_init``: the checked npz keys, float32
            (``imgname`` str, ``gender`` int8 codes, ``scale`` replaced by ``bbox_size``,
            ``bbox_size`` and ``focal_length`` float64) and, with ``det_keypoints``,
            ``det_keypoints (N, J, 3)`` (the source's joints; ``det_keypoints_slots`` holds
            their rows in the 49-joint set).
    """

    def __init__(self,
                 ann_file: str,
                 data_root: str = '',
                 data_prefix: dict = dict(img=''),
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 test_mode: bool = False,
                 dataset_name: str = '',
                 allow_pickle: bool = False,
                 det_keypoints: Union[None, str, dict] = None,
                 gender_codes: Optional[str] = None,
                 **kwargs) -> None:
        if gender_codes is not None and gender_codes not in GENDER_CONVENTIONS:
            raise ValueError(f'HMRDataset: gender_codes must be one of '
                             f'{list(GENDER_CONVENTIONS)} or None, got {gender_codes!r}')
        self.allow_pickle, self.gender_codes = allow_pickle, gender_codes
        self.det_keypoints = check_det_keypoints_spec(det_keypoints)
        self.det_keypoints_slots = None
        self.det_keypoints_source = None
        metainfo = dict(kwargs.pop('metainfo', None) or {})
        metainfo['dataset_name'] = (
            dataset_name or metainfo.get('dataset_name')
            or osp.splitext(osp.basename(ann_file))[0])
        super().__init__(
            ann_file=ann_file,
            metainfo=metainfo,
            data_root=data_root,
            data_prefix=data_prefix,
            pipeline=list(pipeline),
            test_mode=test_mode,
            **kwargs)

    @classmethod
    def _load_metainfo(cls, metainfo: Optional[dict] = None) -> dict:
        """The metainfo as given (mmengine's would try to open every string as a file)."""
        return dict(metainfo or {})

    def read_annotations(self) -> Dict[str, np.ndarray]:
        """The checked columns of ``ann_file`` (:func:`load_hmr_npz`); subclasses that read
        other formats return the same layout."""
        return load_hmr_npz(self.ann_file, self.allow_pickle, self.gender_codes)

    def load_data_list(self) -> List[dict]:
        """Read and check the npz file into ``self.columns``; one ``dict(row=i)`` per sample.

        The annotation stays in numpy columns (one array per key, float32); the data list only
        holds row numbers, so that mmengine's subset / serialisation machinery stays cheap for
        hundreds of thousands of samples. :meth:`get_data_info` assembles a sample.

        Returns:
            list[dict]: ``[dict(row=0), dict(row=1), ...]``.
        """
        columns = self.read_annotations()
        num = len(columns['imgname'])
        columns['gender'] = columns.get('gender', np.zeros(num, np.int64)).astype(np.int8)
        columns['bbox_size'] = columns.pop('scale') * 200
        if 'pose' in columns and 'has_smpl' not in columns:
            columns['has_smpl'] = np.ones(num, np.float32)  # as SPIN does
        if self.det_keypoints is not None:
            columns['det_keypoints'], slots, self.det_keypoints_source = load_det_keypoints(
                self.det_keypoints, columns, self.ann_file, self.data_root, self.allow_pickle)
            self.det_keypoints_slots = np.asarray(slots)
        self.columns = columns
        return [dict(row=i) for i in range(num)]

    def get_data_info(self, idx: int) -> dict:
        """The ``idx``-th sample with the keys of docs/en/conventions.md.

        Args:
            idx (int): Index in this dataset (after ``indices``, if any).

        Returns:
            dict: The data info; arrays are float32 copies.
        """
        if not -len(self) <= idx < len(self):
            raise IndexError(f'{type(self).__name__} {self.metainfo["dataset_name"]!r}: index '
                             f'{idx} is out of range; the dataset has {len(self)} samples')
        row = super().get_data_info(idx).pop('row')
        columns = self.columns
        keypoints_2d = np.zeros((NUM_OPENPOSE + NUM_SPIN, 3), np.float32)
        keypoints_3d = np.zeros((NUM_OPENPOSE + NUM_SPIN, 4), np.float32)
        if 'openpose' in columns:
            keypoints_2d[:NUM_OPENPOSE] = columns['openpose'][row]
        if 'part' in columns:
            keypoints_2d[NUM_OPENPOSE:] = columns['part'][row]
        if 'S' in columns:
            keypoints_3d[NUM_OPENPOSE:] = columns['S'][row]
        has_smpl = 'pose' in columns
        info = dict(
            img_path=osp.join(self.data_prefix.get('img', ''), columns['imgname'][row]),
            bbox_center=columns['center'][row].copy(),
            bbox_size=float(columns['bbox_size'][row]),
            focal_length=float(columns['focal_length'][row])
            if 'focal_length' in columns else -1.,
            keypoints_2d=keypoints_2d,
            keypoints_3d=keypoints_3d,
            smpl_pose=columns['pose'][row].copy() if has_smpl else np.zeros(72, np.float32),
            smpl_betas=columns['shape'][row].copy() if has_smpl else np.zeros(10, np.float32),
            has_smpl=float(columns['has_smpl'][row]) if has_smpl else 0.,
            gender=int(columns['gender'][row]),
            cam_transl=np.zeros(3, np.float32),
            has_transl=0.,
            dataset_name=self._metainfo['dataset_name'],
            sample_idx=idx if idx >= 0 else len(self) + idx,
        )
        if self.det_keypoints_slots is not None:
            info['det_keypoints_2d'] = det_keypoints_49(columns['det_keypoints'][row],
                                                        self.det_keypoints_slots)
            info['det_keypoints_source'] = self.det_keypoints_source
        return info


def load_hmr_npz(path: str, allow_pickle: bool = False,
                 gender_codes: Optional[str] = None) -> Dict[str, np.ndarray]:
    """Read a SPIN / CLIFF npz file and check it, key by key.

    Args:
        path (str): The npz file.
        allow_pickle (bool): Passed to ``np.load``. Defaults to False.
        gender_codes (str, optional): the meaning of integer genders (see :class:`HMRDataset`).

    Returns:
        dict[str, np.ndarray]: The known keys present in the file, with the shapes of
        ``NPZ_SHAPES`` (``scale`` ``(N, 1)`` is flattened), all finite: ``imgname`` as ``str``,
        ``gender`` as int64 codes (0 neutral, 1 male, 2 female), ``scale`` and
        ``focal_length`` float64, the other keys float32.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        KeyError: A required key is missing.
        ValueError: Not an npz file, no rows, wrong shape, length mismatch, NaN/inf,
            non-positive scale or focal length, a box beyond any image, ``has_smpl`` not 0/1,
            a keypoint confidence outside [0, 1], an unknown gender.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'HMR annotation file not found: {path}')
    with open(path, 'rb') as f:
        is_npy = f.read(6) == b'\x93NUMPY'
    if is_npy:
        raise ValueError(f'{path}: holds a single array (a .npy file), not the keyed arrays of '
                         'an npz annotation file (imgname, center, scale, ...)')
    if not zipfile.is_zipfile(path):
        raise ValueError(f'{path}: not a readable npz file (not a zip archive: empty, truncated '
                         'or another format); HMR annotations are SPIN / CLIFF .npz files')
    try:
        npz = np.load(path, allow_pickle=allow_pickle)
    except Exception as e:  # text, truncated, empty: numpy's and zipfile's messages vary
        raise ValueError(f'{path}: not a readable npz file ({type(e).__name__}: {e}); HMR '
                         'annotations are SPIN / CLIFF .npz files') from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise ValueError(f'{path}: holds a single array (a .npy file), not the keyed arrays of '
                         'an npz annotation file (imgname, center, scale, ...)')
    with npz:
        present = [key for key in NPZ_SHAPES if key in npz.files]
        _check_keys(present, path)

        def read(key):
            try:
                return npz[key]
            except ValueError as e:  # object arrays without allow_pickle
                raise ValueError(f'{path}: cannot read key "{key}" ({e}); pass '
                                 'allow_pickle=True if you trust the file') from e

        arrays = dict(imgname=read('imgname'))
        num = len(arrays['imgname']) if arrays['imgname'].ndim else 0
        if num == 0:
            raise ValueError(f'{path}: key "imgname" holds no rows: the file has no samples')
        # one key at a time, converted at once: a float64 file is never held twice
        for key in present:
            arrays[key] = _checked(read(key) if key != 'imgname' else arrays[key], key, num,
                                   path, gender_codes)
    _check_values(arrays, path)
    return arrays


def check_hmr_arrays(raw: Dict[str, np.ndarray], path: str,
                     gender_codes: Optional[str] = None) -> Dict[str, np.ndarray]:
    """The checks and conversions of :func:`load_hmr_npz`, on arrays in its layout that came
    from elsewhere (e.g. another file format, see ``human_data.py``); ``path`` names the
    source in errors."""
    present = [key for key in NPZ_SHAPES if key in raw]
    _check_keys(present, path)
    imgname = np.asarray(raw['imgname'])
    num = len(imgname) if imgname.ndim else 0
    if num == 0:
        raise ValueError(f'{path}: no samples (no image names)')
    arrays = {key: _checked(np.asarray(raw[key]), key, num, path, gender_codes)
              for key in present}
    _check_values(arrays, path)
    return arrays


def _check_keys(present: Sequence[str], path: str) -> None:
    missing = [key for key in REQUIRED_KEYS if key not in present]
    if missing:
        raise KeyError(f'{path}: missing required key(s) {missing}')
    if not any(key in present for key in KEYPOINT_KEYS):
        raise KeyError(f'{path}: needs at least one of the keypoint keys {list(KEYPOINT_KEYS)}')
    if ('pose' in present) != ('shape' in present):
        raise KeyError(f'{path}: "pose" and "shape" must be given together')


def _first(bad: np.ndarray) -> int:
    return int(np.flatnonzero(bad)[0])


def _check_values(arrays: Dict[str, np.ndarray], path: str) -> None:
    """Value ranges of the checked columns; errors name the key and the first bad index."""
    nonpositive = arrays['scale'] <= 0
    if nonpositive.any():
        raise ValueError(f'{path}: key "scale" must be > 0, first bad index '
                         f'{_first(nonpositive)}')
    size = arrays['scale'] * 200
    far = (size > MAX_IMAGE_PX) | (np.abs(arrays['center']) > MAX_IMAGE_PX).any(1)
    if far.any():
        i = _first(far)
        raise ValueError(f'{path}: implausible box at index {i}: center '
                         f'{arrays["center"][i].tolist()}, size {size[i]:.0f} px (scale '
                         f'{arrays["scale"][i]}); boxes must lie within {MAX_IMAGE_PX} px')
    if 'focal_length' in arrays and (arrays['focal_length'] <= 0).any():
        i = _first(arrays['focal_length'] <= 0)
        raise ValueError(f'{path}: key "focal_length" must be > 0 (px), got '
                         f'{arrays["focal_length"][i]} at index {i}; leave the key out to '
                         'use sqrt(W^2 + H^2)')
    if 'has_smpl' in arrays:
        bad = ~np.isin(arrays['has_smpl'], (0., 1.))
        if bad.any():
            raise ValueError(f'{path}: key "has_smpl" must be 0 or 1, got '
                             f'{arrays["has_smpl"][_first(bad)]} at index {_first(bad)}')
    for key, column in (('part', 2), ('openpose', 2), ('S', 3)):
        if key in arrays:
            conf = arrays[key][..., column]
            bad = (conf < 0) | (conf > 1)
            if bad.any():
                i, j = np.argwhere(bad)[0]
                raise ValueError(f'{path}: key "{key}" has a confidence {conf[i, j]} outside '
                                 f'[0, 1] at index {i}, joint {j}')


def _checked(array: np.ndarray, key: str, num: int, path: str,
             gender_codes: Optional[str] = None) -> np.ndarray:
    """``array`` of ``key`` checked (rows, shape, finite) and converted, see load_hmr_npz."""
    if array.ndim == 0 or array.shape[0] != num:
        got = array.shape[0] if array.ndim else 'a scalar'
        raise ValueError(f'{path}: length mismatch: key "{key}" has {got} rows, '
                         f'"imgname" has {num}')
    if key == 'scale' and array.shape[1:] == (1, ):  # some files store (N, 1)
        array = array[:, 0]
    expected = (num, ) + NPZ_SHAPES[key]
    if array.shape != expected:
        raise ValueError(f'{path}: key "{key}" has shape {array.shape}, expected {expected}')
    if key == 'imgname':
        return _as_str(array)
    if key == 'gender':
        return _gender_codes(array, path, gender_codes)
    if not np.issubdtype(array.dtype, np.number) and array.dtype != bool:
        raise ValueError(f'{path}: key "{key}" has dtype {array.dtype}, expected numbers')
    bad = ~np.isfinite(array.reshape(num, -1)).all(axis=1)
    if bad.any():
        raise ValueError(f'{path}: key "{key}" has NaN/inf values, first at index '
                         f'{int(np.flatnonzero(bad)[0])}')
    return array.astype(np.float64 if key in ('scale', 'focal_length') else np.float32)


def _as_str(array: np.ndarray) -> np.ndarray:
    """A bytes / object / unicode array as a unicode array."""
    if array.dtype.kind == 'S':
        return np.char.decode(array, 'utf-8')
    return array.astype(str)


def _gender_codes(gender: np.ndarray, path: str,
                  convention: Optional[str] = None) -> np.ndarray:
    """Gender words (whole, any case) or integers of a stated convention as int64 codes 0
    neutral, 1 male, 2 female."""
    if np.issubdtype(gender.dtype, np.number):
        if convention is None:
            raise ValueError(f'{path}: key "gender" holds integers, whose meaning differs '
                             'between files (SPIN: 0 male, 1 female; mmhmr: 0 neutral, 1 male, '
                             "2 female); state it with HMRDataset(gender_codes='spin' or "
                             "'mmhmr'), or store the words m / f / n")
        table = GENDER_CONVENTIONS[convention]
        codes = np.array([table.get(int(g), -1) if float(g) == int(g) else -1
                          for g in gender], np.int64)
        expected = f'{sorted(table)} ({convention} convention)'
    else:
        words = np.char.lower(np.char.strip(_as_str(gender)))
        codes = np.array([GENDER_WORDS.get(str(w), -1) for w in words], np.int64)
        expected = '"m" / "male" / "f" / "female" / "n" / "neutral" (any case)'
    bad = codes < 0
    if bad.any():
        i = _first(bad)
        raise ValueError(f'{path}: key "gender" has an unknown value {gender[i]!r} at index '
                         f'{i}, expected {expected}')
    return codes
