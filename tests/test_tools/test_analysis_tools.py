"""The analysis tools and tools/test.py's TTO switches, on hand-made inputs."""
import argparse
import importlib.util
import json
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))


def load_tool(path):
    spec = importlib.util.spec_from_file_location(osp.splitext(osp.basename(path))[0],
                                                  osp.join(ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_keypoint_loss_balance_counts_labelled_joints(tmp_path):
    tool = load_tool('tools/analysis_tools/keypoint_loss_balance.py')
    part = np.zeros((4, 24, 3))
    part[:, :17, 2] = 1.  # 17 labelled 2D joints each
    part[0, :3, 2] = 0.  # sample 0: 14
    s = np.zeros((4, 24, 4))
    s[:2, :17, 3] = 1.  # two samples with 17 labelled 3D joints, two without 3D
    path = tmp_path / 'h36m.npz'
    np.savez(path, imgname=np.array(['a'] * 4), part=part, S=s)
    n2d, frac_3d, n3d = tool.labelled_joints(str(path), openpose_weight=0.)
    assert n2d == pytest.approx((14 + 17 * 3) / 4)
    assert frac_3d == 0.5 and n3d == 17.


def test_plot_tto_steps_reads_the_per_step_metrics(tmp_path, monkeypatch):
    tool = load_tool('tools/analysis_tools/plot_tto_steps.py')
    metrics = {'3dpw/PA-MPJPE@1': 9., '3dpw/PA-MPJPE@0': 10., '3dpw/PA-MPJPE': 9.,
               '3dpw/MPJPE@0': 20., '3dpw/MPJPE@1': 18., 'checkpoint': 'x.pth'}
    assert tool.step_curves(metrics) == {'PA-MPJPE': [(0, 10.), (1, 9.)],
                                         'MPJPE': [(0, 20.), (1, 18.)]}
    path = tmp_path / 'test_metrics.json'
    path.write_text(json.dumps(metrics))
    out = tmp_path / 'steps.png'
    monkeypatch.setattr('sys.argv', ['plot', str(path), '--out', str(out)])
    tool.main()
    assert out.stat().st_size > 1000
    monkeypatch.setattr('sys.argv', ['plot', str(path), '--metrics', 'PVE'])
    with pytest.raises(SystemExit, match='record_steps'):
        tool.main()


def test_test_py_switches_tto_on_and_off():
    tool = load_tool('tools/test.py')
    config = osp.join(ROOT, 'configs', 'eft', 'eft_cliff_res18-tiny_synthetic-moderate-64x64.py')

    def merged(**flags):
        args = argparse.Namespace(launcher='none', checkpoint='none', work_dir=None,
                                  show_dir=None, interval=1, out=None, cfg_options=None,
                                  tto=False, no_tto=False, config=config)
        vars(args).update(flags)
        return tool.merge_args(Config.fromfile(config), args)

    assert merged().model.test_cfg.tto.params == 'all'  # the config's own
    assert merged(no_tto=True).model.test_cfg.tto is None
    plain = osp.join(ROOT, 'configs', 'cliff', 'cliff_res18-tiny_synthetic-64x64.py')
    args = argparse.Namespace(launcher='none', checkpoint='none', work_dir=None, show_dir=None,
                              interval=1, out=None, cfg_options=None, tto=True, no_tto=False,
                              config=plain)
    cfg = tool.merge_args(Config.fromfile(plain), args)
    assert cfg.model.test_cfg.tto.type == 'TestTimeOptimizer'  # the defaults
