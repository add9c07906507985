"""A test-only hook: every rank saves its final parameters, to compare them across ranks.

Parameters only: BatchNorm running statistics are per-rank buffers under mmengine's DDP default
(``broadcast_buffers=False``); the checkpoint holds rank 0's.
"""
import os.path as osp

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook

from mmhmr.registry import HOOKS


@HOOKS.register_module()
class RankParamsDumpHook(Hook):

    def after_run(self, runner) -> None:
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        params = {k: v.detach().cpu().clone() for k, v in model.named_parameters()}
        torch.save(params, osp.join(runner.work_dir, f'params_rank{get_rank()}.pth'))
