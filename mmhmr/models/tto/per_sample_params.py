"""Per-sample parameters: every sample of a batch adapts its own copy of some layers.

Three forms, all batched (no Python loop over samples), all starting from the model's weights
(which they never change):

* :class:`PerSampleLinearCopies`: each linear layer's weight and bias copied per sample,
  ``(B, out, in)`` and ``(B, out)``, applied by a batched matmul. Any elementwise optimizer
  (SGD, Adam) steps them exactly as one optimizer per sample would.
* :class:`PerSampleLinearLowRank`: plain SGD only. A gradient step on a linear layer
  ``y = W x + b`` applied at inputs ``x_t`` (t over every application in a forward pass: the
  regressor applies each layer once per iteration) changes sample i's weight by ``-lr sum_t delta_it x_it^T``, a sum of rank-1
  terms, with ``delta_it = dL_i / dy_it``. So after k steps sample i's layer is
  ``W + U_i^T V_i`` with ``U_i = -lr [delta]`` and ``V_i = [x]`` stacked: applying it costs
  ``r (in + out)`` per sample instead of ``in x out``, and no weight is ever copied.
* :class:`PerSampleModule`: per-sample copies of all parameters of any module (a backbone,
  a neck), applied with ``torch.func.vmap`` over ``functional_call``.

Linear forms are passed to a head as its ``linear`` callable (see ``IterativeSMPLRegressor``).
"""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call, vmap
from torch.nn.modules.batchnorm import _BatchNorm


class _PerSampleLinear:
    """Shared bookkeeping: which layers are adapted, looked up by identity."""

    def __init__(self, layers: Sequence[nn.Linear], batch_size: int):
        if not layers:
            raise ValueError('no linear layers to adapt')
        self.layers = list(layers)
        self.index = {id(layer): i for i, layer in enumerate(self.layers)}
        self.batch_size = batch_size
        self.calls = 0  # layer applications routed through this object, for checks

    def _lookup(self, layer: nn.Linear) -> int:
        i = self.index.get(id(layer))
        if i is None:
            raise KeyError(f'layer {layer} is applied through the per-sample parameters but is '
                           'not one of the adapted layers')
        self.calls += 1
        return i

    def _check_batch(self, x: Tensor) -> None:
        if x.shape[0] != self.batch_size:
            raise ValueError(f'per-sample parameters hold {self.batch_size} samples, the input '
                             f'has {x.shape[0]}')


class PerSampleLinearCopies(_PerSampleLinear):
    """Each sample's own copy of every adapted linear layer.

    Args:
        layers (Sequence[nn.Linear]): the layers to adapt.
        batch_size (int): ``B``.

    Attributes:
        weights (list[Tensor]): ``(B, out, in)`` leaf tensors, one per layer.
        biases (list[Tensor]): ``(B, out)`` leaf tensors.
    """

    def __init__(self, layers: Sequence[nn.Linear], batch_size: int):
        super().__init__(layers, batch_size)
        self.weights = [layer.weight.detach()[None].repeat(batch_size, 1, 1).requires_grad_()
                        for layer in self.layers]
        self.biases = [
            (layer.bias.detach() if layer.bias is not None else
             layer.weight.new_zeros(layer.out_features))[None].repeat(batch_size, 1)
            .requires_grad_() for layer in self.layers
        ]

    def tensors(self) -> List[Tensor]:
        """The per-sample leaf tensors to optimise."""
        return self.weights + self.biases

    def __call__(self, layer: nn.Linear, x: Tensor) -> Tensor:
        """``(B, ..., in)`` -> ``(B, ..., out)`` with sample i's own weights (a token axis,
        e.g. one feature per keypoint, shares sample i's weights)."""
        i = self._lookup(layer)
        self._check_batch(x)
        tokens = x.reshape(x.shape[0], -1, x.shape[-1])  # (B, T, in)
        y = torch.baddbmm(self.biases[i][:, None], tokens, self.weights[i].transpose(1, 2))
        return y.reshape(*x.shape[:-1], y.shape[-1])


