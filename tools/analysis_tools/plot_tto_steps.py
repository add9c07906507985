# Error against test-time optimization step for one or more test runs (the seed paper's figure).
#
# Reads the test_metrics.json files tools/test.py writes for configs whose TestTimeOptimizer has
# record_steps=True (metrics '<prefix>/<name>@k'), and draws one curve per run and metric.
#
#   python tools/analysis_tools/plot_tto_steps.py RUN1/test_metrics.json RUN2/test_metrics.json \
#       --names EFT ours --metrics PA-MPJPE MPJPE --out tto_steps.png
import argparse
import json
import re
from typing import Dict, List, Tuple

STEP_KEY = re.compile(r'^(?:(?P<prefix>.+)/)?(?P<name>[^/@]+)@(?P<step>\d+)$')


def parse_args():
    parser = argparse.ArgumentParser(description='Plot errors against TTO steps')
    parser.add_argument('files', nargs='+', help='test_metrics.json files')
    parser.add_argument('--names', nargs='+', help='a label per file')
    parser.add_argument('--metrics', nargs='+', default=['PA-MPJPE', 'MPJPE'],
                        help='metric names without prefix or step')
    parser.add_argument('--out', default='tto_steps.png', help='the PNG to write')
    return parser.parse_args()


def step_curves(metrics: Dict[str, float]) -> Dict[str, List[Tuple[int, float]]]:
    """``{name: [(step, value), ...]}`` of the ``name@step`` entries, sorted by step."""
    curves: Dict[str, List[Tuple[int, float]]] = {}
    for key, value in metrics.items():
        match = STEP_KEY.match(key)
        if match and isinstance(value, (int, float)):
            curves.setdefault(match['name'], []).append((int(match['step']), float(value)))
    return {name: sorted(points) for name, points in curves.items()}


def main():
    args = parse_args()
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    names = args.names or [f'run {i}' for i in range(len(args.files))]
    if len(names) != len(args.files):
        raise SystemExit(f'{len(args.files)} files but {len(names)} names')
    runs = []
    for path, name in zip(args.files, names):
        with open(path) as f:
            curves = step_curves(json.load(f))
        missing = [m for m in args.metrics if m not in curves]
        if missing:
            raise SystemExit(f'{path} has no per-step {missing} (found {sorted(curves)}): test '
                             'with a TestTimeOptimizer whose record_steps=True')
        runs.append((name, curves))

    fig, axes = plt.subplots(1, len(args.metrics), figsize=(4.5 * len(args.metrics), 3.5),
                             squeeze=False)
    for ax, metric in zip(axes[0], args.metrics):
        for name, curves in runs:
            steps, values = zip(*curves[metric])
            ax.plot(steps, values, marker='o', markersize=3, label=name)
        ax.set_xlabel('TTO step')
        ax.set_ylabel(f'{metric} (mm)' if 'kpt2d' not in metric else f'{metric} (px)')
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
