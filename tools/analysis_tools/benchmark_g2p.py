"""Cost of the global-to-pixel head against CLIFF's head at the same input, in one run.

    python tools/analysis_tools/benchmark_g2p.py [--model demo|hrnet] [--batch 16]
        [--repeats 5] [--device cpu|cuda] [--no-dense] [--no-stage1-loss]

Times, on the same backbone features (computed once): a forward + backward of CLIFFHead and of
GlobalToPixelHead (stage 1 + deformable stage 2 + dense branch, the losses and the body model
included), the backbone's own forward + backward for scale, and the deformable encoder alone
(keypoint queries per second), with PyTorch's sampling and, on CUDA, mmcv's op. Prints the
ratios; the goal is a head that costs at most 1.5x CLIFF's and a small fraction of a backbone
step. The body model is the procedural one (tools/misc/generate_body_model.py).
"""
import argparse
import copy
import os.path as osp
import sys

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from timing import timed  # noqa: E402

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
sys.path.insert(0, ROOT)

CONFIGS = dict(demo='configs/g2p/g2p_res18-tiny_synthetic-64x64.py',
               hrnet='configs/g2p/g2p_hrnet-w48_mixed-256x192.py')
INPUT = dict(demo=(64, 64), hrnet=(192, 256))


def parse_args():
    parser = argparse.ArgumentParser(description='Benchmark GlobalToPixelHead vs CLIFFHead')
    parser.add_argument('--model', choices=list(CONFIGS), default='demo')
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--no-dense', action='store_true',
                        help='time the G2P head without its dense keypoint branch')
    parser.add_argument('--no-stage1-loss', action='store_true',
                        help='time the G2P head without stage 1\'s losses (global_weight=0)')
    return parser.parse_args()




def main():
    args = parse_args()
    init_default_scope('mmhmr')
    from mmhmr.models.body_models.procedural import ensure_procedural_body_model
    from mmhmr.registry import DATASETS, MODELS
    body_dir = ensure_procedural_body_model('data/body_models/procedural')
    cfg = Config.fromfile(osp.join(ROOT, CONFIGS[args.model]))
    cfg.model.backbone.pop('init_cfg', None)
    cfg.model.head.body_model = dict(type='ProceduralSMPL', model_path=body_dir,
                                     joint_set='spin_49')
    cfg.model.head.pop('gt_body_model', None)
    g2p_cfg = cfg.model
    cliff_cfg = copy.deepcopy(cfg.model)
    # where the extra cost is (not the method): without the dense branch / stage 1's losses
    if args.no_dense:
        g2p_cfg.head.dense = None
    if args.no_stage1_loss:
        g2p_cfg.head.global_weight = 0.
    for key in ('encoder', 'residual', 'n_refine', 'anchors', 'dense', 'local_weight',
                'global_weight'):
        cliff_cfg.head.pop(key, None)
    cliff_cfg.head.type = 'CLIFFHead'
    torch.manual_seed(0)
    g2p = MODELS.build(g2p_cfg).to(args.device).train()
    cliff = MODELS.build(cliff_cfg).to(args.device).train()

    w, h = INPUT[args.model]
    ds = DATASETS.build(dict(
        type='SyntheticHumanDataset', num_samples=args.batch,
        domain=dict(image_size=(int(w * 2.5), int(h * 2.5))),
        body_model=dict(model_path=body_dir),
        pipeline=[dict(type='HMRTopdownAffine', input_size=(w, h), bbox_fit='height'),
                  dict(type='CLIFFBBoxInfo'), dict(type='PackHMRInputs')]))
    data = g2p.data_preprocessor(pseudo_collate([ds[i] for i in range(args.batch)]), False)
    inputs, samples = data['inputs'].to(args.device), data['data_samples']
    feats = tuple(f.detach().requires_grad_() for f in g2p.backbone(inputs))

    def head_step(model):
        def step():
            model.zero_grad(set_to_none=True)
            losses = model.head.loss(feats, samples)
            sum(losses.values()).backward()
        return step

    def backbone_step():
        g2p.zero_grad(set_to_none=True)
        sum(f.float().mean() for f in g2p.backbone(inputs)).backward()

    t_cliff = timed(head_step(cliff), args.repeats, args.device)
    t_g2p = timed(head_step(g2p), args.repeats, args.device)
    t_backbone = timed(backbone_step, args.repeats, args.device)
    encoder = g2p.head.encoder
    anchors = torch.rand(args.batch, encoder.num_keypoints, 2, device=args.device) * 1.6 - 0.8
    rows = []
    for impl in ('pytorch', 'mmcv') if args.device == 'cuda' else ('pytorch', ):
        encoder.impl = impl

        def encode():
            encoder(feats, anchors).sum().backward()
        t = timed(encode, args.repeats, args.device)
        rows.append((impl, t, args.batch * encoder.num_keypoints / t))
    encoder.impl = 'auto'

    params = lambda m: sum(p.numel() for p in m.head.parameters()) / 1e6  # noqa: E731
    print(f'{args.model} ({CONFIGS[args.model]}), batch {args.batch}, input {w}x{h}, '
          f'{args.device}, median of {args.repeats}:')
    print(f'  CLIFFHead          forward+backward {t_cliff * 1e3:8.1f} ms  '
          f'({params(cliff):.2f} M params)')
    print(f'  GlobalToPixelHead  forward+backward {t_g2p * 1e3:8.1f} ms  '
          f'({params(g2p):.2f} M params)  = {t_g2p / t_cliff:.2f}x CLIFFHead')
    print(f'  backbone           forward+backward {t_backbone * 1e3:8.1f} ms  '
          f'(G2P head = {t_g2p / t_backbone:.2f}x, CLIFF head = {t_cliff / t_backbone:.2f}x)')
    for impl, t, rate in rows:
        print(f'  encoder ({impl:7s})  forward+backward {t * 1e3:8.1f} ms  '
              f'{rate:,.0f} keypoint queries/s')


if __name__ == '__main__':
    main()
