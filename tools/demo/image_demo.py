"""Recover the meshes of the people in images and draw them (mmpose's image demo, for meshes).

    python tools/demo/image_demo.py INPUTS CONFIG CHECKPOINT [--out-dir DIR]
        [--det-model C --det-weights W | --bboxes x1 y1 x2 y2 ...]
        [--pose2d C --pose2d-weights W | --keypoints-file K.json]
        [--keypoint-order coco17|openpose25|spin49] [--no-tto] [--save-mesh] [--show]

INPUTS is an image file or a folder of images. Writes, under --out-dir (mmpose's layout):
visualizations/<image>.png (the mesh over the image and a side view; with TTO, the regression
before it above), predictions/<image>.json (SMPL parameters, camera, 2D and 3D joints, box,
score) and, with --save-mesh, meshes/<image>_<person>.obj. Every checkpoint is a local file: nothing is
downloaded.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from demo_args import add_model_arguments, bboxes, build_inferencer  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='mmhmr image demo')
    parser.add_argument('inputs', help='an image file or a folder of images')
    add_model_arguments(parser)
    parser.add_argument('--out-dir', default='work_dirs/image_demo', help='where outputs go')
    return parser.parse_args()


def main():
    args = parse_args()
    inferencer = build_inferencer(args)
    results = list(inferencer(
        args.inputs, out_dir=args.out_dir, bboxes=bboxes(args),
        keypoints_file=args.keypoints_file,
        mesh_out_dir=osp.join(args.out_dir, 'meshes') if args.save_mesh else None,
        side_view=not args.no_side_view, show=args.show))
    people = sum(len(r['predictions']) for r in results)
    print(f'{len(results)} image(s), {people} person(s); outputs in {args.out_dir}')


if __name__ == '__main__':
    main()
