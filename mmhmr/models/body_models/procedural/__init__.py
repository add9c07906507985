"""A procedurally generated body model in SMPL's format (no licensed data involved).

The body is modelled the way a 3D artist box-models a character: a coarse polygon cage is grown
around a human joint skeleton (a torso tube whose holes sprout legs, arms and a neck, each a tube of
rings; hands with four fingers and a thumb, feet, a head), then smoothed by two steps of
Catmull-Clark subdivision. A closed genus-0 cage with E edges subdivides twice into ``8 E + 2``
vertices (E = 856 here: 6850); splitting the 40 longest edges (in mirror pairs) brings the mesh to
SMPL's 6890 vertices and 13776 triangles. Every output is linear in the cage, which is itself a function
of a few anthropometric parameters (height, girth, limb lengths, shoulder and hip width, ...):

* ``v_template`` -- the cage of a gender's parameters, subdivided;
* ``shapedirs`` -- finite differences of the cage along ten parameter directions, subdivided and
  made orthogonal;
* ``weights`` -- inverse-distance skinning to the bones, kept inside each limb;
* ``J_regressor`` (and the extra / H36M regressors) -- per joint, the maximum-entropy weights over
  the vertices around the joint whose weighted mean is exactly the skeleton's joint;
* ``posedirs`` -- a small outward bulge around each joint growing with ``1 - cos(angle)``.

A seed moves the gender's parameters by 0.25 s.d. along each shape direction, so seeds give
slightly different bodies. Topology (faces, vertex order) is shared by all genders and seeds. Vertices that smplx reads as
extra joints (nose, eyes, ears, toes, heels, fingertips; ``smplx.vertex_ids['smplh']``) carry the
same indices as in SMPL and sit at those places.

Frame: SMPL's rest frame -- metres, y up, the body faces +z, its left side is +x, T-pose.

Modules: ``constants`` (sizes, parents, vertex ids), ``params`` (anthropometric parameters),
``skeleton`` (joints and bones), ``cage`` (the polygon cage), ``body_parts`` (torso, arms, legs,
head), ``subdivision`` (Catmull-Clark), ``topology`` (the shared mesh), ``skinning``,
``blend_shapes``, ``regressors``, ``model`` (:func:`generate_smpl_model`) and ``files``
(:func:`ensure_procedural_body_model`).
"""
from .cage import HEAD, LEFT_ARM, LEFT_LEG, RIGHT_ARM, RIGHT_LEG, TORSO
from .constants import (GENDERS, GENERATOR_VERSION, NUM_BETAS, NUM_FACES, NUM_VERTICES,
                        SMPL_PARENTS, SMPL_VERTEX_IDS, SPIN_EXTRA_9_NAMES)
from .files import MODEL_FILES, _write_atomic, ensure_procedural_body_model
from .model import generate_smpl_model
from .regressors import generate_joint_regressors

__all__ = [
    'GENDERS', 'GENERATOR_VERSION', 'HEAD', 'LEFT_ARM', 'LEFT_LEG', 'MODEL_FILES', 'NUM_BETAS',
    'NUM_FACES', 'NUM_VERTICES', 'RIGHT_ARM', 'RIGHT_LEG', 'SMPL_PARENTS', 'SMPL_VERTEX_IDS',
    'SPIN_EXTRA_9_NAMES', 'TORSO', 'ensure_procedural_body_model', 'generate_joint_regressors',
    'generate_smpl_model'
]
