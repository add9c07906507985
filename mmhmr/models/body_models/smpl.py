"""The SMPL body model (smplx's arrays, our batched skinning) and the joint sets regressed
from it."""
import contextlib
import io
import os.path as osp
from typing import Dict, Optional, Sequence, Union

import numpy as np
import smplx
import torch
from smplx.utils import Struct
from torch import Tensor, nn

from mmhmr.registry import MODELS
from ..utils.rotation import axis_angle_to_matrix
from .joint_sets import H36M_TO_J14, SMPL_54_TO_SPIN_49
from .subset_lbs import skin_vertex_subset, subset_skinning_arrays
from .model_files import (GENDERS, NUM_JOINTS, load_joint_regressor, load_smpl_model,
                          resolve_model_file)

# joint set -> number of joints
JOINT_SET_SIZES = {'smpl_24': 24, 'spin_49': 49, 'h36m_17': 17, 'lsp_14': 14}
# SPIN's file names of the extra regressors, looked for beside the model files
EXTRA_REGRESSOR_FILE = 'J_regressor_extra.npy'
H36M_REGRESSOR_FILE = 'J_regressor_h36m.npy'
# what each joint set needs beyond SMPL itself
_JOINT_SET_REGRESSOR = {'spin_49': 'J_regressor_extra', 'h36m_17': 'J_regressor_h36m',
                        'lsp_14': 'J_regressor_h36m'}


def pose_to_rotmat(pose: Tensor) -> Tensor:
    """SMPL pose as rotation matrices; the format is told by the shape.

    Args:
        pose (Tensor): ``(B, 24, 3, 3)`` rotation matrices, or axis-angle ``(B, 72)`` /
            ``(B, 24, 3)``.

    Returns:
        Tensor: ``(B, 24, 3, 3)``.
    """
    shape = tuple(pose.shape)
    if len(shape) == 4 and shape[1:] == (NUM_JOINTS, 3, 3):
        return pose
    if len(shape) == 2 and shape[1] == NUM_JOINTS * 3:
        return axis_angle_to_matrix(pose.reshape(-1, NUM_JOINTS, 3))
    if len(shape) == 3 and shape[1:] == (NUM_JOINTS, 3):
        return axis_angle_to_matrix(pose)
    raise ValueError('SMPL pose must be rotation matrices (B, 24, 3, 3) or axis-angle (B, 72) / '
                     f'(B, 24, 3), got {shape}')


