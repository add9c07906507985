"""SPIN-style npz contents for the dataset tests."""
import numpy as np


def spin_arrays(num: int, seed: int = 0, img_names=None) -> dict:
    """All the keys of a SPIN / CLIFF npz file, random but plausible."""
    rng = np.random.default_rng(seed)
    if img_names is None:
        img_names = [f'images/img_{i:03d}.jpg' for i in range(num)]
    return dict(
        imgname=np.array(img_names),
        center=rng.uniform(40, 60, (num, 2)),
        scale=rng.uniform(0.2, 0.4, num),
        part=np.concatenate([rng.uniform(0, 100, (num, 24, 2)), np.ones((num, 24, 1))], -1),
        openpose=np.concatenate([rng.uniform(0, 100, (num, 25, 2)),
                                 rng.uniform(0, 1, (num, 25, 1))], -1),
        S=np.concatenate([rng.normal(0, 0.3, (num, 24, 3)), np.ones((num, 24, 1))], -1),
        pose=rng.normal(0, 0.2, (num, 72)),
        shape=rng.normal(0, 1, (num, 10)),
        has_smpl=np.ones(num),
        gender=np.array(['m', 'f', 'n'] * num)[:num],
        focal_length=np.full(num, 5000.),
    )
