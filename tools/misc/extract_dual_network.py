"""Write one network of a DualNetworkHMR checkpoint as a checkpoint of its own estimator.

    python tools/misc/extract_dual_network.py DUAL_CKPT OUT [--network aux|main]

f_u (``aux``) or f_w (``main``) of a checkpoint that tools/train.py wrote for a config in
configs/meta_hmr/ becomes a checkpoint that the wrapped estimator's configs load (e.g. f_u
tested alone with configs/cliff/..., or with EFT-style TTO with configs/eft/...); it can also
be another dual network's ``aux_checkpoint``. Only the weights (``state_dict``) and ``meta``
are kept, not the optimizer.
"""
import argparse
import os
import os.path as osp

import torch
from mmengine.runner.checkpoint import CheckpointLoader

import mmhmr  # noqa: F401  (allow-lists the globals of mmengine checkpoints for safe loading)


def parse_args():
    parser = argparse.ArgumentParser(
        description="Extract f_u ('aux') or f_w ('main') of a DualNetworkHMR checkpoint")
    parser.add_argument('checkpoint', help='a DualNetworkHMR checkpoint (.pth)')
    parser.add_argument('out', help='the checkpoint to write')
    parser.add_argument('--network', choices=('aux', 'main'), default='aux',
                        help="'aux' (f_u, default) or 'main' (f_w)")
    return parser.parse_args()


def extract(checkpoint: dict, network: str, path: str = '<checkpoint>') -> dict:
    """The ``state_dict`` entries under ``'<network>.'``, without the prefix."""
    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f'{path}: not a checkpoint (expected a dict with a state_dict)')
    prefix = network + '.'
    out = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    if not out:
        prefixes = sorted({k.split('.', 1)[0] for k in state})
        raise ValueError(f'{path}: no {prefix!r} weights (top-level names: {prefixes}); is it '
                         'a DualNetworkHMR checkpoint, and with use_aux=True for aux?')
    return out


def main():
    args = parse_args()
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'{args.checkpoint}: no such file')
    checkpoint = CheckpointLoader.load_checkpoint(args.checkpoint, map_location='cpu')
    try:
        state = extract(checkpoint, args.network, args.checkpoint)
    except ValueError as err:
        raise SystemExit(str(err))
    meta = dict(checkpoint.get('meta') or {}, extracted_from=osp.abspath(args.checkpoint),
                network=args.network)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    torch.save(dict(state_dict=state, meta=meta), args.out)
    print(f'wrote {args.out}: {len(state)} tensors of {args.network!r}')


if __name__ == '__main__':
    main()
