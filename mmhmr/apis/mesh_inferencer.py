"""MeshInferencer: images, a folder or a video in; meshes, renders and JSON out (mmpose's
``MMPoseInferencer`` for human mesh recovery)."""
import json
import os
import os.path as osp
from typing import Dict, Iterator, Optional, Sequence, Union

import cv2
import mmcv
import numpy as np
import torch
from mmengine.registry import DefaultScope
from mmengine.utils import ProgressBar, mkdir_or_exist

from .inference import KEYPOINT_ORDERS, inference_mesh, init_model

_VISUALIZERS_BUILT = 0  # instance names of the inferencers' visualizers
IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
VIDEO_SUFFIXES = ('.mp4', '.avi', '.mov', '.mkv', '.webm')


def _need_file(path: Optional[str], what: str, arg: str) -> None:
    if path is None:
        raise ValueError(f'MeshInferencer: {what} needs {arg}: the path of a local file '
                         '(nothing is downloaded)')
    if not osp.isfile(str(path)):
        raise FileNotFoundError(f'MeshInferencer: {arg} not found: {path}; pass the path of a '
                                f'local file for the {what} (nothing is downloaded)')


class MeshInferencer:
    """Recover meshes of the people in images, a folder of images or a video (mmpose's
    ``MMPoseInferencer``, for meshes; the argument names are its).

    Person boxes come from an mmdet detector you name (``det_model`` config +
    ``det_weights``), from ``bboxes`` / the keypoints file given to :meth:`__call__`, or are
    the whole image. 2D keypoints, the targets of test-time optimization, come from an mmpose
    top-down model (``pose2d`` config + ``pose2d_weights``, through mmpose's
    ``inference_topdown``; COCO-17 order unless ``keypoint_order`` says otherwise) or a JSON
    file. TTO runs where keypoints exist, unless ``tto=False``. Each model runs in its own
    registry scope. Every weight file is a local path: nothing is downloaded.

    Args:
        model (str): the mmhmr config.
        weights (str, optional): its trained checkpoint (a local file).
        det_model, det_weights (str, optional): an mmdet person detector config and weights.
        det_cat_ids (int | Sequence[int]): the detector's person class(es). Defaults to 0.
        bbox_thr (float): keep detections scoring above this. Defaults to 0.3.
        pose2d, pose2d_weights (str, optional): an mmpose top-down 2D model and weights.
        keypoint_order (str): the 2D model's / keypoint file's joint order: ``'coco17'``,
            ``'openpose25'`` or ``'spin49'``. Defaults to ``'coco17'``.
        device (str): Defaults to ``'cpu'``.
        tto (bool): run test-time optimization where keypoints exist. Defaults to True.
        bbox_padding (float): boxes are enlarged to squares of ``max(w, h)`` times this.
            Defaults to 1.2.
        focal_length (float, optional): the camera's, px; None: ``sqrt(W^2 + H^2)``.
        cfg_options (dict, optional): overrides of the mmhmr config.
        show_progress (bool): a progress bar over images and frames. Defaults to True.
        vis_min_size (int): renders of images whose longer side is shorter are drawn at
            this size (``HMRLocalVisualizer``'s ``min_render_size``). Defaults to 480.
    """

    def __init__(self,
                 model: str,
                 weights: Optional[str] = None,
                 det_model: Optional[str] = None,
                 det_weights: Optional[str] = None,
                 det_cat_ids: Union[int, Sequence[int]] = 0,
                 bbox_thr: float = 0.3,
                 pose2d: Optional[str] = None,
                 pose2d_weights: Optional[str] = None,
                 keypoint_order: str = 'coco17',
                 device: str = 'cpu',
                 tto: bool = True,
                 bbox_padding: float = 1.2,
                 focal_length: Optional[float] = None,
                 cfg_options: Optional[dict] = None,
                 show_progress: bool = True,
                 vis_min_size: int = 480):
        if keypoint_order not in KEYPOINT_ORDERS:
            raise ValueError(f'keypoint_order must be one of {list(KEYPOINT_ORDERS)}, got '
                             f'{keypoint_order!r}')
        with DefaultScope.overwrite_default_scope('mmhmr'):
            self.model = init_model(model, weights, device=device, cfg_options=cfg_options)
        self.keypoint_order, self.tto, self.bbox_padding = keypoint_order, tto, bbox_padding
        self.focal_length, self.show_progress = focal_length, show_progress
        self.vis_min_size = vis_min_size
        self.det_cat_ids = [det_cat_ids] if isinstance(det_cat_ids, int) else \
            list(det_cat_ids)
        self.bbox_thr = bbox_thr
        self.detector = self.pose2d = None
        if det_model is not None or det_weights is not None:
            _need_file(det_model, 'the person detector', 'det_model')
            _need_file(det_weights, 'the person detector', 'det_weights')
            from mmdet.apis import init_detector
            with DefaultScope.overwrite_default_scope('mmdet'):
                self.detector = init_detector(det_model, det_weights, device=device)
        if pose2d is not None or pose2d_weights is not None:
            _need_file(pose2d, 'the 2D keypoint model', 'pose2d')
            _need_file(pose2d_weights, 'the 2D keypoint model', 'pose2d_weights')
            from mmpose.apis import init_model as init_pose_model
            with DefaultScope.overwrite_default_scope('mmpose'):
                self.pose2d = init_pose_model(pose2d, pose2d_weights, device=device)
        from mmhmr.engine.hooks.visualization_hook import head_of, use_body_models_of
        self.body_model = head_of(self.model).body_model
        self.visualizer = self._build_visualizer()
        use_body_models_of(self.visualizer, self.model)

    def _build_visualizer(self):
        """The config's ``visualizer`` when it is an ``HMRLocalVisualizer`` (its ``alpha``,
        ``antialias``, ...), without backends; else a default one. Images smaller than
        ``vis_min_size`` are drawn enlarged unless the config says otherwise."""
        from mmhmr.registry import VISUALIZERS
        global _VISUALIZERS_BUILT
        _VISUALIZERS_BUILT += 1
        cfg = dict(self.model.cfg.get('visualizer') or {})
        if str(cfg.get('type', '')).split('.')[-1] != 'HMRLocalVisualizer':
            cfg = dict(type='HMRLocalVisualizer')
        cfg.update(name=f'mesh_inferencer_{_VISUALIZERS_BUILT}', vis_backends=None,
                   save_dir=None)
        cfg.setdefault('min_render_size', self.vis_min_size)
        with DefaultScope.overwrite_default_scope('mmhmr'):
            return VISUALIZERS.build(cfg)

    # ------------------------------------------------------------------ inputs
    @staticmethod
    def read_inputs(inputs) -> Iterator[tuple]:
        """``(name, BGR image)`` pairs of an image file, a folder (its images, sorted), a
        video file (its frames, ``<video>_<frame>``), an array or a list of these."""
        if isinstance(inputs, np.ndarray):
            yield 'image', inputs
            return
        if isinstance(inputs, (list, tuple)):
            for i, item in enumerate(inputs):
                for name, img in MeshInferencer.read_inputs(item):
                    yield (f'{i:06d}' if name == 'image' else name), img
            return
        path = str(inputs)
        if osp.isdir(path):
            files = sorted(f for f in os.listdir(path) if f.lower().endswith(IMAGE_SUFFIXES))
            if not files:
                raise FileNotFoundError(f'MeshInferencer: no images ({IMAGE_SUFFIXES}) in '
                                        f'{path}')
            for f in files:
                yield osp.splitext(f)[0], _imread(osp.join(path, f))
        elif path.lower().endswith(VIDEO_SUFFIXES):
            for i, frame in enumerate(mmcv.VideoReader(_existing(path))):
                yield f'{osp.splitext(osp.basename(path))[0]}_{i:06d}', frame
        else:
            yield osp.splitext(osp.basename(path))[0], _imread(path)

    @staticmethod
    def num_inputs(inputs) -> int:
        """How many images :meth:`read_inputs` yields (for the progress bar)."""
        if isinstance(inputs, np.ndarray):
            return 1
        if isinstance(inputs, (list, tuple)):
            return sum(MeshInferencer.num_inputs(i) for i in inputs)
        path = str(inputs)
        if osp.isdir(path):
            return len([f for f in os.listdir(path) if f.lower().endswith(IMAGE_SUFFIXES)])
        if path.lower().endswith(VIDEO_SUFFIXES):
            return len(mmcv.VideoReader(_existing(path)))
        return 1

    @staticmethod
    def load_keypoints_file(path: str) -> Dict[str, list]:
        """A JSON file of 2D keypoints (and optionally boxes) per image: ``{"<image name>":
        [{"keypoints": [[x, y, score], ...], "bbox": [x1, y1, x2, y2]}, ...]}``, the image
        name without its suffix (a video's frames: ``<video>_<frame:06d>``)."""
        _need_file(path, 'the keypoints file', 'keypoints_file')
        with open(path) as f:
            try:
                data = json.load(f)
            except json.JSONDecodeError as e:
                raise ValueError(f'{path}: not valid JSON ({e})') from e
        if not isinstance(data, dict):
            raise ValueError(f'{path}: expected an object {{"<image name>": [persons]}}, got '
                             f'{type(data).__name__}')
        for name, persons in data.items():
            if not isinstance(persons, list) or not all(
                    isinstance(p, dict) and 'keypoints' in p for p in persons):
                raise ValueError(f'{path}: "{name}" must be a list of persons, each a dict '
                                 'with "keypoints" (and optionally "bbox")')
        return data

    # ----------------------------------------------------------------- persons
    def persons(self, name: str, image: np.ndarray, bboxes, keypoints_data) -> tuple:
        """Boxes ``(N, 4)``, box scores ``(N,)`` and keypoints ``(N, J, 3)`` (or None) of
        one image; ``(None, [1.], kpts)`` means the whole image."""
        given = None if keypoints_data is None else keypoints_data.get(name)
        keypoints = None
        if given:
            keypoints = np.asarray([p['keypoints'] for p in given], np.float32)
        boxes, scores = None, None
        if bboxes is not None:
            boxes = np.asarray(bboxes, np.float32).reshape(-1, 4)
            scores = np.ones(len(boxes), np.float32)
        elif self.detector is not None:
            from mmdet.apis import inference_detector
            with DefaultScope.overwrite_default_scope('mmdet'):
                inst = inference_detector(self.detector, image).pred_instances
            keep = np.isin(inst.labels.cpu().numpy(), self.det_cat_ids) & \
                (inst.scores.cpu().numpy() > self.bbox_thr)
            boxes = inst.bboxes[keep].cpu().numpy()
            scores = inst.scores[keep].cpu().numpy()
        elif given and all('bbox' in p for p in given):
            boxes = np.asarray([p['bbox'] for p in given], np.float32).reshape(-1, 4)
            scores = np.asarray([p.get('bbox_score', 1.) for p in given], np.float32)
        elif given:
            boxes = np.stack([_keypoint_box(k) for k in keypoints])
            scores = np.ones(len(boxes), np.float32)
        if boxes is not None and len(boxes) == 0:
            return boxes, scores, None
        if self.pose2d is not None:
            from mmpose.apis import inference_topdown
            whole = np.array([[0, 0, image.shape[1], image.shape[0]]], np.float32)
            with DefaultScope.overwrite_default_scope('mmpose'):
                results = inference_topdown(self.pose2d, image,
                                            whole if boxes is None else boxes)
            keypoints = np.stack([np.concatenate([
                r.pred_instances.keypoints[0],
                np.clip(r.pred_instances.keypoint_scores[0], 0, 1)[:, None]], -1)
                for r in results]).astype(np.float32)
        if keypoints is not None:
            count = 1 if boxes is None else len(boxes)
            if len(keypoints) != count:
                raise ValueError(f'{name}: {len(keypoints)} keypoint sets for {count} boxes')
        return boxes, (np.ones(1, np.float32) if scores is None else scores), keypoints

    # --------------------------------------------------------------------- run
    def __call__(self,
                 inputs: Union[str, np.ndarray, Sequence],
                 out_dir: Optional[str] = None,
                 vis_out_dir: Optional[str] = None,
                 pred_out_dir: Optional[str] = None,
                 mesh_out_dir: Optional[str] = None,
                 bboxes: Optional[np.ndarray] = None,
                 keypoints_file: Optional[str] = None,
                 video_out: Optional[str] = None,
                 fps: float = 25.,
                 side_view: bool = True,
                 draw_init: bool = True,
                 return_vis: bool = False,
                 return_datasamples: bool = False,
                 show: bool = False,
                 wait_time: float = 0.) -> Iterator[dict]:
        """Run on ``inputs``, one image or frame at a time (a generator, as mmpose's).

        Args:
            inputs: an image file, a folder of images, a video file, a BGR array or a list.
            out_dir (str, optional): sets ``vis_out_dir = out_dir/visualizations`` and
                ``pred_out_dir = out_dir/predictions`` where those are not given (mmpose's
                layout).
            vis_out_dir (str, optional): renders ``<name>.png``: the mesh over the image, a
                side view and, with TTO, the regression before it above.
            pred_out_dir (str, optional): ``<name>.json`` per image (:meth:`to_json`).
            mesh_out_dir (str, optional): ``<name>_<person>.obj`` meshes (camera frame, m).
            bboxes (np.ndarray, optional): ``(N, 4)`` boxes for every image (instead of the
                detector).
            keypoints_file (str, optional): 2D keypoints per image (:meth:`load_keypoints_file`),
                in ``keypoint_order``.
            video_out (str, optional): also write the renders as a video here.
            fps (float): its frame rate. Defaults to 25.
            side_view, draw_init (bool): the renders' side view and before-TTO row.
            return_vis (bool): put the render in each result. Defaults to False.
            return_datasamples (bool): put the ``PoseDataSample`` s in each result (kept out
                by default: a long video would hold every frame's meshes).
            show (bool): show each render in a window; ``wait_time`` seconds.

        Yields:
            dict: ``name``, ``predictions`` (per person, as the JSON) and, when asked,
            ``visualization`` and ``data_samples``.
        """
        keypoints_data = None if keypoints_file is None else \
            self.load_keypoints_file(keypoints_file)
        if out_dir is not None:
            vis_out_dir = vis_out_dir or osp.join(out_dir, 'visualizations')
            pred_out_dir = pred_out_dir or osp.join(out_dir, 'predictions')
        for folder in (vis_out_dir, pred_out_dir, mesh_out_dir):
            if folder is not None:
                mkdir_or_exist(folder)
        draw = bool(vis_out_dir or video_out or return_vis or show)
        bar = ProgressBar(self.num_inputs(inputs)) if self.show_progress else None
        writer, size = None, None
        try:
            for name, image in self.read_inputs(inputs):
                boxes, scores, keypoints = self.persons(name, image, bboxes, keypoints_data)
                samples = [] if boxes is not None and len(boxes) == 0 else inference_mesh(
                    self.model, image, boxes, keypoints, self.keypoint_order,
                    self.bbox_padding, self.focal_length, tto=None if self.tto else False)
                result = dict(name=name, predictions=[
                    self.to_json(s, float(scores[i])) for i, s in enumerate(samples)])
                vis = None
                if draw:
                    vis = self.visualizer.add_datasample(
                        name, image[..., ::-1], samples, side_view=side_view,
                        draw_init=draw_init, show=show, wait_time=wait_time,
                        out_file=osp.join(vis_out_dir, name + '.png')
                        if vis_out_dir is not None else None)
                if video_out is not None:
                    if writer is None:
                        mkdir_or_exist(osp.dirname(osp.abspath(video_out)))
                        size = (vis.shape[1], vis.shape[0])
                        writer = cv2.VideoWriter(video_out, cv2.VideoWriter_fourcc(*'mp4v'),
                                                 fps, size)
                    writer.write(np.ascontiguousarray(fit_frame(vis, size)[..., ::-1]))
                self.save(name, image, result['predictions'], samples, pred_out_dir,
                          mesh_out_dir)
                if return_vis:
                    result['visualization'] = vis
                if return_datasamples:
                    result['data_samples'] = samples
                if bar is not None:
                    bar.update()
                yield result
        finally:
            if writer is not None:
                writer.release()
            if bar is not None:
                print()

    def to_json(self, sample, score: float) -> dict:
        """One person's prediction as plain lists: SMPL (axis-angle ``smpl_pose (72,)``,
        ``smpl_betas (10,)``), camera (``cam_transl``, ``focal_length``, crop ``pred_cam``),
        ``keypoints_2d (K, 2)`` px and ``keypoints_3d (K, 3)`` body frame (the model's
        joint set), the box ``[x1, y1, x2, y2]`` (the square the model saw) and its score,
        and whether TTO ran."""
        from mmhmr.models.utils.rotation import matrix_to_axis_angle
        pred, gt = sample.pred_instances, sample.gt_instances
        centre = np.asarray(gt.bbox_center).reshape(2)
        size = float(np.asarray(gt.bbox_size).reshape(-1)[0])
        pose = matrix_to_axis_angle(torch.as_tensor(pred.smpl_pose).reshape(-1, 3, 3))

        def listed(value):
            return torch.as_tensor(value).detach().cpu().reshape(value.shape[1:]).tolist()

        return dict(
            bbox=[*(centre - size / 2).tolist(), *(centre + size / 2).tolist()],
            bbox_score=score,
            smpl_pose=pose.reshape(-1).tolist(),
            smpl_betas=listed(pred.smpl_betas),
            cam_transl=listed(pred.cam_transl),
            pred_cam=listed(pred.pred_cam),
            focal_length=float(np.asarray(gt.focal_length).reshape(-1)[0]),
            keypoints_2d=listed(pred.keypoints_2d),
            keypoints_3d=listed(pred.keypoints_3d),
            tto='pred_instances_init' in sample)

    def save(self, name: str, image: np.ndarray, predictions: list, samples: list,
             pred_out_dir: Optional[str], mesh_out_dir: Optional[str]) -> None:
        """Write one image's JSON and ``.obj`` meshes (camera frame, m)."""
        if pred_out_dir is not None:
            with open(osp.join(pred_out_dir, name + '.json'), 'w') as f:
                json.dump(dict(image=name, image_size=[image.shape[1], image.shape[0]],
                               keypoint_set=self.body_model.joint_set,
                               instances=predictions), f)
        if mesh_out_dir is not None:
            faces = np.asarray(self.body_model.faces) + 1
            for i, sample in enumerate(samples):
                pred = sample.pred_instances
                verts = (pred.vertices[0] + pred.cam_transl[0]).detach().cpu().numpy()
                with open(osp.join(mesh_out_dir, f'{name}_{i}.obj'), 'w') as f:
                    f.write(''.join(f'v {x:.6f} {y:.6f} {z:.6f}\n' for x, y, z in verts))
                    f.write(''.join(f'f {a} {b} {c}\n' for a, b, c in faces))


def fit_frame(vis: np.ndarray, size: tuple) -> np.ndarray:
    """``vis`` on a canvas of ``size (w, h)`` (the video's, set by its first frame): pasted
    top-left at its own scale, cropped or padded with grey, never stretched (a frame may have
    another layout: no person, or no TTO row)."""
    w, h = size
    canvas = np.full((h, w, 3), 235, np.uint8)
    canvas[:min(h, vis.shape[0]), :min(w, vis.shape[1])] = vis[:h, :w]
    return canvas


def _keypoint_box(keypoints: np.ndarray) -> np.ndarray:
    """``(4,)`` the box of the keypoints detected (score > 0)."""
    seen = keypoints[keypoints[:, 2] > 0, :2]
    if not len(seen):
        raise ValueError('a person in the keypoints file has no keypoint with score > 0 and '
                         'no "bbox"; give a box')
    return np.concatenate([seen.min(0), seen.max(0)])


def _existing(path: str) -> str:
    if not osp.isfile(path):
        raise FileNotFoundError(f'MeshInferencer: input not found: {path}')
    return path


def _imread(path: str) -> np.ndarray:
    img = mmcv.imread(_existing(path))
    if img is None:
        raise ValueError(f'MeshInferencer: cannot read image {path}')
    return img
