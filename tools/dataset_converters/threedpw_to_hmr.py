"""Raw 3DPW (sequenceFiles/*.pkl) to an mmhmr npz annotation file.

    python tools/dataset_converters/threedpw_to_hmr.py data/3dpw --split test \
        --out data/dataset_extras/3dpw_test.npz

Images are then found under ``data_prefix.img = data/3dpw`` (``imageFiles/<sequence>/...``).
A sequence file that cannot be read is an error (``--skip-bad-files``: reported and skipped,
the others converted). The written file is read back with HMRDataset's checks. See
mmhmr/datasets/converters/threedpw.py.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))
from mmhmr.datasets.converters import convert_3dpw, save_hmr_npz  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('root', help='the 3DPW folder (holding sequenceFiles/ and imageFiles/)')
    parser.add_argument('--split', default='test', choices=['train', 'validation', 'test'])
    parser.add_argument('--out', required=True, help='the npz to write')
    parser.add_argument('--min-keypoints', type=int, default=1,
                        help='confident 2D keypoints an actor-frame needs for its box '
                        '(default 1: every frame with a valid camera pose and a box, as SPIN)')
    parser.add_argument('--skip-bad-files', action='store_true',
                        help='report and skip unreadable sequence files instead of stopping')
    args = parser.parse_args(argv)
    arrays, messages = convert_3dpw(args.root, args.split, skip_bad_files=args.skip_bad_files,
                                    min_keypoints=args.min_keypoints)
    for message in messages:
        print(message)
    print(f'wrote {args.out}: {save_hmr_npz(args.out, arrays)} samples')


if __name__ == '__main__':
    main()
