"""The arguments image_demo.py and video_demo.py share (mmpose's demo arguments, for meshes)."""
import argparse

from mmhmr.apis import KEYPOINT_ORDERS


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """The mesh model, the person detector, the 2D keypoints and TTO."""
    parser.add_argument('config', help='mmhmr config file')
    parser.add_argument('checkpoint', help='its checkpoint (a local .pth file)')
    parser.add_argument('--det-model', help='mmdet person detector config (optional)')
    parser.add_argument('--det-weights', help='its checkpoint (a local file)')
    parser.add_argument('--det-cat-ids', type=int, nargs='+', default=[0],
                        help="the detector's person class id(s)")
    parser.add_argument('--bbox-thr', type=float, default=0.3,
                        help='keep person boxes scoring above this')
    parser.add_argument('--bboxes', type=float, nargs='+',
                        help='person boxes x1 y1 x2 y2 [x1 y1 x2 y2 ...] for every image '
                        '(instead of a detector; neither: the whole image is the box)')
    parser.add_argument('--pose2d', help='mmpose top-down 2D keypoint config: the targets of '
                        'test-time optimization (optional)')
    parser.add_argument('--pose2d-weights', help='its checkpoint (a local file)')
    parser.add_argument('--keypoints-file',
                        help='JSON of 2D keypoints (and boxes) per image instead of a 2D model: '
                        '{"<image name>": [{"keypoints": [[x, y, score], ...], '
                        '"bbox": [x1, y1, x2, y2]}]}')
    parser.add_argument('--keypoint-order', default='coco17', choices=list(KEYPOINT_ORDERS),
                        help='joint order of the 2D model or the keypoints file')
    parser.add_argument('--bbox-padding', type=float, default=1.2,
                        help='boxes are enlarged to squares of max(w, h) times this')
    parser.add_argument('--no-tto', action='store_true',
                        help='no test-time optimization, even where keypoints exist')
    parser.add_argument('--focal-length', type=float,
                        help='the camera focal length, px (default: sqrt(W^2 + H^2))')
    parser.add_argument('--device', default='cpu', help='e.g. cpu or cuda:0')
    parser.add_argument('--show', action='store_true', help='show the renders in a window')
    parser.add_argument('--save-mesh', action='store_true',
                        help='also write .obj meshes (OUT_DIR/meshes)')
    parser.add_argument('--no-side-view', action='store_true', help='renders without the side '
                        'view')
    parser.add_argument('--vis-min-size', type=int, default=480,
                        help='images smaller than this (longer side, px) are drawn enlarged')


def build_inferencer(args):
    """A MeshInferencer from the parsed arguments."""
    from mmhmr.apis import MeshInferencer
    from mmhmr.utils import register_all_modules
    register_all_modules()
    return MeshInferencer(
        args.config, args.checkpoint, det_model=args.det_model, det_weights=args.det_weights,
        det_cat_ids=args.det_cat_ids, bbox_thr=args.bbox_thr, pose2d=args.pose2d,
        pose2d_weights=args.pose2d_weights, keypoint_order=args.keypoint_order,
        device=args.device, tto=not args.no_tto, bbox_padding=args.bbox_padding,
        focal_length=args.focal_length, vis_min_size=args.vis_min_size)


def bboxes(args):
    """``--bboxes`` as an ``(N, 4)`` list, or None."""
    if args.bboxes is None:
        return None
    if len(args.bboxes) % 4:
        raise SystemExit(f'--bboxes takes x1 y1 x2 y2 per box, got {len(args.bboxes)} numbers')
    return [args.bboxes[i:i + 4] for i in range(0, len(args.bboxes), 4)]
