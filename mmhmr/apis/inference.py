"""Build a mesh recovery model from a config and run it on images (mmpose's
``init_model`` / ``inference_topdown``)."""
import os.path as osp
from pathlib import Path
from typing import List, Optional, Union

import mmcv
import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import DefaultScope, init_default_scope
from mmengine.runner import load_checkpoint
from mmpose.structures import PoseDataSample

from mmhmr.datasets.det_keypoints import DET_KEYPOINT_ORDERS, det_keypoints_49
from mmhmr.utils.checkpoint import check_checkpoint_file

# 2D keypoint orders accepted for the TTO targets: name -> number of joints
KEYPOINT_ORDERS = {'coco17': 17, 'openpose25': 25, 'spin49': 49}
# test-pipeline transforms that read ground truth, left out at inference
GT_TRANSFORMS = ('SimulateKeypointDetections', )


def inference_pipeline(cfg: Config) -> Compose:
    """The test pipeline of ``cfg`` without the transforms that read ground truth."""
    steps = [t for t in cfg.test_dataloader.dataset.pipeline
             if str(t.get('type', '')).split('.')[-1] not in GT_TRANSFORMS]
    return Compose(steps)


def init_model(config: Union[str, Path, Config], checkpoint: Optional[str] = None,
               device: str = 'cpu', cfg_options: Optional[dict] = None) -> torch.nn.Module:
    """Build a model from a config and load a local checkpoint.

    Nothing is downloaded: the backbone's pretrained ``init_cfg`` is dropped (the checkpoint
    holds the trained weights), and a missing checkpoint file is an error.

    Args:
        config (str | Path | Config): the config file or object.
        checkpoint (str, optional): a local ``.pth`` file; None keeps the initial weights.
        device (str): e.g. ``'cpu'`` or ``'cuda:0'``. Defaults to ``'cpu'``.
        cfg_options (dict, optional): overrides merged into the config.

    Returns:
        nn.Module: the model in eval mode, with ``cfg`` (the config) attached.
    """
    if isinstance(config, (str, Path)):
        if not osp.isfile(str(config)):
            raise FileNotFoundError(f'init_model: config file not found: {config}')
        config = Config.fromfile(str(config))
    elif not isinstance(config, Config):
        raise TypeError(f'init_model: config must be a file path or a Config, got '
                        f'{type(config).__name__}')
    if cfg_options is not None:
        config.merge_from_dict(cfg_options)
    _drop_pretrained(config.model)
    init_default_scope(config.get('default_scope', 'mmhmr'))
    from mmhmr.registry import MODELS
    model = MODELS.build(config.model)
    if checkpoint is not None:
        if not osp.isfile(str(checkpoint)):
            raise FileNotFoundError(
                f'init_model: checkpoint file not found: {checkpoint}. Pass the path of a '
                'local .pth file (tools/train.py writes them into its work dir); nothing is '
                'downloaded')
        check_checkpoint_file(str(checkpoint))
        load_checkpoint(model, str(checkpoint), map_location='cpu', strict=True,
                        revise_keys=[(r'^module\.', '')])
        from mmhmr.engine.hooks.checkpoint_check_hook import nonfinite_tensors
        bad = nonfinite_tensors(model.state_dict())
        if bad:
            raise ValueError(f'init_model: the checkpoint {checkpoint} holds NaN / inf weights '
                             f'({", ".join(bad[:5])}{" ..." if len(bad) > 5 else ""})')
    model.cfg = config
    return model.to(device).eval()


def _drop_pretrained(model_cfg) -> None:
    """Remove ``Pretrained`` ``init_cfg`` s (backbones) and auxiliary checkpoints from a model
    config, in place: a trained checkpoint replaces them."""
    if isinstance(model_cfg, dict):
        init_cfg = model_cfg.get('init_cfg')
        if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
            model_cfg['init_cfg'] = None
        if 'aux_checkpoint' in model_cfg:
            model_cfg['aux_checkpoint'] = None
        for value in model_cfg.values():
            _drop_pretrained(value)
    elif isinstance(model_cfg, (list, tuple)):
        for value in model_cfg:
            _drop_pretrained(value)


