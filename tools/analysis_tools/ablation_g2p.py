"""Train and test the global-to-pixel ablations on the synthetic benchmark; print the table.

    python tools/analysis_tools/ablation_g2p.py [--work-dir work_dirs/ablation_g2p]
        [--epochs 8] [--test-samples 160] [--domains moderate shifted] [--seed 0]
        [--rows ...] [--markdown table.md]

The rows of the write-up's ablation table, each a config trained on the synthetic train domain
(the configs' schedule shortened to ``--epochs``) and tested, as it regresses (no TTO), on the
first ``--test-samples`` images of the shift domains:

* full: configs/g2p/g2p_res18-tiny_synthetic-64x64.py;
* w/o local encoding: stage 1 alone, i.e. the synthetic CLIFF (configs/cliff/...);
* w/o dynamic matching: the fixed-radius assigner (g2p-fixedradius_...);
* w/o residual: stage 2 predicts the parameters directly (g2p-noresidual_...);
* fixed RoI: roi_align windows instead of the deformable sampling (g2p-roi_...).

A training or test that ran in the work dir with the same settings (seed, epochs, domain,
sample count, checkpoint) is reused, any other is run again.
The default, 8 epochs, is the synthetic configs' own schedule.
"""
import argparse
import os.path as osp
import sys
import time
from typing import Dict

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from ablation_runs import add_arguments, table, test, train  # noqa: E402

G2P = 'configs/g2p'
ROWS = {
    'full': f'{G2P}/g2p_res18-tiny_synthetic-64x64.py',
    'w/o local encoding': 'configs/cliff/cliff_res18-tiny_synthetic-64x64.py',
    'w/o dynamic matching': f'{G2P}/g2p-fixedradius_res18-tiny_synthetic-64x64.py',
    'w/o residual': f'{G2P}/g2p-noresidual_res18-tiny_synthetic-64x64.py',
    'fixed RoI': f'{G2P}/g2p-roi_res18-tiny_synthetic-64x64.py',
}


def parse_args():
    parser = argparse.ArgumentParser(description='The global-to-pixel ablation on synthetic data')
    add_arguments(parser, 'work_dirs/ablation_g2p', 8, ROWS)
    return parser.parse_args()


def main():
    args = parse_args()
    start = time.time()
    results: Dict[str, Dict[str, Dict[str, float]]] = {}
    for row in args.rows:
        print(f'{row}:', flush=True)
        slug = row.replace(' ', '_').replace('/', '')
        checkpoint = train(slug, ROWS[row], args)
        results[row] = {
            domain: test(ROWS[row], checkpoint, osp.join(args.work_dir, 'test', slug, domain),
                         domain, tto=False, args=args)
            for domain in args.domains
        }
    lines = table(results, args.domains, plain_rows=list(ROWS))
    print(f'\ntrained {args.epochs} epochs (seed {args.seed}), tested on {args.test_samples} '
          f'images per domain without TTO, mm; {time.time() - start:.0f} s in all')
    print('\n'.join(lines))
    if args.markdown:
        with open(args.markdown, 'w') as f:
            f.write('\n'.join(lines) + '\n')


if __name__ == '__main__':
    main()
