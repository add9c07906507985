#!/usr/bin/env bash
# Distributed testing with torchrun, on one or several nodes.
#   bash tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args]
# Several nodes: run it on each node with NNODES, NODE_RANK, MASTER_ADDR (and PORT) set.
# Without CUDA the processes use gloo (mmhmr.utils.setup_cpu_distributed).
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}

PYTHONPATH="$(dirname "$0")/..":${PYTHONPATH:-} \
exec "$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" \
    --master_port="$PORT" \
    "$(dirname "$0")/test.py" \
    "$CONFIG" \
    "$CHECKPOINT" \
    --launcher pytorch "${@:4}"
