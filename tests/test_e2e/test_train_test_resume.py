"""End to end through tools/train.py and tools/test.py on the tiny synthetic config:
train -> checkpoint -> test -> resume, single process and distributed on CPU (gloo)."""
import glob
import json
import math
import os
import os.path as osp
import signal
import socket
import subprocess
import sys

import cv2
import pytest
import torch

import mmhmr  # noqa: F401  (allow-lists what mmengine checkpoints hold, for weights_only loads)

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
CONFIG = osp.join(ROOT, 'tests', 'data', 'cliff_synthetic_tiny.py')
HERE = osp.dirname(__file__)


def run(args, env=None, timeout=None):
    """Run ``args`` in its own process group; on a timeout the whole group (torchrun and its
    ranks, not only the launching shell) is killed before the test fails."""
    env = dict(os.environ, **(env or {}))
    env['PYTHONPATH'] = os.pathsep.join([HERE, ROOT, env.get('PYTHONPATH', '')])
    env.setdefault('OMP_NUM_THREADS', '1')
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        raise AssertionError(f'{args} timed out after {timeout} s:\n{stdout[-3000:]}\n'
                             f'{stderr[-5000:]}') from None
    assert proc.returncode == 0, f'{args} failed:\n{stdout[-3000:]}\n{stderr[-5000:]}'
    return stdout + stderr


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_train_checkpoint_test_resume(tmp_path):
    work_dir = str(tmp_path / 'work')
    log = run([sys.executable, 'tools/train.py', CONFIG, '--work-dir', work_dir])
    assert osp.isfile(osp.join(work_dir, 'epoch_2.pth')), log[-2000:]
    assert '3dpw/PA-MPJPE' in log  # validation ran at the end of epoch 2

    test_dir = str(tmp_path / 'test')
    run([sys.executable, 'tools/test.py', CONFIG, osp.join(work_dir, 'epoch_2.pth'),
         '--work-dir', test_dir, '--out', str(tmp_path / 'preds.pkl'), '--show-dir', 'vis',
         '--interval', '2'])
    (metrics_file, ) = glob.glob(osp.join(test_dir, '*', 'test_metrics.json'))
    metrics = json.load(open(metrics_file))
    for key in ('3dpw/MPJPE', '3dpw/PA-MPJPE', '3dpw/PVE', '3dpw/kpt2d_err'):
        assert math.isfinite(metrics[key]) and metrics[key] > 0, metrics
    # PA-MPJPE aligns more freely than MPJPE, so it cannot be larger
    assert metrics['3dpw/PA-MPJPE'] <= metrics['3dpw/MPJPE']
    assert osp.getsize(tmp_path / 'preds.pkl') > 0
    # --show-dir: every 2nd of the 8 test samples, the mesh over the image | its side view;
    # uncached synthetic samples have no image file, so the image is the 64x64 crop
    drawn = glob.glob(osp.join(test_dir, '*', 'vis', '*.png'))
    assert len(drawn) == 4
    img = cv2.imread(drawn[0])
    assert img.shape == (64, 128, 3)

    # resume (weights-only loading of mmengine's checkpoint on torch >= 2.6) and go on a third epoch
    log = run([sys.executable, 'tools/train.py', CONFIG, '--work-dir', work_dir, '--resume',
               '--cfg-options', 'train_cfg.max_epochs=3'])
    assert 'resumed' in log.lower(), log[-3000:]
    ckpt = torch.load(osp.join(work_dir, 'epoch_3.pth'), map_location='cpu', weights_only=True)
    assert ckpt['meta']['epoch'] == 3 and ckpt['meta']['iter'] == 12  # 4 iterations an epoch
    assert 'optimizer' in ckpt and ckpt['message_hub']


def params_per_rank(work_dir, world_size):
    return [torch.load(osp.join(work_dir, f'params_rank{r}.pth'), weights_only=True)
            for r in range(world_size)]


def write_dist_config(tmp_path):
    cfg = tmp_path / 'dist_cfg.py'
    cfg.write_text(f"_base_ = [{CONFIG!r}]\n"
                   "custom_imports = dict(imports=['rank_params_hook'])\n"
                   "custom_hooks = [dict(type='RankParamsDumpHook')]\n")
    return str(cfg)


def assert_identical_on_every_rank(work_dir, world_size):
    params = params_per_rank(work_dir, world_size)
    for rank_params in params[1:]:
        assert rank_params.keys() == params[0].keys()
        for k, v in params[0].items():
            assert torch.equal(v, rank_params[k]), k
    # and they are what the checkpoint holds
    state = torch.load(osp.join(work_dir, 'epoch_2.pth'), weights_only=True)['state_dict']
    assert params[0] and set(params[0]) <= set(state)
    for k, v in params[0].items():
        assert torch.equal(v, state[k]), k


