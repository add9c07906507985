"""mmhmr: human mesh recovery for MMPose 1.x / MMEngine.

Importing the package registers nothing by itself; the registries in :mod:`mmhmr.registry` import
their modules on first use (``locations``), and :func:`mmhmr.utils.register_all_modules` imports
them all. ``custom_imports=dict(imports=['mmhmr'])`` in a config of another scope makes the
``mmhmr.`` scope prefix available.
"""
from .version import __version__

__all__ = ['__version__']
