"""Model size and speed table: parameters, FLOPs, images/s of the regression forward and of
test-time optimization, one row per config, on this machine.

    python tools/analysis_tools/benchmark_model.py [--configs C1 C2 ...] [--batch 32]
        [--repeats 3] [--tto-batch 32] [--markdown table.md]

Per config (the procedural body model stands in for SMPL; weights as initialised: speed does
not depend on them):

* parameters of the whole model (a dual network: both networks), in millions;
* GFLOPs of one image's regression (backbone + head + the body model's mesh), counted by
  mmengine's ``FlopAnalyzer`` (fvcore's jit-trace counter; a multiply-add is one FLOP);
* images/s of the regression forward (eval, no gradients) at ``--batch``;
* images/s with the config's test-time optimization (its ``test_cfg``; a dual network: the
  reference schedule with f_u's pseudo targets) at ``--tto-batch``, with exact detections (the
  speed does not depend on them; early stopping may end some samples sooner); "-" where the
  config runs none.

Medians of ``--repeats`` timed runs after a warm-up.
"""
import argparse
import os.path as osp
import sys

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from timing import timed  # noqa: E402

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
sys.path.insert(0, ROOT)

CONFIGS = [
    'configs/cliff/cliff_res18-tiny_synthetic-64x64.py',
    'configs/eft/eft_cliff_res18-tiny_synthetic-moderate-64x64.py',
    'configs/meta_hmr/meta_cliff_res18-tiny_synthetic-64x64.py',
    'configs/g2p/g2p_res18-tiny_synthetic-64x64.py',
    'configs/cliff/cliff_res50_mixed-256x192.py',
    'configs/cliff/cliff_hrnet-w48_mixed-256x192.py',
    'configs/g2p/g2p_hrnet-w48_mixed-256x192.py',
]


def parse_args():
    parser = argparse.ArgumentParser(description='Model size and speed table')
    parser.add_argument('--configs', nargs='+', default=CONFIGS)
    parser.add_argument('--batch', type=int, default=32, help='batch of the regression')
    parser.add_argument('--tto-batch', type=int, default=32, help='batch of TTO')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--markdown', help='also write the table as markdown here')
    return parser.parse_args()


def procedural(cfg_model, body_dir):
    """Point every body model of a model config at the procedural one."""
    if isinstance(cfg_model, dict):
        for key, value in list(cfg_model.items()):
            if key in ('body_model', 'gt_body_model') and isinstance(value, dict):
                joint_set = value.get('joint_set', 'spin_49')
                if key == 'gt_body_model':
                    cfg_model[key] = dict(type='ProceduralGenderedSMPL', model_path=body_dir,
                                          joint_set=joint_set)
                else:
                    cfg_model[key] = dict(type='ProceduralSMPL', model_path=body_dir,
                                          joint_set=joint_set)
            else:
                procedural(value, body_dir)
    elif isinstance(cfg_model, (list, tuple)):
        for value in cfg_model:
            procedural(value, body_dir)


def batch_of(cfg, model, size, body_dir):
    """A batch of ``size`` synthetic crops at the config's input size (as a dataloader gives
    it), with exact detections."""
    from mmhmr.registry import DATASETS
    pipeline = [t for t in cfg.test_dataloader.dataset.pipeline
                if t['type'] not in ('HMRLoadImage', 'SimulateKeypointDetections')]
    ds = DATASETS.build(dict(type='SyntheticHumanDataset', num_samples=size,
                             domain=dict(image_size=(160, 160)),
                             body_model=dict(model_path=body_dir), pipeline=pipeline))
    data = pseudo_collate([ds[i] for i in range(size)])
    for s in data['data_samples']:
        s.gt_instances.det_keypoints_2d = s.gt_instances.keypoints_2d.copy()
        s.gt_instances.det_keypoints_2d_score = s.gt_instances.keypoints_2d_visible.copy()
    return data  # as the dataloader gives it: test_step preprocesses




class Regression(torch.nn.Module):
    """The regression of one batch as a traceable ``forward(inputs) -> vertices``."""

    def __init__(self, model, samples):
        super().__init__()
        self.model, self.samples = model, samples

    def forward(self, inputs):
        net = self.model.main if hasattr(self.model, 'main') else self.model
        head = net.head
        params = head.regress(net.extract_feat(inputs), self.samples)
        return head.decode_smpl(params, self.samples)['vertices']


def main():
    args = parse_args()
    from mmengine.analysis import FlopAnalyzer
    from mmhmr.apis import init_model
    from mmhmr.models.body_models.procedural import ensure_procedural_body_model
    from mmhmr.utils import register_all_modules
    register_all_modules()
    body_dir = ensure_procedural_body_model(osp.join(ROOT, 'data/body_models/procedural'))
    rows = ['| config | input (W x H) | params (M) | GFLOPs / image | regression images/s | '
            'TTO images/s |', '|---|---|---|---|---|---|']
    for path in args.configs:
        cfg = Config.fromfile(osp.join(ROOT, path))
        procedural(cfg.model, body_dir)
        torch.manual_seed(0)
        model = init_model(cfg)
        params = sum(p.numel() for p in model.parameters()) / 1e6
        one = model.data_preprocessor(batch_of(cfg, model, 1, body_dir), False)
        flops = FlopAnalyzer(Regression(model, one['data_samples']), (one['inputs'], ))
        flops.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        gflops = flops.total() / 1e9
        data = batch_of(cfg, model, args.batch, body_dir)
        tto = getattr(model, 'tto', None)

        def regression():
            with torch.no_grad():
                model.tto = None
                model.test_step(data)
                model.tto = tto
        rate = args.batch / timed(regression, args.repeats)
        tto_rate = '-'
        if tto is not None:
            tto_data = batch_of(cfg, model, args.tto_batch, body_dir)
            with torch.no_grad():
                seconds = timed(lambda: model.test_step(tto_data), args.repeats)
            tto_rate = f'{args.tto_batch / seconds:.1f}'
        h, w = data['inputs'][0].shape[-2:]
        rows.append(f'| `{osp.basename(path)}` | {w}x{h} | {params:.2f} | {gflops:.2f} | '
                    f'{rate:.1f} | {tto_rate} |')
        print(rows[-1], flush=True)
    print(f'\nbatch {args.batch} (TTO {args.tto_batch}), {torch.get_num_threads()} threads, '
          f'median of {args.repeats}')
    print('\n'.join(rows))
    if args.markdown:
        with open(args.markdown, 'w') as f:
            f.write('\n'.join(rows) + '\n')


if __name__ == '__main__':
    main()
