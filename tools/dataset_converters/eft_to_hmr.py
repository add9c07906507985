"""EFT's fitting JSON to an mmhmr npz annotation file.

    python tools/dataset_converters/eft_to_hmr.py data/eft/COCO2014-All-ver01.json \
        --image-prefix train2014 --out data/dataset_extras/coco2014_eft.npz

The written file is read back with HMRDataset's checks. See
mmhmr/datasets/converters/eft.py.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))
from mmhmr.datasets.converters import convert_eft, save_hmr_npz  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('json', help='an EFT fitting file')
    parser.add_argument('--image-prefix', default='',
                        help='folder joined before each imageName (relative to data_prefix)')
    parser.add_argument('--out', required=True, help='the npz to write')
    args = parser.parse_args(argv)
    arrays = convert_eft(args.json, args.image_prefix)
    print(f'wrote {args.out}: {save_hmr_npz(args.out, arrays)} samples')


if __name__ == '__main__':
    main()
