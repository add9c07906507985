"""The first non-finite loss stops training with an error that says where it came from."""
import logging
from typing import Dict, Sequence

import torch
from mmengine.logging import MessageHub, print_log
from torch import Tensor


class NonFiniteLossError(FloatingPointError):
    """A training loss became NaN or inf."""


def check_finite_losses(losses: Dict[str, Tensor], data_samples: Sequence) -> None:
    """Raise :class:`NonFiniteLossError` when a loss term is not finite, naming the iteration,
    the terms and the batch's samples (``dataset_name[sample_idx]``); before the optimizer
    step, so the weights are not touched. With ``SkipNonFiniteOptimWrapper`` (the message hub's
    ``nonfinite_loss`` info is ``'skip'``) a warning with the same words instead, and that
    wrapper skips the batch's update.

    Args:
        losses (dict): the estimator's ``loss()`` output (tensors; only ``loss*`` terms are
            checked: the others are logged diagnostics).
        data_samples (Sequence[PoseDataSample]): the batch.
    """
    bad = {k: v for k, v in losses.items() if 'loss' in k and isinstance(v, Tensor) and
           not bool(torch.isfinite(v.detach()).all())}
    if not bad:
        return
    hub = MessageHub.get_current_instance()
    iteration = hub.get_info('iter') if hub is not None else None
    skip = hub is not None and hub.get_info('nonfinite_loss') == 'skip'  # see below
    names = [f'{d.metainfo.get("dataset_name")}[{d.metainfo.get("sample_idx")}]'
             for d in data_samples]
    terms = ', '.join(f'{k} = {v.detach().float().mean().item()}' for k, v in bad.items())
    shown = ', '.join(names[:16]) + (f' and {len(names) - 16} more' if len(names) > 16 else '')
    message = (f'non-finite training loss at iteration {iteration}: {terms}; the batch: '
               f'{shown}. Common causes: a learning rate too large, or a non-finite / huge '
               "value in these samples' annotations (keypoints, SMPL parameters, boxes)")
    if skip:  # SkipNonFiniteOptimWrapper skips this batch's update
        print_log(message + '; the batch is skipped', logger='current', level=logging.WARNING)
        return
    raise NonFiniteLossError(message)
