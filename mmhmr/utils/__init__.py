from .checkpoint import allow_mmengine_checkpoints, mmengine_checkpoint_globals
from .dist import finish_distributed, setup_cpu_distributed
from .setup_env import register_all_modules
from .workers import die_with_parent, install_worker_init, set_worker_epoch

__all__ = [
    'allow_mmengine_checkpoints', 'die_with_parent', 'finish_distributed',
    'install_worker_init', 'mmengine_checkpoint_globals', 'register_all_modules',
    'set_worker_epoch', 'setup_cpu_distributed'
]
