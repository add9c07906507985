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
schedule. A training, extraction or test that ran in the work dir with the same settings
(seed, epochs, domain, sample count, checkpoint) is reused, any other is run again. The PNG
draws MPJPE against the TTO step for every TTO row.
"""
import argparse
import os
import os.path as osp
import sys
import time
from typing import Dict

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from ablation_runs import add_arguments, extract, table, test, train  # noqa: E402
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


def parse_args():
    parser = argparse.ArgumentParser(description='The dual-network ablation on synthetic data')
    add_arguments(parser, 'work_dirs/ablation_meta', 5, ROWS)
    parser.add_argument('--plot', help='write the MPJPE-vs-TTO-step PNG here')
    return parser.parse_args()


def plot(results, domain: str, out: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
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
        checkpoint = train(trained, CONFIGS[trained], args)
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
