"""The test-time optimization of one test image, step by step (the seed paper's figure: step 0
... final), drawn by HMRLocalVisualizer.draw_tto_steps.

    python tools/analysis_tools/tto_steps_figure.py CONFIG CHECKPOINT [--index 0]
        [--panels 5] [--out tto_steps.png]

CONFIG's test set and test pipeline give the image and its detections (e.g. the simulated ones
of the synthetic configs); the model runs its configured TTO with every step recorded. Each
panel is the mesh over the person's box at one iterate, labelled with its test-time loss.
"""
import argparse
import os
import os.path as osp
import sys

import cv2
import mmcv
import numpy as np
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
sys.path.insert(0, ROOT)


def parse_args():
    parser = argparse.ArgumentParser(description='Draw one image\'s TTO step by step')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--index', type=int, default=0, help='the test sample')
    parser.add_argument('--panels', type=int, default=5, help='steps drawn, evenly spaced')
    parser.add_argument('--upscale', type=float, default=2.,
                        help='draw on the image enlarged this many times (sharper meshes)')
    parser.add_argument('--out', default='tto_steps.png')
    return parser.parse_args()


def main():
    args = parse_args()
    import torch
    from mmhmr.apis import init_model
    from mmhmr.engine.hooks.visualization_hook import use_body_models_of
    from mmhmr.registry import DATASETS
    from mmhmr.utils import register_all_modules
    from mmhmr.visualization import HMRLocalVisualizer
    register_all_modules()
    model = init_model(args.config, args.checkpoint)
    if getattr(model, 'tto', None) is None:
        raise SystemExit(f'{args.config} runs no test-time optimization (test_cfg.tto)')
    model.tto.record_steps = True
    cfg = Config.fromfile(args.config)
    cfg.test_dataloader.dataset.num_samples = args.index + 1
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    data = dataset[args.index]
    with torch.no_grad():
        (sample, ) = model.test_step(pseudo_collate([data]))
    path = sample.metainfo.get('img_path')
    image = mmcv.imread(path, channel_order='rgb') if path else \
        dataset.get_data_info(args.index)['img'][..., ::-1]
    if args.upscale != 1:
        # the same camera seen in a larger image: focal length, box and image size scale
        image = cv2.resize(np.ascontiguousarray(image), None, fx=args.upscale, fy=args.upscale,
                           interpolation=cv2.INTER_CUBIC)
        gt = sample.gt_instances
        for key in ('focal_length', 'bbox_center', 'bbox_size'):
            gt.set_field(np.asarray(gt.get(key)) * args.upscale, key)
        sample.set_metainfo(dict(ori_shape=image.shape[:2]))
    visualizer = HMRLocalVisualizer.get_instance('tto_steps_figure')
    use_body_models_of(visualizer, model)
    losses = sample.pred_instances.tto_loss_steps[0].tolist()
    strip = visualizer.draw_tto_steps(image, sample, num_panels=args.panels,
                                      labels=[f'loss {v:.3f}' for v in losses])
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    mmcv.imwrite(strip[..., ::-1], args.out)
    print(f'{args.out}: {args.panels} of {len(losses)} iterates, test-time loss '
          f'{losses[0]:.4f} -> {losses[-1]:.4f}')


if __name__ == '__main__':
    main()
