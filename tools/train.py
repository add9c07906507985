# Train an mmhmr model (mmpose's tools/train.py, with CPU-only distributed runs on gloo).
import argparse
import os
import os.path as osp

import torch
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from mmhmr.utils import (finish_distributed, install_worker_init,
                         setup_cpu_distributed)
from mmhmr.utils.checkpoint import check_checkpoint_file


def parse_args():
    parser = argparse.ArgumentParser(description='Train a human mesh recovery model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from the given checkpoint, or without a path from the latest checkpoint '
        'in the work directory')
    parser.add_argument(
        '--amp', action='store_true', default=False,
        help='enable automatic mixed precision training')
    parser.add_argument(
        '--no-validate', action='store_true',
        help='do not evaluate checkpoints during training')
    parser.add_argument(
        '--auto-scale-lr', action='store_true',
        help='scale the learning rate by the real batch size over auto_scale_lr.base_batch_size')
    parser.add_argument(
        '--show-dir',
        help='directory where the validation predictions are drawn; '
        'relative paths are inside the work directory')
    parser.add_argument(
        '--interval', type=int, default=1, help='draw every this many validation samples')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config, key=value pairs, e.g. '
        'train_dataloader.batch_size=8')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
        help='job launcher')
    # torch < 2 passes --local_rank, torchrun sets LOCAL_RANK
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg, args):
    """Merge the command-line arguments into the config."""
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        if not torch.cuda.is_available():
            raise SystemExit('--amp needs a CUDA device: mmengine\'s AmpOptimWrapper only runs on '
                             'GPU / NPU / MLU / MUSA. Train without --amp on this machine.')
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper == 'AmpOptimWrapper':
            print('AMP training is already enabled in the config.')
        else:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')

    if args.resume == 'auto':
        from mmengine.runner import find_latest_checkpoint
        latest = find_latest_checkpoint(cfg.work_dir) if osp.isdir(cfg.work_dir) else None
        if latest is None or not osp.isfile(latest):
            # mmengine would log "Auto resumed from the latest checkpoint None."
            print(f'--resume: no checkpoint to resume from in {cfg.work_dir} (no '
                  'last_checkpoint file, or the file it names is gone); training starts from '
                  'the beginning', flush=True)
            cfg.resume = False
        else:
            print(f'--resume: resuming from {latest}', flush=True)
            cfg.resume = True
            cfg.load_from = latest
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise SystemExit(f'--resume {args.resume}: no such checkpoint file')
        check_checkpoint_file(args.resume)
        cfg.resume = True
        cfg.load_from = args.resume

    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None

    if args.auto_scale_lr:
        cfg.setdefault('auto_scale_lr', {})['enable'] = True

    if args.show_dir:
        hooks = cfg.setdefault('custom_hooks', [])
        hooks.append(dict(type='HMRVisualizationHook', out_dir=args.show_dir,
                          interval=args.interval))

    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if cfg.get('load_from') and '://' not in str(cfg.load_from):
        check_checkpoint_file(cfg.load_from)  # an error naming the file, not torch's
    return cfg


def main():
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    setup_cpu_distributed(cfg, args.launcher)
    install_worker_init()  # workers end with this process and reseed per epoch
    if 'runner_type' in cfg:
        from mmhmr.registry import RUNNERS
        runner = RUNNERS.build(cfg)
    else:
        runner = Runner.from_cfg(cfg)
    runner.train()
    finish_distributed()


if __name__ == '__main__':
    main()