class PerSampleLinearLowRank(_PerSampleLinear):
    """Per-sample SGD on linear layers as low-rank updates of the shared weights.

    Use: call it as the head's ``linear`` during a forward pass, compute the summed per-sample
    loss, then :meth:`sgd_step`. Sample i's layer is ``W + U_i^T V_i`` (weights) and
    ``b + c_i`` (bias), see the module docstring.

    The same object is the meta-learning inner step: with ``shared_grad=True`` the shared
    weights stay in the graph (the outer loss trains them through the adapted layers), and
    ``sgd_step(..., create_graph=True)`` keeps the step itself differentiable (second order).

    Args:
        layers (Sequence[nn.Linear]): the layers to adapt.
        batch_size (int): ``B``.
        shared_grad (bool): whether gradients reach the shared weights. Defaults to False
            (test-time optimization never touches the model).
    """

    def __init__(self, layers: Sequence[nn.Linear], batch_size: int, shared_grad: bool = False):
        super().__init__(layers, batch_size)
        self.shared_grad = shared_grad
        self.u = [None] * len(self.layers)  # (B, r, out)
        self.v = [None] * len(self.layers)  # (B, r, in)
        # the bias deltas are leaves that require grad, so that every layer output is in the
        # graph even when the features are constants
        self.bias_deltas = [layer.weight.new_zeros(batch_size, layer.out_features)
                            .requires_grad_() for layer in self.layers]
        self._records = []  # (layer index, input, output) of the current forward pass

    def __call__(self, layer: nn.Linear, x: Tensor) -> Tensor:
        """``(B, ..., in)`` -> ``(B, ..., out)`` with sample i's adapted layer (a token axis,
        e.g. one feature per keypoint, shares sample i's layer: each token adds rank-1 terms
        to its gradient)."""
        i = self._lookup(layer)
        self._check_batch(x)
        weight, bias = layer.weight, layer.bias
        if not self.shared_grad:
            weight, bias = weight.detach(), None if bias is None else bias.detach()
        tokens = x.reshape(x.shape[0], -1, x.shape[-1])  # (B, T, in)
        y = F.linear(tokens, weight, bias) + self.bias_deltas[i][:, None]
        if self.u[i] is not None:
            y = y + torch.einsum('bro,btr->bto', self.u[i],
                                 torch.einsum('bri,bti->btr', self.v[i], tokens))
        self._records.append((i, tokens, y))
        return y.reshape(*x.shape[:-1], y.shape[-1])

    def sgd_step(self, loss_sum: Tensor, lr: float, active: Tensor,
                 create_graph: bool = False) -> None:
        """One SGD step of every active sample on its own loss.

        Args:
            loss_sum (Tensor): the sum over samples of the per-sample losses of the last forward
                pass (samples are independent, so its gradient w.r.t. a layer output is per
                sample).
            lr (float): learning rate.
            active (Tensor): ``(B,)`` bool; inactive samples keep their layers.
            create_graph (bool): keep the step differentiable (second-order meta-learning);
                False makes it a constant (first order, and test-time optimization).
        """
        outputs = self.step_inputs()
        # a layer output the loss does not reach has no gradient (None): no update from it
        deltas = torch.autograd.grad(loss_sum, outputs, allow_unused=True,
                                     create_graph=create_graph)
        self.apply_grads(deltas, lr, active, create_graph)

    def step_inputs(self) -> List[Tensor]:
        """The tensors whose gradients :meth:`apply_grads` takes: the layer outputs of the
        last forward pass."""
        if not self._records:
            raise RuntimeError('sgd_step needs a forward pass through the per-sample layers')
        return [y for _, _, y in self._records]

    def apply_grads(self, deltas: Sequence[Optional[Tensor]], lr: float, active: Tensor,
                    create_graph: bool = False) -> None:
        """The SGD step from the gradients of the summed loss w.r.t. :meth:`step_inputs`
        (None: no update from that output)."""
        new_u: Dict[int, list] = {}
        new_v: Dict[int, list] = {}
        for (i, x, _), delta in zip(self._records, deltas):
            if delta is None:
                continue
            # where, not a product: a stopped sample with a NaN gradient keeps its layer
            # (B, T, out) and (B, T, in): every token of every application adds a rank-1 term
            new_u.setdefault(i, []).append(
                torch.where(active[:, None, None], -lr * delta, delta.new_zeros(())))
            new_v.setdefault(i, []).append(x if create_graph else x.detach())
        for i in new_u:
            u, v = torch.cat(new_u[i], 1), torch.cat(new_v[i], 1)  # (B, t, out), (B, t, in)
            self.u[i] = u if self.u[i] is None else torch.cat([self.u[i], u], 1)
            self.v[i] = v if self.v[i] is None else torch.cat([self.v[i], v], 1)
            self.bias_deltas[i] = self.bias_deltas[i] + u.sum(1)
        self._records.clear()

    def discard_forward(self) -> None:
        """Forget the records of a forward pass that is not followed by a step."""
        self._records.clear()

    def dense(self, i: int) -> Dict[str, Tensor]:
        """Sample-wise dense weights ``(B, out, in)`` and biases of layer ``i`` (for checks)."""
        layer = self.layers[i]
        weight = layer.weight.detach()[None].expand(self.batch_size, -1, -1)
        if self.u[i] is not None:
            weight = weight + torch.einsum('bro,bri->boi', self.u[i], self.v[i])
        bias = (layer.bias.detach() if layer.bias is not None else 0) + self.bias_deltas[i].detach()
        return dict(weight=weight, bias=bias)


