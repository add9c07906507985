"""Draw predicted meshes during validation / testing with ``HMRLocalVisualizer``."""
import logging
import os.path as osp
from typing import Optional

import mmcv
import numpy as np
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.utils import mkdir_or_exist
from mmengine.visualization import Visualizer

from mmhmr.registry import HOOKS
from mmhmr.visualization import HMRLocalVisualizer


def head_of(model):
    """The head of an mmhmr estimator (a ``DualNetworkHMR``: its main network's), which owns
    the body model (``body_model``, and ``gt_body_model`` for gendered ground truth)."""
    model = getattr(model, 'module', model)
    head = getattr(model, 'head', None)
    if head is None and hasattr(model, 'main'):
        head = model.main.head
    if head is None or not hasattr(head, 'body_model'):
        raise AttributeError(f'{type(model).__name__} has no head.body_model to draw meshes '
                             'with')
    return head


def use_body_models_of(visualizer, model) -> None:
    """Give ``visualizer`` the body models of ``model``'s head (faces, ground truth)."""
    head = head_of(model)
    visualizer.set_body_model(head.body_model, getattr(head, 'gt_body_model', None))


@HOOKS.register_module()
class HMRVisualizationHook(Hook):
    """Draw every ``interval``-th validation / test sample with the runner's
    ``HMRLocalVisualizer``: the mesh over the full image (read from the sample's
    ``img_path``; the network's crop when the sample has no image file, e.g. uncached
    synthetic data), a side view, the ground truth where there is one and, with TTO, the
    prediction before and after it.

    Args:
        out_dir (str, optional): where the drawings go; a relative path is inside
            ``work_dir/<timestamp>``. None sends them to the visualizer's backends.
        interval (int): draw every ``interval``-th sample. Defaults to 1.
        show (bool): show each drawing in a window. Defaults to False.
        wait_time (float): seconds a shown drawing stays. Defaults to 0.
        draw_init (bool): draw the prediction before TTO too. Defaults to True.
        side_view, top_view (bool): the extra views. Defaults to True and False.
    """
    priority = 'NORMAL'

    def __init__(self, out_dir: Optional[str] = None, interval: int = 1, show: bool = False,
                 wait_time: float = 0., draw_init: bool = True, side_view: bool = True,
                 top_view: bool = False):
        self.out_dir = out_dir
        self.interval = max(1, int(interval))
        self.show, self.wait_time = show, wait_time
        self.draw_kwargs = dict(draw_init=draw_init, side_view=side_view, top_view=top_view)
        self._count, self._warned = 0, False

    def _visualizer(self, runner) -> HMRLocalVisualizer:
        visualizer = Visualizer.get_current_instance()
        if not isinstance(visualizer, HMRLocalVisualizer):
            if self.out_dir is None and not self._warned:
                print_log(f'HMRVisualizationHook: the runner\'s visualizer is a '
                          f'{type(visualizer).__name__}, not an HMRLocalVisualizer, and no '
                          'out_dir is set: the drawings are shown (show=True) but not '
                          "saved; set visualizer=dict(type='HMRLocalVisualizer', ...) or "
                          'out_dir', logger='current', level=logging.WARNING)
                self._warned = True
            visualizer = HMRLocalVisualizer.get_instance('hmr_visualization_hook')
        if visualizer.body_model is None:
            use_body_models_of(visualizer, runner.model)
        return visualizer

    def before_val_epoch(self, runner) -> None:
        self._count = 0

    def before_test_epoch(self, runner) -> None:
        self._count = 0

    def _draw(self, runner, data_batch, outputs, stage):
        visualizer = self._visualizer(runner)
        out_dir = None
        if self.out_dir is not None:
            out_dir = self.out_dir if osp.isabs(self.out_dir) else osp.join(
                runner.work_dir, runner.timestamp, self.out_dir)
            mkdir_or_exist(out_dir)
        for crop, sample in zip(data_batch['inputs'], outputs):
            self._count += 1
            if (self._count - 1) % self.interval:
                continue
            path = sample.metainfo.get('img_path')
            if path and osp.isfile(str(path)):
                image = mmcv.imread(path, channel_order='rgb')
            else:  # the network's input, BGR
                image = crop.permute(1, 2, 0).cpu().numpy().astype(np.uint8)[..., ::-1]
            name = osp.splitext(osp.basename(str(path)))[0] if path else \
                str(sample.metainfo.get('sample_idx', self._count - 1))
            name = f'{stage}_{self._count - 1:06d}_{name}'
            visualizer.add_datasample(
                name, image, sample, show=self.show, wait_time=self.wait_time,
                out_file=None if out_dir is None else osp.join(out_dir, name + '.png'),
                step=runner.iter if stage == 'val' else self._count - 1, **self.draw_kwargs)

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._draw(runner, data_batch, outputs, 'val')

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._draw(runner, data_batch, outputs, 'test')
