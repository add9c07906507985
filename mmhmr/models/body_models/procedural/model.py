"""A gender's body model in SMPL's format, assembled from the parts."""
import numpy as np

from .blend_shapes import _pose_blend_shapes, _shape_blend_shapes
from .constants import SMPL_PARENTS, _ROOT_PARENT_ID, _Y_SHIFT
from .params import _params
from .regressors import _max_entropy_regressor
from .skeleton import _bones, _rest_joints, _skeleton
from .skinning import _skinning_weights
from .topology import _cage_points, _topology


def generate_smpl_model(gender='neutral', seed=0):
    """A body model in SMPL's format, generated from anthropometric rules.

    Args:
        gender (str): 'neutral', 'male' or 'female'.
        seed (int): seeds a small random change of the body's proportions (0.25 s.d. of each
            shape direction); the same seed gives the same arrays.

    Returns:
        dict[str, np.ndarray]: SMPL's keys -- ``v_template (6890, 3)``, ``f (13776, 3)``,
        ``kintree_table (2, 24)``, ``J_regressor (24, 6890)``, ``weights (6890, 24)``,
        ``shapedirs (6890, 3, 10)``, ``posedirs (6890, 3, 207)`` -- all float64 but the
        integer ``f`` and ``kintree_table``.
    """
    topo = _topology()
    S, faces = topo['S'], topo['faces']
    p = _params(gender, seed)
    shift = np.array([0.0, _Y_SHIFT, 0.0])
    V = S @ _cage_points(p) + shift
    L = _skeleton(p)
    J = _rest_joints(L) + shift
    L = {k: v + shift for k, v in L.items()}
    kintree = np.stack([np.array(SMPL_PARENTS, dtype=np.int64), np.arange(24)])
    kintree[0, 0] = _ROOT_PARENT_ID
    return dict(
        v_template=V,
        f=faces.copy(),
        kintree_table=kintree,
        J_regressor=_max_entropy_regressor(V, J),
        weights=_skinning_weights(V, faces, topo['regions'], _bones(L, J)),
        shapedirs=_shape_blend_shapes(gender, seed, S),
        posedirs=_pose_blend_shapes(V, faces, J, topo['regions']),
    )
