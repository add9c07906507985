"""Compile mmcv's multi-scale deformable attention (CUDA) and roi_align (CPU and CUDA) from the
mmcv sources that prepare.sh copied into ``.gpu_check/site``; sitecustomize.py then installs the
module as ``mmcv._ext``.

    python tools/dev/gpu_check/build_ext.py [--cpu]

``--cpu`` (or no CUDA) builds roi_align's CPU kernel and the bindings only: a check of this
file on a machine without nvcc.
"""
import os
import os.path as osp
import shutil
import sys
import time

import torch
from torch.utils.cpp_extension import load

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.abspath(osp.join(HERE, '..', '..', '..'))
SITE = os.environ.get('GPU_CHECK_SITE', osp.join(ROOT, '.gpu_check', 'site'))
BUILD = os.environ.get('GPU_CHECK_BUILD', '/tmp/mmcv_ops_subset_build')


def main():
    csrc = osp.join(SITE, 'mmcv', 'ops', 'csrc')
    if not osp.isdir(csrc):
        raise SystemExit(f'{csrc} not found: run tools/dev/gpu_check/prepare.sh first')
    cuda = torch.cuda.is_available() and '--cpu' not in sys.argv
    os.makedirs(BUILD, exist_ok=True)
    # mmcv's CPU kernel and its dispatcher are both roi_align.cpp: ninja needs distinct names
    shutil.copy(osp.join(csrc, 'pytorch', 'cpu', 'roi_align.cpp'),
                osp.join(BUILD, 'roi_align_cpu.cpp'))
    sources = [osp.join(HERE, 'mmcv_ops_subset.cpp'),
               osp.join(csrc, 'pytorch', 'ms_deform_attn.cpp'),
               osp.join(csrc, 'pytorch', 'roi_align.cpp'),
               osp.join(BUILD, 'roi_align_cpu.cpp')]
    flags = ['-O3']
    if cuda:
        sources += [osp.join(csrc, 'pytorch', 'cuda', 'ms_deform_attn_cuda.cu'),
                    osp.join(csrc, 'pytorch', 'cuda', 'roi_align_cuda.cu')]
        flags.append('-DMMCV_WITH_CUDA')
    start = time.time()
    ext = load(name='mmcv_ops_subset', sources=sources, build_directory=BUILD,
               extra_include_paths=[osp.join(csrc, 'common'), osp.join(csrc, 'common', 'cuda')],
               extra_cflags=flags, extra_cuda_cflags=flags)
    print(f'built {ext.__file__} (cuda={cuda}) in {time.time() - start:.0f} s', flush=True)


if __name__ == '__main__':
    main()
