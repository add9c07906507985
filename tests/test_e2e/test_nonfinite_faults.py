"""Faults through the tools: a diverging training stops at its first non-finite loss with an
error that names it, and writes no NaN checkpoint; tools/test.py refuses a checkpoint of another
architecture (unless --partial-load) and one with NaN weights, with a non-zero exit."""
import glob
import os
import os.path as osp
import subprocess
import sys

import torch

import mmhmr  # noqa: F401

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
CONFIG = osp.join(ROOT, 'tests', 'data', 'cliff_synthetic_tiny.py')


def tool(args):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable] + args, cwd=ROOT, env=env, capture_output=True,
                          text=True)
    return proc.returncode, proc.stdout + proc.stderr


def test_diverging_training_stops_at_its_first_nonfinite_loss(tmp_path):
    work = str(tmp_path / 'work')
    code, log = tool(['tools/train.py', CONFIG, '--work-dir', work, '--cfg-options',
                      'optim_wrapper.optimizer.lr=1000000.0', 'train_cfg.max_epochs=3',
                      'default_hooks.checkpoint.interval=1'])
    assert code != 0, log[-3000:]
    assert 'NonFiniteLossError' in log and 'non-finite training loss at iteration' in log, \
        log[-3000:]
    assert 'the batch: synthetic' in log or 'the batch: ' in log
    # no checkpoint holds NaN / inf weights
    for path in glob.glob(osp.join(work, '*.pth')):
        state = torch.load(path, map_location='cpu', weights_only=True)['state_dict']
        assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())


def test_test_tool_refuses_misfit_and_nan_checkpoints(tmp_path):
    from mmhmr.apis import init_model
    from mmhmr.utils import register_all_modules
    register_all_modules()
    state = init_model(CONFIG).state_dict()
    other = {k: v for k, v in state.items() if not k.startswith('head.regressor')}
    other['head.extra.weight'] = torch.zeros(3)
    misfit, broken = str(tmp_path / 'misfit.pth'), str(tmp_path / 'nan.pth')
    torch.save(dict(state_dict=other, meta=dict()), misfit)
    state['head.regressor.dec_pose.weight'][0, 0] = float('nan')
    torch.save(dict(state_dict=state, meta=dict()), broken)
    work = str(tmp_path / 'test')
    code, log = tool(['tools/test.py', CONFIG, misfit, '--work-dir', work])
    assert code != 0 and 'does not fit the model HMREstimator' in log, log[-3000:]
    assert 'unexpected (head.extra.weight)' in log
    assert not glob.glob(osp.join(work, '*', 'test_metrics.json'))
    code, log = tool(['tools/test.py', CONFIG, broken, '--work-dir', work])
    assert code != 0 and 'NaN / inf in 1 weight tensors' in log, log[-3000:]
    # partial loading on purpose: the missing regressor stays as initialised, and it runs
    code, log = tool(['tools/test.py', CONFIG, misfit, '--work-dir', work, '--partial-load',
                      '--cfg-options', 'test_dataloader.dataset.num_samples=4'])
    assert code == 0, log[-3000:]


def test_checkpoint_files_that_are_not_checkpoints_name_their_path(tmp_path):
    import pytest
    from mmhmr.utils.checkpoint import check_checkpoint_file
    empty, noise = tmp_path / 'empty.pth', tmp_path / 'noise.pth'
    empty.write_bytes(b'')
    noise.write_bytes(bytes(range(7, 250)) * 10)
    with pytest.raises(ValueError, match=f'{empty}: the checkpoint file is empty'):
        check_checkpoint_file(str(empty))
    with pytest.raises(ValueError, match=f'{noise}: not a PyTorch checkpoint'):
        check_checkpoint_file(str(noise))
    code, log = tool(['tools/test.py', CONFIG, str(noise), '--work-dir', str(tmp_path / 'w')])
    assert code != 0 and f'{noise}: not a PyTorch checkpoint' in log
    assert 'weights_only' not in log  # no advice to turn safe loading off
    torch.save(dict(state_dict={}), tmp_path / 'ok.pth')
    check_checkpoint_file(str(tmp_path / 'ok.pth'))
