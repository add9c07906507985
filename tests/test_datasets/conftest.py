"""Fixtures of the dataset tests: tiny npz files and images."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest


@pytest.fixture
def write_npz(tmp_path):
    """``write_npz(name, arrays, images=True)`` -> npz path; writes 100x80 images too."""

    def write(name: str, arrays: dict, images: bool = True) -> str:
        path = osp.join(tmp_path, name)
        np.savez(path, **arrays)
        if images:
            img = np.full((80, 100, 3), 127, np.uint8)
            for img_name in arrays['imgname']:
                img_path = osp.join(tmp_path, str(img_name))
                os.makedirs(osp.dirname(img_path), exist_ok=True)
                cv2.imwrite(img_path, img)
        return path

    return write
