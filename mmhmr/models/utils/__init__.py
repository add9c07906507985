from .camera import (cam_crop_to_full, crop_normalized_to_full, full_to_crop_normalized,
                     perspective_projection)
from .rotation import (axis_angle_to_matrix, flip_smpl_pose, matrix_to_axis_angle,
                       matrix_to_quaternion, matrix_to_rot6d, quaternion_to_axis_angle,
                       rot6d_to_matrix)

__all__ = [
    'cam_crop_to_full', 'crop_normalized_to_full', 'full_to_crop_normalized',
    'perspective_projection',
    'axis_angle_to_matrix', 'matrix_to_axis_angle', 'matrix_to_quaternion',
    'quaternion_to_axis_angle', 'rot6d_to_matrix', 'matrix_to_rot6d', 'flip_smpl_pose'
]
