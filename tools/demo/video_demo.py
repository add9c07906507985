"""Recover the meshes of the people in a video, frame by frame, and write the rendered video
(mmpose's video demo, for meshes).

    python tools/demo/video_demo.py VIDEO CONFIG CHECKPOINT [--out-video OUT.mp4]
        [--out-dir DIR] [--det-model C --det-weights W | --bboxes x1 y1 x2 y2 ...]
        [--pose2d C --pose2d-weights W | --keypoints-file K.json] [--no-tto] [--show]

Frames are named <video>_<frame:06d> (in the keypoints file and the outputs). Writes the
rendered video (the mesh over each frame and a side view) to --out-video and, with --out-dir,
one JSON per frame (OUT_DIR/predictions; with --save-mesh, OUT_DIR/meshes). Nothing is
downloaded.
"""
import argparse
import os.path as osp
import sys

import mmcv

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from demo_args import add_model_arguments, bboxes, build_inferencer  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='mmhmr video demo')
    parser.add_argument('video', help='a video file')
    add_model_arguments(parser)
    parser.add_argument('--out-video', default='work_dirs/video_demo/out.mp4',
                        help='the rendered video')
    parser.add_argument('--out-dir', help='also write per-frame JSON (and renders) here')
    parser.add_argument('--no-init', action='store_true',
                        help='draw only the result after TTO (one row)')
    return parser.parse_args()


def main():
    args = parse_args()
    if not osp.isfile(args.video):
        raise SystemExit(f'video not found: {args.video}')
    fps = mmcv.VideoReader(args.video).fps or 25.
    inferencer = build_inferencer(args)
    frames = 0
    for _ in inferencer(
            args.video, bboxes=bboxes(args), keypoints_file=args.keypoints_file,
            pred_out_dir=osp.join(args.out_dir, 'predictions') if args.out_dir else None,
            mesh_out_dir=osp.join(args.out_dir, 'meshes')
            if args.out_dir and args.save_mesh else None,
            video_out=args.out_video, fps=fps, side_view=not args.no_side_view,
            draw_init=not args.no_init, show=args.show):
        frames += 1
    print(f'{frames} frame(s); video in {args.out_video}')


if __name__ == '__main__':
    main()
