#!/usr/bin/env bash
# The main job on the embedded default, from nothing: set up, generate the procedural body
# model, train the dual network (DualNetworkHMR: f_w meta-learned for test-time optimization,
# f_u giving it pseudo-SMPL targets) on the synthetic train domain, then test on the 'moderate'
# shift with simulated 2D detections and print four rows side by side:
#   regression (f_u alone), EFT-style TTO on f_u, ours without TTO (f_w), ours with TTO;
# then draws the trained model's meshes on a few test images (tools/demo/image_demo.py).
#   bash tools/run_demo.sh [WORK_DIR] [train.py args, e.g. --cfg-options randomness.seed=1]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(bash tools/setup_env.sh)
CONFIG=configs/meta_hmr/meta_cliff_res18-tiny_synthetic-64x64.py
EFT=configs/eft/eft_cliff_res18-tiny_synthetic-moderate-64x64.py
WORK_DIR=${1:-work_dirs/meta_cliff_res18-tiny_synthetic-64x64}
shift || true
# the first 160 images of the moderate shift (every TTO run optimises each one on its own)
TEST=(--cfg-options test_dataloader.dataset.num_samples=160)

"$PY" tools/misc/generate_body_model.py
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK_DIR" "$@"
CKPT=$(cat "$WORK_DIR/last_checkpoint")
# f_u as a CLIFF checkpoint of its own, for the baselines
"$PY" tools/misc/extract_dual_network.py "$CKPT" "$WORK_DIR/f_u.pth" --network aux

"$PY" tools/test.py "$EFT" "$WORK_DIR/f_u.pth" --no-tto --work-dir "$WORK_DIR/test_f_u" "${TEST[@]}"
"$PY" tools/test.py "$EFT" "$WORK_DIR/f_u.pth" --work-dir "$WORK_DIR/test_f_u_eft" "${TEST[@]}"
"$PY" tools/test.py "$CONFIG" "$CKPT" --no-tto --work-dir "$WORK_DIR/test_ours" "${TEST[@]}"
"$PY" tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK_DIR/test_ours_tto" "${TEST[@]}"
# the newest metrics of each test (a re-run adds a time-stamped folder)
latest() { ls "$WORK_DIR/$1"/*/test_metrics.json | sort | tail -1; }
echo "moderate shift, simulated detections, 160 images:"
"$PY" tools/analysis_tools/compare_metrics.py \
  "$(latest test_f_u)" "$(latest test_f_u_eft)" "$(latest test_ours)" "$(latest test_ours_tto)" \
  --names regression EFT-on-f_u ours-no-TTO ours-TTO
# see the meshes: the trained dual network on the first 4 moderate-shift test images, with their
# simulated detections as TTO targets (renders before / after TTO with a side view, JSON), and
# one image's TTO step by step
"$PY" tools/misc/synthetic_demo_inputs.py "$EFT" "$WORK_DIR/demo_inputs" --num 4
"$PY" tools/demo/image_demo.py "$WORK_DIR/demo_inputs/images" "$CONFIG" "$CKPT" \
  --out-dir "$WORK_DIR/demo_renders" --keypoints-file "$WORK_DIR/demo_inputs/keypoints.json" \
  --keypoint-order spin49 --bbox-padding 1.0
"$PY" tools/analysis_tools/tto_steps_figure.py "$CONFIG" "$CKPT" --index 0 \
  --out "$WORK_DIR/demo_renders/tto_steps.png"
echo "renders of the trained model: $WORK_DIR/demo_renders"
