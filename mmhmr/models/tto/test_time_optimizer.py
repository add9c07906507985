"""Test-time optimization (TTO): each test sample fine-tunes its own copy of the network."""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.structures import InstanceData
from torch import Tensor, nn

from mmhmr.registry import MODELS
from .per_sample_estimator import ADAPT as PARAMS
from .per_sample_estimator import PerSampleEstimator
from .per_sample_optim import OPTIMIZERS, PerSampleOptimizer

SELECTS = ('best', 'last')
PER_SAMPLE = ('auto', 'copies', 'lowrank')
PHASE_KEYS = ('steps', 'optimizer', 'lr', 'params', 'loss')


@dataclass
class TTOResult:
    """What TTO returns for a batch (tensors ``(B, ...)``, detached).

    Attributes:
        final (dict): the decoded prediction after TTO (``CLIFFHead.decode_smpl`` fields).
        init (dict): the prediction before TTO, same fields.
        loss_init, loss_final (Tensor): ``(B,)`` test-time loss (of the selection objective)
            before and after.
        num_steps (Tensor): ``(B,)`` steps each sample took (early stopping ends some sooner).
        steps (dict, optional): with ``record_steps``: ``vertices (B, S + 1, V, 3)``,
            ``cam_transl (B, S + 1, 3)`` and ``loss (B, S + 1)`` of every iterate, the first
            being the initial prediction.
    """
    final: Dict[str, Tensor]
    init: Dict[str, Tensor]
    loss_init: Tensor
    loss_final: Tensor
    num_steps: Tensor
    steps: Optional[Dict[str, Tensor]] = None


