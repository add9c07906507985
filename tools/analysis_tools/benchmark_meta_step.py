# One training step of the dual network with the per-sample meta step against the same step
# without it (plain regression of f_w, f_u's own loss in both): the same networks and batch,
# backbones' forward and backward and the optimizer step included.
#
#   python tools/analysis_tools/benchmark_meta_step.py [--model res50] [--batch 16]
import argparse
import time

import torch
from mmengine.registry import init_default_scope

from mmhmr.registry import MODELS

BACKBONES = {
    'tiny': (dict(type='ResNet', depth=18, base_channels=32, stem_channels=32), 256, (512, 512),
             (64, 64)),
    'res50': (dict(type='ResNet', depth=50), 2048, (1024, 1024), (192, 256)),
}


def parse_args():
    parser = argparse.ArgumentParser(description='Benchmark the meta-learning step')
    parser.add_argument('--model', choices=list(BACKBONES), default='tiny')
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--body-model', default='data/body_models/procedural')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    return parser.parse_args()


def build(args, first_order):
    backbone, channels, hidden, _ = BACKBONES[args.model]
    torch.manual_seed(0)
    main = dict(type='HMREstimator', backbone=backbone,
                head=dict(type='CLIFFHead', in_channels=channels, hidden_dims=hidden, n_iter=3,
                          body_model=dict(type='ProceduralSMPL', model_path=args.body_model,
                                          joint_set='spin_49')))
    return MODELS.build(dict(type='DualNetworkHMR', main=main,
                             meta=dict(inner_lr=1e-5, first_order=first_order),
                             outer_weight=60.)).to(args.device).train()


def make_batch(args):
    from mmengine.structures import InstanceData
    from mmpose.structures import PoseDataSample
    w, h = BACKBONES[args.model][3]
    g = torch.Generator().manual_seed(1)
    inputs = torch.randn(args.batch, 3, h, w, generator=g).to(args.device)
    samples = []
    for i in range(args.batch):
        s = PoseDataSample(metainfo=dict(ori_shape=(480, 640), sample_idx=i))
        s.gt_instances = InstanceData(
            bbox_center=torch.tensor([[320., 240.]]), bbox_size=torch.tensor([200.]),
            focal_length=torch.tensor([800.]), bbox_info=torch.zeros(1, 3),
            keypoints_2d=torch.rand(1, 49, 2, generator=g) - 0.5,
            keypoints_2d_visible=torch.ones(1, 49),
            keypoints_3d=torch.randn(1, 49, 3, generator=g) * 0.3,
            keypoints_3d_visible=torch.ones(1, 49), smpl_pose=torch.randn(1, 72, generator=g) * .2,
            smpl_betas=torch.zeros(1, 10), has_smpl=torch.ones(1), gender=torch.zeros(1).long())
        samples.append(s)
    return inputs, samples


def step_time(model, optim, inputs, samples, repeats):
    def step():
        optim.zero_grad()
        losses = model.loss(inputs, samples)
        sum(v for k, v in losses.items() if 'loss' in k).backward()
        optim.step()
    step()  # warm-up
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / repeats


def main():
    args = parse_args()
    init_default_scope('mmhmr')
    inputs, samples = make_batch(args)
    print(f'model {args.model}, batch {args.batch}, device {args.device}, '
          f'{torch.get_num_threads()} threads; one training step of both networks')
    print(f'{"order":<7} {"plain s":>8} {"meta s":>8} {"ratio":>6}')
    for first_order in (True, False):
        model = build(args, first_order)
        optim = torch.optim.Adam(model.parameters(), lr=1e-4)
        model.meta_enabled = False
        plain = step_time(model, optim, inputs, samples, args.repeats)
        model.meta_enabled = True
        meta = step_time(model, optim, inputs, samples, args.repeats)
        print(f'{"first" if first_order else "second":<7} {plain:>8.3f} {meta:>8.3f} '
              f'{meta / plain:>5.2f}x')


if __name__ == '__main__':
    main()
