"""Time the batched PA-MPJPE and ``SMPLMetric.process``.

1. PA-MPJPE of ``--num-samples`` x ``--num-joints`` random pairs (the 3DPW test set has 35,515
   samples x 14 joints), median of ``--repeats`` runs, with ``--threads`` torch threads; with
   ``--baselines`` also a batched ``torch.linalg.svd`` and a per-sample numpy loop (SPIN's way).
2. ``SMPLMetric.process`` (3DPW protocol: gendered GT meshes, H36M regressor, Procrustes, PVE)
   on batches of ``--batch-size`` random samples, with the body model in ``--body-model-dir``
   (default: the procedural one); skipped with a message when it is not there.

Usage::

    python tools/analysis_tools/benchmark_metric.py --threads 2 --baselines
"""
import argparse
import os.path as osp
import statistics
import time

import numpy as np
import torch

from mmhmr.evaluation.functional import pa_mpjpe
from mmhmr.models.utils.rotation import axis_angle_to_matrix

DEFAULT_BODY_MODEL_DIR = 'data/body_models/procedural'
BODY_MODEL_FILES = ('SMPL_NEUTRAL.npz', 'SMPL_MALE.npz', 'SMPL_FEMALE.npz',
                    'J_regressor_h36m.npy')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Benchmark PA-MPJPE and SMPLMetric.process')
    parser.add_argument('--num-samples', type=int, default=35515)
    parser.add_argument('--num-joints', type=int, default=14)
    parser.add_argument('--repeats', type=int, default=7, help='runs; the median is reported')
    parser.add_argument('--threads', type=int, default=2, help='torch threads')
    parser.add_argument(
        '--baselines', action='store_true',
        help='also time a batched torch.linalg.svd and a per-sample numpy SVD loop')
    parser.add_argument('--batch-size', type=int, default=64, help='SMPLMetric.process batch')
    parser.add_argument('--num-batches', type=int, default=10, help='batches per process run')
    parser.add_argument('--body-model-dir', default=DEFAULT_BODY_MODEL_DIR)
    return parser.parse_args(argv)


def median_time(fn, repeats):
    """Median and minimum wall time of ``fn()`` over ``repeats`` runs (after one warm-up)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def random_pairs(num_samples, num_joints, seed=0):
    """Body-sized joint sets and noisy, rotated, scaled, shifted copies (float32)."""
    g = torch.Generator().manual_seed(seed)
    gt = torch.randn(num_samples, num_joints, 3, generator=g) * torch.tensor([0.15, 0.5, 0.1])
    rot = axis_angle_to_matrix(0.3 * torch.randn(num_samples, 3, generator=g))
    pred = 1.1 * gt @ rot.transpose(1, 2) + 0.05 * torch.randn(num_samples, 1, 3, generator=g)
    pred += 0.03 * torch.randn(pred.shape, generator=g)
    return pred, gt


def svd_pa_mpjpe(pred, gt):
    """Baseline: batched ``torch.linalg.svd`` (one LAPACK call per sample)."""
    x, y = pred.double(), gt.double()
    xc, yc = x - x.mean(1, keepdim=True), y - y.mean(1, keepdim=True)
    cov = xc.transpose(1, 2) @ yc
    u, _, vt = torch.linalg.svd(cov)
    d = torch.sign(torch.det(vt.transpose(1, 2) @ u.transpose(1, 2)))
    fix = torch.diag_embed(torch.stack([torch.ones_like(d), torch.ones_like(d), d], -1))
    rot = vt.transpose(1, 2) @ fix @ u.transpose(1, 2)
    scale = (rot * cov.transpose(1, 2)).sum((1, 2)) / xc.square().sum((1, 2))
    aligned = scale[:, None, None] * xc @ rot.transpose(1, 2)
    return (aligned - yc).norm(dim=-1).mean(-1)


def numpy_loop_pa_mpjpe(pred, gt):
    """Baseline: SPIN's per-sample numpy SVD."""
    errors = []
    for x, y in zip(pred.double().numpy(), gt.double().numpy()):
        xc, yc = x - x.mean(0), y - y.mean(0)
        u, _, vt = np.linalg.svd(xc.T @ yc)
        rot = vt.T @ np.diag([1, 1, np.sign(np.linalg.det(vt.T @ u.T))]) @ u.T
        scale = np.trace(rot @ xc.T @ yc) / (xc**2).sum()
        errors.append(np.linalg.norm(scale * xc @ rot.T - yc, axis=-1).mean())
    return np.array(errors)


