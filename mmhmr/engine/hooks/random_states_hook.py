"""Random states that travel with the checkpoint, so that a resumed run is the uninterrupted
one, bit for bit."""
import random
from typing import List, Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook
from mmengine.runner import IterBasedTrainLoop

from mmhmr.registry import HOOKS
from mmhmr.utils.workers import set_worker_epoch


def get_random_states() -> dict:
    """This process's generators: ``random``, NumPy's global one, torch's CPU and CUDA ones.
    Plain types and tensors only, so that ``torch.load(weights_only=True)`` reads them."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    states = dict(python=random.getstate(),
                  numpy=(kind, torch.from_numpy(keys.astype(np.int64)), int(pos),
                         int(has_gauss), float(cached)),
                  torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states['cuda'] = torch.cuda.get_rng_state()  # this rank's device only
    return states


def set_random_states(states: dict) -> None:
    """Restore what :func:`get_random_states` returned."""
    random.setstate(states['python'])
    kind, keys, pos, has_gauss, cached = states['numpy']
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(states['torch'])
    if 'cuda' in states and torch.cuda.is_available():
        torch.cuda.set_rng_state(states['cuda'])


def _train_workers(runner) -> Optional[int]:
    """The training dataloader's ``num_workers`` (None before it is built)."""
    loader = getattr(runner.train_loop, 'dataloader', None)
    return getattr(loader, 'num_workers', None)


def _iteration_checkpoint_due(runner) -> bool:
    """Whether an iteration-based CheckpointHook saves at this iteration (its own rule)."""
    for hook in runner.hooks:
        if isinstance(hook, CheckpointHook) and not hook.by_epoch and (
                hook.every_n_train_iters(runner, hook.interval, hook.save_begin) or
                (hook.save_last and hook.is_last_train_iter(runner))):
            return True
    return False


@HOOKS.register_module()
class RandomStatesHook(Hook):
    """Save every rank's random states in the checkpoint and restore them on ``--resume``, so
    that a run killed at any point and resumed from its last checkpoint ends bit-identical to
    an uninterrupted run with the same seed (same weights, optimizer state and logs).

    * The main process's generators (``random``, NumPy, torch CPU / CUDA: dropout, and the
      augmentation when ``num_workers=0``) go into ``checkpoint['random_states']``, one entry
      per rank, and are restored at the start of the first epoch after a resume (not at load
      time, so that nothing the runner does between loading and training draws from them).
    * Dataloader workers reseed at each epoch from the seed and the epoch, which this hook
      publishes before each training epoch (:func:`mmhmr.utils.workers.set_worker_epoch`;
      ``tools/train.py`` installs the workers' init).
    * Validation draws nothing from the training's generators: their states are put back after
      each validation, so a resumed run, which does not repeat the validation that followed
      its checkpoint, continues from the same states. A checkpoint saved during validation
      (the best one) holds the states from before it.

    A resume on another number of ranks than the checkpoint's keeps the freshly seeded states
    and warns; another number of dataloader workers, or an iteration-based loop loading in the
    main process (``num_workers=0``: mmengine replays the data of the iterations before the
    checkpoint, drawing augmentation), cannot be bit-identical and warns. Per-epoch worker
    seeds follow epoch-based loops (an iteration-based loop stays at epoch 0's seeds).
    ``tools/train.py`` uses it through ``default_hooks.random_states``.
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._before_val: Optional[dict] = None
        self._to_restore: Optional[dict] = None
        # every rank's states, gathered (a collective) where all ranks pass before a
        # checkpoint is saved: mmengine saves on rank 0 only
        self._gathered: Optional[List[dict]] = None
        self._gathered_before_val: Optional[List[dict]] = None

    @staticmethod
    def _gather(runner) -> List[dict]:
        local = dict(get_random_states(), num_workers=_train_workers(runner))
        return all_gather_object(local) if get_world_size() > 1 else [local]

    def before_train_epoch(self, runner) -> None:
        if self._to_restore is not None:
            set_random_states(self._to_restore)
            loader = runner.train_dataloader
            if not (loader.num_workers > 0 and loader.persistent_workers):
                self._to_restore = None
            # else once more at the first iteration: the resumed run starts its persistent
            # workers now, which draws their base seed from torch's generator; the
            # uninterrupted run drew it in its first epoch
        set_worker_epoch(runner.epoch)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if self._to_restore is not None:
            set_random_states(self._to_restore)
            self._to_restore = None

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if get_world_size() > 1 and _iteration_checkpoint_due(runner):
            self._gathered = self._gather(runner)

    def after_train_epoch(self, runner) -> None:
        self._gathered = self._gather(runner)

    def before_val(self, runner) -> None:
        self._before_val = get_random_states()
        self._gathered_before_val = self._gather(runner)

    def after_val(self, runner) -> None:
        if self._before_val is not None:
            set_random_states(self._before_val)
        self._before_val = self._gathered_before_val = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._gathered_before_val is not None:  # the best checkpoint, during validation
            states = self._gathered_before_val
        elif get_world_size() == 1:
            states = self._gather(runner)
        elif self._gathered is not None:
            states = self._gathered
        else:
            runner.logger.warning('RandomStatesHook: a checkpoint saved where the ranks did '
                                  'not gather their random states; it holds none')
            return
        checkpoint['random_states'] = states
        self._gathered = None

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not getattr(runner, '_resume', False):
            return  # load_from: new training from these weights, its own seed
        states = checkpoint.get('random_states')
        if states is None:
            runner.logger.warning('the checkpoint holds no random states (written before '
                                  'RandomStatesHook?): the resumed run draws other random '
                                  'numbers than an uninterrupted one would')
            return
        if len(states) != get_world_size():
            runner.logger.warning(f'the checkpoint holds the random states of {len(states)} '
                                  f'ranks, this run has {get_world_size()}: they are not '
                                  'restored')
            return
        mine = states[get_rank()]
        saved, now = mine.get('num_workers'), _train_workers(runner)
        if saved is not None and saved != now:
            runner.logger.warning(f'the checkpoint was written with {saved} dataloader workers, '
                                  f'this run has {now}: the augmentation draws other random '
                                  'numbers than the uninterrupted run would')
        if isinstance(runner.train_loop, IterBasedTrainLoop) and now == 0:
            runner.logger.warning('an iteration-based run with num_workers=0 replays the data '
                                  'of the iterations before the checkpoint in this process, '
                                  'which draws from the restored random states: the resumed '
                                  'run is not bit-identical (use num_workers > 0)')
        self._to_restore = mine
