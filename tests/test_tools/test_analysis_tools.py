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


def test_extract_dual_network_writes_a_loadable_estimator_checkpoint(tmp_path, monkeypatch,
                                                                      procedural_body_dir):
    import torch
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint
    from mmhmr.registry import MODELS
    init_default_scope('mmhmr')
    tool = load_tool('tools/misc/extract_dual_network.py')
    main = dict(type='HMREstimator',
                backbone=dict(type='ResNet', depth=18, base_channels=8, stem_channels=8),
                head=dict(type='CLIFFHead', in_channels=64, hidden_dims=(16, ),
                          body_model=dict(type='SMPL', model_path=procedural_body_dir,
                                          joint_set='spin_49')))
    dual = MODELS.build(dict(type='DualNetworkHMR', main=main))
    with torch.no_grad():
        dual.aux.head.regressor.dec_cam.bias.fill_(0.25)  # f_u differs from f_w
    path = tmp_path / 'dual.pth'
    torch.save(dict(state_dict=dual.state_dict(), meta=dict(epoch=3)), path)
    for network, source in (('aux', dual.aux), ('main', dual.main)):
        out = tmp_path / f'{network}.pth'
        monkeypatch.setattr('sys.argv', ['extract', str(path), str(out), '--network', network])
        tool.main()
        cliff = MODELS.build(main)
        load_checkpoint(cliff, str(out), map_location='cpu', strict=True)
        for name, value in source.state_dict().items():
            assert torch.equal(cliff.state_dict()[name], value), (network, name)
        assert torch.load(out, weights_only=False)['meta']['network'] == network
    torch.save(dict(state_dict={'backbone.x': torch.zeros(1)}), tmp_path / 'cliff.pth')
    with pytest.raises(SystemExit, match="no 'aux.' weights"):
        monkeypatch.setattr('sys.argv', ['extract', str(tmp_path / 'cliff.pth'),
                                         str(tmp_path / 'o.pth')])
        tool.main()


def test_ablation_meta_table_shows_before_and_after():
    tool = load_tool('tools/analysis_tools/ablation_meta.py')
    regression = {'3dpw/MPJPE': 250., '3dpw/PA-MPJPE': 140., '3dpw/PVE': 300.}
    eft = {'3dpw/MPJPE': 240., '3dpw/PA-MPJPE': 139., '3dpw/PVE': 290.,
           '3dpw/MPJPE_init': 250., '3dpw/PA-MPJPE_init': 140., '3dpw/PVE_init': 300.}
    lines = tool.table({'regression': {'moderate': regression}, 'EFT': {'moderate': eft}},
                       ['moderate'])
    assert lines[0] == '| row | moderate MPJPE | moderate PA-MPJPE | moderate PVE |'
    assert lines[2] == '| regression | 250.0 | 140.0 | 300.0 |'
    assert lines[3] == '| EFT | 250.0 → 240.0 | 140.0 → 139.0 | 300.0 → 290.0 |'
    # every row's configs exist, and the rows share the training of "aux w/o meta"
    for trained, test_config, _ in tool.ROWS.values():
        assert osp.isfile(osp.join(ROOT, tool.CONFIGS[trained]))
        assert test_config is None or osp.isfile(osp.join(ROOT, test_config))


def test_test_py_tto_switches_on_a_dual_network_config():
    """--no-tto: f_w's regression; --tto or no flag: the reference's schedule."""
    tool = load_tool('tools/test.py')
    config = osp.join(ROOT, 'configs', 'meta_hmr', 'meta_cliff_res18-tiny_synthetic-64x64.py')

    def built(**flags):
        args = argparse.Namespace(launcher='none', checkpoint='none', work_dir=None,
                                  show_dir=None, interval=1, out=None, cfg_options=None,
                                  tto=False, no_tto=False, config=config)
        vars(args).update(flags)
        return tool.merge_args(Config.fromfile(config), args).model.test_cfg

    assert built(no_tto=True)['tto'] is None
    for flags in (dict(), dict(tto=True)):
        test_cfg = built(**flags)
        assert 'tto' not in test_cfg and test_cfg.reference_tto.record_steps, flags


def test_ablation_g2p_rows_exist_and_print_one_value():
    tool = load_tool('tools/analysis_tools/ablation_g2p.py')
    for config in tool.ROWS.values():
        assert osp.isfile(osp.join(ROOT, config)), config
    lines = tool.table({'full': {'moderate': {'3dpw/MPJPE': 200., '3dpw/PA-MPJPE': 120.,
                                               '3dpw/PVE': 240.}}}, ['moderate'],
                       plain_rows=list(tool.ROWS))
    assert lines[2] == '| full | 200.0 | 120.0 | 240.0 |'


def test_ablation_runs_reuse_only_runs_with_the_same_settings(tmp_path, monkeypatch):
    """A training or test is reused only when its seed, epochs, domain, sample count and
    checkpoint file are the ones asked for (a stale table once came from another seed's
    runs)."""
    import os
    tool = load_tool('tools/analysis_tools/ablation_runs.py')
    monkeypatch.setattr(tool, 'config_digest', lambda config: 'digest of ' + config)
    commands = []

    def fake_run(cmd, log):
        commands.append(cmd[1])
        work = cmd[cmd.index('--work-dir') + 1]
        if cmd[1] == 'tools/train.py':
            epochs = int(cmd[cmd.index('--cfg-options') + 1].split('=')[1])
            os.makedirs(work, exist_ok=True)
            with open(osp.join(work, f'epoch_{epochs}.pth'), 'w') as f:
                f.write('x' * len(commands))  # another size: another file
        else:
            os.makedirs(osp.join(work, f'run{len(commands)}'))
            with open(osp.join(work, f'run{len(commands)}', 'test_metrics.json'), 'w') as f:
                json.dump({'3dpw/MPJPE': float(len(commands))}, f)
    monkeypatch.setattr(tool, 'run', fake_run)
    args = argparse.Namespace(work_dir=str(tmp_path), epochs=2, seed=0, test_samples=8)

    def train_and_test():
        ckpt = tool.train('full', 'configs/x.py', args)
        return tool.test('configs/x.py', ckpt, str(tmp_path / 'full' / 'moderate'), 'moderate',
                         False, args)['3dpw/MPJPE']

    assert train_and_test() == 2. and commands == ['tools/train.py', 'tools/test.py']
    assert train_and_test() == 2. and len(commands) == 2  # same settings: reused
    args.test_samples = 16
    assert train_and_test() == 3. and commands[2:] == ['tools/test.py']
    args.seed = 1  # retrained: a new checkpoint file, so tested again
    assert train_and_test() == 5. and commands[3:] == ['tools/train.py', 'tools/test.py']
    # an edited config (another digest) is trained again
    monkeypatch.setattr(tool, 'config_digest', lambda config: 'edited')
    assert train_and_test() == 7. and commands[5:] == ['tools/train.py', 'tools/test.py']
    # a run that fails half-way leaves no record: the next call runs it again
    monkeypatch.setattr(tool, 'config_digest', lambda config: 'edited again')
    monkeypatch.setattr(tool, 'run', lambda cmd, log: (_ for _ in ()).throw(SystemExit(1)))
    with pytest.raises(SystemExit):
        train_and_test()
    assert not osp.exists(tmp_path / 'full' / 'train.json')