def benchmark_pa_mpjpe(args):
    pred, gt = random_pairs(args.num_samples, args.num_joints)
    rows = [('pa_mpjpe (QCP, batched)', *median_time(lambda: pa_mpjpe(pred, gt), args.repeats))]
    if args.baselines:
        rows.append(('torch.linalg.svd (batched)',
                     *median_time(lambda: svd_pa_mpjpe(pred, gt), args.repeats)))
        rows.append(('numpy SVD per sample', *median_time(
            lambda: numpy_loop_pa_mpjpe(pred, gt), max(1, args.repeats // 3))))
        diff = (pa_mpjpe(pred, gt) - svd_pa_mpjpe(pred, gt)).abs().max().item()
        print(f'max |pa_mpjpe - svd baseline| = {diff * 1000:.2e} mm')
    print(f'\nPA-MPJPE of {args.num_samples} x {args.num_joints} joints, '
          f'{torch.get_num_threads()} torch threads, {args.repeats} runs')
    print(f'{"method":<30} {"median s":>10} {"min s":>10}')
    for name, median, best in rows:
        print(f'{name:<30} {median:>10.4f} {best:>10.4f}')


def random_data_samples(batch_size, seed):
    """3DPW-like packed samples: GT pose / shape / gender, predicted vertices and 2D points."""
    g = torch.Generator().manual_seed(seed)
    samples = []
    for i in range(batch_size):
        gt = dict(
            smpl_pose=0.3 * torch.randn(1, 72, generator=g),
            smpl_betas=torch.randn(1, 10, generator=g),
            gender=torch.tensor([1 + i % 2]),
            has_smpl=torch.ones(1),
            keypoints_2d=torch.rand(1, 49, 2, generator=g) * 2 - 1,
            keypoints_2d_visible=torch.ones(1, 49),
            bbox_center=torch.tensor([[500.0, 400.0]]),
            bbox_size=torch.tensor([300.0]))
        pred = dict(
            vertices=torch.randn(1, 6890, 3, generator=g) * 0.3,
            keypoints_2d=torch.rand(1, 49, 2, generator=g) * 800)
        samples.append(dict(gt_instances=gt, pred_instances=pred))
    return samples


def benchmark_process(args):
    missing = [f for f in BODY_MODEL_FILES if not osp.isfile(osp.join(args.body_model_dir, f))]
    if missing:
        print(f'\nSMPLMetric.process: skipped, no body model in {args.body_model_dir} '
              f'(missing {", ".join(missing)}). Write the procedural one with '
              '`python tools/misc/generate_body_model.py`, or pass --body-model-dir.')
        return
    from mmhmr.evaluation.metrics import SMPLMetric
    metric = SMPLMetric(
        body_model=dict(
            type='GenderedSMPL', model_path=args.body_model_dir, joint_set='h36m_17'),
        protocol='3dpw')
    batches = [random_data_samples(args.batch_size, seed) for seed in range(args.num_batches)]

    def run():
        metric.results.clear()
        for batch in batches:
            metric.process([], batch)

    median, best = median_time(run, max(1, args.repeats // 2))
    num = args.batch_size * args.num_batches
    print(f'\nSMPLMetric.process (3dpw, {args.body_model_dir}), batch {args.batch_size}, '
          f'{torch.get_num_threads()} torch threads')
    print(f'{"per batch ms":>14} {"samples/s":>10} {"35515 samples s":>16}')
    print(f'{median / args.num_batches * 1000:>14.1f} {num / median:>10.0f} '
          f'{35515 * median / num:>16.1f}')


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    benchmark_pa_mpjpe(args)
    benchmark_process(args)


if __name__ == '__main__':
    main()
