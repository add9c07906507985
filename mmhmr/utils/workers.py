"""Dataloader worker processes that end with their parent and reseed at each epoch.

* A SIGKILL of ``tools/train.py`` cannot run any clean-up, and a persistent worker blocked on
  its queue would live on (holding its memory) forever. On Linux a process can ask the kernel to
  send it a signal when its parent dies (``prctl(PR_SET_PDEATHSIG)``); each worker asks for
  SIGKILL as the first thing it does, then seeds itself exactly as mmengine's
  ``worker_init_fn`` does (``seed + num_workers * rank + worker_id``).
* A worker's random numbers (the augmentation's) are a function of the seed and the epoch:
  before the first sample of each epoch a worker reseeds NumPy, ``random`` and torch with
  :func:`worker_seed` of the epoch that :func:`set_worker_epoch` published (the training loop's,
  through ``RandomStatesHook``). Epoch 0's seed is mmengine's, so a first epoch is unchanged.
  Without this, a persistent worker's stream runs on across epochs and a resumed run's workers
  start it again from the beginning (so a resumed run was not the uninterrupted one), and
  non-persistent workers repeated epoch 0's stream every epoch.
"""

import ctypes
import multiprocessing
import os
import random
import signal
import sys
import warnings
from typing import Optional

import numpy as np

PR_SET_PDEATHSIG = 1


def die_with_parent() -> bool:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux; elsewhere a no-op
    returning False). If the parent is already gone, exit now."""
    if not sys.platform.startswith('linux'):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if os.getppid() == 1:  # the parent died before the request: nobody will signal us
        os._exit(0)
    return True


# seeds of consecutive epochs of one worker are this far apart (a prime, larger than any
# num_workers * world_size), so no two (worker, epoch) pairs of a run share a seed
EPOCH_SEED_STRIDE = 1_000_003

_shared_epoch = None  # multiprocessing.Value('q') of this process, made by install_worker_init


def worker_seed(base_seed: int, epoch: int) -> int:
    """The seed of a worker whose mmengine seed is ``base_seed`` during ``epoch``."""
    return (base_seed + epoch * EPOCH_SEED_STRIDE) % 2**32


def seed_everything(seed: int) -> None:
    """Seed NumPy's global generator, ``random`` and torch (as mmengine's worker init does)."""
    import torch
    np.random.seed(seed)
    random.seed(seed)
    torch.manual_seed(seed)


def reseed_each_epoch(dataset, shared_epoch, base_seed: int) -> None:
    """Make this worker's copy of ``dataset`` reseed before its first sample of each epoch
    (the epoch read from ``shared_epoch``). The worker's dataset object gets a subclass of its
    own class whose ``__getitem__`` (and ``__getitems__``, if it has one) checks the epoch
    first; the main process's dataset is untouched."""
    cls = type(dataset)
    seen = [None]

    def reseed_if_new_epoch():
        epoch = shared_epoch.value
        if epoch != seen[0]:
            seen[0] = epoch
            seed_everything(worker_seed(base_seed, epoch))

    def __getitem__(self, idx):
        reseed_if_new_epoch()
        return cls.__getitem__(self, idx)

    def __getitems__(self, indices):  # the fetcher's batched path, where the class has one
        reseed_if_new_epoch()
        return cls.__getitems__(self, indices)

    methods = dict(__getitem__=__getitem__, __module__=cls.__module__,
                   __qualname__=cls.__qualname__)
    if getattr(cls, '__getitems__', None) is not None:
        methods['__getitems__'] = __getitems__
    try:
        dataset.__class__ = type(cls.__name__, (cls, ), methods)
    except TypeError as err:  # a class whose instances cannot change class
        warnings.warn(f'dataloader workers of {cls.__name__} do not reseed per epoch ({err}); '
                      'a resumed run may draw other augmentations than an uninterrupted one')


class SeededWorkerInit:
    """The dataloader workers' init: :func:`die_with_parent`, mmengine's seeding, and a reseed
    at each epoch from the epoch published through ``shared_epoch``. Picklable (a worker started
    with ``spawn`` receives the shared value as it starts). The runner calls it as mmengine's
    ``worker_init_fn(worker_id, num_workers, rank, seed, disable_subprocess_warning)``."""

    def __init__(self, shared_epoch=None):
        self.shared_epoch = shared_epoch

    def __call__(self, worker_id: int, num_workers: int, rank: int, seed: int,
                 disable_subprocess_warning: bool = False) -> None:
        die_with_parent()
        from mmengine.dataset import worker_init_fn as mmengine_worker_init_fn
        mmengine_worker_init_fn(worker_id, num_workers, rank, seed, disable_subprocess_warning)
        if self.shared_epoch is not None:
            import torch.utils.data
            info = torch.utils.data.get_worker_info()
            if info is not None:
                reseed_each_epoch(info.dataset, self.shared_epoch,
                                  num_workers * rank + worker_id + seed)


def worker_init_fn(worker_id: int, *args, **kwargs):
    """mmengine's ``worker_init_fn`` (seeding), after :func:`die_with_parent` (no per-epoch
    reseed: that needs :func:`install_worker_init`)."""
    return SeededWorkerInit()(worker_id, *args, **kwargs)


def set_worker_epoch(epoch: int) -> None:
    """Publish ``epoch`` to this process's dataloader workers (a no-op unless
    :func:`install_worker_init` ran). Call it before the epoch's dataloader iterator starts."""
    if _shared_epoch is not None:
        _shared_epoch.value = int(epoch)


def shared_worker_epoch() -> Optional[int]:
    """The epoch last published by :func:`set_worker_epoch`, or None without
    :func:`install_worker_init`."""
    return None if _shared_epoch is None else int(_shared_epoch.value)


def install_worker_init() -> None:
    """Make the dataloaders the mmengine runner builds (with its default, seeded
    ``worker_init_fn``) start workers that die with their parent and reseed per epoch. Called by
    ``tools/train.py`` and ``tools/test.py``; idempotent."""
    global _shared_epoch
    import mmengine.runner.runner as runner_module
    if _shared_epoch is None:
        _shared_epoch = multiprocessing.Value('q', 0, lock=False)
    runner_module.default_worker_init_fn = SeededWorkerInit(_shared_epoch)
