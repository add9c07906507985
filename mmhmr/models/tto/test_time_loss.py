"""The test-time loss: what test-time optimization minimises per sample, without ground truth."""
from typing import Dict, Optional

import torch
from mmpose.utils.typing import OptConfigType
from torch import Tensor, nn

from mmhmr.registry import MODELS

# term -> (the prediction's field, the reference it is compared with, the reference's field)
# reference: 'det' (detected keypoints), 'init' (the prediction before TTO), 'pseudo' (a pseudo
# ground truth, e.g. the dual network's auxiliary prediction) or None (a prior).
TERMS = {
    'keypoints_2d': ('keypoints_2d_crop', 'det', 'keypoints_2d'),
    'camera_prior': ('pred_cam', None, None),
    'shape_prior': ('smpl_betas', None, None),
    'proximity_pose': ('smpl_pose', 'init', 'smpl_pose'),
    'proximity_betas': ('smpl_betas', 'init', 'smpl_betas'),
    'pseudo_vertices': ('vertices', 'pseudo', 'vertices'),
    'pseudo_keypoints_3d': ('keypoints_3d', 'pseudo', 'keypoints_3d'),
    'pseudo_smpl_pose': ('smpl_pose', 'pseudo', 'smpl_pose'),
    'pseudo_smpl_betas': ('smpl_betas', 'pseudo', 'smpl_betas'),
}


@MODELS.register_module()
class TestTimeLoss(nn.Module):
    """A weighted sum of per-sample terms that need no ground truth.

    Every term is an mmhmr :class:`PerSampleLoss`, evaluated with ``reduction='none'``, so each
    sample's loss is its own (normalised by its own keypoints) and test-time optimization and
    the meta-learning inner step can take per-sample gradients of the summed loss.

    Terms (each a loss config; None leaves it out):

    * ``keypoints_2d``: the projected joints (box-normalised) against the detected keypoints,
      weighted by the detector's confidence (``KeypointReprojectionLoss``, optionally robust).
    * ``camera_prior``, ``shape_prior``: on the prediction alone.
    * ``proximity_pose``, ``proximity_betas``: against the prediction before TTO.
    * ``pseudo_vertices``, ``pseudo_keypoints_3d``, ``pseudo_smpl_pose``, ``pseudo_smpl_betas``:
      against a pseudo ground truth (the dual network's auxiliary prediction); used only when
      one is given.

    The defaults are the dual-network reference's weights (../shared/GUIDE.md section 2):
    5 x 2D + 1 x camera prior, and 0.5 x vertices L1 + 5 x 3D joints + 1 x rotations +
    0.001 x betas against the pseudo ground truth.

    Args:
        keypoints_2d, camera_prior, shape_prior, proximity_pose, proximity_betas,
        pseudo_vertices, pseudo_keypoints_3d, pseudo_smpl_pose, pseudo_smpl_betas
            (dict, optional): the terms' loss configs.
    """

    def __init__(self,
                 keypoints_2d: OptConfigType = dict(
                     type='KeypointReprojectionLoss', loss_weight=5.0),
                 camera_prior: OptConfigType = dict(type='CameraPriorLoss', loss_weight=1.0),
                 shape_prior: OptConfigType = None,
                 proximity_pose: OptConfigType = None,
                 proximity_betas: OptConfigType = None,
                 pseudo_vertices: OptConfigType = dict(type='VertexLoss', loss_weight=0.5),
                 pseudo_keypoints_3d: OptConfigType = dict(
                     type='PelvisAlignedKeypoint3DLoss', loss_weight=5.0),
                 pseudo_smpl_pose: OptConfigType = dict(type='SMPLPoseLoss', loss_weight=1.0),
                 pseudo_smpl_betas: OptConfigType = dict(type='SMPLBetasLoss',
                                                         loss_weight=0.001)):
        super().__init__()
        cfgs = dict(keypoints_2d=keypoints_2d, camera_prior=camera_prior,
                    shape_prior=shape_prior, proximity_pose=proximity_pose,
                    proximity_betas=proximity_betas, pseudo_vertices=pseudo_vertices,
                    pseudo_keypoints_3d=pseudo_keypoints_3d, pseudo_smpl_pose=pseudo_smpl_pose,
                    pseudo_smpl_betas=pseudo_smpl_betas)
        self.terms = nn.ModuleDict(
            {name: MODELS.build(cfg) for name, cfg in cfgs.items() if cfg is not None})
        if not self.terms:
            raise ValueError('TestTimeLoss needs at least one term')

    @property
    def uses_pseudo(self) -> bool:
        """Whether a pseudo ground truth enters the loss (when one is given)."""
        return any(TERMS[name][1] == 'pseudo' for name in self.terms)

    def forward(self,
                pred: Dict[str, Tensor],
                det: Dict[str, Tensor],
                init: Optional[Dict[str, Tensor]] = None,
                pseudo: Optional[Dict[str, Tensor]] = None) -> Dict[str, Tensor]:
        """Each term's per-sample loss and their sum.

        Args:
            pred (dict): decoded predictions (``CLIFFHead.decode_smpl``): ``keypoints_2d_crop
                (B, K, 2)``, ``pred_cam (B, 3)``, ``smpl_betas (B, 10)``, ``smpl_pose
                (B, 24, 3, 3)``, ``vertices (B, V, 3)``, ``keypoints_3d (B, K, 3)``.
            det (dict): ``keypoints_2d (B, K, 2)`` detected keypoints (box-normalised) and
                ``score (B, K)`` their confidence (0 = none).
            init (dict, optional): the prediction before TTO (fields as ``pred``); needed by
                the proximity terms.
            pseudo (dict, optional): a pseudo ground truth (fields as ``pred``), with an
                optional ``valid (B,)`` mask; the pseudo terms are skipped without one.

        Returns:
            dict: ``loss_<term> (B,)`` for each term used, and ``loss (B,)`` their sum.
        """
        refs = dict(det=det, init=init, pseudo=pseudo)
        batch = pred['pred_cam'].shape[0]
        ones = pred['pred_cam'].new_ones(batch)
        out = {}
        for name, fn in self.terms.items():
            field, ref_name, ref_field = TERMS[name]
            if ref_name is None:
                out[f'loss_{name}'] = fn(pred[field], reduction='none')
                continue
            ref = refs[ref_name]
            if ref is None:
                if ref_name == 'pseudo':
                    continue
                raise ValueError(f'TestTimeLoss: term {name!r} needs the {ref_name!r} '
                                 'predictions, which were not given')
            if ref_name == 'det':
                mask = ref['score']
            else:
                mask = ref.get('valid', ones)
                if field == 'keypoints_3d':
                    mask = mask[:, None] * ref.get(
                        'keypoints_3d_visible', pred[field].new_ones(pred[field].shape[:2]))
            # references keep their graph: the meta-learning step's second order differentiates
            # through the pseudo ground truth (callers detach what must stay constant)
            out[f'loss_{name}'] = fn(pred[field], ref[ref_field], mask, reduction='none')
        out['loss'] = torch.stack(list(out.values())).sum(0)
        return out
