"""MeshInferencer: images, a folder or a video in; meshes, renders and JSON out (mmpose's
``MMPoseInferencer`` for human mesh recovery)."""
import json
import os
import os.path as osp
from typing import Dict, Iterator, List, Optional, Sequence, Union

import cv2
import mmcv
import numpy as np
import torch
from mmengine.utils import ProgressBar, mkdir_or_exist

from .inference import KEYPOINT_ORDERS, inference_mesh, init_model

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
    """Recover meshes of the people in images, a folder of images or a video.

    Person boxes come from an mmdet detector the user names (``det_config`` +
    ``det_checkpoint``), from ``bboxes`` / the keypoints file given to :meth:`__call__`, or
    are the whole image. 2D keypoints, the targets of test-time optimization, come from an
    mmpose top-down model (``pose2d_config`` + ``pose2d_checkpoint``, through mmpose's
    ``inference_topdown``; COCO-17 order unless ``keypoint_order`` says otherwise) or a JSON
    file. TTO runs where keypoints exist, unless ``tto=False``.

    Args:
        mesh_config (str): the mmhmr config.
        mesh_checkpoint (str, optional): its trained weights (a local file).
        det_config, det_checkpoint (str, optional): an mmdet person detector.
        det_cat_id (int): the detector's person class. Defaults to 0.
        bbox_thr (float): keep detections scoring above this. Defaults to 0.3.
        pose2d_config, pose2d_checkpoint (str, optional): an mmpose top-down 2D model.
        keypoint_order (str): the 2D model's / keypoint file's joint order: ``'coco17'``,
            ``'openpose25'`` or ``'spin49'``. Defaults to ``'coco17'``.
        device (str): Defaults to ``'cpu'``.
        tto (bool): run test-time optimization where keypoints exist. Defaults to True.
        bbox_padding (float): detector boxes are enlarged to squares of ``max(w, h)`` times
            this. Defaults to 1.2.
        cfg_options (dict, optional): overrides of the mmhmr config.
    """

    def __init__(self,
                 mesh_config: str,
                 mesh_checkpoint: Optional[str] = None,
                 det_config: Optional[str] = None,
                 det_checkpoint: Optional[str] = None,
                 det_cat_id: int = 0,
                 bbox_thr: float = 0.3,
                 pose2d_config: Optional[str] = None,
                 pose2d_checkpoint: Optional[str] = None,
                 keypoint_order: str = 'coco17',
                 device: str = 'cpu',
                 tto: bool = True,
                 bbox_padding: float = 1.2,
                 cfg_options: Optional[dict] = None):
        if keypoint_order not in KEYPOINT_ORDERS:
            raise ValueError(f'keypoint_order must be one of {list(KEYPOINT_ORDERS)}, got '
                             f'{keypoint_order!r}')
        self.model = init_model(mesh_config, mesh_checkpoint, device=device,
                                cfg_options=cfg_options)
        self.keypoint_order, self.tto, self.bbox_padding = keypoint_order, tto, bbox_padding
        self.det_cat_id, self.bbox_thr = det_cat_id, bbox_thr
        self.detector = self.pose2d = None
        if det_config is not None or det_checkpoint is not None:
            _need_file(det_config, 'the person detector', 'det_config')
            _need_file(det_checkpoint, 'the person detector', 'det_checkpoint')
            from mmdet.apis import init_detector
            self.detector = init_detector(det_config, det_checkpoint, device=device)
        if pose2d_config is not None or pose2d_checkpoint is not None:
            _need_file(pose2d_config, 'the 2D keypoint model', 'pose2d_config')
            _need_file(pose2d_checkpoint, 'the 2D keypoint model', 'pose2d_checkpoint')
            from mmpose.apis import init_model as init_pose_model
            self.pose2d = init_pose_model(pose2d_config, pose2d_checkpoint, device=device)
        from mmhmr.engine.hooks.visualization_hook import body_model_of
        from mmhmr.visualization import HMRLocalVisualizer
        self.body_model = body_model_of(self.model)
        self.visualizer = HMRLocalVisualizer.get_instance(f'mesh_inferencer_{id(self)}')
        self.visualizer.set_body_model(self.body_model)

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
            inst = inference_detector(self.detector, image).pred_instances
            keep = (inst.labels == self.det_cat_id) & (inst.scores > self.bbox_thr)
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
            results = inference_topdown(self.pose2d, image, whole if boxes is None else boxes)
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
                 bboxes: Optional[np.ndarray] = None,
                 keypoints_file: Optional[str] = None,
                 save_vis: bool = True,
                 save_json: bool = True,
                 save_mesh: bool = False,
                 video_out: Optional[str] = None,
                 fps: float = 25.,
                 side_view: bool = True,
                 draw_init: bool = True,
                 show_progress: bool = True) -> List[dict]:
        """Run on ``inputs``; write renders, JSON and meshes under ``out_dir``.

        Args:
            inputs: an image file, a folder of images, a video file, a BGR array or a list.
            out_dir (str, optional): ``vis/<name>.png`` (mesh over the image, side view, and
                before / after TTO), ``predictions/<name>.json``, ``meshes/<name>_<i>.obj``.
            bboxes (np.ndarray, optional): ``(N, 4)`` boxes for every image (instead of the
                detector).
            keypoints_file (str, optional): 2D keypoints per image (:meth:`load_keypoints_file`),
                in ``keypoint_order``.
            save_vis, save_json, save_mesh (bool): what to write. Defaults: renders and JSON.
            video_out (str, optional): also write the renders as a video here.
            fps (float): its frame rate. Defaults to 25.
            side_view, draw_init (bool): the renders' side view and before-TTO row.
            show_progress (bool): a progress bar over images and frames. Defaults to True.

        Returns:
            list[dict]: per image, ``name``, ``instances`` (as the JSON) and ``data_samples``
            (the ``PoseDataSample`` s).
        """
        keypoints_data = None if keypoints_file is None else \
            self.load_keypoints_file(keypoints_file)
        if out_dir is not None:
            mkdir_or_exist(out_dir)
        bar = ProgressBar(self.num_inputs(inputs)) if show_progress else None
        writer, results = None, []
        try:
            for name, image in self.read_inputs(inputs):
                boxes, scores, keypoints = self.persons(name, image, bboxes, keypoints_data)
                samples = [] if boxes is not None and len(boxes) == 0 else inference_mesh(
                    self.model, image, boxes, keypoints, self.keypoint_order,
                    self.bbox_padding, tto=None if self.tto else False)
                instances = [self.to_json(s, float(scores[i])) for i, s in enumerate(samples)]
                result = dict(name=name, instances=instances, data_samples=samples)
                results.append(result)
                vis = None
                if out_dir is not None or video_out is not None:
                    vis = self.visualizer.add_datasample(
                        name, image[..., ::-1], samples, side_view=side_view,
                        draw_init=draw_init, out_file=osp.join(out_dir, 'vis', name + '.png')
                        if out_dir is not None and save_vis else None) if samples else \
                        image[..., ::-1]
                if video_out is not None:
                    if writer is None:
                        mkdir_or_exist(osp.dirname(osp.abspath(video_out)))
                        size = (vis.shape[1], vis.shape[0])
                        writer = cv2.VideoWriter(video_out, cv2.VideoWriter_fourcc(*'mp4v'),
                                                 fps, size)
                    # every frame at the first one's size (a person lost adds no rows)
                    writer.write(np.ascontiguousarray(cv2.resize(vis, size)[..., ::-1]))
                if out_dir is not None:
                    self.save(out_dir, name, image, instances, samples, save_json, save_mesh)
                if bar is not None:
                    bar.update()
        finally:
            if writer is not None:
                writer.release()
        if bar is not None:
            print()
        return results

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

    def save(self, out_dir: str, name: str, image: np.ndarray, instances: list,
             samples: list, save_json: bool, save_mesh: bool) -> None:
        """Write one image's JSON and ``.obj`` meshes (camera frame, m)."""
        if save_json:
            mkdir_or_exist(osp.join(out_dir, 'predictions'))
            with open(osp.join(out_dir, 'predictions', name + '.json'), 'w') as f:
                json.dump(dict(image=name, image_size=[image.shape[1], image.shape[0]],
                               keypoint_set=self.body_model.joint_set,
                               instances=instances), f)
        if save_mesh:
            mkdir_or_exist(osp.join(out_dir, 'meshes'))
            faces = np.asarray(self.body_model.faces) + 1
            for i, sample in enumerate(samples):
                pred = sample.pred_instances
                verts = (pred.vertices[0] + pred.cam_transl[0]).detach().cpu().numpy()
                with open(osp.join(out_dir, 'meshes', f'{name}_{i}.obj'), 'w') as f:
                    f.write(''.join(f'v {x:.6f} {y:.6f} {z:.6f}\n' for x, y, z in verts))
                    f.write(''.join(f'f {a} {b} {c}\n' for a, b, c in faces))


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
