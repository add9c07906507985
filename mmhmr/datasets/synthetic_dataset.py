"""Rendered images of a SMPL-format body with full ground truth, generated on the fly."""
import hashlib
import json
import os
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence, Union

import cv2
import numpy as np
from mmengine.dataset import BaseDataset

from mmhmr.models.body_models.joint_sets import SPIN_49_FLIP_PERM, SPIN_49_NAMES
from mmhmr.models.body_models.model_files import GENDERS, resolve_model_file
from mmhmr.models.body_models.procedural import ensure_procedural_body_model
from mmhmr.registry import DATASETS
from .synthetic import GENERATOR_VERSION, SyntheticHumanGenerator, resolve_domain

# the annotation keys a cache npz holds, with their dtypes
_CACHED_KEYS = {
    'bbox_center': np.float32, 'bbox_size': float, 'focal_length': float,
    'keypoints_2d': np.float32, 'keypoints_2d_occlusion': np.uint8,
    'keypoints_3d': np.float32, 'smpl_pose': np.float32,
    'smpl_betas': np.float32, 'gender': int, 'cam_transl': np.float32,
    'smpl_root_joint': np.float32
}


@DATASETS.register_module()
class SyntheticHumanDataset(BaseDataset):
    """Synthetic people: a SMPL-format body in random poses, shapes and views, rendered.

    Sample ``i`` is drawn from ``np.random.default_rng([seed, i])`` (see
    :class:`~mmhmr.datasets.synthetic.SyntheticHumanGenerator`): posed by the body model,
    rendered with part colours over a random background, occluders painted over it. Nothing is
    rendered at construction; each sample is generated when it is read (a few ms), or read back
    from ``cache_dir``.

    Each data info has exactly the keys of docs/en/conventions.md, as real data (so it goes
    through the same ``LoadImage`` / ``HMR*`` transforms, model and metrics): ``img`` ``(H, W, 3)``
    uint8 BGR, ``img_path`` (None, or the cached PNG), ``ori_shape`` ``(H, W)``,
    ``bbox_center (2,)`` and ``bbox_size`` (square box around the visible body, x 1.2),
    ``focal_length``, ``keypoints_2d (49, 3)`` (confidence 1 inside the image, occluded or not;
    0 outside), ``keypoints_2d_occlusion (49,)`` (uint8: 0 visible, 1 hidden by the body
    itself, 2 by a painted occluder, 3 outside the image; see
    :mod:`~mmhmr.datasets.synthetic.occlusion`), ``keypoints_3d (49, 4)`` (camera frame, m,
    confidence 1), ``smpl_pose (72,)``,
    ``smpl_betas (10,)``, ``has_smpl`` (1), ``gender``, ``cam_transl (3,)``, ``has_transl`` (1),
    ``smpl_root_joint (3,)`` (the body model's root joint for these betas, which flips and
    rotations of ``cam_transl`` need), ``dataset_name`` and ``sample_idx`` (the generator
    index ``i``).

    Args:
        num_samples (int): Length of the dataset. Defaults to 1000.
        seed (int): The random stream; datasets with other seeds hold other samples.
            Defaults to 0.
        domain (str | dict): 'train', 'shifted' or a dict of overrides (see
            :func:`~mmhmr.datasets.synthetic.resolve_domain`). Defaults to 'train'.
        body_model (dict): ``dict(model_dir=..., seed=...)``: the procedural body model,
            written there by ``ensure_procedural_body_model`` if missing; or
            ``dict(model_path=...)``: a directory of SMPL-format models used as they are.
            Defaults to ``dict(model_dir='data/body_models/procedural', seed=0)``.
        genders (Sequence[str]): drawn uniformly per sample. Defaults to ('neutral', ).
        cache_dir (str, optional): Where rendered samples are stored (PNG + npz) and read back
            on later epochs / runs: ``{cache_dir}/{domain}-v{version}-{key}/seed{seed}/
            {index:07d}.{png,npz}``, ``key`` hashing the generator version, domain, genders and
            the body model files' content. Defaults to None (no cache).
        pipeline (list[dict | callable]): Transforms; the first is ``LoadImage`` /
            ``HMRLoadImage`` as for real data (it keeps the ``img`` given). Defaults to [].
        test_mode (bool): Defaults to False.
        dataset_name (str): Written into every sample and the metainfo.
            Defaults to 'synthetic'.
        **kwargs: Other arguments of :class:`mmengine.dataset.BaseDataset` (``metainfo``,
            ``indices``, ``serialize_data``, ``lazy_init``, ``max_refetch``).
    """

    METAINFO = dict(
        dataset_name='synthetic',
        num_keypoints=len(SPIN_49_NAMES),
        keypoint_names=list(SPIN_49_NAMES),
        flip_indices=list(SPIN_49_FLIP_PERM))

    def __init__(self,
                 num_samples: int = 1000,
                 seed: int = 0,
                 domain: Union[str, dict] = 'train',
                 body_model: dict = dict(model_dir='data/body_models/procedural', seed=0),
                 genders: Sequence[str] = ('neutral', ),
                 cache_dir: Optional[str] = None,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 test_mode: bool = False,
                 dataset_name: str = 'synthetic',
                 **kwargs) -> None:
        if not isinstance(num_samples, int) or num_samples < 1:
            raise ValueError(f'num_samples must be a positive int, got {num_samples!r}')
        self.num_samples = num_samples
        self.seed = int(seed)
        self.domain = resolve_domain(domain)
        self.genders = (genders, ) if isinstance(genders, str) else tuple(genders)
        if not self.genders or not set(self.genders) <= set(GENDERS):
            raise ValueError(f'genders must be a non-empty choice of {GENDERS}, got {genders!r}')
        self.body_model = dict(body_model)
        self.model_path = self._prepare_body_model(self.body_model)
        self.cache_dir = cache_dir
        self._cache_key = None
        if cache_dir is not None:
            self._cache_key = self.cache_key  # hash the model files once, in the main process
        self._generator = None  # built on first use, in each dataloader worker
        super().__init__(ann_file='', pipeline=list(pipeline), test_mode=test_mode, **kwargs)
        # set here: a string given through `metainfo` is first tried as a file name by mmengine
        self._metainfo['dataset_name'] = dataset_name

    @staticmethod
    def _prepare_body_model(body_model: dict) -> str:
        """The directory of the SMPL-format models; writes the procedural one if missing."""
        if 'model_path' in body_model:
            if set(body_model) != {'model_path'}:
                raise KeyError(f'body_model with model_path takes no other key, got '
                               f'{sorted(body_model)}')
            return str(body_model['model_path'])
        unknown = set(body_model) - {'model_dir', 'seed'}
        if unknown:
            raise KeyError(f'unknown body_model key(s) {sorted(unknown)}; expected '
                           'dict(model_dir=..., seed=...) or dict(model_path=...)')
        return ensure_procedural_body_model(**body_model)

    @property
    def generator(self) -> SyntheticHumanGenerator:
        """The sample generator (body models loaded on first use)."""
        if self._generator is None:
            self._generator = SyntheticHumanGenerator(self.model_path, self.domain, self.genders)
        return self._generator

    def __getstate__(self):
        # workers rebuild the generator (torch modules) instead of receiving a pickled copy
        state = self.__dict__.copy()
        state['_generator'] = None
        return state

    def load_data_list(self) -> List[dict]:
        """One placeholder per sample: its generator index (nothing is rendered here)."""
        return [dict(index=i) for i in range(self.num_samples)]

    def _body_model_fingerprint(self) -> str:
        """Content hash of the body model files the samples depend on."""
        files = [resolve_model_file(self.model_path, g) for g in dict.fromkeys(self.genders)]
        files.append(osp.join(self.model_path, 'J_regressor_extra.npy'))
        digest = hashlib.sha1()
        for path in files:
            if osp.isfile(path):
                with open(path, 'rb') as f:
                    digest.update(f.read())
        return digest.hexdigest()

    @property
    def cache_key(self) -> str:
        """Short hash of what decides the samples besides (seed, index): generator version,
        domain, genders and the body model files' content."""
        if self._cache_key is None:
            desc = dict(version=GENERATOR_VERSION, domain=self.domain,
                        genders=list(self.genders), body=self._body_model_fingerprint())
            text = json.dumps(desc, sort_keys=True, default=list)
            self._cache_key = hashlib.sha1(text.encode()).hexdigest()[:16]
        return self._cache_key

    def cache_paths(self, index: int):
        """``(png, npz)`` cache paths of sample ``index``, or None without a cache."""
        if self.cache_dir is None:
            return None
        folder = osp.join(self.cache_dir, f'{self.domain["name"]}-v{GENERATOR_VERSION}-'
                          f'{self.cache_key}', f'seed{self.seed}')
        stem = osp.join(folder, f'{index:07d}')
        return stem + '.png', stem + '.npz'

    def generate(self, index: int) -> Dict:
        """Sample ``index``: ``img`` (BGR), ``img_path`` and its annotations, from the cache
        when there is one and it holds the sample, else rendered (and cached)."""
        paths = self.cache_paths(index)
        if paths is not None and osp.isfile(paths[0]) and osp.isfile(paths[1]):
            img = cv2.imread(paths[0], cv2.IMREAD_COLOR)
            if img is None:
                raise IOError(f'cannot read cached synthetic image {paths[0]}')
            with np.load(paths[1]) as npz:
                ann = {k: npz[k] for k in _CACHED_KEYS}
            ann = {k: (dtype(v) if dtype in (int, float) else v.astype(dtype))
                   for (k, dtype), v in zip(_CACHED_KEYS.items(), ann.values())}
            return dict(img=img, img_path=paths[0], **ann)
        sample = self.generator.generate(self.seed, index)
        img, ann = sample['img'], sample['annotations']
        if paths is None:
            return dict(img=img, img_path=None, **ann)
        _write_atomic(paths[1], lambda tmp: np.savez(tmp, **ann), '.npz')
        _write_atomic(paths[0], lambda tmp: _imwrite(tmp, img), '.png')
        return dict(img=img, img_path=paths[0], **ann)

    def get_data_info(self, idx: int) -> dict:
        """The ``idx``-th sample as a data info (see the class docstring)."""
        index = super().get_data_info(idx)['index']
        sample = self.generate(index)
        img = sample.pop('img')
        return dict(
            img=img,
            img_path=sample.pop('img_path'),
            ori_shape=img.shape[:2],
            has_smpl=1.,
            has_transl=1.,
            dataset_name=self.metainfo['dataset_name'],
            sample_idx=index,
            **sample)


def _imwrite(path: str, img: np.ndarray) -> None:
    if not cv2.imwrite(path, img):
        raise IOError(f'cannot write {path}')


def _write_atomic(path: str, write: Callable[[str], None], suffix: str) -> None:
    """Write through a temporary file then rename, so that concurrent readers (other workers
    or runs) never see a partial file."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    tmp = f'{path}.{os.getpid()}.tmp{suffix}'
    write(tmp)
    os.replace(tmp, path)