def bboxes_to_center_size(bboxes: np.ndarray, padding: float) -> np.ndarray:
    """``(N, 4)`` ``x1, y1, x2, y2`` boxes -> ``(N, 3)`` centre ``x, y`` and square side
    ``max(w, h) * padding`` (the ``bbox_size`` of the SPIN / CLIFF files)."""
    bboxes = np.asarray(bboxes, np.float32).reshape(-1, 4)
    bad = ~np.isfinite(bboxes).all(1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f'inference_mesh: box {i} {bboxes[i].tolist()} has NaN / inf values')
    wh = bboxes[:, 2:] - bboxes[:, :2]
    if (wh <= 0).any():
        i = int(np.flatnonzero((wh <= 0).any(1))[0])
        raise ValueError(f'inference_mesh: box {i} {bboxes[i].tolist()} is empty; boxes are '
                         '(x1, y1, x2, y2) with x2 > x1 and y2 > y1')
    centre = (bboxes[:, :2] + bboxes[:, 2:]) / 2
    return np.concatenate([centre, wh.max(1, keepdims=True) * padding], 1)


def check_image(image: np.ndarray) -> None:
    """An ``(H, W, 3)`` BGR image with values in 0-255 (uint8, or a float array on that
    scale), else a ValueError: a float image scaled to ``[0, 1]`` would be normalised with
    0-255 means into near-constant inputs."""
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f'inference_mesh: the image must be (H, W, 3) BGR, got {image.shape}')
    if image.dtype == np.uint8:
        return
    if not (np.issubdtype(image.dtype, np.integer) or np.issubdtype(image.dtype, np.floating)):
        raise ValueError(f'inference_mesh: the image must be uint8 BGR, got {image.dtype}')
    if not np.isfinite(image).all():
        raise ValueError('inference_mesh: the image has NaN / inf values')
    low, high = float(image.min()), float(image.max())
    scaled = np.issubdtype(image.dtype, np.floating) and 0 < high <= 1
    if low < 0 or high > 255 or scaled:
        raise ValueError(f'inference_mesh: the image must hold 0-255 values (uint8 BGR, as '
                         f'mmcv.imread gives), got {image.dtype} in [{low:g}, {high:g}]'
                         + ('; multiply a [0, 1] image by 255' if scaled else ''))


def keypoints_to_49(keypoints: np.ndarray, order: str) -> np.ndarray:
    """``(N, J, 3)`` detected keypoints (x, y px, score) in ``order`` -> ``(N, 49, 3)`` in the
    49-joint set (undetected slots at score 0)."""
    if order not in KEYPOINT_ORDERS:
        raise ValueError(f'keypoint order must be one of {list(KEYPOINT_ORDERS)}, got {order!r}')
    keypoints = np.asarray(keypoints, np.float32)
    num = KEYPOINT_ORDERS[order]
    if keypoints.ndim != 3 or keypoints.shape[1:] != (num, 3):
        raise ValueError(f'keypoints_2d must be (N, {num}, 3) (x, y, score) for order '
                         f'{order!r}, got {keypoints.shape}')
    if not np.isfinite(keypoints).all():
        raise ValueError('keypoints_2d has NaN / inf values')
    if order == 'spin49':
        return keypoints.copy()
    slots = DET_KEYPOINT_ORDERS[order]
    return np.stack([det_keypoints_49(k, slots) for k in keypoints])


