#!/usr/bin/env bash
# Installs mmhmr and a set of dependencies that work together (requirements/constraints.txt).
#
# Where: the active virtualenv / conda env if there is one, else a virtualenv at $MMHMR_VENV
# (default: <repo>/.venv, created with --system-site-packages so that a torch installed system-wide
# is seen and kept when it works). Prints the python to use on its last line.
#
# torch: an installed torch is kept when torchvision imports with it. Otherwise torch 2.13.0 and
# torchvision 0.28.0 come from the package registry; a CPU-only torch wheel in a find-links folder is
# hidden from pip for that step, because no torchvision works with it (no CPU torchvision build).
# mmcv: 2.1.0 with compiled ops, from a wheel in PIP_FIND_LINKS when one is there (e.g. a wheel
# cache), else built from source (about 11 minutes on 2 cores).
# Re-running is cheap: a stamp records what was installed.
set -euo pipefail
# everything but the final python path goes to stderr
exec 3>&1 1>&2

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REQ="$ROOT/requirements"
log() { echo "[setup_env] $*" >&2; }

if [ -z "${MMHMR_VENV:-}" ] && [ -n "${VIRTUAL_ENV:-}${CONDA_PREFIX:-}" ]; then
  PY=$(command -v python)
  log "installing into the active environment ($PY)"
else
  VENV=${MMHMR_VENV:-$ROOT/.venv}
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtualenv $VENV"
    "${PYTHON:-python3}" -m venv --system-site-packages "$VENV"
  fi
  PY="$VENV/bin/python"
fi

stamp_of() { cat "$REQ"/*.txt "$ROOT/setup.py" "$0" | sha1sum | cut -c1-16; }
STAMP="$("$PY" -c 'import sys; print(sys.prefix)')/.mmhmr-setup"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(stamp_of)" ] \
   && "$PY" -c 'import mmhmr, mmcv.ops, mmpose.apis, torchvision.ops' 2>/dev/null; then
  log "already set up ($STAMP)"
  echo "$PY" >&3
  exit 0
fi

pip_() { "$PY" -m pip install --disable-pip-version-check "$@"; }

# Find-links folders without a CPU-only torch wheel (for the torch step only).
find_links_without_cpu_torch() {
  local links="${PIP_FIND_LINKS:-} $("$PY" -m pip config get global.find-links 2>/dev/null || true)"
  local out="" d
  for d in $links; do
    if [ -d "$d" ] && ls "$d" 2>/dev/null | grep -q '^torch-.*+cpu.*\.whl$'; then continue; fi
    out="$out $d"
  done
  echo "${out# }"
}

torch_works() {
  "$PY" - <<'EOF' 2>/dev/null
import torch, torchvision
from torchvision.ops import nms
nms(torch.zeros(1, 4), torch.zeros(1), 0.5)
EOF
}

CONSTRAINTS="$REQ/constraints.txt"
pip_ -c "$CONSTRAINTS" setuptools wheel

if torch_works; then
  log "keeping the installed torch $("$PY" -c 'import torch; print(torch.__version__)')"
  CONSTRAINTS=$(mktemp)
  grep -vE '^(torch|torchvision)==' "$REQ/constraints.txt" > "$CONSTRAINTS"
else
  log "installing torch and torchvision from the registry"
  # An empty value would not override the pip config's find-links: point at an empty folder.
  links=$(find_links_without_cpu_torch)
  [ -n "$links" ] || links=$(mktemp -d)
  PIP_FIND_LINKS="$links" pip_ --ignore-installed -c "$CONSTRAINTS" torch torchvision
  torch_works || { log "torch and torchvision do not work together after install"; exit 1; }
fi

# mmcv with its compiled ops (mmcv/_ext*.so); checked without importing mmcv, whose own
# dependencies come in the next step.
mmcv_has_ops() {
  "$PY" - <<'EOF' 2>/dev/null
import glob, importlib.util, os, sys
spec = importlib.util.find_spec('mmcv')
sys.exit(0 if spec and glob.glob(os.path.join(os.path.dirname(spec.origin), '_ext*.so')) else 1)
EOF
}
if ! mmcv_has_ops; then
  log "installing mmcv with ops (from a wheel in PIP_FIND_LINKS, else a source build of ~11 min)"
  "$PY" -m pip uninstall -y mmcv mmcv-lite >/dev/null 2>&1 || true
  if ! pip_ --only-binary mmcv --no-deps -c "$CONSTRAINTS" mmcv >/dev/null 2>&1; then
    log "no mmcv wheel found: building mmcv with ops from source"
    # --no-build-isolation: the build needs the installed torch. (Swapping setuptools inside the
    # environment for the build breaks its metadata; the pinned one builds mmcv 2.1.0.)
    pip_ -c "$CONSTRAINTS" ninja
    MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
      pip_ --no-build-isolation --no-binary mmcv --no-deps -c "$CONSTRAINTS" mmcv
  fi
  mmcv_has_ops || { log "mmcv was installed without its compiled ops (mmcv/_ext)"; exit 1; }
fi

# mmpose without its dependency list (chumpy); its real dependencies are in mmpose_deps.txt.
pip_ -c "$CONSTRAINTS" --no-deps mmpose
pip_ -c "$CONSTRAINTS" -r "$REQ/mmpose_deps.txt" mmengine mmdet addict packaging pyyaml yapf
pip_ -c "$CONSTRAINTS" -r "$REQ/tests.txt" -e "$ROOT"

"$PY" - <<'EOF'
import mmcv.ops, mmdet, mmpose.apis, mmpose.visualization  # noqa: F401
from mmpose.utils import register_all_modules
register_all_modules()
import mmhmr
print('[setup_env] ok: torch', __import__('torch').__version__, 'mmcv', mmcv.__version__,
      'mmpose', mmpose.__version__, 'mmhmr', mmhmr.__version__)
EOF
stamp_of > "$STAMP"
echo "$PY" >&3
