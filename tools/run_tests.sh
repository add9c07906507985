#!/usr/bin/env bash
# Set up (tools/setup_env.sh) and run the test suite: bash tools/run_tests.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(bash tools/setup_env.sh)
exec "$PY" -m pytest tests "$@"
