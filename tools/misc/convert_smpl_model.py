"""Convert SMPL model .pkl files to .npz, without chumpy.

The official SMPL .pkl files hold chumpy objects and a scipy sparse ``J_regressor``; loading them
with ``pickle`` needs chumpy (which does not install on modern numpy) and may run any code a
pickle names. This tool reads them with mmhmr's restricted unpickler (numpy arrays, scipy
sparse matrices and chumpy arrays only), checks every key smplx needs, and writes plain arrays:
``v_template``, ``shapedirs``, ``posedirs``, ``J_regressor`` (dense), ``weights`` (float32),
``kintree_table``, ``f`` (int64).

Usage::

    python tools/misc/convert_smpl_model.py basicmodel_neutral_lbs_10_207_0_v1.1.0.pkl \\
        data/body_models/smpl/SMPL_NEUTRAL.npz
    # a directory: every .pkl in it, official names -> SMPL_{NEUTRAL,MALE,FEMALE}.npz
    python tools/misc/convert_smpl_model.py ~/Downloads/smpl/models data/body_models/smpl
"""
import argparse
import glob
import os
import os.path as osp
import pickle
import sys

import numpy as np

from mmhmr.models.body_models.model_files import OFFICIAL_FILE_NAMES, load_smpl_model


def output_name(pkl_path: str) -> str:
    """``SMPL_{GENDER}.npz`` for the official file names, else the input's name with .npz."""
    name = osp.basename(pkl_path)
    for gender, official in OFFICIAL_FILE_NAMES.items():
        if name in official:
            return f'SMPL_{gender.upper()}.npz'
    return osp.splitext(name)[0] + '.npz'


def convert(in_path: str, out_path: str) -> dict:
    """Convert one SMPL .pkl (or .npz) file to an .npz of plain arrays; print what was written.

    Returns:
        dict: the arrays written.
    """
    arrays = load_smpl_model(in_path)
    out_dir = osp.dirname(osp.abspath(out_path))
    os.makedirs(out_dir, exist_ok=True)
    np.savez(out_path, **arrays)
    print(f'wrote {out_path} (from {in_path}):')
    for key, value in arrays.items():
        print(f'  {key:14s} {str(tuple(value.shape)):18s} {value.dtype}')
    return arrays


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert SMPL model .pkl files to .npz without chumpy.')
    parser.add_argument('input', help='an SMPL .pkl file, or a directory of them')
    parser.add_argument(
        'output',
        help='the .npz to write, or a directory (official file names become '
        'SMPL_{NEUTRAL,MALE,FEMALE}.npz)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    """Run the conversion; returns the exit status (1 if a file could not be converted)."""
    args = parse_args(argv)
    if osp.isdir(args.input):
        inputs = sorted(glob.glob(osp.join(args.input, '*.pkl')))
        if not inputs:
            raise FileNotFoundError(f'no .pkl files in {args.input}')
        if args.output.endswith('.npz'):
            raise ValueError(f'the input {args.input} is a directory: output must be a '
                             f'directory too, got {args.output}')
        jobs = [(p, osp.join(args.output, output_name(p))) for p in inputs]
    else:
        if osp.isdir(args.output) or args.output.endswith(('/', os.sep)):
            out_path = osp.join(args.output, output_name(args.input))
        elif args.output.endswith('.npz'):
            out_path = args.output
        else:
            raise ValueError(f'output must be an .npz file or a directory, got {args.output}')
        jobs = [(args.input, out_path)]

    failed = []
    for in_path, out_path in jobs:
        try:
            convert(in_path, out_path)
        except (ValueError, pickle.UnpicklingError) as e:
            if len(jobs) == 1:
                raise
            print(f'skipped {in_path}: {e}', file=sys.stderr)
            failed.append(in_path)
    return 1 if failed else 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except (FileNotFoundError, ValueError, pickle.UnpicklingError) as error:
        sys.exit(f'error: {error}')
