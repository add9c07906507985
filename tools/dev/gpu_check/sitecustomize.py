"""GPU check only: make ``mmcv._ext`` the two-op build of build_ext.py (``MMCV_OPS_SUBSET``
names its .so); every other mmcv op raises NotImplementedError when called. Python imports this
file at start-up when its folder is on PYTHONPATH (run.sh puts it there)."""
import importlib.machinery
import importlib.util
import os
import sys
import types

import torch  # noqa: F401  (the extension needs libtorch loaded first)

OPS = ('ms_deform_attn_forward', 'ms_deform_attn_backward', 'roi_align_forward',
       'roi_align_backward')


class _Ext(types.ModuleType):

    def __getattr__(self, name):
        if name.startswith('__'):
            raise AttributeError(name)

        def missing(*args, **kwargs):
            raise NotImplementedError(f'mmcv op {name} is not in the GPU-check build')
        return missing


def _install(path):
    spec = importlib.util.spec_from_file_location('mmcv_ops_subset', path)
    subset = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(subset)
    ext = _Ext('mmcv._ext')
    ext.__spec__ = importlib.machinery.ModuleSpec('mmcv._ext', None, origin=path)
    ext.__file__ = path
    for name in OPS:
        setattr(ext, name, getattr(subset, name))
    sys.modules['mmcv._ext'] = ext


if os.environ.get('MMCV_OPS_SUBSET'):
    _install(os.environ['MMCV_OPS_SUBSET'])
