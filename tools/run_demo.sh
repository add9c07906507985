#!/usr/bin/env bash
# The main job on the embedded default, from nothing: set up, generate the procedural body
# model, train CLIFF on the synthetic data, then test the untrained and the trained model on
# held-out synthetic samples and print both; then test the trained model on the 'moderate'
# shift with simulated 2D detections, without and with EFT-style test-time optimization, and
# print both.
#   bash tools/run_demo.sh [WORK_DIR] [train.py args]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(bash tools/setup_env.sh)
CONFIG=configs/cliff/cliff_res18-tiny_synthetic-64x64.py
WORK_DIR=${1:-work_dirs/cliff_res18-tiny_synthetic-64x64}
shift || true

"$PY" tools/misc/generate_body_model.py
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK_DIR" "$@"
CKPT=$(cat "$WORK_DIR/last_checkpoint")
"$PY" tools/test.py "$CONFIG" none --work-dir "$WORK_DIR/test_untrained"
"$PY" tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK_DIR/test_trained"
"$PY" tools/analysis_tools/compare_metrics.py \
  "$WORK_DIR"/test_untrained/*/test_metrics.json "$WORK_DIR"/test_trained/*/test_metrics.json \
  --names untrained trained

EFT=configs/eft/eft_cliff_res18-tiny_synthetic-moderate-64x64.py
"$PY" tools/test.py "$EFT" "$CKPT" --no-tto --work-dir "$WORK_DIR/test_moderate"
"$PY" tools/test.py "$EFT" "$CKPT" --work-dir "$WORK_DIR/test_moderate_tto"
echo "moderate shift, simulated detections:"
"$PY" tools/analysis_tools/compare_metrics.py \
  "$WORK_DIR"/test_moderate/*/test_metrics.json "$WORK_DIR"/test_moderate_tto/*/test_metrics.json \
  --names regression EFT-style-TTO
