# Batched per-sample test-time optimization against a sequential loop over the same samples.
#
# The loop is the plain way: for each sample, a deep copy of the adapted part of the model and a
# torch.optim optimizer, one sample at a time, the same TestTimeLoss and steps. Both must give the
# same meshes (max vertex difference printed); the ratio of their times is the speed-up.
#
#   python tools/analysis_tools/benchmark_tto.py                    # the demo's tiny model
#   python tools/analysis_tools/benchmark_tto.py --model res50      # ResNet-50, 256x192 crops
#   python tools/analysis_tools/benchmark_tto.py --params all --loop-samples 4
import argparse
import copy
import os
import resource
import time

import torch
from mmengine.registry import init_default_scope

from mmhmr.models.tto import TestTimeOptimizer
from mmhmr.registry import MODELS

MODELS_CFG = {
    # the demo's model (configs/cliff/cliff_res18-tiny_synthetic-64x64.py)
    'tiny': dict(backbone=dict(type='ResNet', depth=18, base_channels=32, stem_channels=32),
                 in_channels=256, hidden_dims=(512, 512), input_size=(64, 64)),
    # CLIFF ResNet-50 at 256x192 (configs/cliff/cliff_res50_mixed-256x192.py)
    'res50': dict(backbone=dict(type='ResNet', depth=50), in_channels=2048,
                  hidden_dims=(1024, 1024), input_size=(192, 256)),
}


def parse_args():
    parser = argparse.ArgumentParser(description='Benchmark batched TTO against a loop')
    parser.add_argument('--model', choices=list(MODELS_CFG), default='tiny')
    parser.add_argument('--batch', type=int, default=32)
    parser.add_argument('--steps', type=int, default=14)
    parser.add_argument('--optimizer', nargs='+', default=['sgd', 'adam'])
    parser.add_argument('--params', nargs='+', default=['head'], choices=['head', 'all'])
    parser.add_argument('--lr', type=float, default=None,
                        help='default: 1e-2 for SGD, 1e-4 for Adam (large enough to move, small enough to '
                        'stay finite on the random detections)')
    parser.add_argument('--loop-samples', type=int, default=None,
                        help='time the loop on this many samples and scale to the batch '
                        '(the results are compared on those)')
    parser.add_argument('--body-model', default='data/body_models/procedural')
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    return parser.parse_args()


def build(args):
    spec = MODELS_CFG[args.model]
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='HMREstimator', backbone=spec['backbone'],
        head=dict(type='CLIFFHead', in_channels=spec['in_channels'],
                  hidden_dims=spec['hidden_dims'], n_iter=3,
                  body_model=dict(type='ProceduralSMPL', model_path=args.body_model,
                                  joint_set='spin_49')))).to(args.device).eval()
    # perturb the decoders so that the head's start is not the mean and the gradients are real
    with torch.no_grad():
        for dec in (model.head.regressor.dec_pose, model.head.regressor.dec_cam):
            dec.weight.normal_(0, 1e-3)
    return model, spec['input_size']


def make_batch(model, input_size, batch, device):
    """Random crops, samples whose detections are random keypoints inside the box."""
    from mmengine.structures import InstanceData
    from mmpose.structures import PoseDataSample
    g = torch.Generator().manual_seed(1)
    w, h = input_size
    inputs = torch.randn(batch, 3, h, w, generator=g).to(device)
    samples = []
    for i in range(batch):
        s = PoseDataSample(metainfo=dict(ori_shape=(480, 640), sample_idx=i))
        s.gt_instances = InstanceData(
            bbox_center=torch.tensor([[320. + i, 240.]]), bbox_size=torch.tensor([200.]),
            focal_length=torch.tensor([800.]), bbox_info=torch.zeros(1, 3),
            det_keypoints_2d=torch.rand(1, 49, 2, generator=g) * 1.6 - 0.8,
            det_keypoints_2d_score=torch.rand(1, 49, generator=g))
        samples.append(s)
    return inputs, samples


def timed(fn):
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return out, time.perf_counter() - start


def batched(model, inputs, samples, optimizer, params, lr, steps):
    tto = TestTimeOptimizer(steps=steps, optimizer=optimizer, lr=lr, params=params,
                            early_stop_tol=0., select='last').to(inputs.device)
    with torch.no_grad():
        return tto.run(model, inputs, samples).final['vertices'], tto.lowrank


