"""Dataloader worker processes that end when the process that started them dies.

A SIGKILL of ``tools/train.py`` cannot run any clean-up, and a persistent worker blocked on
its queue would live on (holding its memory) forever. On Linux a process can ask the kernel to
send it a signal when its parent dies (``prctl(PR_SET_PDEATHSIG)``); each worker asks for
SIGKILL as the first thing it does, then seeds itself exactly as mmengine's
``worker_init_fn`` would, so the data and its randomness are unchanged.
"""
import ctypes
import os
import signal
import sys

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


def worker_init_fn(worker_id: int, *args, **kwargs):
    """mmengine's ``worker_init_fn`` (seeding), after :func:`die_with_parent`. Module-level,
    so that it pickles for the ``spawn`` start method too."""
    die_with_parent()
    from mmengine.dataset import worker_init_fn as mmengine_worker_init_fn
    return mmengine_worker_init_fn(worker_id, *args, **kwargs)


def install_worker_parent_death() -> None:
    """Make the dataloaders the mmengine runner builds (with its default, seeded
    ``worker_init_fn``) start workers that die with their parent. Called by
    ``tools/train.py`` and ``tools/test.py``; idempotent."""
    import mmengine.runner.runner as runner_module
    runner_module.default_worker_init_fn = worker_init_fn
