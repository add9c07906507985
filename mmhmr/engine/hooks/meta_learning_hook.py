"""Schedule the dual network's meta-learning step: a plain-regression warm-up, then the inner
step with its learning rate on a schedule."""
import logging
from typing import Optional

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from mmhmr.registry import HOOKS


@HOOKS.register_module()
class MetaLearningHook(Hook):
    """Switch ``DualNetworkHMR``'s inner step on after ``warmup_iters`` and set its inner
    learning rate before every training iteration.

    The inner lr ramps linearly from ``inner_lr * start_factor`` to ``inner_lr`` over
    ``ramp_iters`` iterations after the warm-up (``ramp_iters=0``: constant). The step's
    diagnostics (``inner_objective`` before / ``inner_objective_after`` the step,
    ``outer_unadapted`` and ``meta_gain``) are in the model's loss dict, so mmengine logs them
    through its message hub (logs, TensorBoard and the other vis backends); this hook adds
    ``inner_lr`` and ``meta_enabled`` there.

    Args:
        warmup_iters (int): iterations of plain regression first. Defaults to 0.
        inner_lr (float, optional): the inner lr after the ramp; None keeps the model's
            ``meta.inner_lr``. Defaults to None.
        ramp_iters (int): iterations of the linear ramp. Defaults to 0.
        start_factor (float): the ramp's start, a fraction of ``inner_lr``. Defaults to 0.1.
    """
    priority = 'NORMAL'

    def __init__(self, warmup_iters: int = 0, inner_lr: Optional[float] = None,
                 ramp_iters: int = 0, start_factor: float = 0.1):
        if warmup_iters < 0 or ramp_iters < 0:
            raise ValueError(f'warmup_iters and ramp_iters must be >= 0, got {warmup_iters}, '
                             f'{ramp_iters}')
        if inner_lr is not None and not inner_lr > 0:
            raise ValueError(f'inner_lr must be > 0, got {inner_lr}')
        if not 0 < start_factor <= 1:
            raise ValueError(f'start_factor must be in (0, 1], got {start_factor}')
        self.warmup_iters, self.inner_lr = warmup_iters, inner_lr
        self.ramp_iters, self.start_factor = ramp_iters, start_factor
        self._base_lr = None

    @staticmethod
    def _dual_network(runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, 'meta_enabled') or not hasattr(model, 'inner_lr'):
            raise TypeError(f'MetaLearningHook needs a DualNetworkHMR model, got '
                            f'{type(model).__name__}')
        if not getattr(model, 'has_meta', True):
            raise ValueError('MetaLearningHook: the DualNetworkHMR has meta=None (no inner '
                             'step, the "aux w/o meta" ablation); remove the hook from '
                             'custom_hooks')
        return model

    def inner_lr_at(self, iteration: int, base_lr: float) -> Optional[float]:
        """The inner lr of 0-based iteration ``iteration``, None during the warm-up."""
        if iteration < self.warmup_iters:
            return None
        if self.ramp_iters == 0:
            return base_lr
        progress = min(1., (iteration - self.warmup_iters) / self.ramp_iters)
        return base_lr * (self.start_factor + (1 - self.start_factor) * progress)

    def before_train(self, runner) -> None:
        """Check the model before the first iteration, and warn when the warm-up outlasts
        the run (a schedule shortened with --cfg-options keeps the configured iterations)."""
        self._dual_network(runner)
        if self.warmup_iters >= runner.max_iters:
            print_log(f'MetaLearningHook: warmup_iters={self.warmup_iters} but the run has '
                      f'{runner.max_iters} iterations: the meta step never turns on; set '
                      'custom_hooks.<i>.warmup_iters (and ramp_iters) for a shortened run',
                      logger='current', level=logging.WARNING)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        """Set the model's ``meta_enabled`` and ``inner_lr`` for this iteration."""
        model = self._dual_network(runner)
        if self._base_lr is None:
            self._base_lr = self.inner_lr if self.inner_lr is not None else model.inner_lr
        lr = self.inner_lr_at(runner.iter, self._base_lr)
        model.meta_enabled = lr is not None
        if lr is not None:
            model.inner_lr = lr
        runner.message_hub.update_scalar('train/meta_enabled', float(model.meta_enabled))
        runner.message_hub.update_scalar('train/inner_lr', lr if lr is not None else 0.)