@MODELS.register_module()
class TestTimeOptimizer(nn.Module):
    """Per-sample, batched test-time optimization of an mmhmr estimator.

    Every sample adapts its own copy of the chosen parameters on its own test-time loss
    (:class:`TestTimeLoss`: the projection of its mesh against its detected 2D keypoints,
    priors, optionally a pseudo ground truth), starting from the model's weights, which are
    never changed. The batch is computed at once, without a Python loop over samples, and a
    sample's result does not depend on the batch it is in.

    ``params``: ``'head'`` adapts the head's linear layers (the backbone runs once),
    ``'head+neck'`` the neck's parameters too, ``'all'`` every parameter (EFT); those of the
    backbone and neck as per-sample copies applied with ``torch.func``, in chunks of
    ``chunk_size`` samples to bound memory. Per-sample weights of the head are copies
    (``(B, out, in)``, any optimizer) or, for plain SGD, low-rank updates of the shared weights
    (``per_sample='lowrank'``, which ``'auto'`` picks when every phase is SGD on the head:
    much faster on CPU, the same result).

    Each iterate is scored by the selection loss (the last phase's loss unless ``select_loss``
    is given); a sample stops early in a phase when its loss changes by less than
    ``early_stop_tol`` between two iterates (it takes the next phase, if any); ``select='best'`` returns each sample's iterate of lowest selection
    loss (never worse than its start by its own objective), ``'last'`` its last (EFT).

    Args:
        steps (int): optimizer steps. Defaults to 14.
        optimizer (str): ``'sgd'`` or ``'adam'``. Defaults to ``'adam'``.
        lr (float): learning rate. Defaults to 1e-5.
        params (str): ``'head'``, ``'head+neck'`` or ``'all'``. Defaults to ``'head'``.
        loss (dict): the ``TestTimeLoss`` config. Defaults to its defaults.
        early_stop_tol (float): per-sample loss change that stops a sample; 0 never stops.
            Defaults to 2e-5.
        select (str): ``'best'`` or ``'last'``. Defaults to ``'best'``.
        record_steps (bool): keep every iterate's vertices and loss (for error-vs-step
            curves). Defaults to False.
        chunk_size (int, optional): samples optimised together; None: the whole batch.
        phases (list[dict], optional): successive phases, each with its own ``steps``,
            ``optimizer``, ``lr``, ``params``, ``loss`` (missing keys take the values above);
            e.g. the reference's one SGD step of the full loss on the head, then Adam on all
            parameters with the 2D loss. None: one phase of the arguments above.
        per_sample (str): ``'auto'``, ``'copies'`` or ``'lowrank'``. Defaults to ``'auto'``.
        select_loss (dict, optional): a ``TestTimeLoss`` config scoring iterates for
            ``select`` and early stopping. Defaults to the last phase's loss.
        betas (tuple[float, float]), eps (float): Adam's. Defaults to (0.9, 0.999), 1e-8.
    """

    def __init__(self,
                 steps: int = 14,
                 optimizer: str = 'adam',
                 lr: float = 1e-5,
                 params: str = 'head',
                 loss: dict = dict(type='TestTimeLoss'),
                 early_stop_tol: float = 2e-5,
                 select: str = 'best',
                 record_steps: bool = False,
                 chunk_size: Optional[int] = None,
                 phases: Optional[Sequence[dict]] = None,
                 per_sample: str = 'auto',
                 select_loss: Optional[dict] = None,
                 betas=(0.9, 0.999),
                 eps: float = 1e-8):
        super().__init__()
        defaults = dict(steps=steps, optimizer=optimizer, lr=lr, params=params, loss=loss)
        phase_cfgs = [dict()] if phases is None else list(phases)
        if not phase_cfgs:
            raise ValueError('TestTimeOptimizer: phases must not be empty')
        self.phases = []
        for i, phase in enumerate(phase_cfgs):
            unknown = set(phase) - set(PHASE_KEYS)
            if unknown:
                raise KeyError(f'TestTimeOptimizer: phase {i} has unknown keys '
                               f'{sorted(unknown)}; allowed: {PHASE_KEYS}')
            cfg = dict(defaults, **phase)
            self._check_phase(i, cfg)
            cfg['loss'] = MODELS.build(cfg['loss']) if isinstance(cfg['loss'], dict) \
                else cfg['loss']
            self.phases.append(cfg)
        # registered, so that the losses' buffers follow the model's device
        self.losses = nn.ModuleList([p['loss'] for p in self.phases])
        if select not in SELECTS:
            raise ValueError(f'TestTimeOptimizer: select must be one of {SELECTS}, got {select!r}')
        if per_sample not in PER_SAMPLE:
            raise ValueError(f'TestTimeOptimizer: per_sample must be one of {PER_SAMPLE}, '
                             f'got {per_sample!r}')
        lowrank_ok = all(p['optimizer'] == 'sgd' and p['params'] == 'head' for p in self.phases)
        if per_sample == 'lowrank' and not lowrank_ok:
            raise ValueError("TestTimeOptimizer: per_sample='lowrank' needs every phase to be "
                             "SGD on params='head' (Adam scales each weight on its own, which "
                             'no low-rank update represents)')
        self.lowrank = lowrank_ok if per_sample == 'auto' else per_sample == 'lowrank'
        if chunk_size is not None and chunk_size < 1:
            raise ValueError(f'TestTimeOptimizer: chunk_size must be >= 1, got {chunk_size}')
        if early_stop_tol < 0:
            raise ValueError(f'TestTimeOptimizer: early_stop_tol must be >= 0, got '
                             f'{early_stop_tol}')
        self.select_loss = None if select_loss is None else MODELS.build(select_loss)
        self.early_stop_tol, self.select, self.record_steps = early_stop_tol, select, record_steps
        self.chunk_size, self.betas, self.eps = chunk_size, tuple(betas), eps

    @staticmethod
    def _check_phase(i: int, cfg: dict) -> None:
        if not (isinstance(cfg['steps'], int) and cfg['steps'] >= 0):
            raise ValueError(f'TestTimeOptimizer: phase {i}: steps must be an int >= 0, got '
                             f'{cfg["steps"]!r}')
        if cfg['optimizer'] not in OPTIMIZERS:
            raise ValueError(f'TestTimeOptimizer: phase {i}: optimizer must be one of '
                             f'{OPTIMIZERS}, got {cfg["optimizer"]!r}')
        if cfg['params'] not in PARAMS:
            raise ValueError(f'TestTimeOptimizer: phase {i}: params must be one of {PARAMS}, '
                             f'got {cfg["params"]!r}')
        if not cfg['lr'] > 0:
            raise ValueError(f'TestTimeOptimizer: phase {i}: lr must be > 0, got {cfg["lr"]}')

    @property
    def total_steps(self) -> int:
        """Optimizer steps over all phases."""
        return sum(p['steps'] for p in self.phases)

    def run(self, model: nn.Module, inputs: Tensor, data_samples: Sequence,
            pseudo: Optional[Dict[str, Tensor]] = None) -> TTOResult:
        """Optimise every sample of a batch.

        Works under ``torch.no_grad()`` (mmengine's val / test loops): gradients are enabled
        inside. The model should be in eval mode (BatchNorm statistics and dropout fixed).

        Args:
            model (nn.Module): an mmhmr estimator: ``backbone``, optional ``neck``, and a head
                with ``regress(feats, data_samples, linear=None)`` and ``decode_smpl``.
            inputs (Tensor): ``(B, 3, H, W)`` preprocessed crops.
            data_samples (Sequence[PoseDataSample]): with ``gt_instances.det_keypoints_2d``
                ``(1, K, 2)`` and ``det_keypoints_2d_score (1, K)``.
            pseudo (dict, optional): a pseudo ground truth ``(B, ...)`` for the loss.

        Returns:
            TTOResult: the batch's results.
        """
        if model.training:
            raise RuntimeError('test-time optimization runs with the model in eval mode '
                               '(BatchNorm statistics and dropout fixed): call model.eval()')
        size = self.chunk_size or len(data_samples)
        results = []
        with torch.enable_grad():
            for start in range(0, len(data_samples), size):
                part = slice(start, start + size)
                results.append(self._run_chunk(
                    model, inputs[part], list(data_samples[part]),
                    None if pseudo is None else {k: v[part] for k, v in pseudo.items()}))
        if len(results) == 1:
            return results[0]
        cat = lambda ds: {k: torch.cat([d[k] for d in ds]) for k in ds[0]}  # noqa: E731
        return TTOResult(
            final=cat([r.final for r in results]), init=cat([r.init for r in results]),
            loss_init=torch.cat([r.loss_init for r in results]),
            loss_final=torch.cat([r.loss_final for r in results]),
            num_steps=torch.cat([r.num_steps for r in results]),
            steps=None if results[0].steps is None else cat([r.steps for r in results]))

    def _run_chunk(self, model, inputs, data_samples, pseudo) -> TTOResult:
        head = model.head
        batch = inputs.shape[0]
        det = detected_keypoints(data_samples, like=inputs)
        adapt = {p['params'] for p in self.phases}
        # the per-sample parameters of every part some phase adapts; each phase steps its own
        state = PerSampleEstimator(
            model, batch, adapt='all' if 'all' in adapt else
            'head+neck' if 'head+neck' in adapt else 'head', head_lowrank=self.lowrank)

        # the mesh is skinned at every step only if a loss term reads it; otherwise the joints'
        # vertices are enough, and the mesh is made for the iterates that are kept
        losses = [p['loss'] for p in self.phases] + [self.select_loss] * bool(self.select_loss)
        need_vertices = pseudo is not None and any('pseudo_vertices' in loss.terms
                                                   for loss in losses)

        def forward() -> Dict[str, Tensor]:
            # the fitted estimate only (a G2P head's stage 1 is neither fitted nor kept)
            return state(inputs, data_samples, vertices=need_vertices, estimate_only=True)

        result = self._optimise(forward, state, det, pseudo, batch,
                                lambda pred: _mesh(head, pred))
        for pred in (result.final, result.init):
            if 'vertices' not in pred:
                pred['vertices'] = _mesh(head, pred)
        return result

    def _optimise(self, forward, state, det, pseudo, batch, mesh) -> TTOResult:
        select_loss = self.select_loss or self.phases[-1]['loss']
        device = det['score'].device
        num_steps = torch.zeros(batch, dtype=torch.long, device=device)
        init = best = best_loss = loss_init = None
        records = []
        for index, phase in enumerate(self.phases):
            optim = None if self.lowrank else PerSampleOptimizer(
                state.tensors(phase['params']), phase['optimizer'], phase['lr'], self.betas,
                self.eps)
            # early stopping is per phase: a sample that stalled on one objective (or set of
            # parameters) still takes the next phase
            active = torch.ones(batch, dtype=torch.bool, device=device)
            previous = None
            for k in range(phase['steps'] + 1):
                # the last iterate of a phase is only scored: no graph
                with torch.set_grad_enabled(k < phase['steps']):
                    pred = forward()
                    if init is None:
                        init = {key: v.detach() for key, v in pred.items()}
                    losses = phase['loss'](pred, det, init, pseudo)['loss']
                with torch.no_grad():
                    score = losses.detach() if select_loss is phase['loss'] else \
                        select_loss(pred, det, init, pseudo)['loss'].detach()
                    if best is None:
                        best = {key: v.detach().clone() for key, v in pred.items()}
                        best_loss, loss_init = score.clone(), score.clone()
                    elif self.select == 'last':
                        best = {key: v.detach() for key, v in pred.items()}
                        best_loss = score
                    else:
                        better = score < best_loss
                        best = {key: _where(better, pred[key].detach(), best[key])
                                for key in best}
                        best_loss = torch.where(better, score, best_loss)
                    if self.record_steps and (index == 0 or k > 0):
                        records.append((pred['vertices'].detach() if 'vertices' in pred
                                        else mesh(pred), score, pred['cam_transl'].detach()))
                    if previous is not None and self.early_stop_tol > 0:
                        active &= (score - previous).abs() >= self.early_stop_tol
                    previous = score
                if k == phase['steps'] or not bool(active.any()):
                    state.discard_forward()
                    break
                num_steps += active.long()
                if self.lowrank:
                    state.sgd_step(losses.sum(), phase['lr'], active)
                else:
                    grads = torch.autograd.grad(losses.sum(), optim.tensors, allow_unused=True)
                    optim.step([torch.zeros_like(t) if g is None else g
                                for t, g in zip(optim.tensors, grads)], active)
        steps = None
        if self.record_steps:
            total = self.total_steps + 1
            # samples (or batches) that stopped early keep their last iterate
            records += [records[-1]] * (total - len(records))
            steps = dict(vertices=torch.stack([r[0] for r in records], 1),
                         loss=torch.stack([r[1] for r in records], 1),
                         cam_transl=torch.stack([r[2] for r in records], 1))
        return TTOResult(final=best, init=init, loss_init=loss_init, loss_final=best_loss,
                         num_steps=num_steps, steps=steps)


