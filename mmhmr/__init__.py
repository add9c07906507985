"""mmhmr: human mesh recovery for MMPose 1.x / MMEngine.

The registries in :mod:`mmhmr.registry` import their modules on first use (``locations``), and
:func:`mmhmr.utils.register_all_modules` imports them all. ``custom_imports=dict(imports=['mmhmr'])``
in a config of another scope makes the ``mmhmr.`` type prefix usable.

Importing mmhmr allow-lists the few globals mmengine's checkpoints need for torch's safe
(``weights_only``) loading, so that ``--resume`` works on torch >= 2.6 (see
:mod:`mmhmr.utils.checkpoint`).
"""
from .utils.checkpoint import allow_mmengine_checkpoints
from .version import __version__

allow_mmengine_checkpoints()

__all__ = ['__version__']
