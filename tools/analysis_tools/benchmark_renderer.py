"""Frames per second of the numpy mesh renderer on a 6890-vertex SMPL mesh, in one run.

    python tools/analysis_tools/benchmark_renderer.py [--size 512] [--repeats 20]
        [--factor 2] [--depth 3.0] [--malloc both|default|large]

Renders the procedural body model (tools/misc/generate_body_model.py) at rest (its template
mesh: SMPL at zero pose and shape), facing a camera ``--depth`` m away with a focal length of
1.2 x ``--size`` px (the body fills about 70% of the image height at 3 m), with ``render_mesh``
of mmhmr/visualization/renderer.py: with and without back-face culling, with and without
anti-aliasing (supersampling by ``--factor``). Prints, per case, the median of ``--repeats``
timings in ms and frames/s, and its split: rasterising (the z-buffer pass ``render_mesh`` runs,
at the supersampled size where anti-aliased) and shading (the rest: normals, lighting, colour
interpolation, box filter, compositing).

Twice by default: with glibc's allocator as in a fresh numpy process (large temporaries are
fresh ``mmap`` pages: page faults), then with large malloc thresholds (``mallopt``, as after
``MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=268435456``, and close to a process
that has freed large buffers, e.g. a torch training process). The goal is >= 10 frames/s at
512 x 512 on 2 CPU cores in every case. Numpy only, one thread; the timings shift with
whatever else runs on the machine.
"""
import argparse
import ctypes
import os.path as osp
import sys

import numpy as np

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from timing import timed  # noqa: E402

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
sys.path.insert(0, ROOT)

GOAL_FPS = 10.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters


def parse_args():
    parser = argparse.ArgumentParser(description='Benchmark the numpy mesh renderer')
    parser.add_argument('--size', type=int, default=512, help='square image side, px')
    parser.add_argument('--repeats', type=int, default=20)
    parser.add_argument('--factor', type=int, default=2,
                        help='supersampling factor of the anti-aliased cases')
    parser.add_argument('--depth', type=float, default=3.0, help='camera to body centre, m')
    parser.add_argument('--malloc', choices=('both', 'default', 'large'), default='both',
                        help='glibc allocator states to time (see the module docstring)')
    return parser.parse_args()




def large_malloc_thresholds():
    """Raise glibc's mmap and trim thresholds; False when not glibc or refused."""
    try:
        libc = ctypes.CDLL(None)
        return bool(libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)
                    and libc.mallopt(M_TRIM_THRESHOLD, 256 << 20))
    except (OSError, AttributeError):
        return False


def rest_mesh(depth):
    """The procedural SMPL mesh at rest in the camera frame, its box centred ``depth`` m ahead.

    Returns:
        tuple: ``vertices (6890, 3)`` float32 and ``faces (13776, 3)`` int64.
    """
    from mmhmr.models.body_models.procedural import ensure_procedural_body_model
    body_dir = ensure_procedural_body_model(osp.join(ROOT, 'data/body_models/procedural'))
    with np.load(osp.join(body_dir, 'SMPL_NEUTRAL.npz')) as arrays:  # only the two arrays
        verts, faces = arrays['v_template'].astype(np.float64), arrays['f'].astype(np.int64)
    # SMPL: y up, facing +z; camera: y down, z forward: a half turn about x faces the camera
    verts = verts * [1., -1., -1.]
    verts += [0., 0., depth] - (verts.min(0) + verts.max(0)) / 2
    return verts.astype(np.float32), faces


def benchmark(verts, faces, args):
    """Print the table of one allocator state; returns the slowest frames/s."""
    from mmhmr.visualization.renderer import _rasterize_hits, render_mesh
    size, focal = args.size, 1.2 * args.size
    colors = np.tile(np.array([[0.85, 0.7, 0.6]], np.float32), (len(verts), 1))
    background = np.full((size, size, 3), 96, np.uint8)
    print(f'  {"antialias":>9s} {"cull":>5s} | {"render ms":>9s} {"frames/s":>8s} | '
          f'{"rasterise ms":>12s} {"shade ms":>8s}')
    slowest = np.inf
    for factor in (1, args.factor):
        for cull in (False, True):
            def render():
                render_mesh(verts, faces, colors, focal, (size / 2, size / 2), (size, size),
                            background, cull_backfaces=cull, antialias=factor)

            def raster():
                _rasterize_hits(verts, faces, focal * factor,
                                (size * factor / 2, size * factor / 2),
                                (size * factor, size * factor), cull_backfaces=cull)

            t_render = timed(render, args.repeats)
            t_raster = timed(raster, args.repeats)
            slowest = min(slowest, 1. / t_render)
            label = f'{factor}x{factor}' if factor > 1 else 'off'
            print(f'  {label:>9s} {str(cull):>5s} | {t_render * 1e3:9.1f} {1. / t_render:8.1f} | '
                  f'{t_raster * 1e3:12.1f} {(t_render - t_raster) * 1e3:8.1f}')
    return slowest


def main():
    args = parse_args()
    from mmhmr.visualization.renderer import render_mesh
    verts, faces = rest_mesh(args.depth)
    size, focal = args.size, 1.2 * args.size
    _, mask, _ = render_mesh(verts, faces, np.ones_like(verts), focal, (size / 2, size / 2),
                             (size, size))
    rows = np.nonzero(mask.any(1))[0]
    print(f'{len(verts)} vertices, {len(faces)} faces, {size}x{size}, focal {focal:.1f} px, '
          f'{args.depth} m: the body fills {(rows[-1] - rows[0] + 1) / size:.0%} of the height, '
          f'{mask.mean():.1%} of the pixels; median of {args.repeats}')
    results = []
    if args.malloc in ('both', 'default'):
        print('malloc as in a fresh process:')
        results.append(benchmark(verts, faces, args))
    if args.malloc in ('both', 'large'):
        if large_malloc_thresholds():
            print('large malloc thresholds (mallopt):')
            results.append(benchmark(verts, faces, args))
        else:
            print('large malloc thresholds: mallopt unavailable (not glibc), skipped')
    slowest = min(results) if results else np.nan
    verdict = 'met' if slowest >= GOAL_FPS else 'MISSED'
    print(f'goal: >= {GOAL_FPS:.0f} frames/s in every case: {verdict} '
          f'(slowest {slowest:.1f} frames/s)')


if __name__ == '__main__':
    main()
