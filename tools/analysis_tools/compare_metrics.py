# Print the metrics of several test runs side by side (the test_metrics.json files that
# tools/test.py writes), with the relative change of the last run against the first.
import argparse
import json
import os.path as osp


def parse_args():
    parser = argparse.ArgumentParser(description='Compare test_metrics.json files')
    parser.add_argument('files', nargs='+', help='test_metrics.json files, oldest first')
    parser.add_argument('--names', nargs='+', help='a column name per file')
    return parser.parse_args()


def main():
    args = parse_args()
    names = args.names or [osp.basename(osp.dirname(osp.dirname(f))) for f in args.files]
    if len(names) != len(args.files):
        raise SystemExit(f'{len(args.files)} files but {len(names)} names')
    runs = []
    for path in args.files:
        with open(path) as f:
            runs.append(json.load(f))
    keys = [k for k, v in runs[0].items() if isinstance(v, (int, float))]
    header = f'{"metric":<22}' + ''.join(f'{n:>14}' for n in names)
    if len(runs) > 1:
        header += f'{"change":>10}'
    print(header)
    for k in keys:
        values = [r.get(k, float('nan')) for r in runs]
        row = f'{k:<22}' + ''.join(f'{v:>14.2f}' for v in values)
        if len(runs) > 1 and values[0]:
            row += f'{100 * (values[-1] - values[0]) / abs(values[0]):>+9.1f}%'
        print(row)


if __name__ == '__main__':
    main()
