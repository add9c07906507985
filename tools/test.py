# Test an mmhmr model (mmpose's tools/test.py, with CPU-only distributed runs on gloo).
import argparse
import json
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.dist import is_main_process
from mmengine.logging import print_log
from mmengine.runner import Runner

from mmhmr.utils import (finish_distributed, install_worker_init,
                         setup_cpu_distributed)
from mmhmr.utils.checkpoint import check_checkpoint_file


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and evaluate) a human mesh recovery model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument(
        'checkpoint',
        help='checkpoint file; "none" tests the model as initialised (an untrained baseline)')
    parser.add_argument('--work-dir', help='the directory to save the evaluation results')
    parser.add_argument(
        '--out', help='a .pkl file to dump the predictions of every sample to')
    parser.add_argument(
        '--show-dir',
        help='directory where the predictions are drawn; a relative path is inside this run\'s '
        'folder, <work_dir>/<timestamp>/ (as in mmpose)')
    parser.add_argument(
        '--partial-load', action='store_true',
        help='load a checkpoint that does not fit the model (missing, unexpected or reshaped '
        'keys are skipped); without it such a checkpoint is an error')
    parser.add_argument(
        '--show', action='store_true', help='show the drawings in a window while testing')
    parser.add_argument(
        '--wait-time', type=float, default=1, help='seconds each shown drawing stays')
    parser.add_argument(
        '--interval', type=int, default=1, help='draw every this many samples')
    tto = parser.add_mutually_exclusive_group()
    tto.add_argument(
        '--tto', action='store_true',
        help='run test-time optimization: the config\'s model.test_cfg.tto, else its top-level '
        '"tto" settings, else TestTimeOptimizer\'s defaults (a DualNetworkHMR: its '
        'reference schedule)')
    tto.add_argument('--no-tto', action='store_true',
                     help='no test-time optimization, even if the config sets it')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config, key=value pairs')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg, args):
    """Merge the command-line arguments into the config."""
    cfg.launcher = args.launcher
    cfg.load_from = None if args.checkpoint.lower() == 'none' else args.checkpoint
    if cfg.load_from is not None:
        check_checkpoint_file(cfg.load_from)  # an error naming the file, not torch's
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])

    if args.tto or args.no_tto:
        test_cfg = cfg.model.get('test_cfg') or {}
        if args.no_tto:
            test_cfg['tto'] = None
        elif cfg.model.get('type') == 'DualNetworkHMR':
            # its default (no tto key) is the reference's schedule (test_cfg.reference_tto)
            if test_cfg.get('tto', 'default') is None:
                test_cfg.pop('tto')
        elif not test_cfg.get('tto'):
            test_cfg['tto'] = cfg.get('tto') or dict(type='TestTimeOptimizer')
        cfg.model.test_cfg = test_cfg

    if getattr(args, 'partial_load', False):
        cfg.setdefault('default_hooks', {})['checkpoint_check'] = dict(
            type='CheckpointCheckHook', strict=False)

    if args.show_dir or getattr(args, 'show', False):
        # the mesh over the full image, a side view and, with TTO, before / after
        cfg.setdefault('custom_hooks', []).append(
            dict(type='HMRVisualizationHook', out_dir=args.show_dir, interval=args.interval,
                 show=getattr(args, 'show', False), wait_time=getattr(args, 'wait_time', 1)))

    if args.out:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out must be a .pkl file, got "{args.out}"')
        evaluator = cfg.test_evaluator
        evaluator = evaluator if isinstance(evaluator, list) else [evaluator]
        cfg.test_evaluator = evaluator + [dict(type='DumpResults', out_file_path=args.out)]

    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def main():
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    setup_cpu_distributed(cfg, args.launcher)
    install_worker_init()  # workers end with this process and reseed per epoch
    runner = Runner.from_cfg(cfg)
    if cfg.load_from is None:
        print_log('No checkpoint: testing the model as initialised.', logger='current')
    metrics = runner.test()
    if is_main_process():
        out = osp.join(runner.log_dir, 'test_metrics.json')
        with open(out, 'w') as f:
            json.dump(dict(metrics, checkpoint=cfg.load_from), f, indent=2)
        print_log(f'Metrics written to {out}', logger='current')
    finish_distributed()


if __name__ == '__main__':
    main()
