#!/usr/bin/env bash
# The GPU checks, on the device machine (after prepare.sh here). From the repository root:
#   run(command='bash tools/dev/gpu_check/run.sh', carry=['.gpu_check', 'data/body_models/procedural'])
# BENCH=1 adds benchmark_g2p.py on both models, TRAIN=1 one epoch of tools/train.py --amp.
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
ROOT=$PWD
OUT=${OUT:-/tmp/gpu_check_out}; mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
python3 -c "import sys, torch, numpy; print(sys.version.split()[0], torch.__version__, numpy.__version__)"
PYTHONPATH=$ROOT/.gpu_check/site timeout 300 python3 tools/dev/gpu_check/build_ext.py 2>&1 | tail -25
export MMCV_OPS_SUBSET=/tmp/mmcv_ops_subset_build/mmcv_ops_subset.so
export PYTHONPATH=$ROOT/tools/dev/gpu_check:$ROOT/.gpu_check/site:$ROOT
timeout 300 python3 -m pytest -q -p no:cacheprovider -W ignore -rfs --tb=short \
  tests/test_models/test_cuda_paths.py tests/test_models/test_keypoint_encoders.py \
  tests/test_models/test_deformable_sampling.py tests/test_models/test_g2p_head.py \
  tests/test_models/test_dual_network.py > "$OUT/pytest.txt" 2>&1
grep -E "^(FAILED|ERROR|SKIPPED)|passed|failed" "$OUT/pytest.txt"
if [ -n "${BENCH:-}" ]; then
  timeout 90 python3 tools/analysis_tools/benchmark_g2p.py --device cuda --batch 16 --repeats 20 \
    2>&1 | tail -7 | tee "$OUT/bench_demo.txt"
  timeout 120 python3 tools/analysis_tools/benchmark_g2p.py --model hrnet --device cuda --batch 32 \
    --repeats 10 2>&1 | tail -7 | tee "$OUT/bench_hrnet.txt"
fi
if [ -n "${TRAIN:-}" ]; then
  timeout 150 python3 tools/train.py configs/g2p/g2p_res18-tiny_synthetic-64x64.py --amp \
    --work-dir /tmp/gpu_check_amp --cfg-options train_dataloader.dataset.num_samples=512 \
    val_dataloader.dataset.num_samples=64 train_cfg.max_epochs=1 train_cfg.val_interval=1 \
    train_dataloader.num_workers=8 val_dataloader.num_workers=4 > "$OUT/train_amp.txt" 2>&1
  grep -E "Epoch\(|Error|Traceback" "$OUT/train_amp.txt" | tail -6
fi
