"""Write the first test images of a synthetic config as image files, with their detections as a
keypoints file for the demos (tools/demo/image_demo.py --keypoints-file ... --keypoint-order
spin49 --bbox-padding 1.0).

    python tools/misc/synthetic_demo_inputs.py CONFIG OUT_DIR [--num 4]

The images are the config's test set (e.g. the 'moderate' shift of
configs/eft/eft_cliff_res18-tiny_synthetic-moderate-64x64.py); the keypoints are its test
pipeline's detections (SimulateKeypointDetections: noisy, with misses, never the exact joints),
in the 49-joint set, and each person's box is the dataset's square box. Writes OUT_DIR/images/
<index>.png and OUT_DIR/keypoints.json.
"""
import argparse
import json
import os
import os.path as osp

import cv2
import numpy as np
from mmengine.config import Config
from mmengine.registry import init_default_scope


def parse_args():
    parser = argparse.ArgumentParser(description='Synthetic test images for the demos')
    parser.add_argument('config', help='a synthetic config with simulated detections')
    parser.add_argument('out_dir')
    parser.add_argument('--num', type=int, default=4, help='how many test images')
    return parser.parse_args()


def main():
    args = parse_args()
    init_default_scope('mmhmr')
    from mmhmr.registry import DATASETS
    cfg = Config.fromfile(args.config)
    dataset_cfg = cfg.test_dataloader.dataset
    dataset_cfg.num_samples = args.num
    # keep the detections, nothing that crops or packs
    dataset_cfg.pipeline = [t for t in dataset_cfg.pipeline
                            if t['type'] == 'SimulateKeypointDetections']
    if not dataset_cfg.pipeline:
        raise SystemExit(f'{args.config}: its test pipeline simulates no detections '
                         '(SimulateKeypointDetections); use e.g. configs/eft/'
                         'eft_cliff_res18-tiny_synthetic-moderate-64x64.py')
    dataset = DATASETS.build(dataset_cfg)
    os.makedirs(osp.join(args.out_dir, 'images'), exist_ok=True)
    people = {}
    for i in range(args.num):
        info = dataset[i]
        name = f'{i:04d}'
        cv2.imwrite(osp.join(args.out_dir, 'images', name + '.png'), info['img'])
        centre, half = np.asarray(info['bbox_center'], float), float(info['bbox_size']) / 2
        people[name] = [dict(keypoints=np.asarray(info['det_keypoints_2d']).tolist(),
                             bbox=[*(centre - half), *(centre + half)])]
    with open(osp.join(args.out_dir, 'keypoints.json'), 'w') as f:
        json.dump(people, f)
    print(f'{args.num} images and keypoints.json in {args.out_dir}')


if __name__ == '__main__':
    main()
