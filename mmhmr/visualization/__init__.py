"""Seeing results: a headless NumPy renderer and the mesh visualizer."""
from .hmr_visualizer import HMRLocalVisualizer, turn_meshes, view_rotation
from .renderer import face_normals, lambert_shade, rasterize, render_mesh, vertex_normals

__all__ = [
    'HMRLocalVisualizer', 'turn_meshes', 'view_rotation', 'face_normals', 'lambert_shade',
    'rasterize', 'render_mesh', 'vertex_normals'
]
