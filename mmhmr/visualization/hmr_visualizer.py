"""HMRLocalVisualizer: meshes over the full image, side and top views, keypoints."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import mmcv
import numpy as np
import torch
from mmengine.dist import master_only
from mmengine.structures import InstanceData
from mmengine.visualization import Visualizer

from mmhmr.models.utils.camera import crop_normalized_to_full
from mmhmr.registry import VISUALIZERS
from .renderer import render_mesh
from .views import crop_box, image_frame, numpy_array, turn_meshes

# mesh colours, RGB in [0, 1]
PRED_COLOR = (0.65, 0.74, 0.86)  # light blue
INIT_COLOR = (0.93, 0.74, 0.52)  # light orange: the regression before TTO
GT_COLOR = (0.60, 0.86, 0.60)  # light green
# keypoint colours, RGB uint8
PRED_KPT_COLOR = (255, 64, 64)
DET_KPT_COLOR = (64, 220, 64)
VIEW_BACKGROUND = 235  # grey of the side / top views
SHIFT = 4  # fractional bits of OpenCV's sub-pixel drawing


@VISUALIZERS.register_module()
class HMRLocalVisualizer(Visualizer):
    """Draw mesh recovery results as mmpose's ``PoseLocalVisualizer`` draws poses.

    For a ``PoseDataSample`` with ``pred_instances`` (``vertices (1, V, 3)``, ``cam_transl
    (1, 3)``, ``keypoints (1, K, 2)`` full-image px) and the sample's camera
    (``gt_instances.focal_length``, principal point at the image centre, as the heads project),
    :meth:`add_datasample` puts side by side: the mesh over the full image, the body turned 90
    degrees about its vertical axis (``side_view``) and seen from above (``top_view``), each with
    the ground-truth mesh in green where the sample has one (``gt_instances`` SMPL with
    ``has_smpl`` and a camera translation with ``has_transl``, posed by ``body_model``). With
    ``pred_instances_init`` (the regression before test-time optimization) and ``draw_init``,
    a row before TTO is drawn above the row after it. Predicted keypoints are drawn red over the
    image, detected ones (``gt_instances.det_keypoints_2d``, the TTO targets) green, joined by
    a line.

    Args:
        name (str): the instance name. Defaults to 'visualizer'.
        image (np.ndarray, optional): the image to draw on.
        vis_backends (list[dict], optional): mmengine visualization backends (local,
            TensorBoard, ...).
        save_dir (str, optional): where the backends save.
        faces (np.ndarray, optional): ``(F, 3)`` mesh faces; :meth:`set_body_model` or
            ``body_model`` gives them otherwise.
        body_model (dict, optional): a body model config (``SMPL`` / ``ProceduralSMPL``) for
            the faces and the ground-truth meshes.
        alpha (float): mesh opacity over the image. Defaults to 0.8.
        antialias (bool | int): the renderer's supersampling of edges (True: 2 x 2).
            Defaults to True.
        keypoint_ids (Sequence[int], optional): which of the 49 predicted keypoints to draw
            (every detected one is drawn, with its slot's prediction). Defaults to SPIN's 24
            ground-truth joints (slots 25-48).
        radius (int): keypoint radius, px. Defaults to 3.
        kpt_thr (float): draw detected keypoints scoring above this. Defaults to 0.
        min_render_size (int): images whose longer side is shorter are drawn enlarged to it
            (meshes rendered at that resolution, not the small image's). Defaults to 0.
        line_width (int): width of the predicted-to-detected lines. Defaults to 1.
    """

    def __init__(self,
                 name: str = 'visualizer',
                 image: Optional[np.ndarray] = None,
                 vis_backends: Optional[List[Dict]] = None,
                 save_dir: Optional[str] = None,
                 faces: Optional[np.ndarray] = None,
                 body_model: Optional[dict] = None,
                 alpha: float = 0.8,
                 antialias: Union[bool, int] = True,
                 keypoint_ids: Optional[Sequence[int]] = None,
                 radius: int = 3,
                 kpt_thr: float = 0.,
                 line_width: int = 1,
                 min_render_size: int = 0):
        super().__init__(name=name, image=image, vis_backends=vis_backends, save_dir=save_dir)
        self.faces = None if faces is None else np.asarray(faces, np.int64)
        self.body_model = self.gt_body_model = None
        if body_model is not None:
            from mmhmr.registry import MODELS
            self.set_body_model(MODELS.build(body_model))
        if not 0. <= alpha <= 1.:
            raise ValueError(f'HMRLocalVisualizer: alpha must be in [0, 1], got {alpha}')
        self.alpha, self.antialias = alpha, antialias
        self.keypoint_ids = list(range(25, 49)) if keypoint_ids is None else list(keypoint_ids)
        self.radius, self.line_width, self.kpt_thr = radius, line_width, kpt_thr
        self.min_render_size = int(min_render_size)

    def set_body_model(self, body_model, gt_body_model=None) -> None:
        """Use ``body_model`` (an ``SMPL``-like module with ``faces``) for the faces and the
        ground-truth meshes (a model's ``head.body_model``), and ``gt_body_model`` (a
        ``GenderedSMPL``, the head's ``gt_body_model``) for the ground truth of samples with
        a ``gender``."""
        self.body_model, self.gt_body_model = body_model, gt_body_model
        if self.faces is None:
            self.faces = np.asarray(body_model.faces, np.int64)

    # ------------------------------------------------------------------ meshes
    def gt_mesh(self, data_sample) -> Optional[np.ndarray]:
        """``(V, 3)`` camera-frame ground-truth mesh (posed by the gendered
        ``gt_body_model`` when one is set and the sample has a ``gender``), or None when the
        sample has no SMPL ground truth, no camera translation, or no body model is set."""
        gt = data_sample.get('gt_instances')
        if gt is None or self.body_model is None:
            return None
        if not all(k in gt for k in ('smpl_pose', 'smpl_betas', 'has_smpl', 'cam_transl',
                                     'has_transl')):
            return None
        if float(numpy_array(gt.has_smpl).reshape(-1)[0]) <= 0 or \
                float(numpy_array(gt.has_transl).reshape(-1)[0]) <= 0:
            return None
        param = next(iter(self.body_model.buffers()), None)
        device = param.device if param is not None else 'cpu'
        pose = torch.as_tensor(numpy_array(gt.smpl_pose), dtype=torch.float32, device=device)
        betas = torch.as_tensor(numpy_array(gt.smpl_betas), dtype=torch.float32, device=device)
        with torch.no_grad():
            if self.gt_body_model is not None and 'gender' in gt:
                gender = torch.as_tensor(numpy_array(gt.gender), device=device).reshape(1)
                verts = self.gt_body_model(betas.reshape(1, -1), pose.reshape(1, -1),
                                           gender)['vertices'][0]
            else:
                verts = self.body_model(betas=betas.reshape(1, -1),
                                        pose=pose.reshape(1, -1))['vertices'][0]
        return verts.cpu().numpy() + numpy_array(gt.cam_transl).reshape(3)

    @staticmethod
    def pred_mesh(instances: InstanceData) -> np.ndarray:
        """``(V, 3)`` camera-frame mesh of a prediction."""
        for key in ('vertices', 'cam_transl'):
            if key not in instances:
                raise KeyError(f'HMRLocalVisualizer: pred_instances has no {key!r}; it draws '
                               'the predictions of an mmhmr head (vertices and cam_transl)')
        return numpy_array(instances.vertices)[0] + numpy_array(instances.cam_transl).reshape(3)

    def render(self, image: np.ndarray, meshes: Sequence[np.ndarray],
               colors: Sequence[Sequence[float]], focal: float,
               principal: Sequence[float]) -> np.ndarray:
        """Meshes ``(V, 3)`` (camera frame) rendered together (one z-buffer) over ``image``
        ``(H, W, 3)`` RGB, blended with ``alpha``."""
        if self.faces is None:
            raise ValueError('HMRLocalVisualizer has no mesh faces: pass faces= or '
                             'body_model=, or call set_body_model(model.head.body_model)')
        h, w = image.shape[:2]
        faces = np.concatenate([self.faces + i * len(meshes[0]) for i in range(len(meshes))])
        verts = np.concatenate(meshes).astype(np.float32)
        albedo = np.concatenate([np.broadcast_to(np.asarray(c, np.float32), m.shape)
                                 for m, c in zip(meshes, colors)])
        drawn, _, _ = render_mesh(verts, faces, np.ascontiguousarray(albedo), focal, principal,
                                  (w, h), background=image, cull_backfaces=True,
                                  antialias=self.antialias, alpha=self.alpha)
        return drawn

    # --------------------------------------------------------------- keypoints
    def draw_keypoints(self, panel: np.ndarray, pred: Optional[np.ndarray],
                       det: Optional[np.ndarray], det_score: Optional[np.ndarray]) -> np.ndarray:
        """Predicted ``(K, 2)`` keypoints (red) at ``keypoint_ids``, and every detected one
        ``(K, 2)`` with a score ``(K,)`` above ``kpt_thr`` (green: the TTO targets, in
        whichever slots the detector fills, e.g. OpenPose's 0-24) joined by a line to the
        prediction of its slot (red too); px of ``panel``."""
        panel = np.ascontiguousarray(panel)
        ids = [i for i in self.keypoint_ids if pred is None or i < len(pred)]
        seen = [] if det is None else [
            i for i in range(len(det))
            if det_score[i] > self.kpt_thr and (pred is None or i < len(pred))]
        for i in seen:
            if pred is not None:
                cv2.line(panel, _pt(pred[i]), _pt(det[i]), (255, 255, 255), self.line_width,
                         cv2.LINE_AA, SHIFT)
            cv2.circle(panel, _pt(det[i]), self.radius << SHIFT, DET_KPT_COLOR, -1,
                       cv2.LINE_AA, SHIFT)
        if pred is not None:
            for i in sorted(set(ids) | set(seen)):
                cv2.circle(panel, _pt(pred[i]), self.radius << SHIFT, PRED_KPT_COLOR, -1,
                           cv2.LINE_AA, SHIFT)
        return panel

    @staticmethod
    def detected_keypoints(data_sample) -> Tuple[Optional[np.ndarray], Optional[np.ndarray]]:
        """Detected keypoints ``(K, 2)`` in full-image px and scores ``(K,)``, from the
        box-normalised ``gt_instances.det_keypoints_2d``; ``(None, None)`` without them."""
        gt = data_sample.get('gt_instances')
        if gt is None or 'det_keypoints_2d' not in gt:
            return None, None
        det = crop_normalized_to_full(torch.as_tensor(numpy_array(gt.det_keypoints_2d)),
                                      torch.as_tensor(numpy_array(gt.bbox_center)).reshape(1, 2),
                                      torch.as_tensor(numpy_array(gt.bbox_size)).reshape(1))
        return det[0].numpy(), numpy_array(gt.det_keypoints_2d_score)[0]

    # ------------------------------------------------------------------ panels
    def draw_row(self, image: np.ndarray, data_samples: Sequence, field: str, color,
                 draw_gt: bool, side_view: bool, top_view: bool, draw_keypoints: bool,
                 label: str, scale: float = 1.) -> np.ndarray:
        """The ``field`` predictions (``pred_instances`` / ``pred_instances_init``) of the
        people of one image (enlarged ``scale`` times), rendered together: overlay, side
        view, top view side by side, ``(H, W * n, 3)``."""
        focal, principal, k, offset = self.camera(data_samples[0], image, scale)
        meshes = [self.pred_mesh(s.get(field)) for s in data_samples]
        colors = [color] * len(meshes)
        if draw_gt:
            gts = [m for m in (self.gt_mesh(s) for s in data_samples) if m is not None]
            meshes, colors = meshes + gts, colors + [GT_COLOR] * len(gts)
        panels = [self.render(image, meshes, colors, focal, principal)]
        if draw_keypoints:
            for sample in data_samples:
                instances = sample.get(field)
                pred = numpy_array(instances.keypoints)[0] * k + offset \
                    if 'keypoints' in instances else None
                det, score = self.detected_keypoints(sample)
                panels[0] = self.draw_keypoints(
                    panels[0], pred, None if det is None else det * k + offset, score)
        for view, on in (('side', side_view), ('top', top_view)):
            if on:
                background = np.full_like(image, VIEW_BACKGROUND)
                panels.append(self.render(background, turn_meshes(meshes, view), colors,
                                          focal, principal))
        row = np.concatenate(panels, axis=1)
        if label:
            scale = max(0.4, image.shape[0] / 480.)
            for width, ink in ((2, (255, 255, 255)), (1, (20, 20, 20))):
                cv2.putText(row, label, (5, int(20 * scale) + 4), cv2.FONT_HERSHEY_SIMPLEX,
                            0.6 * scale, ink, width, cv2.LINE_AA)
        return row

    def draw_tto_steps(self, image: np.ndarray, data_sample, num_panels: int = 5,
                       crop_to_box: bool = True,
                       labels: Optional[Sequence[str]] = None) -> np.ndarray:
        """The mesh at ``num_panels`` test-time optimization steps, evenly spaced from step 0
        (the regression) to the last, side by side: ``(h, w * num_panels, 3)``.

        Needs the recorded steps (``TestTimeOptimizer(record_steps=True)``):
        ``pred_instances.vertices_steps (1, S + 1, V, 3)`` and ``cam_transl_steps (1, S + 1,
        3)``. Panel ``k`` shows iterate ``k`` (with ``select='best'`` the prediction TTO
        returns may be an earlier one). ``crop_to_box`` keeps the sample's square box of the
        image; ``labels`` (one per iterate, e.g. its loss) are written on the panels.
        """
        pred = data_sample.pred_instances
        if 'vertices_steps' not in pred or 'cam_transl_steps' not in pred:
            raise KeyError('draw_tto_steps needs pred_instances.vertices_steps and '
                           'cam_transl_steps: run TTO with record_steps=True')
        verts, transl = numpy_array(pred.vertices_steps)[0], numpy_array(pred.cam_transl_steps)[0]
        steps = np.unique(np.linspace(0, len(verts) - 1, num_panels).round().astype(int))
        focal, principal, k, offset = self.camera(data_sample, image)
        panels = []
        for step in steps:
            panel = self.render(image, [verts[step] + transl[step]], [PRED_COLOR], focal,
                                principal)
            if crop_to_box:
                panel = crop_box(panel, data_sample, k, offset)
            scale = max(0.35, panel.shape[0] / 400.)
            lines = [f'step {step}'] + ([] if labels is None else [labels[step]])
            for row, text in enumerate(lines):
                y = int((16 + 18 * row) * scale) + 2
                for width, ink in ((2, (255, 255, 255)), (1, (20, 20, 20))):
                    cv2.putText(panel, text, (4, y), cv2.FONT_HERSHEY_SIMPLEX, 0.5 * scale, ink,
                                width, cv2.LINE_AA)
            panels.append(panel)
        return np.concatenate(panels, axis=1)

    @staticmethod
    def camera(data_sample, image: np.ndarray,
               scale: float = 1.) -> Tuple[float, np.ndarray, float, np.ndarray]:
        """The sample's camera seen in ``image`` (the full image or the network's crop, see
        :func:`image_frame`, enlarged ``scale`` times): focal length and principal point in
        px of ``image``, and the map ``k``, ``offset`` of full-image px onto it. The heads'
        camera: focal ``gt_instances.focal_length``, principal point at the full image's
        centre."""
        h, w = image.shape[:2]
        k, offset = image_frame(data_sample, (round(h / scale), round(w / scale)))
        k, offset = k * scale, offset * scale
        gt = data_sample.gt_instances
        focal = float(numpy_array(gt.focal_length).reshape(-1)[0])
        h, w = data_sample.metainfo.get('ori_shape', image.shape)[:2]
        return focal * k, k * np.array([w, h], np.float64) / 2 + offset, k, offset

    @master_only
    def add_datasample(self,
                       name: str,
                       image: np.ndarray,
                       data_sample,
                       draw_gt: bool = True,
                       draw_pred: bool = True,
                       draw_init: bool = True,
                       side_view: bool = True,
                       top_view: bool = False,
                       draw_keypoints: bool = True,
                       show: bool = False,
                       wait_time: float = 0,
                       out_file: Optional[str] = None,
                       step: int = 0) -> np.ndarray:
        """Draw one sample and show / save it (mmpose's ``add_datasample``).

        Args:
            name (str): the image's name for the backends.
            image (np.ndarray): ``(H, W, 3)`` RGB: the full image the sample came from, or
                the network's crop (:func:`image_frame`).
            data_sample (PoseDataSample | list): with ``pred_instances`` (and optionally
                ``pred_instances_init``, ground truth and detections); a list of the
                samples of one image (several people) draws them together.
            draw_gt (bool): draw the ground-truth mesh where there is one. Defaults to True.
            draw_pred (bool): draw the prediction. Defaults to True.
            draw_init (bool): also draw ``pred_instances_init`` (before TTO) as a row above.
                Defaults to True.
            side_view, top_view (bool): the extra views. Defaults to True and False.
            draw_keypoints (bool): predicted and detected keypoints. Defaults to True.
            show (bool): show the drawing in a window. Defaults to False.
            wait_time (float): seconds to show it. Defaults to 0.
            out_file (str, optional): write the drawing here (and not to the backends).
            step (int): the backends' global step. Defaults to 0.

        Returns:
            np.ndarray: the drawing, ``(H * rows, W * views, 3)`` RGB.
        """
        if image.ndim != 3 or image.shape[2] not in (3, 4):
            raise ValueError(f'HMRLocalVisualizer: image must be (H, W, 3) RGB, got '
                             f'{image.shape}')
        image = np.ascontiguousarray(image[..., :3]).astype(np.uint8)
        scale = 1.
        if max(image.shape[:2]) < self.min_render_size:  # draw small images enlarged
            scale = self.min_render_size / max(image.shape[:2])
            image = cv2.resize(image, (round(image.shape[1] * scale),
                                       round(image.shape[0] * scale)),
                               interpolation=cv2.INTER_CUBIC)
        samples = list(data_sample) if isinstance(data_sample, (list, tuple)) else [data_sample]
        rows = []
        views = dict(side_view=side_view, top_view=top_view, draw_keypoints=draw_keypoints,
                     scale=scale)
        if draw_pred and samples:
            tto = all('pred_instances_init' in s for s in samples)
            if tto and draw_init:
                rows.append(self.draw_row(image, samples, 'pred_instances_init', INIT_COLOR,
                                          draw_gt, label='before TTO', **views))
            rows.append(self.draw_row(image, samples, 'pred_instances', PRED_COLOR, draw_gt,
                                      label='after TTO' if tto and draw_init else '', **views))
        elif draw_gt and samples:
            gts = [m for m in (self.gt_mesh(s) for s in samples) if m is not None]
            if gts:
                focal, principal, _, _ = self.camera(samples[0], image, scale)
                rows.append(self.render(image, gts, [GT_COLOR] * len(gts), focal, principal))
        drawn = np.concatenate(rows, axis=0) if rows else image
        self.set_image(drawn)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(drawn[..., ::-1], out_file)
        else:
            self.add_image(name, drawn, step)
        return drawn


def _pt(xy: np.ndarray) -> Tuple[int, int]:
    """OpenCV's fixed-point coordinates (``SHIFT`` fractional bits) of a point in the
    renderer's convention (pixel ``j``'s centre at ``j + 0.5``; OpenCV's at ``j``)."""
    return (int(round((float(xy[0]) - 0.5) * (1 << SHIFT))),
            int(round((float(xy[1]) - 0.5) * (1 << SHIFT))))
