"""The dual network (NeurIPS 2024): train the regressor *for* test-time optimization."""
import copy
from typing import Dict, Optional

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModel
from mmengine.runner import load_checkpoint
from mmpose.utils.typing import ConfigType, OptConfigType, SampleList
from torch import Tensor

from mmhmr.registry import MODELS
from ..tto import PerSampleEstimator, tto_instances
from ..utils.finite_losses import check_finite_losses
from ..tto.per_sample_estimator import ADAPT
from ..tto.test_time_optimizer import detected_keypoints


META_KEYS = ('inner_lr', 'inner_steps', 'first_order', 'adapt')


REFERENCE_TTO_KEYS = ('inner_lr', 'inner_steps', 'inner_params', 'steps', 'lr',
                      'early_stop_tol', 'record_steps', 'chunk_size', 'per_sample', 'betas',
                      'eps')


def reference_tto(inner_lr: float, inner_steps: int, inner_params: str = 'head',
                  steps: int = 14, lr: float = 1e-5, early_stop_tol: float = 2e-5,
                  **kwargs) -> dict:
    """The reference's test-time schedule as a ``TestTimeOptimizer`` config: the training
    inner step (``inner_steps`` SGD steps at ``inner_lr`` of ``inner_params``, the head in the
    reference) with the full test-time loss (2D to the detections + pseudo-SMPL + camera prior),
    then up to ``steps`` Adam steps at ``lr`` of the 2D loss on all parameters, each sample
    stopping when its loss changes by less than ``early_stop_tol``; the last iterate is the
    result. ``kwargs``: ``record_steps``, ``chunk_size``, ``per_sample``, ``betas``, ``eps``
    of ``TestTimeOptimizer``."""
    unknown = set(kwargs) - set(REFERENCE_TTO_KEYS)
    if unknown:
        raise KeyError(f'reference_tto: unknown keys {sorted(unknown)}; allowed: '
                       f'{", ".join(REFERENCE_TTO_KEYS)} (for another schedule give test_cfg.tto '
                       'a TestTimeOptimizer config)')
    return dict(
        type='TestTimeOptimizer',
        phases=[
            dict(steps=inner_steps, optimizer='sgd', lr=inner_lr, params=inner_params,
                 loss=dict(type='TestTimeLoss')),
            dict(steps=steps, optimizer='adam', lr=lr, params='all',
                 loss=dict(type='TestTimeLoss', camera_prior=None, pseudo_vertices=None,
                           pseudo_keypoints_3d=None, pseudo_smpl_pose=None,
                           pseudo_smpl_betas=None)),
        ],
        early_stop_tol=early_stop_tol,
        select='last',
        **kwargs)


