"""An optimizer wrapper that skips the update of a batch whose loss is not finite."""
import logging

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.logging import MessageHub, print_log
from mmengine.optim import OptimWrapper

from mmhmr.registry import OPTIM_WRAPPERS

# MessageHub runtime info read by ``check_finite_losses``: 'skip' turns its error into a warning
NONFINITE_LOSS_INFO = 'nonfinite_loss'


@OPTIM_WRAPPERS.register_module()
class SkipNonFiniteOptimWrapper(OptimWrapper):
    """mmengine's ``OptimWrapper``, except that a batch whose loss is NaN / inf on any rank is
    skipped: no backward, no optimizer step (Adam's moments untouched), gradients cleared, a
    warning (the estimator's, naming the iteration, the terms and the samples) instead of the
    default error. The ranks agree through one all-reduce of a flag, so that none waits in a
    backward the others skipped. ``max_skips`` consecutive skips end the run with an error (a
    diverged model does not recover by skipping).

    Use: ``optim_wrapper = dict(type='SkipNonFiniteOptimWrapper', optimizer=..., max_skips=10)``.

    Args:
        max_skips (int): consecutive skipped batches before an error. Defaults to 10.
        **kwargs: :class:`mmengine.optim.OptimWrapper`'s arguments.
    """

    def __init__(self, *args, max_skips: int = 10, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_skips, self.skipped = max_skips, 0
        MessageHub.get_current_instance().update_info(NONFINITE_LOSS_INFO, 'skip')

    def update_params(self, loss: torch.Tensor, step_kwargs=None, zero_kwargs=None) -> None:
        bad = (~torch.isfinite(loss.detach())).any().float().reshape(1)
        if get_world_size() > 1:
            all_reduce(bad)
        if bool(bad.item() > 0):
            self.skipped += 1
            self.zero_grad(**(zero_kwargs or {}))
            print_log(f'SkipNonFiniteOptimWrapper: skipped a batch with a non-finite loss '
                      f'({self.skipped} in a row)', logger='current', level=logging.WARNING)
            if self.skipped >= self.max_skips:
                raise FloatingPointError(f'{self.skipped} batches in a row had a non-finite '
                                         'loss: the training diverged')
            return
        self.skipped = 0
        super().update_params(loss, step_kwargs, zero_kwargs)
