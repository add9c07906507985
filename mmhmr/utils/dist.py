"""Distributed runs on hosts without CUDA.

mmengine's launchers call ``torch.cuda.set_device`` and default to NCCL, which fail without a
GPU, and its default DDP wrapper passes ``device_ids=[LOCAL_RANK]``, which DDP refuses for CPU
modules. :func:`setup_cpu_distributed` starts the process group with gloo itself (mmengine's
runner then sees an initialised group and skips its own start) and configures the wrapper.
"""
import os
import subprocess

import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.logging import print_log


def _slurm_env() -> None:
    """Fill torch's rendezvous variables from SLURM's, as mmengine's slurm launcher does."""
    node_list = os.environ['SLURM_NODELIST']
    os.environ.setdefault(
        'MASTER_ADDR', subprocess.getoutput(f'scontrol show hostname {node_list} | head -n1'))
    os.environ.setdefault('MASTER_PORT', '29500')
    os.environ['WORLD_SIZE'] = os.environ['SLURM_NTASKS']
    os.environ['RANK'] = os.environ['SLURM_PROCID']
    os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', '0')


def _mpi_env() -> None:
    """Fill torch's rendezvous variables from Open MPI's."""
    os.environ.setdefault('MASTER_ADDR', '127.0.0.1')
    os.environ.setdefault('MASTER_PORT', '29500')
    os.environ['WORLD_SIZE'] = os.environ['OMPI_COMM_WORLD_SIZE']
    os.environ['RANK'] = os.environ['OMPI_COMM_WORLD_RANK']
    os.environ['LOCAL_RANK'] = os.environ['OMPI_COMM_WORLD_LOCAL_RANK']


def setup_cpu_distributed(cfg: Config, launcher: str) -> bool:
    """Start a gloo process group when ``launcher`` asks for a distributed run and there is no
    CUDA device; make the config's DDP wrapper a CPU one.

    Args:
        cfg (Config): the run's config; ``env_cfg.dist_cfg.backend`` and ``model_wrapper_cfg``
            are updated in place.
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.

    Returns:
        bool: whether this function started the process group.
    """
    if launcher == 'none' or torch.cuda.is_available() or dist.is_initialized():
        return False
    env_setters = dict(pytorch=lambda: None, slurm=_slurm_env, mpi=_mpi_env)
    if launcher not in env_setters:
        raise ValueError(f'launcher must be one of none, {", ".join(env_setters)}; '
                         f'got "{launcher}"')
    env_setters[launcher]()
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel')
    wrapper['device_ids'] = None  # DDP takes no device ids for CPU modules
    wrapper.setdefault('broadcast_buffers', False)
    wrapper.setdefault('find_unused_parameters', cfg.get('find_unused_parameters', False))
    cfg.model_wrapper_cfg = wrapper
    dist.init_process_group(backend='gloo')
    print_log(f'No CUDA device: started a gloo process group (rank {dist.get_rank()} of '
              f'{dist.get_world_size()}, launcher {launcher}).', logger='current')
    return True


def finish_distributed() -> None:
    """End a distributed run cleanly: a barrier, then the process group destroyed before the
    interpreter exits (gloo's threads alive at exit can abort a rank with "terminate called
    without an active exception" after its work is done). A no-op in one process."""
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
