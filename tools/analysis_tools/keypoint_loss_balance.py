# The keypoint loss weights that reproduce SPIN's / CLIFF's balance on your training mix.
#
# mmhmr's keypoint losses average each sample's error over that sample's own labelled joints
# (mmhmr/models/losses/keypoint_losses.py); SPIN and CLIFF divide by all joints of the batch
# (the 2D loss by B x 49, the 3D loss by the samples with 3D x 24). A SPIN weight lambda is
# therefore lambda * n / K here, with n the labelled joints a sample has on average in the mix.
# This reads the SPIN / CLIFF npz files of the mix and prints n and the weights.
#
#   python tools/analysis_tools/keypoint_loss_balance.py \
#       data/dataset_extras/h36m_train.npz:0.5 data/dataset_extras/coco2014part_cliffGT.npz:0.15 \
#       data/dataset_extras/mpii_cliffGT.npz:0.15 data/dataset_extras/mpi_inf_3dhp_train.npz:0.2
import argparse

import numpy as np

NUM_2D, NUM_3D = 49, 24  # SPIN's denominators: the 49-joint set, SPIN's 24 GT joints


def parse_args():
    parser = argparse.ArgumentParser(description='Keypoint loss weights matching SPIN')
    parser.add_argument('files', nargs='+', help='npz:ratio, the ratios of the training mix')
    parser.add_argument('--weight-2d', type=float, default=5., help="SPIN's 2D loss weight")
    parser.add_argument('--weight-3d', type=float, default=5., help="SPIN's 3D loss weight")
    parser.add_argument('--openpose-weight', type=float, default=0.,
                        help="SPIN's weight of the 25 OpenPose joints (0 in SPIN / CLIFF)")
    return parser.parse_args()


def labelled_joints(path: str, openpose_weight: float):
    """(mean labelled 2D joints, fraction of samples with 3D, their mean labelled 3D joints)."""
    with np.load(path, allow_pickle=False) as npz:
        part = npz['part'] if 'part' in npz else None
        num = len(npz['imgname'])
        n2d = np.zeros(num) if part is None else (part[:, :, 2] > 0).sum(1)
        if openpose_weight > 0 and 'openpose' in npz:
            n2d = n2d + (npz['openpose'][:, :, 2] > 0).sum(1)
        if 'S' in npz:
            n3d = (npz['S'][:, :, 3] > 0).sum(1)
        else:
            n3d = np.zeros(num)
    has_3d = n3d > 0
    return float(n2d.mean()), float(has_3d.mean()), float(n3d[has_3d].mean()) if has_3d.any() \
        else 0.


def main():
    args = parse_args()
    rows, mix_2d, mix_3d, mass_3d = [], 0., 0., 0.
    ratios = [float(f.rsplit(':', 1)[1]) if ':' in f else 1. for f in args.files]
    total = sum(ratios)
    for spec, ratio in zip(args.files, ratios):
        path = spec.rsplit(':', 1)[0] if ':' in spec else spec
        n2d, frac_3d, n3d = labelled_joints(path, args.openpose_weight)
        rows.append((path, ratio / total, n2d, frac_3d, n3d))
        mix_2d += ratio / total * n2d
        mix_3d += ratio / total * frac_3d * n3d  # the 3D loss averages the samples with 3D
        mass_3d += ratio / total * frac_3d
    print(f'{"file":<50} {"ratio":>6} {"n_2d":>6} {"with 3D":>8} {"n_3d":>6}')
    for path, ratio, n2d, frac_3d, n3d in rows:
        print(f'{path:<50} {ratio:>6.3f} {n2d:>6.2f} {frac_3d:>8.3f} {n3d:>6.2f}')
    n3d_mix = mix_3d / mass_3d if mass_3d > 0 else 0.
    print(f'mix: {mix_2d:.2f} labelled 2D joints of {NUM_2D}, {n3d_mix:.2f} labelled 3D joints '
          f'of {NUM_3D} (samples with 3D)')
    print(f'loss_keypoints_2d.loss_weight = {args.weight_2d} * {mix_2d:.2f} / {NUM_2D} = '
          f'{args.weight_2d * mix_2d / NUM_2D:.3f}')
    print(f'loss_keypoints_3d.loss_weight = {args.weight_3d} * {n3d_mix:.2f} / {NUM_3D} = '
          f'{args.weight_3d * n3d_mix / NUM_3D:.3f}')


if __name__ == '__main__':
    main()