def loop(model, inputs, samples, optimizer, params, lr, steps, shared=None):
    """One sample at a time: deep copies and torch.optim, the same loss; for 'head' the
    backbone features ``shared`` of the batch are computed once, outside."""
    loss_fn = MODELS.build(dict(type='TestTimeLoss')).to(inputs.device)
    out = []
    for i in range(len(samples)):
        one = [samples[i]]
        det = dict(keypoints_2d=torch.as_tensor(one[0].gt_instances.det_keypoints_2d).to(inputs),
                   score=torch.as_tensor(one[0].gt_instances.det_keypoints_2d_score).to(inputs))
        if params == 'head':
            net = copy.deepcopy(model.head)
            tuned = [p for m in net.modules() if isinstance(m, torch.nn.Linear)
                     for p in m.parameters()]
        else:
            net = copy.deepcopy(model)
            tuned = list(net.parameters())
        opt = (torch.optim.Adam if optimizer == 'adam' else torch.optim.SGD)(tuned, lr=lr)

        def forward(vertices=False):  # as TTO: the loss needs the joints, not the mesh
            if params == 'head':
                feats = tuple(f[i:i + 1] for f in shared)
                return net.decode_smpl(net.regress(feats, one), one, vertices=vertices)
            feats = net.extract_feat(inputs[i:i + 1])
            return net.head.decode_smpl(net.head.regress(feats, one), one, vertices=vertices)

        for _ in range(steps):
            opt.zero_grad()
            loss_fn(forward(), det)['loss'].sum().backward()
            opt.step()
        with torch.no_grad():
            out.append(forward(vertices=True)['vertices'])
    return torch.cat(out)


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    init_default_scope('mmhmr')
    model, input_size = build(args)
    inputs, samples = make_batch(model, input_size, args.batch, args.device)
    print(f'model {args.model} ({sum(p.numel() for p in model.head.parameters()) / 1e6:.2f} M '
          f'head parameters), batch {args.batch}, {args.steps} steps, device {args.device}, '
          f'{torch.get_num_threads()} threads')
    with torch.no_grad():
        timed(lambda: model.predict(inputs, copy.deepcopy(samples)))  # warm-up
        _, plain = timed(lambda: model.predict(inputs, copy.deepcopy(samples)))
    print(f'plain inference of the batch: {plain:.3f} s')
    print(f'{"params":<6} {"optim":<5} {"per-sample":<10} {"batched s":>9} {"loop s":>8} '
          f'{"speed-up":>8} {"s/image":>8} {"x plain":>7} {"max diff m":>10} {"peak RSS MB":>11}')
    for params in args.params:
        for optimizer in args.optimizer:
            lr = args.lr or (1e-2 if optimizer == 'sgd' else 1e-4)
            if torch.cuda.is_available():
                torch.cuda.reset_peak_memory_stats()
            (verts, lowrank), t_batch = timed(
                lambda: batched(model, inputs, samples, optimizer, params, lr, args.steps))
            mem = torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() \
                else peak_rss_mb()
            n = args.loop_samples or args.batch
            t_shared, shared = 0., None
            if params == 'head':  # the loop computes the batch's features once, like TTO
                with torch.no_grad():
                    shared, t_shared = timed(lambda: model.extract_feat(inputs))
            loop_verts, t_loop = timed(
                lambda: loop(model, inputs[:n], samples[:n], optimizer, params, lr, args.steps,
                             shared))
            t_loop = t_shared + t_loop * args.batch / n
            diff = (verts[:n] - loop_verts).abs().max().item()
            kind = 'low-rank' if lowrank else 'copies'
            print(f'{params:<6} {optimizer:<5} {kind:<10} {t_batch:>9.3f} {t_loop:>8.3f} '
                  f'{t_loop / t_batch:>7.1f}x {t_batch / args.batch:>8.4f} '
                  f'{t_batch / plain:>6.1f}x {diff:>10.2e} {mem:>11.0f}')
    print('peak RSS is the whole process so far (CPU); on CUDA the peak allocated memory')


if __name__ == '__main__':
    os.environ.setdefault('OMP_NUM_THREADS', str(os.cpu_count()))
    main()
