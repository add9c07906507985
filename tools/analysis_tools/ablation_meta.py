"""Train and test the dual-network ablation set on the synthetic benchmark; print the table.

    python tools/analysis_tools/ablation_meta.py [--work-dir work_dirs/ablation_meta]
        [--epochs 5] [--test-samples 160] [--domains moderate shifted] [--seed 0]
        [--rows ...] [--plot steps.png] [--markdown table.md]

Each row trains one config of configs/meta_hmr/ (train domain, the config's schedule shortened
to ``--epochs``) with tools/train.py and tests it with tools/test.py on the shift domains
(simulated detections, never the ground truth), before and after TTO:

* regression: f_w of "aux w/o meta" (CLIFF trained by plain regression), no TTO;
* EFT: the same network with EFT's TTO (configs/eft/: all parameters, 20 Adam steps at 5e-6,
  the 2D loss and priors);
* aux w/o meta, meta w/o aux, meta + aux (first order), meta + aux (second order): the dual
  network's TTO (the reference's schedule: the inner step on the head, then up to 14 Adam
  steps of the 2D loss on all parameters), with f_u's pseudo ground truth where there is one.

The regression and EFT rows reuse the "aux w/o meta" run's f_w, extracted with
tools/misc/extract_dual_network.py: it is CLIFF's plain regression on the same data and
schedule. Runs whose checkpoint or metrics exist are not repeated (delete the work dir to
start over). The PNG draws MPJPE against the TTO step for every TTO row.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List, Optional

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
META = 'configs/meta_hmr'
EFT = 'configs/eft/eft_cliff_res18-tiny_synthetic-moderate-64x64.py'

# name -> (the config trained, the config tested, how the tested weights are made)
ROWS = {
    'regression': ('aux-nometa', EFT, 'main'),
    'EFT': ('aux-nometa', EFT, 'main'),
    'aux w/o meta': ('aux-nometa', None, None),
    'meta w/o aux': ('meta-noaux', None, None),
    'meta + aux (1st order)': ('meta', None, None),
    'meta + aux (2nd order)': ('meta-2nd', None, None),
}
CONFIGS = {
    'aux-nometa': f'{META}/aux-nometa_cliff_res18-tiny_synthetic-64x64.py',
    'meta-noaux': f'{META}/meta-noaux_cliff_res18-tiny_synthetic-64x64.py',
    'meta': f'{META}/meta_cliff_res18-tiny_synthetic-64x64.py',
    'meta-2nd': f'{META}/meta-2nd_cliff_res18-tiny_synthetic-64x64.py',
}
METRICS = ('MPJPE', 'PA-MPJPE', 'PVE')


def parse_args():
    parser = argparse.ArgumentParser(description='The dual-network ablation on synthetic data')
    parser.add_argument('--work-dir', default='work_dirs/ablation_meta')
    parser.add_argument('--epochs', type=int, default=5, help='training epochs of every row')
    parser.add_argument('--test-samples', type=int, default=160,
                        help='test images per domain')
    parser.add_argument('--domains', nargs='+', default=['moderate', 'shifted'],
                        choices=['moderate', 'shifted'])
    parser.add_argument('--seed', type=int, default=0, help='the training seed')
    parser.add_argument('--rows', nargs='+', default=list(ROWS), choices=list(ROWS))
    parser.add_argument('--plot', help='write the MPJPE-vs-TTO-step PNG here')
    parser.add_argument('--markdown', help='also write the table as markdown here')
    return parser.parse_args()


def run(cmd: List[str], log: str) -> None:
    """Run a tool, its output into ``log``; fail with the log's tail."""
    start = time.time()
    os.makedirs(osp.dirname(log), exist_ok=True)
    with open(log, 'w') as f:
        code = subprocess.call(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT)
    if code:
        with open(log) as f:
            tail = f.read()[-3000:]
        raise SystemExit(f'{" ".join(cmd)} failed ({code}); the end of {log}:\n{tail}')
    print(f'  {time.time() - start:6.0f} s  {" ".join(cmd[1:3])}', flush=True)


def train(name: str, args) -> str:
    """Train one config (unless its last checkpoint exists); its checkpoint path."""
    work = osp.join(args.work_dir, name)
    last = osp.join(work, f'epoch_{args.epochs}.pth')
    if not osp.isfile(last):
        e = args.epochs
        run([sys.executable, 'tools/train.py', CONFIGS[name], '--work-dir', work,
             '--cfg-options', f'train_cfg.max_epochs={e}', f'param_scheduler.0.end={e}',
             f'param_scheduler.0.T_max={e}', f'randomness.seed={args.seed}'],
            osp.join(work, 'train.log'))
    return last


