"""Elementwise optimizers over per-sample parameter tensors ``(B, ...)``, with a per-sample mask.

SGD and Adam act on each element alone, so stepping a stacked ``(B, ...)`` tensor is exactly
stepping B separate copies with B optimizers (``torch.optim.SGD`` / ``Adam``, same defaults).
A sample that stopped early (``active`` False) keeps its parameters and its Adam moments.
"""
import math
from typing import List, Sequence

import torch
from torch import Tensor

OPTIMIZERS = ('sgd', 'adam')


class PerSampleOptimizer:
    """SGD or Adam on per-sample tensors.

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
        self.tensors: List[Tensor] = list(tensors)
        self.optimizer, self.lr, self.betas, self.eps = optimizer, lr, tuple(betas), eps
        self.step_count = 0
        if optimizer == 'adam':
            self.exp_avg = [torch.zeros_like(t) for t in self.tensors]
            self.exp_avg_sq = [torch.zeros_like(t) for t in self.tensors]

    @torch.no_grad()
    def step(self, grads: Sequence[Tensor], active: Tensor) -> None:
        """Update every tensor of every active sample.

        Args:
            grads (Sequence[Tensor]): gradients of the summed per-sample losses, like
                ``tensors``.
            active (Tensor): ``(B,)`` bool.
        """
        self.step_count += 1
        for i, (p, g) in enumerate(zip(self.tensors, grads)):
            mask = active.reshape((-1, ) + (1, ) * (p.dim() - 1)).to(p.dtype)
            if self.optimizer == 'sgd':
                p.sub_(self.lr * mask * g)
                continue
            beta1, beta2 = self.betas
            m, v = self.exp_avg[i], self.exp_avg_sq[i]
            m.copy_(torch.lerp(m, g, (1 - beta1) * mask))
            v.copy_(torch.lerp(v, g * g, (1 - beta2) * mask))
            # torch.optim.Adam's bias correction
            correction1 = 1 - beta1 ** self.step_count
            correction2 = math.sqrt(1 - beta2 ** self.step_count)
            update = (m / correction1) / (v.sqrt() / correction2 + self.eps)
            p.sub_(self.lr * mask * update)
