"""Checkpoints that are written or loaded are checked: finite weights, and a model they fit."""
import re
from typing import Dict, List

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmhmr.registry import HOOKS


def nonfinite_tensors(state_dict: Dict[str, torch.Tensor]) -> List[str]:
    """The keys of the floating-point tensors holding NaN or inf."""
    return [k for k, v in state_dict.items() if isinstance(v, torch.Tensor) and
            v.is_floating_point() and not bool(torch.isfinite(v).all())]


def _listed(keys: List[str], most: int = 5) -> str:
    return ', '.join(keys[:most]) + (f' and {len(keys) - most} more' if len(keys) > most else '')


@HOOKS.register_module()
class CheckpointCheckHook(Hook):
    """No checkpoint with NaN / inf weights is written, and a checkpoint that is loaded
    (``load_from``, ``tools/test.py``, ``--resume``) must hold finite weights that fit the model:
    the same parameter names and shapes, none missing or unexpected, unless ``strict=False``
    (partial loading, e.g. ``tools/test.py --partial-load``). Errors name the checkpoint's
    keys; the previous checkpoint on disk is kept.

    Args:
        strict (bool): require the loaded checkpoint to fit the model. Defaults to True.
    """
    priority = 'VERY_HIGH'

    def __init__(self, strict: bool = True):
        self.strict = strict

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        bad = nonfinite_tensors(checkpoint.get('state_dict', {}))
        if bad:
            raise FloatingPointError(
                f'not saving the checkpoint of iteration {runner.iter}: {len(bad)} weight '
                f'tensors hold NaN / inf ({_listed(bad)}); the training diverged (a learning '
                'rate too large?). The previous checkpoint is kept')

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('state_dict', checkpoint)
        state = {re.sub(r'^module\.', '', k): v for k, v in state.items()}
        bad = nonfinite_tensors(state)
        if bad:
            raise ValueError(f'the checkpoint being loaded holds NaN / inf in {len(bad)} weight '
                             f'tensors ({_listed(bad)}); it cannot be tested or trained from')
        if not self.strict:
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        expected = model.state_dict()
        missing = [k for k in expected if k not in state]
        unexpected = [k for k in state if k not in expected]
        shapes = [f'{k} {tuple(state[k].shape)} vs {tuple(v.shape)}'
                  for k, v in expected.items() if k in state and
                  isinstance(state[k], torch.Tensor) and state[k].shape != v.shape]
        if missing or unexpected or shapes:
            parts = [f'{len(missing)} missing ({_listed(missing)})' if missing else '',
                     f'{len(unexpected)} unexpected ({_listed(unexpected)})'
                     if unexpected else '',
                     f'{len(shapes)} of another shape ({_listed(shapes, 3)})' if shapes else '']
            raise ValueError(
                f'the checkpoint does not fit the model {type(model).__name__}: keys '
                f'{"; ".join(p for p in parts if p)}. Is it the checkpoint of another config? '
                'Load it partially only on purpose (tools/test.py --partial-load, or '
                "custom_hooks=[dict(type='CheckpointCheckHook', strict=False)])")
