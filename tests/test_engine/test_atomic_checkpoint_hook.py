"""AtomicCheckpointHook: a write that fails half way leaves the previous checkpoint and
last_checkpoint as they were (and no temporary file); old checkpoints go only after the new
one is complete; tools/train.py --resume with nothing to resume says so."""
import collections
import os
import os.path as osp
import subprocess
import sys
import types

import pytest
import torch
from mmengine.logging import MessageHub

from mmhmr.engine.hooks import AtomicCheckpointHook

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))


class FakeRunner:
    """What the hook uses of a runner; ``fail_after`` bytes into a write, it raises as a full
    disk would, leaving a partial file."""

    def __init__(self, work_dir):
        self.work_dir, self.fail_after = str(work_dir), None
        self.message_hub = MessageHub.get_instance(f'atomic_{id(self)}')

    def save_checkpoint(self, out_dir, filename, file_client_args=None, **kwargs):
        data = repr(kwargs['meta']).encode() * 100
        with open(osp.join(out_dir, filename), 'wb') as f:
            if self.fail_after is not None:
                f.write(data[:self.fail_after])
                raise OSError(28, 'No space left on device')
            f.write(data)


def make_hook(tmp_path, keep):
    hook = AtomicCheckpointHook(interval=1, max_keep_ckpts=keep)
    hook.out_dir = str(tmp_path)
    hook.keep_ckpt_ids = collections.deque([], keep)
    return hook


def test_a_failed_write_keeps_the_previous_checkpoint(tmp_path):
    runner, hook = FakeRunner(tmp_path), make_hook(tmp_path, keep=1)
    hook._save_checkpoint_with_step(runner, 1, meta=dict(epoch=1))
    first = (tmp_path / 'epoch_1.pth').read_bytes()
    runner.fail_after = 10
    with pytest.raises(OSError, match='No space left'):
        hook._save_checkpoint_with_step(runner, 2, meta=dict(epoch=2))
    # epoch 1 is whole (max_keep_ckpts=1 would have removed it before writing epoch 2 in
    # mmengine's hook), last_checkpoint still names it, no partial files are left
    assert (tmp_path / 'epoch_1.pth').read_bytes() == first
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path / 'epoch_1.pth')
    assert sorted(os.listdir(tmp_path)) == ['epoch_1.pth', 'last_checkpoint']


def test_old_checkpoints_go_after_the_new_one_is_complete(tmp_path):
    runner, hook = FakeRunner(tmp_path), make_hook(tmp_path, keep=2)
    for step in (1, 2, 3):
        hook._save_checkpoint_with_step(runner, step, meta=dict(epoch=step))
    assert sorted(os.listdir(tmp_path)) == ['epoch_2.pth', 'epoch_3.pth', 'last_checkpoint']
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path / 'epoch_3.pth')
    assert runner.message_hub.get_info('keep_ckpt_ids') == [2, 3]


def test_resume_without_a_checkpoint_says_so(tmp_path):
    config = osp.join(ROOT, 'tests', 'data', 'cliff_synthetic_tiny.py')
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', config, '--work-dir', str(tmp_path / 'w'),
         '--resume', '--cfg-options', 'train_cfg.max_epochs=1',
         'train_dataloader.dataset.num_samples=4', 'val_dataloader.dataset.num_samples=4'],
        cwd=ROOT, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS='1'))
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert 'no checkpoint to resume from' in log and 'checkpoint None' not in log
    assert osp.isfile(tmp_path / 'w' / 'epoch_1.pth')
    assert not [f for f in os.listdir(tmp_path / 'w') if '.tmp' in f]
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', config, '--resume', str(tmp_path / 'nothing.pth')],
        cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode != 0 and 'no such checkpoint file' in proc.stdout + proc.stderr


def test_a_failed_best_write_keeps_the_previous_best(tmp_path):
    """mmengine removes the previous best checkpoint before writing the new one; here the new
    one is complete first, and a failed write changes nothing (file, hook, message hub)."""
    from mmengine.logging import MMLogger
    runner = FakeRunner(tmp_path)
    runner.logger, runner.iter = MMLogger.get_current_instance(), 0
    hook = AtomicCheckpointHook(interval=1, save_best='mpjpe', rule='less')
    hook.out_dir = str(tmp_path)

    def validate(epoch, mpjpe):
        runner.epoch = epoch
        hook._save_best_checkpoint(runner, {'mpjpe': mpjpe})

    validate(1, 100.)
    first = (tmp_path / 'best_mpjpe_epoch_1.pth').read_bytes()
    runner.fail_after = 10
    with pytest.raises(OSError, match='No space left'):
        validate(2, 90.)
    assert os.listdir(tmp_path) == ['best_mpjpe_epoch_1.pth']
    assert (tmp_path / 'best_mpjpe_epoch_1.pth').read_bytes() == first
    assert hook.best_ckpt_path == str(tmp_path / 'best_mpjpe_epoch_1.pth')
    assert runner.message_hub.get_info('best_score') == 100.
    runner.fail_after = None
    validate(3, 95.)  # better than the recorded 100 (epoch 2's 90 was never saved)
    assert os.listdir(tmp_path) == ['best_mpjpe_epoch_3.pth']
    validate(4, 97.)  # not better: nothing changes
    assert os.listdir(tmp_path) == ['best_mpjpe_epoch_3.pth']
    assert runner.message_hub.get_info('best_ckpt') == str(tmp_path / 'best_mpjpe_epoch_3.pth')


def test_remains_of_an_interrupted_write_are_removed_at_the_next_start(tmp_path):
    """A kill mid-write leaves '.epoch_3.pth.tmp<pid>'; the next run's hook removes it (and
    nothing else)."""
    from mmengine.logging import MMLogger
    (tmp_path / '.epoch_3.pth.tmp12345').write_bytes(b'partial')
    (tmp_path / 'epoch_2.pth').write_bytes(b'whole')
    (tmp_path / '.keep.tmpdir').write_bytes(b'not ours')
    runner = FakeRunner(tmp_path)
    runner.logger = MMLogger.get_current_instance()
    hook = AtomicCheckpointHook(interval=1)
    hook.before_train(runner)
    assert sorted(os.listdir(tmp_path)) == ['.keep.tmpdir', 'epoch_2.pth']