def extract(checkpoint: str, network: str) -> str:
    out = checkpoint.replace('.pth', f'_{network}.pth')
    if not osp.isfile(out):
        run([sys.executable, 'tools/misc/extract_dual_network.py', checkpoint, out,
             '--network', network], out + '.log')
    return out


def test(config: str, checkpoint: str, work: str, domain: str, tto: bool,
         args) -> Dict[str, float]:
    """Test one model on one domain (unless its metrics exist); its metrics."""
    out = osp.join(work, 'metrics.json')
    if not osp.isfile(out):
        cmd = [sys.executable, 'tools/test.py', config, checkpoint, '--work-dir', work,
               '--cfg-options', f'test_dataloader.dataset.domain.preset={domain}',
               f'test_dataloader.dataset.num_samples={args.test_samples}']
        if not tto:
            cmd.insert(4, '--no-tto')
        run(cmd, osp.join(work, 'test.log'))
        found = sorted(
            osp.join(dirpath, f) for dirpath, _, files in os.walk(work) for f in files
            if f == 'test_metrics.json')
        if not found:
            raise SystemExit(f'{work}: tools/test.py wrote no test_metrics.json')
        with open(found[-1]) as f:
            metrics = json.load(f)
        with open(out, 'w') as f:
            json.dump(metrics, f, indent=1)
    with open(out) as f:
        return json.load(f)


def value(metrics: Dict[str, float], name: str, init: bool = False) -> Optional[float]:
    """``3dpw/<name>`` (``_init``: before TTO)."""
    return metrics.get(f'3dpw/{name}{"_init" if init else ""}')


def table(results: Dict[str, Dict[str, Dict[str, float]]], domains: List[str]) -> List[str]:
    """Markdown rows: per domain and metric, 'before -> after' (mm)."""
    head = '| row | ' + ' | '.join(f'{d} {m}' for d in domains for m in METRICS) + ' |'
    lines = [head, '|' + '---|' * (1 + len(domains) * len(METRICS))]
    for row, by_domain in results.items():
        cells = []
        for domain in domains:
            metrics = by_domain[domain]
            for m in METRICS:
                before, after = value(metrics, m, init=True), value(metrics, m)
                if after is None:
                    cells.append('n/a')
                elif row == 'regression' or before is None:
                    cells.append(f'{after:.1f}')
                else:
                    cells.append(f'{before:.1f} → {after:.1f}')
        lines.append(f'| {row} | ' + ' | '.join(cells) + ' |')
    return lines


def plot(results, domain: str, out: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    from plot_tto_steps import step_curves
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, metric in zip(axes, ('MPJPE', 'PA-MPJPE')):
        for row, by_domain in results.items():
            curve = step_curves(by_domain[domain]).get(metric)
            if row == 'regression' or not curve:
                continue
            steps, values = zip(*curve)
            ax.plot(steps, values, marker='o', markersize=3, label=row)
        ax.set_xlabel('TTO step')
        ax.set_ylabel(f'{metric} (mm)')
        ax.set_title(f'{domain} shift, simulated detections')
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f'wrote {out}')


def main():
    args = parse_args()
    start = time.time()
    results: Dict[str, Dict[str, Dict[str, float]]] = {}
    for row in args.rows:
        trained, test_config, network = ROWS[row]
        print(f'{row}:', flush=True)
        checkpoint = train(trained, args)
        config = test_config or CONFIGS[trained]
        if network is not None:
            checkpoint = extract(checkpoint, network)
        slug = row.replace(' ', '_').replace('/', '').replace('(', '').replace(')', '')
        results[row] = {
            domain: test(config, checkpoint, osp.join(args.work_dir, 'test', slug, domain),
                         domain, tto=row != 'regression', args=args)
            for domain in args.domains
        }
    lines = table(results, args.domains)
    print(f'\ntrained {args.epochs} epochs (seed {args.seed}), tested on {args.test_samples} '
          f'images per domain, before → after TTO, mm; {time.time() - start:.0f} s in all')
    print('\n'.join(lines))
    if args.markdown:
        with open(args.markdown, 'w') as f:
            f.write('\n'.join(lines) + '\n')
    if args.plot:
        plot(results, args.domains[0], args.plot)


if __name__ == '__main__':
    main()