@MODELS.register_module()
class SMPL(nn.Module):
    """SMPL body model: smplx's ``SMPL`` arrays without inner parameters, plus SPIN's joint sets.

    Posing uses ``subset_lbs.skin_vertex_subset`` (smplx's ``lbs`` equations, batched without
    per-vertex matrix products; tested against smplx), for the whole mesh or a few vertices.

    Nothing is trainable, and the model's arrays are non-persistent buffers: they follow
    ``.to(device)`` but stay out of ``state_dict()``, so checkpoints never carry the (licensed)
    body model.

    Args:
        model_path (str): SMPL model file (``.npz`` / ``.pkl``), or a directory holding
            ``SMPL_{NEUTRAL,MALE,FEMALE}.{npz,pkl}`` (see :func:`resolve_model_file`).
        gender (str): 'neutral', 'male' or 'female'. Default: 'neutral'.
        num_betas (int): shape coefficients. Default: 10.
        joint_set (str): joints returned by :meth:`forward` as ``joints``: 'smpl_24', 'spin_49'
            (OpenPose 25 + SPIN's 24, see ``joint_sets.SPIN_49_NAMES``), 'h36m_17' or 'lsp_14'.
            Default: 'spin_49'.
        joint_regressor_extra (str | np.ndarray, optional): SPIN's ``(9, 6890)`` extra regressor
            (needed by 'spin_49'). Default: ``J_regressor_extra.npy`` beside the model file when
            ``model_path`` is a directory.
        joint_regressor_h36m (str | np.ndarray, optional): the ``(17, 6890)`` Human3.6M regressor
            (needed by 'h36m_17' and 'lsp_14'). Default: ``J_regressor_h36m.npy`` likewise.
    """

    def __init__(self,
                 model_path: str,
                 gender: str = 'neutral',
                 num_betas: int = 10,
                 joint_set: str = 'spin_49',
                 joint_regressor_extra=None,
                 joint_regressor_h36m=None):
        super().__init__()
        if joint_set not in JOINT_SET_SIZES:
            raise ValueError(f'joint_set must be one of {list(JOINT_SET_SIZES)}, got {joint_set!r}')
        self.model_file = resolve_model_file(model_path, gender)
        self.gender = gender.lower()
        self.joint_set = joint_set
        arrays = load_smpl_model(self.model_file)
        num_shape = arrays['shapedirs'].shape[2]
        # smplx keeps at most 10 betas of a model with fewer than 300 shape components
        max_betas = num_shape if num_shape >= 300 else min(num_shape, 10)
        if not 1 <= num_betas <= max_betas:
            raise ValueError(f'{self.model_file}: num_betas={num_betas}, but this model offers '
                             f'1 to {max_betas} (shapedirs has shape '
                             f'{arrays["shapedirs"].shape})')
        self.num_betas = num_betas
        with contextlib.redirect_stdout(io.StringIO()):  # smplx prints a note on 10-beta models
            self.body_model = smplx.SMPL(
                model_path=self.model_file,
                data_struct=Struct(**arrays),
                num_betas=num_betas,
                gender=self.gender,
                create_betas=False,
                create_global_orient=False,
                create_body_pose=False,
                create_transl=False)
        self.faces = arrays['f']  # (F, 3) int64
        self.num_vertices = arrays['v_template'].shape[0]

        search_dirs = []
        if osp.isdir(str(model_path)):
            search_dirs = list(dict.fromkeys([osp.dirname(self.model_file), str(model_path)]))
        self._regressor_sources = {}
        for name, value, file_name, num in (
                ('J_regressor_extra', joint_regressor_extra, EXTRA_REGRESSOR_FILE, 9),
                ('J_regressor_h36m', joint_regressor_h36m, H36M_REGRESSOR_FILE, 17)):
            regressor = self._load_regressor(name, value, search_dirs, file_name, num)
            self.register_buffer(
                name, None if regressor is None else torch.from_numpy(regressor), persistent=False)
        # keep the body model out of state_dict (see the class docstring)
        for module in self.modules():
            for name, buffer in list(module.named_buffers(recurse=False)):
                module.register_buffer(name, buffer, persistent=False)
        self._check_joint_set(joint_set)

    def _load_regressor(self, name, value, search_dirs, file_name, num_joints):
        if value is None:
            found = [osp.join(d, file_name) for d in search_dirs
                     if osp.isfile(osp.join(d, file_name))]
            if not found:
                self._regressor_sources[name] = (
                    f'not given, and no {file_name} in {" or ".join(search_dirs)}'
                    if search_dirs else
                    f'not given (model_path is a file: {file_name} is looked for only beside '
                    'the models of a model_path directory)')
                return None
            value = found[0]
        if isinstance(value, (str, bytes)) or hasattr(value, '__fspath__'):
            self._regressor_sources[name] = str(value)
            return load_joint_regressor(str(value), num_joints, name)
        value = np.asarray(value, dtype=np.float32)
        if value.shape != (num_joints, self.num_vertices):
            raise ValueError(f'{name} has shape {value.shape}, expected '
                             f'({num_joints}, {self.num_vertices})')
        self._regressor_sources[name] = 'array'
        return value

    def _check_joint_set(self, joint_set: str) -> None:
        if joint_set not in JOINT_SET_SIZES:
            raise ValueError(f'joint_set must be one of {list(JOINT_SET_SIZES)}, got {joint_set!r}')
        needed = _JOINT_SET_REGRESSOR.get(joint_set)
        if needed is not None and getattr(self, needed) is None:
            arg = 'joint_regressor_' + needed.split('_')[-1]
            raise FileNotFoundError(
                f'joint set {joint_set!r} needs {needed} ({arg}): '
                f'{self._regressor_sources[needed]}. SPIN / CLIFF ship J_regressor_extra.npy and '
                'J_regressor_h36m.npy; data/body_models/procedural has stand-ins for tests.')

    @property
    def num_joints(self) -> int:
        """Number of joints of ``self.joint_set``."""
        return JOINT_SET_SIZES[self.joint_set]

    def forward(self, betas: Tensor, pose: Tensor, transl: Optional[Tensor] = None,
                vertices: Union[bool, Sequence[int], Tensor] = True) -> Dict[str, Tensor]:
        """Pose and shape the body.

        Args:
            betas (Tensor): ``(B, num_betas)``.
            pose (Tensor): ``(B, 24, 3, 3)`` rotation matrices or axis-angle ``(B, 72)`` /
                ``(B, 24, 3)``, global orientation first.
            transl (Tensor, optional): ``(B, 3)`` added to vertices and joints.
            vertices (bool | Sequence[int] | Tensor): True skins the whole mesh; False skins
                only the vertices the joints need (``subset_lbs.py``; the same joints,
                several times faster) and returns no ``vertices``; ``S`` vertex ids (a tuple,
                or a 1-D integer tensor) skins those and the joints' own, and returns
                ``vertices (B, S, 3)`` in that order (e.g. a sparse mesh for a loss).
                Defaults to True.

        Returns:
            dict: ``vertices (B, 6890, 3)`` (or ``(B, S, 3)``; none for ``vertices=False``),
            ``smpl_joints (B, 24, 3)`` and ``joints (B, J, 3)`` of ``self.joint_set``.
        """
        rotmat = pose_to_rotmat(pose)
        batch_size = rotmat.shape[0]
        if betas.ndim != 2 or betas.shape != (batch_size, self.num_betas):
            raise ValueError(f'betas must be ({batch_size}, {self.num_betas}) for a pose of '
                             f'batch {batch_size}, got {tuple(betas.shape)}')
        if transl is not None and tuple(transl.shape) != (batch_size, 3):
            raise ValueError(f'transl must be ({batch_size}, 3), got {tuple(transl.shape)}')
        which = self._vertex_selection(vertices)
        arrays = self._skinning_arrays(which, betas)
        out = skin_vertex_subset(arrays, self.body_model.parents, betas, rotmat)
        smpl_joints = out['smpl_joints']
        joints = self.regress_joints(out['vertices'], smpl_joints, self.joint_set,
                                     vertex_ids=None if which == 'all' else arrays['ids'])
        result = dict(smpl_joints=smpl_joints, joints=joints)
        if which != 'joints':
            result['vertices'] = (out['vertices'] if which == 'all' else
                                  out['vertices'][:, arrays['asked']])
        if transl is not None:
            result = {k: v + transl[:, None] for k, v in result.items()}
        return result

    def _vertex_selection(self, vertices) -> Union[str, tuple]:
        """``'all'``, ``'joints'`` or ``('ids', i, j, ...)`` for ``forward``'s ``vertices``."""
        if isinstance(vertices, bool):
            return 'all' if vertices else 'joints'
        if isinstance(vertices, Tensor):
            if vertices.ndim != 1 or vertices.dtype not in (torch.int32, torch.int64):
                raise ValueError('vertices must be True, False or 1-D integer vertex ids, got '
                                 f'a {vertices.dtype} tensor of shape {tuple(vertices.shape)}')
            vertices = vertices.tolist()  # a tuple of ids keeps the hot path free of syncs
        if not all(isinstance(i, int) and not isinstance(i, bool) for i in vertices):
            raise ValueError(f'vertices must be True, False or integer vertex ids, got '
                             f'{vertices!r:.80}')
        return ('ids', ) + tuple(vertices)

    def _apply(self, fn, *args, **kwargs):
        # .to() / .half() / .cuda(): the cached arrays are rebuilt on first use
        self.__dict__.pop('_skinning_cache', None)
        return super()._apply(fn, *args, **kwargs)

    def _skinning_arrays(self, which, like: Tensor) -> Dict[str, Tensor]:
        """:func:`subset_skinning_arrays` of all vertices (``which='all'``: views of the
        model's arrays), of those the joint set reads (``'joints'``), or of those and the ids
        ``which[1:]`` (``('ids', ...)``; ``asked`` then holds their positions among the
        skinned ones), cached per dtype and device of ``like``."""
        key = (which, self.joint_set, like.dtype, like.device)
        cache = self.__dict__.setdefault('_skinning_cache', {})
        if key in cache:
            return cache[key]
        # plain tensors even when first called under torch.inference_mode(): a later pass
        # with gradients (TTO, training) saves them for backward
        with torch.inference_mode(False):
            extra = {}
            if which == 'all':
                ids = None
            elif which == 'joints':
                ids = self._joint_vertex_ids()
            else:
                asked = torch.tensor(which[1:], dtype=torch.long)
                if len(asked) and not 0 <= int(asked.min()) <= int(asked.max()) < \
                        self.num_vertices:
                    raise ValueError(f'vertex ids must be in [0, {self.num_vertices}), got '
                                     f'{int(asked.min())} .. {int(asked.max())}')
                ids, inverse = torch.cat([asked, self._joint_vertex_ids()]).unique(
                    return_inverse=True)
                extra['asked'] = inverse[:len(asked)].to(like.device)
            if ids is not None:
                ids = ids.to(like.device)
            arrays = subset_skinning_arrays(self.body_model, ids)
            cache[key] = dict({k: v.to(like.device, like.dtype) for k, v in arrays.items()},
                              ids=ids, **extra)
        return cache[key]

    def _joint_vertex_ids(self) -> Tensor:
        """``(S,)`` the vertices that ``self.joint_set``'s joints are regressed from."""
        used = torch.zeros(self.num_vertices, dtype=torch.bool)
        if self.joint_set == 'spin_49':
            used[self.body_model.vertex_joint_selector.extra_joints_idxs.cpu()] = True
            used |= (self.J_regressor_extra.cpu() != 0).any(0)
        elif self.joint_set in ('h36m_17', 'lsp_14'):
            used |= (self.J_regressor_h36m.cpu() != 0).any(0)
        return used.nonzero()[:, 0]

    def regress_joints(self, vertices: Tensor, smpl_joints: Tensor, joint_set: str,
                       vertex_ids: Optional[Tensor] = None) -> Tensor:
        """Joints of ``joint_set`` from posed vertices and SMPL joints.

        Args:
            vertices (Tensor): ``(B, 6890, 3)``, or ``(B, S, 3)`` the vertices ``vertex_ids``.
            smpl_joints (Tensor): ``(B, 24, 3)``.
            joint_set (str): 'smpl_24', 'spin_49', 'h36m_17' or 'lsp_14'.
            vertex_ids (Tensor, optional): ``(S,)`` which vertices ``vertices`` holds; they must
                include every vertex the joint set reads.

        Returns:
            Tensor: ``(B, J, 3)``.
        """
        self._check_joint_set(joint_set)
        if joint_set == 'smpl_24':
            return smpl_joints
        column = None
        if vertex_ids is not None:  # position of each vertex in `vertices`, -1 if absent
            column = torch.full((self.num_vertices, ), -1, dtype=torch.long,
                                device=vertex_ids.device)
            column[vertex_ids] = torch.arange(len(vertex_ids), device=vertex_ids.device)

        def regress(regressor):
            regressor = regressor.to(vertices.dtype)
            if column is not None:
                regressor = regressor[:, vertex_ids]
            return torch.einsum('jv,bvc->bjc', regressor, vertices)

        if joint_set == 'spin_49':
            # smplx's 45 joints (24 + picked at vertices) and SPIN's 9 extra -> 54, then by name
            picked = self.body_model.vertex_joint_selector.extra_joints_idxs.long()
            if column is not None:
                picked = column[picked]
                if bool((picked < 0).any()):
                    raise ValueError('vertex_ids lack vertices that the spin_49 joints read')
            joints_45 = torch.cat([smpl_joints, vertices[:, picked]], dim=1)
            extra = regress(self.J_regressor_extra)
            return torch.cat([joints_45, extra], dim=1)[:, list(SMPL_54_TO_SPIN_49)]
        h36m = regress(self.J_regressor_h36m)
        return h36m if joint_set == 'h36m_17' else h36m[:, list(H36M_TO_J14)]


