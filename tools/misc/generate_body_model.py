"""Write the procedurally generated SMPL-format body model (no licensed files needed).

    python tools/misc/generate_body_model.py [--out-dir data/body_models/procedural] [--seed 0]
                                             [--force]

Writes SMPL_{NEUTRAL,MALE,FEMALE}.npz, J_regressor_extra.npy, J_regressor_h36m.npy and
meta.json; does nothing if they are already there for this generator version and seed.
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

from mmhmr.models.body_models.procedural import (  # noqa: E402
    MODEL_FILES, ensure_procedural_body_model)


def parse_args():
    parser = argparse.ArgumentParser(
        description='Generate the procedural body model (SMPL format) into a directory')
    parser.add_argument('--out-dir', default='data/body_models/procedural',
                        help='directory for the model files')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the small random change of body proportions')
    parser.add_argument('--force', action='store_true',
                        help='regenerate even if the files are up to date')
    return parser.parse_args()


def main():
    args = parse_args()
    start = time.time()
    out_dir = ensure_procedural_body_model(args.out_dir, seed=args.seed, force=args.force)
    print(f'procedural body model (seed {args.seed}) in {out_dir} '
          f'({time.time() - start:.1f} s): {", ".join(MODEL_FILES)}')


if __name__ == '__main__':
    main()
