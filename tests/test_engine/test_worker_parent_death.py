"""Dataloader workers of a tools/train.py run that is killed with SIGKILL end too (they asked
the kernel for SIGKILL on their parent's death), and the workers seed as mmengine's do."""
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))


def children(pid):
    """Pids whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open(f'/proc/{entry}/stat') as f:
                    fields = f.read().rsplit(')', 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def alive(pid):
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='prctl is Linux only')
def test_workers_die_with_a_killed_train_run(tmp_path):
    config = osp.join(ROOT, 'tests', 'data', 'cliff_synthetic_tiny.py')
    proc = subprocess.Popen(
        [sys.executable, 'tools/train.py', config, '--work-dir', str(tmp_path),
         '--cfg-options', 'train_dataloader.num_workers=2',
         'train_dataloader.persistent_workers=True', 'train_cfg.max_epochs=50'],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=dict(os.environ, OMP_NUM_THREADS='1'))
    try:
        workers, deadline = [], time.time() + 120
        while len(workers) < 2 and time.time() < deadline and proc.poll() is None:
            time.sleep(0.5)
            workers = children(proc.pid)
        assert len(workers) >= 2, 'the dataloader workers did not start'
        time.sleep(1)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        # the kernel ends them at once; without the request a worker that is not blocked
        # notices only at PyTorch's next 5 s status check, and one blocked on its queue never
        killed = time.time()
        while any(alive(w) for w in workers) and time.time() < killed + 20:
            time.sleep(0.05)
        assert not any(alive(w) for w in workers), 'a worker outlived its killed parent'
        assert time.time() - killed < 2.5, 'the workers ended by PyTorch\'s watchdog, late'
    finally:
        if proc.poll() is None:
            proc.kill()


def test_worker_seeding_is_mmengines():
    """The same numpy / random / torch state as mmengine's worker_init_fn gives."""
    import random

    import torch
    from mmengine.dataset import worker_init_fn as theirs

    from mmhmr.utils.workers import worker_init_fn as ours
    states = []
    for fn in (theirs, ours):
        fn(1, num_workers=2, rank=0, seed=7)
        states.append((np.random.rand(), random.random(), torch.rand(1).item()))
    assert states[0] == states[1]
