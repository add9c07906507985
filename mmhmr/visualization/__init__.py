"""Seeing results: a headless NumPy renderer and the mesh visualizer."""
from .hmr_visualizer import HMRLocalVisualizer
from .renderer import face_normals, lambert_shade, rasterize, render_mesh, vertex_normals
from .views import image_frame, turn_meshes, view_rotation

__all__ = [
    'HMRLocalVisualizer', 'image_frame', 'turn_meshes', 'view_rotation', 'face_normals',
    'lambert_shade', 'rasterize', 'render_mesh', 'vertex_normals'
]
