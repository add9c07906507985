#!/usr/bin/env bash
# Copies what the GPU machine lacks into .gpu_check/site (ignored by git, ~20 MB, carried by the
# device tool): the pure-Python packages of .venv that mmhmr imports, mmcv's Python code and the
# sources of its kernels (not its CPU-only _ext), and the xtcocotools stand-in.
#   bash tools/dev/gpu_check/prepare.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
SP=$(ls -d "$ROOT"/.venv/lib/python3*/site-packages)
DEST="$ROOT/.gpu_check/site"
rm -rf "$DEST" && mkdir -p "$DEST"
for pkg in mmcv mmengine mmpose mmdet smplx addict termcolor yapf yapf_third_party json_tricks \
           munkres setuptools pkg_resources _distutils_hack platformdirs; do
  cp -r "$SP/$pkg" "$DEST/"
done
cp -r "$ROOT/tools/dev/gpu_check/xtcocotools" "$DEST/"
find "$DEST" \( -name __pycache__ -o -name .mim \) -prune -exec rm -rf {} +
rm -f "$DEST"/mmcv/_ext*.so
rm -rf "$DEST"/mmcv/ops/csrc/{parrots,pytorch/mlu,pytorch/npu,pytorch/mps,common/mlu,common/mps}
du -sh "$ROOT/.gpu_check"