@MODELS.register_module()
class GenderedSMPL(nn.Module):
    """SMPL models of several genders; each sample is posed by its gender's model.

    Args:
        model_path (str): a directory holding the models of all ``genders``
            (see :func:`resolve_model_file`).
        genders (Sequence[str]): the genders to hold. Default: ('neutral', 'male', 'female').
        **kwargs: passed to every :class:`SMPL` (``num_betas``, ``joint_set``, regressors).
    """

    def __init__(self,
                 model_path: str,
                 genders: Sequence[str] = GENDERS,
                 **kwargs):
        super().__init__()
        if not genders:
            raise ValueError('GenderedSMPL needs at least one gender')
        unknown = [g for g in genders if g not in GENDERS]
        if unknown:
            raise ValueError(f'genders must be among {GENDERS}, got {list(genders)}')
        self.models = nn.ModuleDict(
            {g: SMPL(model_path, gender=g, **kwargs) for g in genders})
        first = next(iter(self.models.values()))
        self.faces = first.faces
        self.num_vertices = first.num_vertices
        self.joint_set = first.joint_set

    def forward(self,
                betas: Tensor,
                pose: Tensor,
                gender: Tensor,
                transl: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Pose and shape each sample with its gender's model.

        Args:
            betas (Tensor): ``(B, num_betas)``.
            pose (Tensor): ``(B, 24, 3, 3)`` or axis-angle ``(B, 72)`` / ``(B, 24, 3)``.
            gender (Tensor): ``(B,)`` long, 0 neutral, 1 male, 2 female.
            transl (Tensor, optional): ``(B, 3)``.

        Returns:
            dict: as :meth:`SMPL.forward`.
        """
        gender = gender.reshape(-1)
        batch_size = gender.shape[0]
        if pose.shape[0] != batch_size or betas.shape[0] != batch_size:
            raise ValueError(f'gender has batch {batch_size}, pose {pose.shape[0]}, betas '
                             f'{betas.shape[0]}')
        outputs, covered = {}, torch.zeros_like(gender, dtype=torch.bool)
        for name, model in self.models.items():
            mask = gender == GENDERS.index(name)
            if not bool(mask.any()):
                continue
            covered |= mask
            part = model(betas[mask], pose[mask], None if transl is None else transl[mask])
            for key, value in part.items():
                if key not in outputs:
                    outputs[key] = value.new_zeros((batch_size, ) + value.shape[1:])
                outputs[key] = outputs[key].index_put((mask, ), value)
        if not bool(covered.all()):
            codes = sorted(set(gender[~covered].tolist()))
            held = {GENDERS.index(g): g for g in self.models}
            raise ValueError(f'gender code(s) {codes} have no model; this GenderedSMPL holds '
                             f'{held} (0 neutral, 1 male, 2 female)')
        return outputs