def test_two_process_training_through_dist_train(tmp_path):
    work_dir = str(tmp_path / 'work')
    log = run(['bash', 'tools/dist_train.sh', write_dist_config(tmp_path), '2',
               '--work-dir', work_dir],
              env=dict(PYTHON=sys.executable, PORT=str(free_port())), timeout=600)
    assert 'gloo' in log
    assert_identical_on_every_rank(work_dir, 2)
    # every rank's random states travel with the checkpoint (saved by rank 0 alone)
    ckpt = torch.load(osp.join(work_dir, 'epoch_2.pth'), map_location='cpu', weights_only=True)
    assert len(ckpt['random_states']) == 2


def test_two_nodes_simulated_on_localhost(tmp_path):
    work_dir = str(tmp_path / 'work')
    cfg = write_dist_config(tmp_path)
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(free_port()), NNODES='2',
               MASTER_ADDR='127.0.0.1', OMP_NUM_THREADS='1')
    env['PYTHONPATH'] = os.pathsep.join([HERE, ROOT, env.get('PYTHONPATH', '')])
    nodes = [
        subprocess.Popen(['bash', 'tools/dist_train.sh', cfg, '1', '--work-dir', work_dir],
                         cwd=ROOT, env=dict(env, NODE_RANK=str(rank)),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for rank in (0, 1)
    ]
    outputs = [node.communicate(timeout=600)[0] for node in nodes]
    for node, out in zip(nodes, outputs):
        assert node.returncode == 0, out[-5000:]
    assert_identical_on_every_rank(work_dir, 2)


def test_tto_single_process_and_two_processes_agree(tmp_path):
    """tools/test.py with per-sample TTO, one process and two (dist_test.sh, gloo): each sample's
    TTO is its own, so every metric, before, after and at every step, is the same."""
    config = osp.join(ROOT, 'tests', 'data', 'cliff_synthetic_tiny_tto.py')
    single, dist = str(tmp_path / 'single'), str(tmp_path / 'dist')
    run([sys.executable, 'tools/test.py', config, 'none', '--work-dir', single])
    run(['bash', 'tools/dist_test.sh', config, 'none', '2', '--work-dir', dist],
        env=dict(PYTHON=sys.executable, PORT=str(free_port())), timeout=600)
    (one, ) = glob.glob(osp.join(single, '*', 'test_metrics.json'))
    (two, ) = glob.glob(osp.join(dist, '*', 'test_metrics.json'))
    one, two = json.load(open(one)), json.load(open(two))
    for key in ('3dpw/MPJPE', '3dpw/MPJPE_init', '3dpw/PA-MPJPE@3', '3dpw/tto_loss'):
        assert key in one, sorted(one)
    assert one.keys() == two.keys()
    for key, value in one.items():
        if isinstance(value, float):
            assert two[key] == pytest.approx(value, rel=1e-5, abs=1e-6), key
    assert one['3dpw/tto_loss'] < one['3dpw/tto_loss_init']


@pytest.mark.parametrize('first_order', [True, False])
def test_dual_network_two_processes_equal_one_process(tmp_path, first_order):
    """DualNetworkHMR's meta step lives inside loss(), which DDP's forward carries: two gloo
    processes of 4 samples end with the parameters of one process of the same 8, and the same
    on every rank (BatchNorm statistics frozen, no dropout, no random augmentation)."""
    config = osp.join(ROOT, 'tests', 'data', 'meta_synthetic_tiny.py')
    order = [] if first_order else ['--cfg-options', 'model.meta.first_order=False']
    single, dist = str(tmp_path / 'single'), str(tmp_path / 'dist')
    log_single = run([sys.executable, 'tools/train.py', config, '--work-dir', single] + order)
    log_dist = run(['bash', 'tools/dist_train.sh', config, '2', '--work-dir', dist,
         '--cfg-options', 'train_dataloader.batch_size=4'] +
        (['model.meta.first_order=False'] if not first_order else []),
        env=dict(PYTHON=sys.executable, PORT=str(free_port())), timeout=600)
    assert 'meta_gain' in log_single and 'meta_gain' in log_dist  # the meta step ran
    one = params_per_rank(single, 1)[0]
    ranks = params_per_rank(dist, 2)
    assert set(one) == set(ranks[0]) and any(k.startswith('aux.') for k in one)
    for name, value in one.items():
        for rank in ranks:
            torch.testing.assert_close(rank[name], value, atol=1e-6, rtol=1e-5, msg=name)