class PerSampleModule:
    """Per-sample parameters of every parameter of ``module``, applied with ``torch.func``.

    Buffers are shared and never updated, so BatchNorm layers must be in eval mode (their
    running statistics; a per-sample forward has no batch to take statistics over): at test
    time the model is, in training a backbone needs ``norm_eval=True`` (mmpose's backbones).
    Dropout draws each sample's own mask.

    Args:
        module (nn.Module): e.g. a backbone.
        batch_size (int): ``B``.
        shared_grad (bool): False (test-time optimization): the per-sample parameters are
            detached leaf copies, stepped by an optimizer. True (the meta-learning inner step):
            they start as the module's parameters broadcast over the batch, in the graph, so
            that a loss after :meth:`apply_grads` trains the module through them.

    Attributes:
        params (dict[str, Tensor]): ``(B, ...)`` tensors by parameter name.
    """

    def __init__(self, module: nn.Module, batch_size: int, shared_grad: bool = False):
        self.module = module
        self.batch_size = batch_size
        self.shared_grad = shared_grad
        self.params = {
            name: (p[None].expand(batch_size, *p.shape) if shared_grad else
                   p.detach()[None].repeat(batch_size, *([1] * p.dim())).requires_grad_())
            for name, p in module.named_parameters()
        }
        # with shared_grad, frozen parameters (requires_grad=False, e.g. frozen_stages) stay
        # shared and unadapted
        self.adapted = [name for name, p in module.named_parameters()
                        if not shared_grad or p.requires_grad]
        self.buffers = {name: b for name, b in module.named_buffers()}

    def tensors(self) -> List[Tensor]:
        """The per-sample tensors to optimise."""
        return [self.params[name] for name in self.adapted]

    def apply_grads(self, grads: Sequence[Optional[Tensor]], lr: float, active: Tensor,
                    create_graph: bool = False) -> None:
        """One SGD step of every active sample, from the gradients of the summed per-sample
        loss w.r.t. :meth:`tensors` (None: no update of that tensor)."""
        for name, g in zip(self.adapted, grads):
            p = self.params[name]
            if g is None:
                continue
            g = g if create_graph else g.detach()
            mask = active.reshape((-1, ) + (1, ) * (p.dim() - 1))
            self.params[name] = p - lr * torch.where(mask, g, g.new_zeros(()))

    def __call__(self, x):
        """Apply sample i's module to sample i of ``x``: a tensor ``(B, ...)`` (a backbone's
        input) or a tuple / list of them (a neck's feature maps); outputs with a leading ``B``."""
        sizes = {t.shape[0] for t in _tensors(x)}
        if sizes != {self.batch_size}:
            raise ValueError(f'per-sample parameters hold {self.batch_size} samples, the input '
                             f'has batch sizes {sorted(sizes)}')
        training_norms = [name for name, m in self.module.named_modules()
                          if isinstance(m, _BatchNorm) and m.training]
        if training_norms:
            more = f' (and {len(training_norms) - 1} more)' if len(training_norms) > 1 else ''
            raise RuntimeError(
                f'per-sample parameters of {type(self.module).__name__} need its BatchNorm '
                f'layers in eval mode, but {training_norms[0]!r}{more} is training: a '
                'per-sample forward has no batch statistics to take. Freeze its statistics '
                "(norm_eval=True in mmpose's backbones), or adapt only the head "
                "(meta.adapt='head')")

        def one(params, sample):
            return _drop_batch(functional_call(self.module, (params, self.buffers),
                                               (_add_batch(sample), )))

        return vmap(one, randomness='different')(self.params, x)


def _tensors(x) -> List[Tensor]:
    """The tensors of a tensor or of nested tuples / lists of them."""
    return [x] if isinstance(x, Tensor) else [t for item in x for t in _tensors(item)]


def _add_batch(x):
    """Give a tensor (or tuples / lists of them) a batch of one."""
    return x[None] if isinstance(x, Tensor) else type(x)(_add_batch(item) for item in x)


def _drop_batch(out):
    """Strip the batch of one from a module's output (a tensor, or tuples / lists of them)."""
    if isinstance(out, Tensor):
        return out[0]
    return type(out)(_drop_batch(o) for o in out)