@torch.no_grad()
def _mesh(head, pred: Dict[str, Tensor]) -> Tensor:
    """``(B, V, 3)`` vertices of decoded predictions that were decoded without them."""
    return head.body_model(betas=pred['smpl_betas'].detach(),
                           pose=pred['smpl_pose'].detach())['vertices']


def _where(mask: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """``a`` where the per-sample ``mask (B,)``, else ``b``."""
    return torch.where(mask.reshape((-1, ) + (1, ) * (a.dim() - 1)), a, b)


def detected_keypoints(data_samples: Sequence, like: Tensor) -> Dict[str, Tensor]:
    """The detected 2D keypoints of a batch: ``keypoints_2d (B, K, 2)`` (box-normalised) and
    ``score (B, K)``, from ``gt_instances.det_keypoints_2d`` / ``det_keypoints_2d_score``."""
    values = {}
    for key, name in (('det_keypoints_2d', 'keypoints_2d'), ('det_keypoints_2d_score', 'score')):
        fields = [d.gt_instances.get(key) for d in data_samples]
        missing = [i for i, f in enumerate(fields) if f is None]
        if missing:
            meta = data_samples[missing[0]].metainfo
            raise KeyError(
                f'test-time optimization needs detected 2D keypoints, but sample '
                f'{meta.get("sample_idx")} of {meta.get("dataset_name")!r} has no '
                f'gt_instances.{key}: give the dataset det_keypoints=... (HMRDataset) or put '
                'SimulateKeypointDetections in the test pipeline (synthetic data)')
        values[name] = torch.cat([torch.as_tensor(f) for f in fields]).to(like)
    if not torch.isfinite(values['keypoints_2d']).all():
        raise ValueError('detected 2D keypoints hold NaN or inf')
    return values


def tto_instances(result: TTOResult, head) -> Dict[str, List[InstanceData]]:
    """Per-sample ``InstanceData`` of a TTO result: ``pred`` (after TTO, with
    ``tto_loss_init / tto_loss / tto_steps`` and, when recorded, ``vertices_steps
    (1, S + 1, V, 3)``, ``cam_transl_steps (1, S + 1, 3)``) and ``init`` (before TTO)."""
    preds = head.pred_to_instances(result.final)
    inits = head.pred_to_instances(result.init)
    for i, pred in enumerate(preds):
        pred.tto_loss_init = result.loss_init[i:i + 1]
        pred.tto_loss = result.loss_final[i:i + 1]
        pred.tto_steps = result.num_steps[i:i + 1]
        if result.steps is not None:
            pred.vertices_steps = result.steps['vertices'][i:i + 1]
            pred.cam_transl_steps = result.steps['cam_transl'][i:i + 1]
            pred.tto_loss_steps = result.steps['loss'][i:i + 1]
    return dict(pred=preds, init=inits)
