"""Optimizers over per-sample parameter tensors ``(B, ...)``, with samples that stop early.

SGD and Adam act on each element alone, so ``torch.optim.SGD`` / ``Adam`` stepping a stacked
``(B, ...)`` tensor is exactly B optimizers stepping B separate copies (the same step count for
all). A sample that stops early (``active`` False) must keep its parameters: its gradients are
zeroed from then on and, for Adam, its first moment is zeroed once when it stops, so that every
later update ``m / (sqrt(v) + eps)`` of it is exactly 0.
"""
from typing import Sequence

import torch
from torch import Tensor

OPTIMIZERS = ('sgd', 'adam')


class PerSampleOptimizer:
    """SGD or Adam (torch.optim's, multi-tensor) on per-sample tensors.

    Args:
        tensors (Sequence[Tensor]): leaf tensors whose first dimension is the sample.
        optimizer (str): ``'sgd'`` or ``'adam'``.
        lr (float): learning rate.
        betas (tuple[float, float]): Adam's coefficients. Defaults to (0.9, 0.999).
        eps (float): Adam's epsilon. Defaults to 1e-8.
    """

    def __init__(self, tensors: Sequence[Tensor], optimizer: str, lr: float,
                 betas=(0.9, 0.999), eps: float = 1e-8):
        if optimizer not in OPTIMIZERS:
            raise ValueError(f'optimizer must be one of {OPTIMIZERS}, got {optimizer!r}')
        if not lr > 0:
            raise ValueError(f'lr must be > 0, got {lr}')
        self.tensors = list(tensors)
        self.optimizer = optimizer
        if optimizer == 'sgd':
            self.optim = torch.optim.SGD(self.tensors, lr=lr, foreach=True)
        else:
            self.optim = torch.optim.Adam(self.tensors, lr=lr, betas=tuple(betas), eps=eps,
                                          foreach=True)
        self._active = None

    @torch.no_grad()
    def step(self, grads: Sequence[Tensor], active: Tensor) -> None:
        """Update every tensor of every active sample.

        Args:
            grads (Sequence[Tensor]): gradients of the summed per-sample losses, like
                ``tensors``.
            active (Tensor): ``(B,)`` bool; a sample once inactive stays so.
        """
        stopped = None if self._active is None else self._active & ~active
        all_active = bool(active.all())
        for p, g in zip(self.tensors, grads):
            if not all_active:  # where, not a product: a NaN gradient of a stopped sample
                g = torch.where(active.reshape((-1, ) + (1, ) * (g.dim() - 1)), g,
                                g.new_zeros(()))
            p.grad = g
        if stopped is not None and bool(stopped.any()) and self.optimizer == 'adam':
            for p in self.tensors:
                state = self.optim.state.get(p)
                if state:
                    state['exp_avg'][stopped] = 0
        self.optim.step()
        for p in self.tensors:
            p.grad = None
        self._active = active.clone()