@MODELS.register_module()
class DualNetworkHMR(BaseModel):
    """A main network f_w meta-learned for test-time optimization, and an auxiliary network
    f_u of the same kind whose prediction is the pseudo ground truth of the test-time loss.

    Training (all inside :meth:`loss`, so that ``MMDistributedDataParallel``'s forward carries
    it): for every sample i, ``inner_steps`` SGD steps of f_w's adaptable parameters on sample
    i's own test-time loss (:class:`TestTimeLoss`: 2D reprojection to its keypoints, f_u's
    pseudo-SMPL terms, the camera prior) give adapted weights ``w'_i``; the supervised loss of
    ``f_{w'_i}`` against the ground truth (``outer_weight`` x the head's losses) trains w
    (MAML); f_u's own supervised loss (``aux_weight`` x) trains u, so that f_u learns in
    first-order mode too. The inner step is per sample and batched
    (:class:`PerSampleEstimator`): low-rank updates of the head's linear layers, and with
    ``adapt='head+neck'`` / ``'all'`` per-sample copies of the neck / backbone applied with
    ``torch.func`` (their BatchNorm layers must be in eval mode, e.g. ``norm_eval=True``); no
    Python loop over samples, no batch-shared step. With ``first_order=False`` the gradients
    also flow through the inner step and through f_u's pseudo targets into u. Every per-sample
    loss is normalised by that sample's own labels, so the batch loss is the mean of the
    samples' losses.

    Inference: f_w's prediction, then test-time optimization of f_w with f_u's prediction as the
    pseudo ground truth (``pred_instances_init`` keeps f_w's regression): by default the
    reference's schedule (:func:`reference_tto`, its arguments in ``test_cfg.reference_tto``),
    or any ``TestTimeOptimizer`` config in ``test_cfg.tto`` (None: no TTO).

    Ablations: ``use_aux=False`` has no f_u (the inner and test-time losses lose their
    pseudo-SMPL terms: "meta w/o aux"); ``meta=None`` trains f_w by plain regression ("aux w/o
    meta").

    Args:
        main (dict): the main estimator's config (e.g. ``HMREstimator`` with a ``CLIFFHead``).
        aux (dict, optional): the auxiliary estimator's; None: a copy of ``main``'s config (its
            own parameters).
        use_aux (bool): whether there is an auxiliary network. Defaults to True.
        aux_checkpoint (str, optional): a checkpoint of the auxiliary estimator (e.g. a trained
            CLIFF, as the reference starts f_u), loaded by :meth:`init_weights`.
        meta (dict, optional): ``inner_lr`` (1e-5), ``inner_steps`` (1), ``first_order``
            (True), ``adapt`` (``'head'``, ``'head+neck'`` or ``'all'``; ``'head'``, as the
            reference). None: no inner step.
        inner_loss (dict): the ``TestTimeLoss`` of the inner step. Defaults to its defaults
            (the reference's weights).
        inner_keypoints (str): the 2D keypoints of the inner step: ``'gt'`` (the annotation,
            as the reference trains) or ``'det'`` (packed detections). Defaults to ``'gt'``.
        outer_weight (float): weight of the adapted main network's supervised loss. Defaults
            to 1 (the reference uses 60 with its loss weights).
        aux_weight (float): weight of f_u's own supervised loss; 0 leaves f_u untrained.
            Defaults to 1.
        data_preprocessor (dict, optional): e.g. ``PoseDataPreprocessor``.
        test_cfg (dict, optional): ``tto``: a ``TestTimeOptimizer`` config (None: no TTO);
            absent: the reference's schedule, with ``reference_tto`` (dict) the arguments of
            :func:`reference_tto` (e.g. ``steps``, ``record_steps``, ``chunk_size``; its
            ``inner_lr`` and ``inner_steps`` default to ``meta``'s).
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 main: ConfigType,
                 aux: OptConfigType = None,
                 use_aux: bool = True,
                 aux_checkpoint: Optional[str] = None,
                 meta: Optional[dict] = dict(inner_lr=1e-5, inner_steps=1, first_order=True,
                                             adapt='head'),
                 inner_loss: dict = dict(type='TestTimeLoss'),
                 inner_keypoints: str = 'gt',
                 outer_weight: float = 1.0,
                 aux_weight: float = 1.0,
                 data_preprocessor: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 init_cfg: OptConfigType = None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        # test-time optimization is the dual network's (test_cfg.tto, with f_u's pseudo
        # ground truth), never the wrapped estimators' own
        main, aux = _without_tto(main), None if aux is None else _without_tto(aux)
        self.main = MODELS.build(main)
        if not use_aux and (aux is not None or aux_checkpoint is not None):
            raise ValueError('DualNetworkHMR: use_aux=False has no auxiliary network; remove aux '
                             'and aux_checkpoint')
        self.aux = MODELS.build(copy.deepcopy(main) if aux is None else aux) if use_aux \
            else None
        self.has_meta = meta is not None
        meta = dict(meta or {})
        unknown = set(meta) - set(META_KEYS)
        if unknown:
            raise KeyError(f'DualNetworkHMR: unknown meta keys {sorted(unknown)}; allowed: '
                           f'{", ".join(META_KEYS)}')
        self.inner_lr = float(meta.get('inner_lr', 1e-5))
        self.inner_steps = int(meta.get('inner_steps', 1))
        self.first_order = bool(meta.get('first_order', True))
        self.adapt = meta.get('adapt', 'head')
        if self.inner_steps < 1 or not self.inner_lr > 0:
            raise ValueError(f'DualNetworkHMR: meta.inner_steps must be >= 1 and meta.inner_lr '
                             f'> 0, got {self.inner_steps} and {self.inner_lr}')
        if self.adapt not in ADAPT:
            raise ValueError(f'DualNetworkHMR: meta.adapt must be one of {ADAPT}, got '
                             f'{self.adapt!r}')
        neck = self.main.neck if getattr(self.main, 'with_neck', False) else None
        if self.adapt == 'head+neck' and (neck is None or not any(
                p.requires_grad for p in neck.parameters())):
            raise ValueError("DualNetworkHMR: meta.adapt='head+neck', but the main network has "
                             "no neck with parameters; use 'head' (or 'all')")
        if inner_keypoints not in ('gt', 'det'):
            raise ValueError(f"DualNetworkHMR: inner_keypoints must be 'gt' or 'det', got "
                             f'{inner_keypoints!r}')
        if not self.first_order:
            # the inner step's graph is differentiated again: modules with a once-differentiable
            # fast path (mmcv's deformable attention op) take their twice-differentiable one
            for module in self.main.modules():
                if hasattr(module, 'second_order'):
                    module.second_order = True
        self.inner_loss = MODELS.build(inner_loss)
        self.inner_keypoints = inner_keypoints
        self.outer_weight, self.aux_weight = float(outer_weight), float(aux_weight)
        self.test_cfg = dict(test_cfg or {})
        # an explicit test_cfg.tto (a config, or None: tools/test.py --no-tto) wins over the
        # reference schedule and its arguments
        tto = self.test_cfg.get('tto') if 'tto' in self.test_cfg else reference_tto(
            **dict(dict(inner_lr=self.inner_lr, inner_steps=self.inner_steps,
                        inner_params=self.adapt),
                   **(self.test_cfg.get('reference_tto') or {})))
        self.tto = MODELS.build(tto) if isinstance(tto, dict) else tto
        # switched by MetaLearningHook: off = plain regression of f_w (warm-up)
        self.meta_enabled = self.has_meta
        self.aux_checkpoint = aux_checkpoint

    def init_weights(self) -> None:
        """Initialise f_w; f_u from ``aux_checkpoint`` when one is given (mmengine calls this
        before training, not when testing a trained model, which holds f_u's weights)."""
        self.main.init_weights()
        if self.aux is None:
            return
        if self.aux_checkpoint is None:
            self.aux.init_weights()
        else:
            load_checkpoint(self.aux, self.aux_checkpoint, map_location='cpu', strict=True)

    def forward(self, inputs: Tensor, data_samples: SampleList = None, mode: str = 'tensor'):
        """mmengine's entry: ``'loss'``, ``'predict'`` or ``'tensor'`` (f_w's features)."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.main.extract_feat(inputs)
        raise RuntimeError(f'Invalid mode "{mode}". Only supports loss, predict and tensor mode.')

    def _inner_keypoints(self, data_samples: SampleList, targets: Dict[str, Tensor],
                         like: Tensor) -> Dict[str, Tensor]:
        """The 2D keypoints of the inner step (box-normalised) and their weights."""
        if self.inner_keypoints == 'det':
            return detected_keypoints(data_samples, like)
        return dict(keypoints_2d=targets['keypoints_2d'], score=targets['keypoints_2d_visible'])

    def loss(self, inputs: Tensor, data_samples: SampleList) -> Dict[str, Tensor]:
        """The meta-learning step's losses: ``loss_<term>`` of the adapted f_w (outer) and
        ``aux_loss_<term>`` of f_u; and, logged only (no 'loss' in their names, so mmengine
        does not add them to the total): ``inner_objective`` / ``inner_objective_after``, the
        mean test-time loss before and after the inner step, and ``outer_unadapted`` /
        ``meta_gain``, f_w's supervised loss without the step and how much the step lowers it.
        With ``meta_enabled`` False (MetaLearningHook's warm-up) f_w trains by plain
        regression. A non-finite loss is an error (:func:`check_finite_losses`)."""
        losses = self._losses(inputs, data_samples)
        check_finite_losses(losses, data_samples)
        return losses

    def _losses(self, inputs: Tensor, data_samples: SampleList) -> Dict[str, Tensor]:
        """The losses of :meth:`loss`, before the check."""
        main_head = self.main.head
        losses, pseudo = {}, None
        if self.aux is not None:
            aux_head = self.aux.head
            aux_pred = aux_head.decode_smpl(
                aux_head.regress(self.aux.extract_feat(inputs), data_samples), data_samples)
            if self.aux_weight:
                aux_losses = aux_head.loss_by_pred(aux_pred, data_samples)
                losses.update({f'aux_{k}': self.aux_weight * v for k, v in aux_losses.items()})
            # first order: f_u's prediction is a constant target of the inner step
            pseudo = aux_pred if not self.first_order else {k: v.detach() for k, v in
                                                            aux_pred.items()}
        # the ground truth once (its vertices cost a body-model pass) for every use below
        targets = main_head.targets_from_samples(data_samples, like=inputs)

        if not self.meta_enabled:
            outer = main_head.loss_by_pred(
                main_head.decode_smpl(main_head.regress(self.main.extract_feat(inputs),
                                                        data_samples), data_samples),
                data_samples, targets)
            losses.update({k: self.outer_weight * v for k, v in outer.items()})
            return losses
        det = self._inner_keypoints(data_samples, targets, like=inputs)
        adapted = PerSampleEstimator(self.main, inputs.shape[0], adapt=self.adapt,
                                     shared_grad=True)
        active = torch.ones(inputs.shape[0], dtype=torch.bool, device=inputs.device)
        for step in range(self.inner_steps):
            pred = adapted(inputs, data_samples)
            inner = self.inner_loss(pred, det, None, pseudo)['loss']  # (B,)
            if step == 0:
                with torch.no_grad():
                    unadapted = _total(main_head.loss_by_pred(pred, data_samples, targets))
                losses['inner_objective'] = inner.detach().mean()
            adapted.sgd_step(inner.sum(), self.inner_lr, active,
                             create_graph=not self.first_order)
        pred = adapted(inputs, data_samples)
        outer = main_head.loss_by_pred(pred, data_samples, targets)
        losses.update({k: self.outer_weight * v for k, v in outer.items()})
        with torch.no_grad():
            losses['inner_objective_after'] = self.inner_loss(pred, det, None,
                                                              pseudo)['loss'].mean()
            adapted_total = _total(outer)
            losses['outer_unadapted'] = self.outer_weight * unadapted
            losses['meta_gain'] = self.outer_weight * (unadapted - adapted_total)
        return losses

    def predict(self, inputs: Tensor, data_samples: SampleList) -> SampleList:
        """f_w's prediction, then (unless ``test_cfg.tto`` is None) test-time optimization
        with f_u's prediction as the pseudo ground truth."""
        if self.tto is None:
            return self.main.predict(inputs, data_samples)  # its test_cfg has no tto
        pseudo = None
        if self.aux is not None:
            with torch.no_grad():
                feats_u = self.aux.extract_feat(inputs)
                pseudo = self.aux.head.decode_smpl(
                    self.aux.head.regress(feats_u, data_samples), data_samples)
        instances = tto_instances(self.tto.run(self.main, inputs, data_samples, pseudo=pseudo),
                                  self.main.head)
        for sample, init, pred in zip(data_samples, instances['init'], instances['pred']):
            sample.pred_instances_init = init
            sample.pred_instances = pred
        return data_samples


def _without_tto(cfg: ConfigType) -> dict:
    """An estimator config without its own ``test_cfg.tto``."""
    cfg = copy.deepcopy(cfg)
    test_cfg = dict(cfg.get('test_cfg') or {})
    if test_cfg.pop('tto', None) is not None:
        print_log('DualNetworkHMR: the wrapped estimator\'s test_cfg.tto is not used (TTO is '
                  'the dual network\'s test_cfg.tto / reference_tto)', logger='current')
    cfg['test_cfg'] = test_cfg
    return cfg


def _total(losses: Dict[str, Tensor]) -> Tensor:
    """The sum of a head's ``loss_<term>`` values."""
    return sum(v for k, v in losses.items() if k.startswith('loss_'))
