"""CLIFF's iterative SMPL regressor, with the box information as input."""
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.structures import InstanceData
from mmpose.models.heads.base_head import BaseHead
from mmpose.utils.typing import ConfigType, OptConfigType, OptSampleList
from torch import Tensor, nn

from mmhmr.registry import MODELS
from ..utils.camera import (cam_crop_to_full, full_to_crop_normalized,
                            perspective_projection)
from ..utils.rotation import axis_angle_to_matrix, rot6d_to_matrix
from .regressor import IterativeSMPLRegressor, LinearFn

# gt_instances fields the head reads for the camera; see docs/en/conventions.md
CAMERA_KEYS = ('bbox_center', 'bbox_size', 'focal_length', 'bbox_info')


def gather_instances(data_samples: Sequence, key: str, like: Tensor) -> Tensor:
    """Concatenate one ``gt_instances`` field over a batch into a ``(B, ...)`` tensor on the
    device of ``like`` (fields are numpy arrays or tensors, one instance each)."""
    values = [d.gt_instances.get(key) for d in data_samples]
    if any(v is None for v in values):
        raise KeyError(f'gt_instances of a data sample has no "{key}"; the pipeline must pack '
                       f'it (PackHMRInputs after CLIFFBBoxInfo)')
    out = torch.cat([torch.as_tensor(v) for v in values]).to(like.device)
    return out.to(like.dtype) if out.is_floating_point() else out


def image_sizes(data_samples: Sequence, like: Tensor) -> Tensor:
    """Full-image sizes ``(B, 2)`` as ``(W, H)`` from the samples' ``ori_shape`` ``(H, W)``."""
    return like.new_tensor([d.metainfo['ori_shape'][1::-1] for d in data_samples])


