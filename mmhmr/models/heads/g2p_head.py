"""The global-to-pixel head (ECCV 2024): a global SMPL estimate refined from features sampled
around each keypoint."""
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
from mmpose.utils.typing import ConfigType
from torch import Tensor, nn

from mmhmr.registry import MODELS
from ..body_models.joint_sets import J49_TO_J24, SMPL_24_NAMES, SMPL_24_PARTS, SPIN_24_NAMES
from .cliff_head import CLIFFHead, gather_instances
from .regressor import LinearFn

STAGE1 = 'stage1_'
DENSE = 'dense_'
# regress() -> decode_smpl(): stage 1 decoded in training, for its anchors and its losses
DECODED = '_stage1_decoded_'


@MODELS.register_module()
class GlobalToPixelHead(CLIFFHead):
    """Stage 1 (global): CLIFF's iterative regressor on pooled features and box information
    gives ``Θ0`` (pose, shape, camera). Stage 2 (pixel): the stage-1 joints projected into the
    crop are the anchors of a keypoint encoder (``DeformableKeypointEncoder``, or
    ``RoIKeypointEncoder`` for the fixed-RoI ablation) that samples every feature level around
    them; each SMPL joint's rotation residual comes from the local features of the keypoints
    that govern it (``SMPL_24_PARTS`` in ``joint_sets.py``), the shape and camera residuals from
    their mean: ``Θ = Θ0 + ΔΘ``. The residual decoders start at zero, so an untrained stage 2
    returns stage 1 exactly. ``n_refine`` repeats stage 2 from the refined anchors;
    ``residual=False`` predicts ``Θ`` from the mean parameters instead (the "w/o residual"
    ablation).

    The interface is CLIFFHead's (``regress``, ``decode_smpl``, ``loss_by_pred``,
    ``pred_to_instances``), so test-time optimization and ``DualNetworkHMR`` use it unchanged:
    the regressor's and the residual decoders' linear layers go through ``linear``. Predictions
    carry the stage-1 estimate as ``stage1_<field>`` (not after test-time optimization, which
    fits and returns the final estimate, :meth:`decode_estimate`); the losses are the CLIFF
    terms of the final estimate (x ``local_weight``) and of stage 1 (x ``global_weight``, as
    ``loss_global_<term>``).

    Args:
        encoder (dict): the keypoint encoder; its ``num_keypoints`` is set to the 24 anchors
            (SPIN's ground-truth joints) and ``in_channels`` must list every level's channels.
        residual (bool): refine Θ0 (True) or predict Θ directly. Defaults to True.
        n_refine (int): stage-2 passes. Defaults to 1.
        local_weight, global_weight (float): weights of the final and the stage-1 losses.
            Defaults to 1 and 0.5 (the local stage weighted higher).
        stage1_vertex_stride (int): in training mode, stage 1's mesh is skinned at every
            ``stride``-th vertex only, and its vertex loss (a mean over vertices) reads those:
            the deep supervision's mesh term at a fraction of a second body-model pass. 1
            skins the whole mesh. In eval mode (prediction) stage 1's mesh is whole.
            Defaults to 8.
        **kwargs: :class:`CLIFFHead`'s arguments (``in_channels`` of the pooled level,
            ``body_model`` with the ``spin_49`` joint set, losses, ...).
    """

    def __init__(self, encoder: ConfigType, residual: bool = True, n_refine: int = 1,
                 anchors: str = 'stage1', dense: Optional[ConfigType] = None,
                 local_weight: float = 1.0, global_weight: float = 0.5,
                 stage1_vertex_stride: int = 8, **kwargs):
        super().__init__(**kwargs)
        if stage1_vertex_stride < 1:
            raise ValueError(f'GlobalToPixelHead: stage1_vertex_stride must be >= 1, got '
                             f'{stage1_vertex_stride}')
        # a tuple: the body model's cache key, no device sync per step
        self.stage1_vertex_ids = tuple(range(0, self.body_model.num_vertices,
                                             stage1_vertex_stride))
        if n_refine < 1:
            raise ValueError(f'GlobalToPixelHead: n_refine must be >= 1, got {n_refine}')
        if anchors not in ('stage1', 'dense'):
            raise ValueError(f"GlobalToPixelHead: anchors must be 'stage1' or 'dense', got "
                             f'{anchors!r}')
        if anchors == 'dense' and dense is None:
            raise ValueError("GlobalToPixelHead: anchors='dense' needs the dense branch: give "
                             'dense=dict(in_channels=..., ...)')
        self.anchor_source = anchors
        self.dense = None if dense is None else MODELS.build(
            dict(dict(type='DenseKeypointBranch'), num_keypoints=len(SPIN_24_NAMES), **dense))
        self.residual, self.n_refine = residual, n_refine
        self.local_weight, self.global_weight = float(local_weight), float(global_weight)
        encoder = dict(encoder, num_keypoints=len(SPIN_24_NAMES))
        self.encoder = MODELS.build(encoder)
        dims = self.encoder.embed_dims
        # (24 SMPL joints, 24 keypoints): each joint's average over its governing keypoints
        parts = torch.zeros(len(SMPL_24_NAMES), len(SPIN_24_NAMES))
        for j, name in enumerate(SMPL_24_NAMES):
            for kp in SMPL_24_PARTS[name]:
                parts[j, SPIN_24_NAMES.index(kp)] = 1.
        self.register_buffer('parts', parts / parts.sum(1, keepdim=True), persistent=False)
        self.joint_embed = nn.Embedding(len(SMPL_24_NAMES), dims)
        self.dec_pose_local = nn.Linear(dims, 6)
        self.dec_betas_local = nn.Linear(dims, 10)
        self.dec_cam_local = nn.Linear(dims, 3)
        self._zero_decoders()

    def _zero_decoders(self) -> None:
        for dec in (self.dec_pose_local, self.dec_betas_local, self.dec_cam_local):
            nn.init.zeros_(dec.weight)
            nn.init.zeros_(dec.bias)

    def init_weights(self) -> None:
        """Keep the residual decoders at zero through mmengine's ``init_cfg``."""
        super().init_weights()
        self._zero_decoders()

    def anchors(self, params: Dict[str, Tensor], data_samples: Sequence) -> Tensor:
        """``(B, 24, 2)`` crop-normalised projections of the estimate's SPIN 24 joints
        (detached: the anchors are where to look, not what to learn)."""
        with torch.no_grad():
            pred = self.decode_smpl(params, data_samples, vertices=False, stage1=False)
            return self._crop_anchors(pred['keypoints_2d_crop'], data_samples)

    def _crop_anchors(self, keypoints_2d_crop: Tensor, data_samples: Sequence) -> Tensor:
        """Box-normalised ``(B, 49, 2)`` joints -> the detached crop-normalised SPIN 24
        ``(B, 24, 2)``: the crop spans ``input_scale`` (w, h) of the full image, the box
        ``bbox_size``."""
        box = keypoints_2d_crop.detach()[:, list(J49_TO_J24)]
        size = gather_instances(data_samples, 'bbox_size', box).reshape(-1, 1)
        return box * (size / self._input_scale(data_samples, size))[:, None]

    @staticmethod
    def _input_scale(data_samples: Sequence, like: Tensor) -> Tensor:
        """``(B, 2)`` the full-image area ``(w, h)`` each crop covers (metainfo)."""
        missing = [i for i, d in enumerate(data_samples) if 'input_scale' not in d.metainfo]
        if missing:
            meta = data_samples[missing[0]].metainfo
            raise KeyError(f'GlobalToPixelHead needs the metainfo input_scale (written by '
                           f'HMRTopdownAffine, packed by PackHMRInputs), but sample '
                           f'{meta.get("sample_idx")} of {meta.get("dataset_name")!r} has none')
        return like.new_tensor(np.stack([d.metainfo['input_scale'] for d in data_samples]))

    def refine(self, feats: Tuple[Tensor], params: Dict[str, Tensor], anchors: Tensor,
               linear: Optional[LinearFn] = None) -> Dict[str, Tensor]:
        """One stage-2 pass: local features at ``anchors`` -> refined parameters."""
        apply = linear or (lambda layer, x: layer(x))
        local = self.encoder(feats, anchors)  # (B, K, D)
        per_joint = torch.einsum('jk,bkd->bjd', self.parts, local) + self.joint_embed.weight
        pooled = local.mean(1)
        delta = dict(pose_6d=apply(self.dec_pose_local, per_joint).flatten(1),
                     betas=apply(self.dec_betas_local, pooled),
                     pred_cam=apply(self.dec_cam_local, pooled))
        reg = self.regressor
        base = params if self.residual else dict(
            pose_6d=reg.init_pose_6d.expand_as(params['pose_6d']),
            betas=reg.init_betas.expand_as(params['betas']),
            pred_cam=reg.init_cam.expand_as(params['pred_cam']))
        return {k: base[k] + delta[k] for k in delta}

    def regress(self, feats: Tuple[Tensor], data_samples: Sequence,
                linear: Optional[LinearFn] = None) -> Dict[str, Tensor]:
        """Stage 1, then ``n_refine`` stage-2 passes; the stage-1 parameters as
        ``stage1_<name>``. In training with stage-1 losses (``global_weight``) and stage-1
        anchors, stage 1 is decoded here once (its sparse mesh), for the first anchors and,
        through :meth:`decode_smpl`, for its losses: carried as ``_stage1_decoded_<field>``,
        a cache that :meth:`decode_smpl` uses only with these very stage-1 parameters."""
        stage1 = super().regress(feats, data_samples, linear=linear)
        params, dense, decoded = stage1, {}, {}
        if self.dense is not None:
            dense = self.dense(feats)
        for i in range(self.n_refine):
            if i == 0 and self.anchor_source == 'dense':
                anchors = self.dense.decode(dense).detach()
            elif i == 0 and self.training and self.global_weight:
                decoded = self._decode_stage1(stage1, data_samples, vertices=True)
                anchors = self._crop_anchors(decoded['keypoints_2d_crop'], data_samples)
            else:
                anchors = self.anchors(params, data_samples)
            params = self.refine(feats, params, anchors, linear)
        params.update({STAGE1 + k: v for k, v in stage1.items()})
        params.update({DECODED + k: v for k, v in decoded.items()})
        params.update({DENSE + k: v for k, v in dense.items()})
        return params

    def _decode_stage1(self, first: Dict[str, Tensor], data_samples: Sequence,
                       vertices: bool) -> Dict[str, Tensor]:
        """CLIFFHead's decoding of the stage-1 parameters ``first``; in training mode with
        ``vertices``, of the ``stage1_vertex_ids`` only."""
        sparse = (self.training and vertices is True and
                  len(self.stage1_vertex_ids) < self.body_model.num_vertices)
        return super().decode_smpl(first, data_samples,
                                   vertices=self.stage1_vertex_ids if sparse else vertices)

    def decode_smpl(self, params: Dict[str, Tensor], data_samples: Sequence,
                    vertices: bool = True, stage1: bool = True) -> Dict[str, Tensor]:
        """CLIFFHead's decoding of the final parameters, and with ``stage1`` of the stage-1
        ones as ``stage1_<field>`` (in training only for stage 1's losses, i.e. with
        ``global_weight``). In training mode with ``vertices=True``, stage 1's mesh is the
        ``stage1_vertex_ids`` only, and what :meth:`regress` decoded is passed on."""
        final = {k: v for k, v in params.items()
                 if not k.startswith((STAGE1, DENSE, DECODED))}
        out = super().decode_smpl(final, data_samples, vertices=vertices)
        out.update({k: v for k, v in params.items() if k.startswith(DENSE)})
        first = {k[len(STAGE1):]: v for k, v in params.items() if k.startswith(STAGE1)}
        if not (stage1 and first and (self.global_weight or not self.training)):
            return out
        cached = {k[len(DECODED):]: v for k, v in params.items() if k.startswith(DECODED)}
        # the cache decoded these stage-1 parameters (its betas are theirs, by identity) with
        # the training mesh
        if self.training and vertices is True and cached.get('smpl_betas') is first['betas']:
            first = cached
        else:
            first = self._decode_stage1(first, data_samples, vertices)
        out.update({STAGE1 + k: v for k, v in first.items()})
        return out

    def decode_estimate(self, params: Dict[str, Tensor], data_samples: Sequence,
                        vertices: bool = True) -> Dict[str, Tensor]:
        """The final estimate alone (test-time optimization's steps): no stage-1 decode,
        which its losses do not read."""
        return self.decode_smpl(params, data_samples, vertices=vertices, stage1=False)

    def loss_by_pred(self, pred: Dict[str, Tensor], batch_data_samples: Sequence,
                     targets: Optional[Dict[str, Tensor]] = None) -> Dict[str, Tensor]:
        """``local_weight`` x CLIFF's losses of the final estimate (``loss_<term>``) and
        ``global_weight`` x those of stage 1 (``loss_global_<term>``)."""
        final = {k: v for k, v in pred.items() if not k.startswith((STAGE1, DENSE))}
        if targets is None:
            targets = self.targets_from_samples(batch_data_samples, like=final['vertices'])
        losses = {k: self.local_weight * v for k, v in
                  super().loss_by_pred(final, batch_data_samples, targets).items()}
        first = {k[len(STAGE1):]: v for k, v in pred.items() if k.startswith(STAGE1)}
        if first and self.global_weight:
            first_targets = targets
            if 'vertices' in first and 'vertices' in targets and \
                    first['vertices'].shape[1] != targets['vertices'].shape[1]:
                first_targets = dict(targets, vertices=targets['vertices'][
                    :, torch.as_tensor(self.stage1_vertex_ids, device=first['vertices'].device)])
            for k, v in super().loss_by_pred(first, batch_data_samples, first_targets).items():
                losses['loss_global_' + k[len('loss_'):]] = self.global_weight * v
        dense = {k[len(DENSE):]: v for k, v in pred.items() if k.startswith(DENSE)}
        if dense and self.dense is not None:
            size = gather_instances(batch_data_samples, 'bbox_size',
                                    targets['keypoints_2d']).reshape(-1, 1)
            gt = targets['keypoints_2d'][:, list(J49_TO_J24)] * (
                size / self._input_scale(batch_data_samples, size))[:, None]
            visible = targets['keypoints_2d_visible'][:, list(J49_TO_J24)]
            losses.update(self.dense.loss(dense, gt, visible))
        return losses
