"""MPJPE, PA-MPJPE, PVE and 2D keypoint error of SMPL predictions (3DPW / Human3.6M protocols)."""
import math
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger
from torch import Tensor, nn

from mmhmr.models.body_models.joint_sets import (H36M_TO_J14, J24_HIP_INDICES, J24_TO_J14,
                                                 J49_TO_J24)
from mmhmr.models.utils.camera import crop_normalized_to_full
from mmhmr.registry import METRICS, MODELS
from ..functional import mpjpe, pa_mpjpe, pve
from .metric_keys import metric_name, metric_order
from .sample_fields import get_field, has_field, meta_field, stack_field

METRES_TO_MM = 1000.0


@METRICS.register_module()
class SMPLMetric(BaseMetric):
    """3D joint, mesh and 2D keypoint errors of SMPL predictions, in mm and px.

    Protocols (both as SPIN / CLIFF evaluate):

    * ``'3dpw'`` (ground-truth mesh): the GT mesh comes from the GT pose and shape posed by the
      sample's gender-specific SMPL (``gt_instances.smpl_pose / smpl_betas / gender``); the
      prediction is ``pred_instances.vertices`` (neutral model). On both meshes the 17 joints of
      the Human3.6M regressor (the neutral model's) are taken, the pelvis (H36M joint 0) is
      subtracted, and the 14 LSP joints (``H36M_TO_J14``) give MPJPE and PA-MPJPE. PVE is the mean
      error over all vertices after the same pelvis alignment. Samples with ``has_smpl = 0`` are
      left out.
    * ``'h36m'`` (ground-truth keypoints; protocol 1 or 2 is decided by the annotation file the
      dataset reads -- name it with ``prefix``, e.g. ``'h36m-p2'``): the GT is SPIN's 14 joints
      ``J24_TO_J14`` of its 24 in ``gt_instances.keypoints_3d`` (the 12 LSP limb joints, the
      neck and SPIN's "Head (H36M)", which pairs with the H36M regressor's head; the LSP head
      top is empty in SPIN's H36M files), centred on the mid-point of the hips.
      SPIN's H36M files are root-centred already (its preprocessing subtracts the H36M root) and
      the root lies midway between the hips in Human3.6M's skeleton (symmetric hip offsets), so
      this reproduces SPIN on its files (to a fraction of a mm) and also handles annotations in
      the camera frame. Invisible joints (``keypoints_3d_visible``) are left out; a sample whose
      hips are invisible gets no MPJPE (its pelvis is unknown) but still a PA-MPJPE. The
      prediction is as for 3DPW. No PVE (no GT mesh).

    In both protocols ``kpt2d_err`` is the mean distance in pixels between
    ``pred_instances.keypoints_2d`` (full image) and the visible GT keypoints, mapped back from
    the crop: ``bbox_center + keypoints_2d * bbox_size / 2``.

    ``process`` evaluates a whole batch at once (one body-model call, one batched Procrustes) and
    keeps one small dict of per-sample errors per sample, so the distributed collection of
    ``self.results`` is cheap and its truncation to the dataset size is exact. Each reported
    value is the mean over the samples where it could be computed (e.g. ``has_smpl = 1`` for
    the 3DPW protocol).

    Nothing silently wrong: a sample whose prediction holds NaN / inf is never dropped from a
    mean. By default it is an error naming the samples; with ``nonfinite_error`` it counts as a
    failure at that error (mm, and px for ``kpt2d_err``). ``nonfinite`` (the number of such
    samples) is always reported. Non-finite ground truth is an error naming the sample, and so
    are an empty evaluation and a protocol whose ground truth no sample has.

    Args:
        body_model (dict | nn.Module): Config of the body model (built with ``MODELS``), e.g.
            ``dict(type='GenderedSMPL', model_path='data/body_models/smpl',
            joint_set='h36m_17')``. Its models need the Human3.6M joint regressor. The 3DPW
            protocol needs a ``GenderedSMPL`` (a plain ``SMPL`` works only if every sample's
            gender is 0, neutral).
        protocol (str): ``'3dpw'`` or ``'h36m'``. Defaults to ``'3dpw'``.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Prefix of the metric names. Defaults to the protocol name.
        collect_dir (str, optional): Directory to collect results through (``'cpu'`` only).
        nonfinite_error (float, optional): the error a sample with a non-finite prediction
            counts as; None (default) makes such a sample an error.
    """
    PROTOCOLS = ('3dpw', 'h36m')

    def __init__(self,
                 body_model: Union[dict, nn.Module],
                 protocol: str = '3dpw',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None,
                 nonfinite_error: Optional[float] = None) -> None:
        if protocol not in self.PROTOCOLS:
            raise ValueError(f'SMPLMetric: protocol must be one of {self.PROTOCOLS}, '
                             f'got {protocol!r}')
        super().__init__(
            collect_device=collect_device, prefix=prefix or protocol, collect_dir=collect_dir)
        self.protocol = protocol
        if nonfinite_error is not None and not (math.isfinite(nonfinite_error) and
                                                nonfinite_error >= 0):
            raise ValueError(f'SMPLMetric: nonfinite_error must be a finite error >= 0 (or '
                             f'None: an error), got {nonfinite_error}')
        self.nonfinite_error = nonfinite_error
        self.body_model = MODELS.build(body_model) if isinstance(body_model, dict) \
            else body_model
        self.body_model.eval().requires_grad_(False)
        models = getattr(self.body_model, 'models', None)
        self.gendered = models is not None
        if self.gendered and 'neutral' not in models:
            raise ValueError('SMPLMetric: the body model must hold a neutral model (the H36M '
                             f'regressor of the predictions is the neutral one), got '
                             f'{list(models)}')
        self.neutral_model = models['neutral'] if self.gendered else self.body_model
        # the evaluation joints need the H36M regressor: missing, it is an error now, at build
        # time (naming what to give), not at the first evaluation
        self.neutral_model._check_joint_set('h36m_17')

    @torch.no_grad()
    def process(self, data_batch: Sequence[dict], data_samples: Sequence[dict]) -> None:
        """Compute the errors of a batch and keep them per sample in ``self.results``.

        Args:
            data_batch (Sequence[dict]): The batch from the dataloader (unused).
            data_samples (Sequence[dict]): Data samples as dicts with ``pred_instances`` and
                ``gt_instances`` (see docs/en/conventions.md).
        """
        if len(data_samples) == 0:
            return
        preds = [get_field(sample, 'pred_instances') for sample in data_samples]
        gts = [get_field(sample, 'gt_instances') for sample in data_samples]
        # compute where the predictions are
        device = stack_field(preds[:1], 'vertices', 'pred_instances').device
        self.body_model.to(device)

        names = [f'{meta_field(s, "dataset_name")}[{meta_field(s, "sample_idx")}]'
                 for s in data_samples]
        gt = self._ground_truth(gts, device, names)
        errors = self._errors(stack_field(preds, 'vertices', 'pred_instances', device), gt)
        if 'keypoints_2d' in preds[0] and 'keypoints_2d' in gts[0]:
            errors['kpt2d_err'] = self._keypoint_2d_errors(preds, gts, device, names)
        if all(has_field(sample, 'pred_instances_init') for sample in data_samples):
            inits = [get_field(sample, 'pred_instances_init') for sample in data_samples]
            init_errors = self._errors(
                stack_field(inits, 'vertices', 'pred_instances_init', device), gt)
            if 'kpt2d_err' in errors and 'keypoints_2d' in inits[0]:
                init_errors['kpt2d_err'] = self._keypoint_2d_errors(inits, gts, device, names)
            errors.update({f'{k}_init': v for k, v in init_errors.items()})
        for key in ('tto_loss', 'tto_loss_init'):
            if key in preds[0]:
                errors[key] = stack_field(preds, key, 'pred_instances', device).reshape(-1)
        if 'tto_loss' in preds[0]:
            # TTO on ground-truth 2D keypoints is an oracle: the metrics say so
            sources = [str(meta_field(sample, 'det_keypoints_source')) for sample in data_samples]
            errors['oracle_det_keypoints'] = torch.tensor(
                [float('oracle' in source) for source in sources], device=device)
        if 'vertices_steps' in preds[0]:
            # errors after every TTO step, computed here and dropped (results stay small)
            steps = stack_field(preds, 'vertices_steps', 'pred_instances', device)  # (B, S+1, V, 3)
            for k in range(steps.shape[1]):
                errors.update({f'{key}@{k}': v for key, v in
                               self._errors(steps[:, k], gt).items()})

        keys = list(errors)
        table = torch.stack([errors[key].to(torch.float64) for key in keys], 1).cpu()
        for name, row in zip(names, table.tolist()):
            self.results.append(dict(zip(keys, row), sample=name))

    def _ground_truth(self, gts: List[dict], device: torch.device,
                      names: List[str]) -> Dict[str, Tensor]:
        """The protocol's ground truth of a batch, computed once for every prediction;
        non-finite ground truth that the protocol reads is an error naming the sample."""
        if self.protocol == '3dpw':
            gt = self._gt_3dpw(gts, device)
            used = dict(vertices=gt['vertices'][gt['has_smpl']])
            rows = gt['has_smpl'].nonzero()[:, 0]
        else:
            gt = self._gt_h36m(gts, device)
            used = dict(keypoints_3d=torch.where(gt['visible'][..., None], gt['joints'], 0.))
            rows = torch.arange(len(gts), device=device)
        for key, value in used.items():
            bad = ~torch.isfinite(value.flatten(1)).all(1)
            if bool(bad.any()):
                raise ValueError(f'SMPLMetric: the ground truth ({key}) of sample '
                                 f'{names[int(rows[bad.nonzero()[0, 0]])]} is not finite '
                                 '(NaN / inf in its annotation)')
        return gt

    def _errors(self, pred_vertices: Tensor, gt: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """(B,) errors in mm of predicted vertices ``(B, 6890, 3)``; NaN where not computable,
        inf where the prediction is not finite (told apart in :meth:`compute_metrics`)."""
        finite = torch.isfinite(pred_vertices.reshape(len(pred_vertices), -1)).all(1)
        safe = torch.where(finite[:, None, None], pred_vertices, 0.)
        if self.protocol == '3dpw':
            errors = self._mesh_errors(safe, gt)
        else:
            errors = self._keypoint_3d_errors(safe, gt)
        return {k: _mark_nonfinite(v, finite) for k, v in errors.items()}

    def _gt_3dpw(self, gts: List[dict], device: torch.device) -> Dict[str, Tensor]:
        """GT mesh ``vertices (B, 6890, 3)``, its ``h36m (B, 17, 3)`` joints, ``has_smpl (B,)``."""
        pose = stack_field(gts, 'smpl_pose', 'gt_instances', device).reshape(-1, 72)
        betas = stack_field(gts, 'smpl_betas', 'gt_instances', device)
        gender = stack_field(gts, 'gender', 'gt_instances', device).reshape(-1).long()
        has_smpl = stack_field(gts, 'has_smpl', 'gt_instances', device).reshape(-1) > 0
        vertices, h36m = self._gt_mesh(betas, pose, gender)
        return dict(vertices=vertices, h36m=h36m, has_smpl=has_smpl)

    def _mesh_errors(self, pred_vertices: Tensor, gt: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """3DPW protocol: (B,) MPJPE, PA-MPJPE, PVE in mm; NaN without GT SMPL."""
        pred_h36m = self.neutral_model.regress_joints(pred_vertices, None, 'h36m_17')
        pred_pelvis, gt_pelvis = pred_h36m[:, :1], gt['h36m'][:, :1]
        pred_joints = pred_h36m[:, list(H36M_TO_J14)] - pred_pelvis
        gt_joints = gt['h36m'][:, list(H36M_TO_J14)] - gt_pelvis
        errors = dict(
            mpjpe=mpjpe(pred_joints, gt_joints),
            pa_mpjpe=pa_mpjpe(pred_joints, gt_joints),
            # (pred - pred_pelvis) - (gt - gt_pelvis), with one pass over the vertices
            pve=pve(pred_vertices - (pred_pelvis - gt_pelvis), gt['vertices']))
        return {k: torch.where(gt['has_smpl'], v * METRES_TO_MM, math.nan)
                for k, v in errors.items()}

    def _gt_mesh(self, betas: Tensor, pose: Tensor, gender: Tensor) -> Tuple[Tensor, Tensor]:
        """GT vertices (B, 6890, 3) posed by each sample's gender model, and their H36M joints
        (B, 17, 3) from the neutral model's regressor (the same file for every gender)."""
        if self.gendered:
            output = self.body_model(betas, pose, gender)
        elif bool((gender != 0).any()):
            raise ValueError('SMPLMetric: protocol 3dpw poses the ground truth with the '
                             'gender-specific models, but the body model '
                             f'{type(self.body_model).__name__} has a single model and the batch '
                             f'has gender codes {sorted(set(gender.tolist()))}; use '
                             "dict(type='GenderedSMPL', ...)")
        else:
            output = self.body_model(betas, pose)
        vertices = output['vertices']
        if self.body_model.joint_set == 'h36m_17':
            return vertices, output['joints']
        return vertices, self.neutral_model.regress_joints(vertices, None, 'h36m_17')

    def _gt_h36m(self, gts: List[dict], device: torch.device) -> Dict[str, Tensor]:
        """SPIN's 14 GT joints centred on the hips, ``joints (B, 14, 3)``, their ``visible``
        mask and ``has_pelvis (B,)``."""
        gt_keypoints = stack_field(gts, 'keypoints_3d', 'gt_instances', device)  # (B, 49, 3)
        gt_visible = stack_field(gts, 'keypoints_3d_visible', 'gt_instances', device)
        if gt_keypoints.shape[1] != len(J49_TO_J24) + 25 or gt_visible.shape != \
                gt_keypoints.shape[:2]:
            raise ValueError('SMPLMetric: gt_instances.keypoints_3d must be (1, 49, 3) and '
                             'keypoints_3d_visible (1, 49) per sample, got '
                             f'{tuple(gt_keypoints.shape[1:])} and '
                             f'{tuple(gt_visible.shape[1:])} (batched)')
        gt_24 = gt_keypoints[:, list(J49_TO_J24)]
        visible_24 = gt_visible[:, list(J49_TO_J24)] > 0
        hips = list(J24_HIP_INDICES)
        gt_pelvis = gt_24[:, hips].mean(1, keepdim=True)
        return dict(joints=gt_24[:, list(J24_TO_J14)] - gt_pelvis,
                    visible=visible_24[:, list(J24_TO_J14)],
                    has_pelvis=visible_24[:, hips].all(1))

    def _keypoint_3d_errors(self, pred_vertices: Tensor,
                            gt: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """Human3.6M protocol: (B,) MPJPE and PA-MPJPE in mm over the visible LSP joints."""
        pred_h36m = self.neutral_model.regress_joints(pred_vertices, None, 'h36m_17')
        pred_joints = pred_h36m[:, list(H36M_TO_J14)] - pred_h36m[:, :1]
        return dict(
            mpjpe=torch.where(gt['has_pelvis'],
                              mpjpe(pred_joints, gt['joints'], gt['visible']), math.nan) *
            METRES_TO_MM,
            pa_mpjpe=pa_mpjpe(pred_joints, gt['joints'], gt['visible']) * METRES_TO_MM)

    @staticmethod
    def _keypoint_2d_errors(preds: List[dict], gts: List[dict], device: torch.device,
                            names: List[str]) -> Tensor:
        """(B,) mean distance in px over the visible keypoints, in the full image (inf for a
        non-finite prediction)."""
        pred_keypoints = stack_field(preds, 'keypoints_2d', 'pred_instances', device)  # (B, K, 2)
        gt_crop = stack_field(gts, 'keypoints_2d', 'gt_instances', device)  # (B, K, 2) in [-1, 1]
        visible = stack_field(gts, 'keypoints_2d_visible', 'gt_instances', device)
        center = stack_field(gts, 'bbox_center', 'gt_instances', device).reshape(-1, 2)
        size = stack_field(gts, 'bbox_size', 'gt_instances', device).reshape(-1)
        if pred_keypoints.shape != gt_crop.shape:
            raise ValueError('SMPLMetric: pred_instances.keypoints_2d and '
                             'gt_instances.keypoints_2d differ in shape: '
                             f'{tuple(pred_keypoints.shape)} vs {tuple(gt_crop.shape)} (batched)')
        gt_keypoints = crop_normalized_to_full(gt_crop, center, size)
        bad = ~torch.isfinite(torch.where(visible[..., None] > 0, gt_keypoints, 0.)).reshape(
            len(visible), -1).all(1)
        if bool(bad.any()):
            raise ValueError(f'SMPLMetric: the ground truth (keypoints_2d, bbox) of sample '
                             f'{names[int(bad.nonzero()[0, 0])]} is not finite')
        finite = torch.isfinite(pred_keypoints.reshape(len(pred_keypoints), -1)).all(1)
        safe = torch.where(finite[:, None, None], pred_keypoints, 0.)
        return _mark_nonfinite(mpjpe(safe, gt_keypoints, visible), finite)

    def _check_protocol(self, results: list) -> None:
        """An error when no sample has the protocol's ground truth: every final MPJPE and
        PA-MPJPE not computable (NaN)."""
        for key in ('mpjpe', 'pa_mpjpe'):
            values = [r[key] for r in results if key in r]
            if values and all(math.isnan(v) for v in values):
                need = ('SMPL ground truth (has_smpl = 1)' if self.protocol == '3dpw' else
                        'visible 3D keypoints (keypoints_3d_visible > 0)')
                raise ValueError(f'SMPLMetric (protocol {self.protocol!r}): none of the '
                                 f'{len(results)} samples has {need}, so {key} cannot be '
                                 'computed; check the annotation file or the protocol')

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Average the per-sample errors.

        Args:
            results (list): One dict of per-sample errors (floats, NaN when not computable)
                per sample, from all ranks.

        Returns:
            dict: ``MPJPE``, ``PA-MPJPE``, ``PVE`` (mm) and ``kpt2d_err`` (px), each present when
            at least one sample had it; with test-time optimization also the same with
            ``_init`` (before it), ``tto_loss_init`` / ``tto_loss``, ``oracle_det_keypoints``
            (the fraction of samples whose TTO used the ground-truth 2D keypoints, an oracle;
            0 for real or simulated detections) and, when the steps were recorded, the 3D
            errors after step k, ``MPJPE@k`` etc.; ``nonfinite``, the number of samples with a
            non-finite prediction (counted at ``nonfinite_error``).
        """
        if not results:
            raise ValueError('SMPLMetric: no samples to evaluate (an empty test set, or a '
                             'dataloader that yielded nothing)')
        keys = [k for k in dict.fromkeys(k for r in results for k in r) if k != 'sample']
        nonfinite = sorted({r.get('sample', '?') for r in results
                            for k in keys if r.get(k) == math.inf})
        if nonfinite and self.nonfinite_error is None:
            raise ValueError(
                f'SMPLMetric: {len(nonfinite)} of {len(results)} samples have a non-finite '
                f'(NaN / inf) prediction, e.g. {", ".join(nonfinite[:5])}; a broken model does '
                'not score. Set nonfinite_error=<mm> to count them as failures at that error')
        self._check_protocol(results)
        metrics, rows = {}, []
        for key in sorted(keys, key=metric_order):
            name, unit = metric_name(key)
            values = np.array([r[key] for r in results if key in r], dtype=np.float64)
            values = values[~np.isnan(values)]  # not computable for the sample
            values[np.isinf(values)] = self.nonfinite_error or 0.
            if values.size == 0:
                continue
            metrics[name] = float(values.mean())
            value = f'{metrics[name]:>10.2f}' if unit else f'{metrics[name]:>10.4g}'
            rows.append(f'{name:<16} {value} {unit:<3} {values.size:>8d}')
        metrics['nonfinite'] = len(nonfinite)
        if nonfinite:
            rows.append(f'{"nonfinite":<16} {len(nonfinite):>10d}     {len(results):>8d}  '
                        f'(counted at {self.nonfinite_error} mm / px)')
        header = f'{"metric":<16} {"value":>10} {"":<3} {"samples":>8}'
        logger: MMLogger = MMLogger.get_current_instance()
        oracle = metrics.get('oracle_det_keypoints', 0.)
        note = (f', ORACLE: TTO on ground-truth 2D keypoints for {100 * oracle:.0f} % of the '
                'samples' if oracle > 0 else '')
        logger.info(f'SMPLMetric ({self.protocol}, {len(results)} samples{note}):\n' +
                    '\n'.join([header] + rows))
        return metrics


def _mark_nonfinite(errors: Tensor, finite: Tensor) -> Tensor:
    """(B,) errors with inf where the prediction was not finite and the error computable
    (NaN, not computable for the sample, stays NaN)."""
    return torch.where(finite | torch.isnan(errors), errors, math.inf)
