"""Linear blend skinning of any set of vertices: the whole mesh, or the joints of a posed body
without its whole mesh.

The 2D / 3D joints of SPIN's 49-joint set (or the H36M 17) depend on the 24 SMPL joints and on
a few hundred vertices only (those the extra regressors and smplx's vertex joints read). Test-time
optimization needs nothing else at most of its steps, and skinning all 6890 vertices (and
back-propagating through them) is most of its cost. The same equations as smplx's ``lbs``
(``SMPL`` skins its whole mesh here too, ~15 % faster than smplx's per-vertex matmuls):

* rest joints ``J = J_reg (T + S beta)``, linear in beta: ``J_T + J_S beta`` precomputed;
* a vertex: ``v = T_v + S_v beta + P_v (R_1.. - I)`` (shape and pose blend shapes), skinned by
  ``sum_j w_vj A_j`` with the joints' rigid transforms ``A`` from ``batch_rigid_transform``.
"""
from typing import Dict, Optional

import torch
from smplx.lbs import batch_rigid_transform
from torch import Tensor


def subset_skinning_arrays(body_model, vertex_ids: Optional[Tensor]) -> Dict[str, Tensor]:
    """The arrays :func:`skin_vertex_subset` needs, cut from a ``smplx.SMPL``.

    Args:
        body_model (smplx.SMPL): the model.
        vertex_ids (Tensor, optional): ``(S,)`` long, the vertices to skin; None: all of them
            (views of the model's arrays, no copies).

    Returns:
        dict: ``v_template (S, 3)``, ``shapedirs (S, 3, L)``, ``posedirs (P, S * 3)``,
        ``lbs_weights (S, 24)``, ``joint_template (24, 3)``, ``joint_shapedirs (24, 3, L)``.
    """
    num_vertices = body_model.v_template.shape[0]
    regressor = body_model.J_regressor
    if vertex_ids is None:
        cut = dict(v_template=body_model.v_template, shapedirs=body_model.shapedirs,
                   posedirs=body_model.posedirs, lbs_weights=body_model.lbs_weights)
    else:
        posedirs = body_model.posedirs.reshape(-1, num_vertices, 3)[:, vertex_ids]
        cut = dict(v_template=body_model.v_template[vertex_ids],
                   shapedirs=body_model.shapedirs[vertex_ids],
                   posedirs=posedirs.reshape(posedirs.shape[0], -1),
                   lbs_weights=body_model.lbs_weights[vertex_ids])
    return dict(
        **cut,
        joint_template=regressor @ body_model.v_template,
        joint_shapedirs=torch.einsum('jv,vkl->jkl', regressor, body_model.shapedirs))


def skin_vertex_subset(arrays: Dict[str, Tensor], parents: Tensor, betas: Tensor,
                       rotmat: Tensor) -> Dict[str, Tensor]:
    """Pose and shape a subset of the vertices, and the 24 joints.

    Args:
        arrays (dict): from :func:`subset_skinning_arrays`, in the dtype of ``betas``.
        parents (Tensor): ``(24,)`` the kinematic tree.
        betas (Tensor): ``(B, L)``.
        rotmat (Tensor): ``(B, 24, 3, 3)``.

    Returns:
        dict: ``vertices (B, S, 3)`` and ``smpl_joints (B, 24, 3)``, body frame.
    """
    batch = betas.shape[0]
    joints = arrays['joint_template'] + torch.einsum('bl,jkl->bjk', betas,
                                                     arrays['joint_shapedirs'])
    shaped = arrays['v_template'] + torch.einsum('bl,skl->bsk', betas, arrays['shapedirs'])
    eye = torch.eye(3, dtype=rotmat.dtype, device=rotmat.device)
    pose_feature = (rotmat[:, 1:] - eye).reshape(batch, -1)  # (B, 207)
    posed = shaped + (pose_feature @ arrays['posedirs']).reshape(batch, -1, 3)
    smpl_joints, transforms = batch_rigid_transform(rotmat, joints, parents, dtype=betas.dtype)
    # blend the transforms' (3, 4) rows only: (B, S, 3, 4)
    skin = (arrays['lbs_weights'] @ transforms[:, :, :3].reshape(batch, -1, 12)).reshape(
        batch, -1, 3, 4)
    # (3 x 3) @ (3,) per vertex as one einsum: faster than B * S tiny matmuls (smplx's)
    vertices = torch.einsum('bvij,bvj->bvi', skin[..., :3], posed) + skin[..., 3]
    return dict(vertices=vertices, smpl_joints=smpl_joints)
