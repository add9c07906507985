"""An estimator whose adaptable parameters are each sample's own: the forward pass that
test-time optimization and the meta-learning inner step share."""
from typing import Dict, List, Optional, Sequence

import torch
from torch import Tensor, nn

from .per_sample_params import PerSampleLinearCopies, PerSampleLinearLowRank, PerSampleModule

ADAPT = ('head', 'head+neck', 'all')


class PerSampleEstimator:
    """Per-sample parameters of an mmhmr estimator and its forward pass with them.

    ``adapt`` chooses what every sample adapts: ``'head'`` the head's linear layers (the
    backbone and neck run once, shared by the batch), ``'head+neck'`` the neck's parameters too
    (a neck without parameters stays shared), ``'all'`` every parameter (the backbone's and
    neck's as :class:`PerSampleModule` copies applied with ``torch.func``).

    Args:
        model (nn.Module): an mmhmr estimator: ``backbone``, optional ``neck``, and a head with
            ``regress(feats, data_samples, linear=None)`` and ``decode_smpl``.
        batch_size (int): ``B``.
        adapt (str): ``'head'``, ``'head+neck'`` or ``'all'``. Defaults to ``'head'``.
        head_lowrank (bool): the head's per-sample weights as low-rank SGD updates of the
            shared ones (:class:`PerSampleLinearLowRank`, plain SGD only) instead of copies
            (any optimizer). Defaults to True.
        shared_grad (bool): the per-sample parameters are differentiable functions of the
            model's, and the shared features keep their graph (meta-learning: the outer loss
            trains the model through the adapted parameters); False: detached copies (TTO: the
            model is never changed). Needs ``head_lowrank``. Defaults to False.
    """

    def __init__(self, model: nn.Module, batch_size: int, adapt: str = 'head',
                 head_lowrank: bool = True, shared_grad: bool = False):
        if adapt not in ADAPT:
            raise ValueError(f'adapt must be one of {ADAPT}, got {adapt!r}')
        if shared_grad and not head_lowrank:
            raise ValueError('shared_grad needs head_lowrank (the SGD step of the meta-learning '
                             'inner loop)')
        self.model, self.batch_size, self.shared_grad = model, batch_size, shared_grad
        layers = [m for m in model.head.modules() if isinstance(m, nn.Linear)]
        self.head = PerSampleLinearLowRank(layers, batch_size, shared_grad) if head_lowrank \
            else PerSampleLinearCopies(layers, batch_size)
        self.with_neck = getattr(model, 'with_neck', False)
        neck_has_params = self.with_neck and any(True for _ in model.neck.parameters())
        self.neck = PerSampleModule(model.neck, batch_size, shared_grad) \
            if neck_has_params and adapt != 'head' else None
        self.backbone = PerSampleModule(model.backbone, batch_size, shared_grad) \
            if adapt == 'all' else None
        self._shared: Optional[tuple] = None  # the inputs and output of the unadapted part

    def features(self, inputs: Tensor):
        """The head's input features ``(B, ...)``: the unadapted part runs once per inputs."""
        model = self.model
        if self.backbone is not None:
            feats = self.backbone(inputs)
        else:
            grad = self.shared_grad and torch.is_grad_enabled()
            if self._shared is None or self._shared[:2] != (id(inputs), grad):
                with torch.set_grad_enabled(grad):
                    out = model.backbone(inputs)
                    if self.with_neck and self.neck is None:
                        out = model.neck(out)
                # inputs kept alive with the key, so that its id is not reused
                self._shared = (id(inputs), grad, out, inputs)
            feats = self._shared[2]
            if self.neck is None:
                return feats
        if not self.with_neck:
            return feats
        return self.neck(feats) if self.neck is not None else model.neck(feats)

    def forward(self, inputs: Tensor, data_samples: Sequence, vertices: bool = True,
                estimate_only: bool = False) -> Dict[str, Tensor]:
        """The decoded prediction (``CLIFFHead.decode_smpl`` fields) with every sample's own
        parameters; ``estimate_only``: the estimate alone (the head's ``decode_estimate``,
        where it has one: no intermediate estimates such as GlobalToPixelHead's stage 1),
        for passes whose loss reads nothing else."""
        head = self.model.head
        params = head.regress(self.features(inputs), data_samples, linear=self.head)
        decode = getattr(head, 'decode_estimate', head.decode_smpl) if estimate_only \
            else head.decode_smpl
        return decode(params, data_samples, vertices=vertices)

    __call__ = forward

    def tensors(self, adapt: str = 'all') -> List[Tensor]:
        """The per-sample tensors an optimizer steps for ``adapt`` (head copies, then the
        neck's and backbone's where they are adapted); none for a low-rank head."""
        tensors = [] if isinstance(self.head, PerSampleLinearLowRank) else \
            list(self.head.tensors())
        if adapt in ('head+neck', 'all') and self.neck is not None:
            tensors += self.neck.tensors()
        if adapt == 'all' and self.backbone is not None:
            tensors += self.backbone.tensors()
        return tensors

    def sgd_step(self, loss_sum: Tensor, lr: float, active: Tensor,
                 create_graph: bool = False) -> None:
        """One SGD step of every active sample's adapted parameters on its own loss (a low-rank
        head): ``loss_sum`` is the sum of the per-sample losses of the last forward pass, and
        one backward pass gives every part its gradients. ``create_graph`` keeps the step
        differentiable (second-order meta-learning)."""
        if not isinstance(self.head, PerSampleLinearLowRank):
            raise RuntimeError('sgd_step needs the low-rank head (head_lowrank=True); step '
                               'copies with an optimizer over tensors()')
        modules = [m for m in (self.neck, self.backbone) if m is not None]
        head_inputs = self.head.step_inputs()
        inputs = head_inputs + [t for m in modules for t in m.tensors()]
        grads = list(torch.autograd.grad(loss_sum, inputs, allow_unused=True,
                                         create_graph=create_graph))
        self.head.apply_grads(grads[:len(head_inputs)], lr, active, create_graph)
        start = len(head_inputs)
        for m in modules:
            count = len(m.params)
            m.apply_grads(grads[start:start + count], lr, active, create_graph)
            start += count

    def discard_forward(self) -> None:
        """Forget the records of a forward pass that is not followed by a step."""
        if isinstance(self.head, PerSampleLinearLowRank):
            self.head.discard_forward()
