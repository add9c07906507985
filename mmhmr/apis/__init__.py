"""Inference: build a model and recover meshes from images (mmpose's ``apis``)."""
from .inference import (KEYPOINT_ORDERS, bboxes_to_center_size, inference_mesh,
                        inference_pipeline, init_model, keypoints_to_49)
from .mesh_inferencer import MeshInferencer

__all__ = [
    'KEYPOINT_ORDERS', 'bboxes_to_center_size', 'inference_mesh', 'inference_pipeline',
    'init_model', 'keypoints_to_49', 'MeshInferencer'
]
