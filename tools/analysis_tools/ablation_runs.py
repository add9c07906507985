"""What the ablation scripts share: run a tool, train a config, test a checkpoint on a
synthetic shift domain, and print the table (tools/analysis_tools/ablation_*.py)."""
import argparse
import hashlib
import json
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
METRICS = ('MPJPE', 'PA-MPJPE', 'PVE')


def add_arguments(parser: argparse.ArgumentParser, work_dir: str, epochs: int,
                  rows: Sequence[str]) -> None:
    """The arguments every ablation script takes."""
    parser.add_argument('--work-dir', default=work_dir)
    parser.add_argument('--epochs', type=int, default=epochs, help='training epochs of every row')
    parser.add_argument('--test-samples', type=int, default=160,
                        help='test images per domain')
    parser.add_argument('--domains', nargs='+', default=['moderate', 'shifted'],
                        choices=['moderate', 'shifted'])
    parser.add_argument('--seed', type=int, default=0, help='the training seed')
    parser.add_argument('--rows', nargs='+', default=list(rows), choices=list(rows))
    parser.add_argument('--markdown', help='also write the table as markdown here')


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


def done(work: str, step: str, settings: dict, outputs: Sequence[str]) -> bool:
    """Whether ``step`` ran in ``work`` with these ``settings`` and left ``outputs``: every run
    records its settings (``<step>.json``) once it succeeds, so a run with another seed,
    schedule, domain, sample count or checkpoint is never reused."""
    record = osp.join(work, f'{step}.json')
    if not (osp.isfile(record) and all(osp.isfile(o) for o in outputs)):
        return False
    with open(record) as f:
        return json.load(f) == settings


def record(work: str, step: str, settings: Optional[dict]) -> None:
    """Write ``step``'s settings once it succeeded; None (before a run) removes the old
    record, so that a run interrupted half-way is never taken for the old one."""
    path = osp.join(work, f'{step}.json')
    if settings is None:
        if osp.isfile(path):
            os.remove(path)
        return
    with open(path, 'w') as f:
        json.dump(settings, f, indent=1)


def config_digest(config: str) -> str:
    """A hash of the config as mmengine merges it (its ``_base_`` files included)."""
    from mmengine.config import Config
    text = json.dumps(Config.fromfile(osp.join(ROOT, config)).to_dict(), sort_keys=True,
                      default=str)
    return hashlib.sha1(text.encode()).hexdigest()


def stamp(path: str) -> str:
    """A file's path, size and modification time: a run that rewrote it made another file."""
    stat = os.stat(path)
    return f'{osp.abspath(path)}@{stat.st_size}@{stat.st_mtime_ns}'


def train(name: str, config: str, args) -> str:
    """Train ``config`` into ``<work_dir>/<name>`` for ``args.epochs`` epochs (its cosine
    schedule shortened to match) with ``args.seed``, unless that run is there already; the
    checkpoint path."""
    work = osp.join(args.work_dir, name)
    last = osp.join(work, f'epoch_{args.epochs}.pth')
    settings = dict(config=config, digest=config_digest(config), epochs=args.epochs,
                    seed=args.seed)
    if not done(work, 'train', settings, [last]):
        record(work, 'train', None)
        e = args.epochs
        run([sys.executable, 'tools/train.py', config, '--work-dir', work,
             '--cfg-options', f'train_cfg.max_epochs={e}', f'param_scheduler.0.end={e}',
             f'param_scheduler.0.T_max={e}', f'randomness.seed={args.seed}'],
            osp.join(work, 'train.log'))
        record(work, 'train', settings)
    return last


def extract(checkpoint: str, network: str) -> str:
    out = checkpoint.replace('.pth', f'_{network}.pth')
    work, step = osp.dirname(out), 'extract_' + osp.splitext(osp.basename(out))[0]
    settings = dict(checkpoint=stamp(checkpoint), network=network)
    if not done(work, step, settings, [out]):
        record(work, step, None)
        run([sys.executable, 'tools/misc/extract_dual_network.py', checkpoint, out,
             '--network', network], out + '.log')
        record(work, step, settings)
    return out


def test(config: str, checkpoint: str, work: str, domain: str, tto: bool,
         args) -> Dict[str, float]:
    """Test one model on one domain (unless that test ran already: same config,
    checkpoint file, domain, sample count and TTO); its metrics."""
    out = osp.join(work, 'metrics.json')
    settings = dict(config=config, digest=config_digest(config), checkpoint=stamp(checkpoint),
                    domain=domain, test_samples=args.test_samples, tto=tto)
    if not done(work, 'test', settings, [out]):
        record(work, 'test', None)
        cmd = [sys.executable, 'tools/test.py', config, checkpoint, '--work-dir', work,
               '--cfg-options', f'test_dataloader.dataset.domain.preset={domain}',
               f'test_dataloader.dataset.num_samples={args.test_samples}']
        if not tto:
            cmd.insert(4, '--no-tto')
        before = metrics_files(work)
        run(cmd, osp.join(work, 'test.log'))
        # this run's metrics only: tools/test.py writes them under a new timestamped folder
        found = sorted(p for p, t in metrics_files(work).items() if before.get(p) != t)
        if not found:
            raise SystemExit(f'{work}: tools/test.py wrote no test_metrics.json')
        with open(found[-1]) as f:
            metrics = json.load(f)
        with open(out, 'w') as f:
            json.dump(metrics, f, indent=1)
        record(work, 'test', settings)
    with open(out) as f:
        return json.load(f)


def metrics_files(work: str) -> Dict[str, int]:
    """Every ``test_metrics.json`` under ``work`` and its modification time (ns)."""
    paths = [osp.join(d, f) for d, _, files in os.walk(work) for f in files
             if f == 'test_metrics.json']
    return {p: os.stat(p).st_mtime_ns for p in paths}


def value(metrics: Dict[str, float], name: str, init: bool = False) -> Optional[float]:
    """``3dpw/<name>`` (``_init``: before TTO)."""
    return metrics.get(f'3dpw/{name}{"_init" if init else ""}')


def table(results: Dict[str, Dict[str, Dict[str, float]]], domains: List[str],
          plain_rows: Sequence[str] = ('regression', )) -> List[str]:
    """Markdown rows: per domain and metric, 'before -> after' TTO (mm); ``plain_rows`` and
    runs without TTO show one value."""
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
                elif row in plain_rows or before is None:
                    cells.append(f'{after:.1f}')
                else:
                    cells.append(f'{before:.1f} → {after:.1f}')
        lines.append(f'| {row} | ' + ' | '.join(cells) + ' |')
    return lines
