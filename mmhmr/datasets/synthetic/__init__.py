"""Synthetic people: pose / shape / camera sampling and the sample generator (rendered with
:mod:`mmhmr.visualization.renderer`, re-exported here)."""
from .appearance import PALETTE, make_background, paint_occluders, vertex_colors, vertex_parts
from .domain import BACKGROUND_KINDS, DOMAIN_PRESETS, resolve_domain, sample_scene
from .generator import GENERATOR_VERSION, SyntheticHumanGenerator, mask_bbox, project_points
from .occlusion import OCCLUSION_CODES, exit_depth, keypoint_occlusion
from .pose_sampler import (JOINT_LIMITS_DEG, euler_xyz_to_matrix, sample_betas,
                           sample_joint_rotations, sample_smpl_pose, view_rotation)
from mmhmr.visualization.renderer import (face_normals, lambert_shade, rasterize, render_mesh,
                                         vertex_normals)

__all__ = [
    'PALETTE', 'make_background', 'paint_occluders', 'vertex_colors', 'vertex_parts',
    'BACKGROUND_KINDS', 'DOMAIN_PRESETS', 'resolve_domain', 'sample_scene', 'GENERATOR_VERSION',
    'SyntheticHumanGenerator', 'mask_bbox', 'project_points', 'OCCLUSION_CODES', 'exit_depth',
    'keypoint_occlusion', 'JOINT_LIMITS_DEG',
    'euler_xyz_to_matrix', 'sample_betas', 'sample_joint_rotations', 'sample_smpl_pose',
    'view_rotation', 'face_normals', 'lambert_shade', 'rasterize', 'render_mesh', 'vertex_normals'
]
