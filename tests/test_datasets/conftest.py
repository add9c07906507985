"""Fixtures of the dataset tests: mmhmr's default scope, tiny npz files and images."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.registry import DefaultScope, init_default_scope


@pytest.fixture(autouse=True)
def mmhmr_scope():
    """Build pipelines from mmhmr's registries, as a config with default_scope='mmhmr' does."""
    previous = DefaultScope.get_current_instance()
    init_default_scope('mmhmr')
    yield
    if previous is not None:
        init_default_scope(previous.scope_name)


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