@MODELS.register_module()
class CLIFFHead(BaseHead):
    """CLIFF head: pooled image features + box information → SMPL pose, shape and camera.

    An :class:`IterativeSMPLRegressor` refines the mean parameters ``n_iter`` times; the body
    model turns them into a mesh and joints, and the crop camera becomes a full-image perspective
    camera (:func:`cam_crop_to_full`), through which the 2D loss is computed.

    Args:
        in_channels (int): Channels of the backbone's feature map.
        body_model (dict): Config of the body model (``SMPL`` with ``joint_set='spin_49'``).
        n_iter (int): Regressor iterations. Defaults to 3.
        hidden_dims (Sequence[int]): Hidden layers of the regressor. Defaults to (1024, 1024).
        dropout (float): Dropout after each hidden layer. Defaults to 0.5.
        mean_params (str, optional): SPIN's ``smpl_mean_params.npz`` (keys ``pose`` (144,) 6D,
            ``shape`` (10,), ``cam`` (3,)). Defaults to None: identity joint rotations, an upright
            body facing the camera, zero shape, camera ``(0.9, 0, 0)``.
        feature_index (int): Which backbone output to use. Defaults to -1 (the last).
        gt_body_model (dict, optional): A gendered body model (``GenderedSMPL`` /
            ``ProceduralGenderedSMPL``) to build the ground-truth vertices with each sample's
            own gender, so that they agree with its keypoint ground truth (which the gendered
            body gave). The betas loss then skips male and female samples: their betas belong to
            another model's shape space. Defaults to None: every GT mesh from the neutral
            ``body_model`` (SPIN's / CLIFF's convention).
        loss_keypoints_2d, loss_keypoints_3d, loss_smpl_pose, loss_smpl_betas, loss_vertices,
        loss_shape_prior, loss_camera_prior (dict, optional): loss configs; None disables one.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 body_model: ConfigType,
                 n_iter: int = 3,
                 hidden_dims: Sequence[int] = (1024, 1024),
                 dropout: float = 0.5,
                 mean_params: Optional[str] = None,
                 feature_index: int = -1,
                 gt_body_model: OptConfigType = None,
                 loss_keypoints_2d: OptConfigType = dict(
                     type='KeypointReprojectionLoss', loss_weight=5.0),
                 loss_keypoints_3d: OptConfigType = dict(
                     type='PelvisAlignedKeypoint3DLoss', loss_weight=5.0),
                 loss_smpl_pose: OptConfigType = dict(type='SMPLPoseLoss', loss_weight=1.0),
                 loss_smpl_betas: OptConfigType = dict(type='SMPLBetasLoss', loss_weight=0.001),
                 loss_vertices: OptConfigType = dict(type='VertexLoss', loss_weight=0.5),
                 loss_shape_prior: OptConfigType = None,
                 loss_camera_prior: OptConfigType = dict(type='CameraPriorLoss', loss_weight=1.0),
                 init_cfg: OptConfigType = None):
        super().__init__(init_cfg)
        self.in_channels = in_channels
        self.feature_index = feature_index
        self.body_model = MODELS.build(body_model)
        if getattr(self.body_model, 'joint_set', 'spin_49') != 'spin_49':
            raise ValueError(f'{type(self).__name__}: body_model.joint_set must be \'spin_49\' '
                             '(the keypoint losses, the 2D targets and TTO read SPIN\'s 49 '
                             f'joints), got {self.body_model.joint_set!r}')
        self.gt_body_model = None if gt_body_model is None else MODELS.build(gt_body_model)
        if self.gt_body_model is not None:
            self.gt_body_model.requires_grad_(False)
        self.regressor = IterativeSMPLRegressor(
            in_channels=in_channels + 3,  # + CLIFF's bbox_info
            hidden_dims=hidden_dims,
            n_iter=n_iter,
            dropout=dropout,
            init_params=self._load_mean_params(mean_params))
        self.losses = nn.ModuleDict({
            name: MODELS.build(cfg)
            for name, cfg in dict(
                keypoints_2d=loss_keypoints_2d, keypoints_3d=loss_keypoints_3d,
                smpl_pose=loss_smpl_pose, smpl_betas=loss_smpl_betas, vertices=loss_vertices,
                shape_prior=loss_shape_prior, camera_prior=loss_camera_prior).items()
            if cfg is not None
        })

    @staticmethod
    def _load_mean_params(path: Optional[str]) -> Dict[str, Tensor]:
        if path is None:
            pose = torch.eye(3).expand(24, 3, 3).clone()
            # SMPL's rest body is y-up; the camera frame is y-down: turn it upright.
            pose[0] = torch.diag(torch.tensor([1., -1., -1.]))
            pose_6d = pose[:, :, :2].reshape(-1)
            return dict(pose_6d=pose_6d, betas=torch.zeros(10),
                        cam=torch.tensor([0.9, 0., 0.]))
        layout = "SPIN's smpl_mean_params.npz: pose (144,) 6D rotations, shape (10,), cam (3,)"
        try:
            params = dict(np.load(path, allow_pickle=False))
        except FileNotFoundError as e:
            raise FileNotFoundError(f'mean_params file "{path}" not found: it is {layout}; or '
                                    'set mean_params=None') from e
        except Exception as e:  # text, truncated, pickled: numpy's messages vary
            raise ValueError(f'mean_params file "{path}" is not a readable npz '
                             f'({type(e).__name__}: {e}); expected {layout}') from None
        out = {}
        for key, name, size in (('pose', 'pose_6d', 144), ('shape', 'betas', 10),
                                ('cam', 'cam', 3)):
            if key not in params:
                raise KeyError(f'mean_params file "{path}" has no key "{key}"; expected {layout}')
            value = np.asarray(params[key])
            if value.size != size or not np.issubdtype(value.dtype, np.number):
                raise ValueError(f'mean_params file "{path}": key "{key}" has shape '
                                 f'{value.shape} ({value.dtype}), expected {size} numbers '
                                 f'({layout})')
            if not np.isfinite(value).all():
                raise ValueError(f'mean_params file "{path}": key "{key}" has NaN / inf values')
            out[name] = torch.from_numpy(value.astype(np.float32).reshape(-1))
        return out

    def forward(self, feats: Tuple[Tensor], bbox_info: Tensor,
                linear: Optional[LinearFn] = None) -> Dict[str, Tensor]:
        """Regress SMPL and the crop camera.

        Args:
            feats (Tuple[Tensor]): backbone outputs; ``feats[feature_index]`` is ``(B, C, h, w)``.
            bbox_info (Tensor): ``(B, 3)`` CLIFF box information.
            linear (callable, optional): how the regressor's linear layers are applied
                (see :class:`IterativeSMPLRegressor`); test-time optimization passes per-sample
                weights through it.

        Returns:
            dict: ``pose_6d (B, 144)``, ``betas (B, 10)``, ``pred_cam (B, 3)``.
        """
        x = feats[self.feature_index].mean(dim=(2, 3))
        return self.regressor(torch.cat([x, bbox_info], dim=1), linear=linear)

    def regress(self, feats: Tuple[Tensor], data_samples: Sequence,
                linear: Optional[LinearFn] = None) -> Dict[str, Tensor]:
        """:meth:`forward` with the box information gathered from ``data_samples``."""
        bbox_info = gather_instances(data_samples, 'bbox_info', feats[self.feature_index])
        return self.forward(feats, bbox_info, linear=linear)

    def decode_smpl(self, params: Dict[str, Tensor], data_samples: Sequence,
                    vertices: bool = True) -> Dict[str, Tensor]:
        """Body model, full-image camera and projection for regressed parameters.

        Args:
            params (dict): output of :meth:`forward`.
            data_samples (list[PoseDataSample]): the batch (box, focal length, image size).
            vertices (bool | Tensor): False leaves out ``vertices`` and skins only the
                vertices the joints need (test-time optimization's steps); a ``(S,)`` tensor of
                vertex ids gives those only (:meth:`SMPL.forward`). Defaults to True.

        Returns:
            dict: ``smpl_pose (B, 24, 3, 3)``, ``smpl_betas (B, 10)``, ``pred_cam (B, 3)``,
            ``cam_transl (B, 3)``, ``vertices (B, V, 3)``, ``keypoints_3d (B, K, 3)`` (body
            frame), ``keypoints_2d (B, K, 2)`` (full-image px) and ``keypoints_2d_crop
            (B, K, 2)`` (box-normalised).
        """
        rotmat = rot6d_to_matrix(params['pose_6d'].reshape(-1, 24, 6))
        body = self.body_model(betas=params['betas'], pose=rotmat, vertices=vertices)
        center = gather_instances(data_samples, 'bbox_center', params['pred_cam'])
        size = gather_instances(data_samples, 'bbox_size', params['pred_cam'])
        focal = gather_instances(data_samples, 'focal_length', params['pred_cam'])
        img_size = image_sizes(data_samples, like=center)
        cam_transl = cam_crop_to_full(params['pred_cam'], center, size, img_size, focal)
        kp2d = perspective_projection(body['joints'], cam_transl, focal, img_size / 2)
        out = dict(
            smpl_pose=rotmat,
            smpl_betas=params['betas'],
            pred_cam=params['pred_cam'],
            cam_transl=cam_transl,
            keypoints_3d=body['joints'],
            keypoints_2d=kp2d,
            keypoints_2d_crop=full_to_crop_normalized(kp2d, center, size))
        if 'vertices' in body:
            out['vertices'] = body['vertices']
        return out

    def decode_estimate(self, params: Dict[str, Tensor], data_samples: Sequence,
                        vertices: bool = True) -> Dict[str, Tensor]:
        """The estimate alone, what test-time optimization fits: :meth:`decode_smpl`'s
        fields (heads that also decode intermediate estimates leave them out here)."""
        return self.decode_smpl(params, data_samples, vertices=vertices)

    def predict(self, feats: Tuple[Tensor], batch_data_samples: OptSampleList,
                test_cfg: ConfigType = {}) -> Sequence[InstanceData]:
        """Predict SMPL, mesh, joints and camera for each sample.

        Returns:
            list[InstanceData]: one per sample, with the fields of ``pred_instances`` in
            docs/en/conventions.md.
        """
        out = self.decode_smpl(self.regress(feats, batch_data_samples), batch_data_samples)
        return self.pred_to_instances(out)

    @staticmethod
    def pred_to_instances(out: Dict[str, Tensor]) -> Sequence[InstanceData]:
        """Split decoded predictions ``(B, ...)`` (:meth:`decode_smpl`) into one
        ``InstanceData`` per sample, with mmpose's ``keypoints`` / ``keypoint_scores``."""
        fields = {k: v for k, v in out.items() if k != 'keypoints_2d_crop'}
        scores = out['keypoints_2d'].new_ones(out['keypoints_2d'].shape[:2])
        results = []
        for i in range(out['keypoints_2d'].shape[0]):
            inst = InstanceData(**{k: v[i:i + 1] for k, v in fields.items()})
            # for mmpose's visualiser and keypoint metrics
            inst.keypoints = out['keypoints_2d'][i:i + 1]
            inst.keypoint_scores = scores[i:i + 1]
            results.append(inst)
        return results

    def loss(self, feats: Tuple[Tensor], batch_data_samples: OptSampleList,
             train_cfg: ConfigType = {}) -> Dict[str, Tensor]:
        """Losses against the ground truth of a batch.

        Returns:
            dict: one entry per configured loss, ``loss_<name>``.
        """
        pred = self.decode_smpl(self.regress(feats, batch_data_samples), batch_data_samples)
        return self.loss_by_pred(pred, batch_data_samples)

    def loss_by_pred(self, pred: Dict[str, Tensor], batch_data_samples: Sequence,
                     targets: Optional[Dict[str, Tensor]] = None) -> Dict[str, Tensor]:
        """The configured losses between decoded predictions and targets.

        Args:
            pred (dict): output of :meth:`decode_smpl`.
            batch_data_samples (list[PoseDataSample]): the batch.
            targets (dict, optional): targets from :meth:`targets_from_samples`; computed from the
                samples when None (other targets, e.g. pseudo ground truth, can be passed in).

        Returns:
            dict: ``loss_<name>`` for each configured loss.
        """
        if targets is None:
            targets = self.targets_from_samples(batch_data_samples, like=pred['vertices'])
        t = targets
        terms = dict(
            keypoints_2d=lambda f: f(pred['keypoints_2d_crop'], t['keypoints_2d'],
                                     t['keypoints_2d_visible']),
            keypoints_3d=lambda f: f(pred['keypoints_3d'], t['keypoints_3d'],
                                     t['keypoints_3d_visible']),
            smpl_pose=lambda f: f(pred['smpl_pose'], t['smpl_pose'], t['has_smpl']),
            smpl_betas=lambda f: f(pred['smpl_betas'], t['smpl_betas'], t['has_betas']),
            vertices=lambda f: f(pred['vertices'], t['vertices'], t['has_smpl']),
            shape_prior=lambda f: f(pred['smpl_betas']),
            camera_prior=lambda f: f(pred['pred_cam']),
        )
        return {f'loss_{name}': terms[name](fn) for name, fn in self.losses.items()}

    def targets_from_samples(self, batch_data_samples: Sequence,
                             like: Tensor) -> Dict[str, Tensor]:
        """Ground-truth targets of a batch; GT vertices come from the body model.

        Args:
            batch_data_samples (list[PoseDataSample]): the batch.
            like (Tensor): targets get its device and floating dtype.

        Returns:
            dict: ``keypoints_2d (B, K, 2)``, ``keypoints_2d_visible (B, K)``, ``keypoints_3d
            (B, K, 3)``, ``keypoints_3d_visible (B, K)``, ``smpl_pose (B, 24, 3, 3)``,
            ``smpl_betas (B, 10)``, ``has_smpl (B,)``, ``has_betas (B,)`` (``has_smpl``, and 0 for
            male / female samples with ``gt_body_model``) and ``vertices (B, V, 3)``.
        """
        t = {k: gather_instances(batch_data_samples, k, like) for k in (
            'keypoints_2d', 'keypoints_2d_visible', 'keypoints_3d', 'keypoints_3d_visible',
            'smpl_betas', 'has_smpl')}
        t['smpl_pose'] = axis_angle_to_matrix(
            gather_instances(batch_data_samples, 'smpl_pose', like).reshape(-1, 24, 3))
        t['has_betas'] = t['has_smpl']
        if self.gt_body_model is not None:
            gender = gather_instances(batch_data_samples, 'gender', like).reshape(-1)
            t['has_betas'] = t['has_smpl'] * (gender == 0).to(like.dtype)
        if 'vertices' in self.losses:
            with torch.no_grad():
                if self.gt_body_model is None:
                    out = self.body_model(betas=t['smpl_betas'], pose=t['smpl_pose'])
                else:
                    out = self.gt_body_model(t['smpl_betas'], t['smpl_pose'], gender)
                t['vertices'] = out['vertices']
        return t
