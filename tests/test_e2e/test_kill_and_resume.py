"""A real tools/train.py run, SIGKILLed in the middle of its third epoch and resumed with
--resume, ends bit-identical to an uninterrupted run with the same seed: every weight, the
optimizer's state and the logged losses. With augmentation in persistent and non-persistent
worker processes and in the main process, dropout, and a validation after every epoch."""
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch

import mmhmr  # noqa: F401  (allow-lists what mmengine checkpoints hold, for weights_only loads)

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
CONFIG = osp.join(ROOT, 'tests', 'data', 'cliff_synthetic_tiny.py')
LOSS_LINE = re.compile(r'Epoch\(train\)\s+\[(\d+)\]\[(\d+)/\d+\].*?(loss: .*)$')


def train_cmd(work_dir, workers, resume=False):
    num, persistent = workers
    cmd = [sys.executable, 'tools/train.py', CONFIG, '--work-dir', work_dir, '--cfg-options',
           'randomness.seed=3', 'train_cfg.max_epochs=3', 'train_cfg.val_interval=1',
           f'train_dataloader.num_workers={num}',
           f'train_dataloader.persistent_workers={persistent}',
           'model.head.dropout=0.3']
    return cmd + (['--resume'] if resume else [])


def env():
    return dict(os.environ, OMP_NUM_THREADS='1',
                PYTHONPATH=os.pathsep.join([ROOT, os.environ.get('PYTHONPATH', '')]))


def losses(log):
    """``{(epoch, iter): 'loss: ... '}`` of the training log lines (times removed)."""
    out = {}
    for line in log.splitlines():
        m = LOSS_LINE.search(line)
        if m:
            out[int(m.group(1)), int(m.group(2))] = re.sub(r'(data_)?time: \S+\s+', '',
                                                           m.group(3)).strip()
    return out


def run_to_end(work_dir, workers, resume=False):
    proc = subprocess.run(train_cmd(work_dir, workers, resume), cwd=ROOT, env=env(),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def run_and_kill(work_dir, workers, epoch, it):
    """Start a run and SIGKILL it once it logs iteration ``it`` of ``epoch``."""
    proc = subprocess.Popen(train_cmd(work_dir, workers), cwd=ROOT, env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log = []
    try:
        for line in proc.stdout:
            log.append(line)
            if f'Epoch(train) [{epoch}][{it}/' in line:
                proc.kill()
                break
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -9, ''.join(log[-40:])
    return ''.join(log)


def load(path):
    return torch.load(path, map_location='cpu', weights_only=True)


def assert_same_tree(a, b, where):
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            assert_same_tree(a[k], b[k], f'{where}.{k}')
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_tree(x, y, f'{where}[{i}]')
    else:
        assert a == b, f'{where}: {a!r} != {b!r}'


@pytest.mark.parametrize('workers', [(2, True), (2, False), (0, False)],
                         ids=['persistent-workers', 'workers', 'no-workers'])
def test_killed_and_resumed_run_is_the_uninterrupted_run(tmp_path, workers):
    straight = str(tmp_path / 'straight')
    log_straight = run_to_end(straight, workers)

    interrupted = str(tmp_path / 'interrupted')
    log_killed = run_and_kill(interrupted, workers, epoch=3, it=2)
    assert osp.isfile(osp.join(interrupted, 'epoch_2.pth'))
    assert not osp.exists(osp.join(interrupted, 'epoch_3.pth'))
    log_resumed = run_to_end(interrupted, workers, resume=True)
    assert 'resumed' in log_resumed.lower()

    a = load(osp.join(straight, 'epoch_3.pth'))
    b = load(osp.join(interrupted, 'epoch_3.pth'))
    assert a['meta']['epoch'] == b['meta']['epoch'] == 3
    assert len(a['state_dict']) > 100
    assert_same_tree(a['state_dict'], b['state_dict'], 'state_dict')
    assert_same_tree(a['optimizer'], b['optimizer'], 'optimizer')
    assert_same_tree(a['random_states'], b['random_states'], 'random_states')
    # the logged losses of every iteration, including the ones the kill interrupted
    straight_losses, killed, resumed = losses(log_straight), losses(log_killed), losses(
        log_resumed)
    assert len(straight_losses) == 12 and killed[(3, 2)] == straight_losses[(3, 2)]
    assert {k: v for k, v in resumed.items() if k[0] == 3} == {
        k: v for k, v in straight_losses.items() if k[0] == 3}
