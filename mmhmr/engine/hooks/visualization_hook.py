"""Draw predicted meshes over the network inputs during validation / testing."""
import os.path as osp
from typing import Optional, Sequence

import mmcv
import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.utils import mkdir_or_exist

from mmhmr.registry import HOOKS

MESH_COLOR = (0.65, 0.74, 0.86)  # light blue, RGB


def crop_camera(sample, crop_size: Sequence[int]):
    """The full-image camera seen in the crop: ``(focal, principal point)`` in crop pixels.

    The crop maps the full-image area ``input_scale (w, h)`` around ``input_center`` (metainfo
    written by ``HMRTopdownAffine``; without them, the square box of side ``b`` at ``c`` onto
    ``min(W_in, H_in)`` px) onto the crop, unrotated at test time, so a full-image pixel ``x``
    lands at ``crop_c + (x - c) * k`` with ``k = W_in / w``, and the projection
    ``f X / Z + W / 2`` becomes ``(f k) X / Z + crop_c + (W / 2 - c) k``.
    """
    gt = sample.gt_instances
    meta = sample.metainfo
    if 'input_scale' in meta and 'input_center' in meta:
        center = np.asarray(meta['input_center'], np.float64)
        k = crop_size[0] / float(meta['input_scale'][0])
    else:
        center = torch.as_tensor(gt.bbox_center[0]).cpu().numpy().astype(np.float64)
        k = min(crop_size) / float(gt.bbox_size[0])
    focal = float(gt.focal_length[0])
    h, w = meta['ori_shape'][:2]
    crop_center = np.array(crop_size, np.float64) / 2
    principal = crop_center + (np.array([w, h]) / 2 - center) * k
    return focal * k, principal


@HOOKS.register_module()
class HMRVisualizationHook(Hook):
    """Save the network input next to the predicted mesh drawn over it.

    Args:
        out_dir (str): where the images go; a relative path is inside
            ``work_dir/<timestamp>``.
        interval (int): draw every ``interval``-th sample. Defaults to 1.
        faces (str, optional): an ``.npy`` / ``.npz`` file with the mesh faces; by default the
            faces of the model's body model are used.
    """
    priority = 'NORMAL'

    def __init__(self, out_dir: str, interval: int = 1, faces: Optional[str] = None):
        self.out_dir = out_dir
        self.interval = max(1, int(interval))
        self._faces = None if faces is None else np.load(faces)
        self._count = 0

    def _resolve(self, runner) -> str:
        out = self.out_dir
        if not osp.isabs(out):
            out = osp.join(runner.work_dir, runner.timestamp, out)
        mkdir_or_exist(out)
        return out

    def _body_faces(self, runner) -> np.ndarray:
        if self._faces is None:
            model = runner.model.module if hasattr(runner.model, 'module') else runner.model
            self._faces = np.asarray(model.head.body_model.faces)
        return self._faces

    def _draw(self, runner, data_batch, outputs, stage):
        from mmhmr.datasets.synthetic.renderer import render_mesh
        out_dir = self._resolve(runner)
        faces = self._body_faces(runner)
        for img, sample in zip(data_batch['inputs'], outputs):
            self._count += 1
            if (self._count - 1) % self.interval:
                continue
            crop = img.permute(1, 2, 0).cpu().numpy().astype(np.uint8)  # BGR
            h_in, w_in = crop.shape[:2]
            focal, principal = crop_camera(sample, (w_in, h_in))
            pred = sample.pred_instances
            verts = (pred.vertices[0] + pred.cam_transl[0]).detach().cpu().numpy()
            colors = np.broadcast_to(np.array(MESH_COLOR[::-1], np.float32), verts.shape)
            overlay, mask, _ = render_mesh(verts, faces, np.ascontiguousarray(colors), focal,
                                           principal, (w_in, h_in), background=crop.copy())
            blend = crop.copy()
            blend[mask] = (0.3 * crop[mask] + 0.7 * overlay[mask]).astype(np.uint8)
            name = sample.metainfo.get('img_path') or f'{sample.metainfo.get("sample_idx", 0)}'
            name = f'{stage}_{self._count - 1:06d}_{osp.splitext(osp.basename(str(name)))[0]}.png'
            mmcv.imwrite(np.concatenate([crop, blend], axis=1), osp.join(out_dir, name))

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._draw(runner, data_batch, outputs, 'val')

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._draw(runner, data_batch, outputs, 'test')