def inference_mesh(model: torch.nn.Module,
                   img: Union[str, np.ndarray],
                   bboxes: Optional[np.ndarray] = None,
                   keypoints_2d: Optional[np.ndarray] = None,
                   keypoint_order: str = 'coco17',
                   bbox_padding: float = 1.2,
                   focal_length: Optional[float] = None,
                   tto: Optional[bool] = None) -> List[PoseDataSample]:
    """Recover a mesh for every person box of an image (mmpose's ``inference_topdown``).

    With ``keypoints_2d`` and a model whose ``test_cfg`` runs test-time optimization, each
    person with a detected keypoint is fitted to its keypoints (``pred_instances``; the
    regression before it in ``pred_instances_init``); the others are regressed only.

    Args:
        model (nn.Module): from :func:`init_model`.
        img (str | np.ndarray): an image file or a BGR ``(H, W, 3)`` array of 0-255 values
            (uint8, as ``mmcv.imread`` gives).
        bboxes (np.ndarray, optional): ``(N, 4)`` ``x1, y1, x2, y2`` person boxes, px. None
            or empty: the whole image as one box (as mmpose's ``inference_topdown``).
        keypoints_2d (np.ndarray, optional): ``(N, J, 3)`` detected keypoints per box (x, y
            px of the full image, score in [0, 1]), in ``keypoint_order``.
        keypoint_order (str): ``'coco17'``, ``'openpose25'`` or ``'spin49'`` (the 49-joint
            set). Defaults to ``'coco17'``.
        bbox_padding (float): the square box side is ``max(w, h) * bbox_padding`` (SPIN's
            1.2 for detector boxes). The whole image is not padded. Defaults to 1.2.
        focal_length (float, optional): px; None: ``sqrt(W^2 + H^2)`` (CLIFF's guess).
        tto (bool, optional): False never runs test-time optimization; True requires it (the
            model must have it and ``keypoints_2d`` be given). None: where possible.

    Returns:
        list[PoseDataSample]: one per box, with ``pred_instances`` (``vertices``,
        ``cam_transl``, ``smpl_pose``, ``smpl_betas``, ``keypoints_3d``, ``keypoints`` ...)
        and the box in ``gt_instances`` (``bbox_center``, ``bbox_size``).
    """
    if isinstance(img, (str, Path)):
        if not osp.isfile(str(img)):
            raise FileNotFoundError(f'inference_mesh: image file not found: {img}')
        image, img_path = mmcv.imread(str(img)), str(img)
    else:
        image, img_path = np.asarray(img), None
    check_image(image)
    h, w = image.shape[:2]
    if bboxes is None or len(bboxes) == 0:
        boxes = np.array([[w / 2, h / 2, max(w, h)]], np.float32)
    else:
        boxes = bboxes_to_center_size(np.asarray(bboxes)[:, :4], bbox_padding)
        outside = (np.abs(boxes[:, 0] - w / 2) >= (w + boxes[:, 2]) / 2) | \
            (np.abs(boxes[:, 1] - h / 2) >= (h + boxes[:, 2]) / 2)
        if outside.any():
            i = int(np.flatnonzero(outside)[0])
            raise ValueError(f'inference_mesh: box {i} {np.asarray(bboxes)[i, :4].tolist()} '
                             f'(padded) lies outside the {w}x{h} image')
    dets = None
    if keypoints_2d is not None:
        dets = keypoints_to_49(keypoints_2d, keypoint_order)
        if len(dets) != len(boxes):
            raise ValueError(f'inference_mesh: {len(dets)} keypoint sets for {len(boxes)} '
                             'boxes; give one per box')
    with DefaultScope.overwrite_default_scope('mmhmr'):
        return _run(model, image, img_path, boxes, dets, focal_length, tto)


def _run(model, image, img_path, boxes, dets, focal_length, tto) -> List[PoseDataSample]:
    """:func:`inference_mesh` after its checks, in mmhmr's registry scope."""
    pipeline = inference_pipeline(model.cfg)
    data = []
    for i, (cx, cy, size) in enumerate(boxes):
        # no ground truth: unlabelled keypoints (confidence 0)
        info = dict(img=image.copy(), img_path=img_path, bbox_center=np.array([cx, cy]),
                    bbox_size=float(size), focal_length=float(focal_length or -1.),
                    keypoints_2d=np.zeros((49, 3), np.float32), sample_idx=i,
                    dataset_name='inference')
        if dets is not None:
            info['det_keypoints_2d'] = dets[i]
            info['det_keypoints_source'] = 'given'
        data.append(pipeline(info))
    has_tto = getattr(model, 'tto', None) is not None
    if tto and not has_tto:
        raise ValueError('inference_mesh(tto=True): the model has no test-time optimization '
                         '(its config sets no test_cfg.tto)')
    if tto and dets is None:
        raise ValueError('inference_mesh(tto=True) needs keypoints_2d (the TTO targets)')
    fit = np.zeros(len(data), bool)
    if has_tto and tto is not False and dets is not None:
        fit = (dets[..., 2] > 0).any(1)
    results = [None] * len(data)
    for use_tto in (False, True):
        index = np.flatnonzero(fit == use_tto)
        if not len(index):
            continue
        batch = pseudo_collate([data[i] for i in index])
        with _tto_enabled(model, use_tto), torch.no_grad():  # TTO enables the gradients it needs
            for i, sample in zip(index, model.test_step(batch)):
                results[i] = sample
    return results


class _tto_enabled:
    """Within the block, ``model.tto`` (the estimator's TTO module) is off unless ``on``."""

    def __init__(self, model: torch.nn.Module, on: bool):
        self.model, self.on, self.saved = model, on, getattr(model, 'tto', None)

    def __enter__(self):
        if not self.on and self.saved is not None:
            self.model.tto = None

    def __exit__(self, *exc):
        if self.saved is not None:
            self.model.tto = self.saved
