"""The base of mmhmr's supervised losses: a loss per sample, averaged over labelled samples."""
from typing import Tuple

import torch
from torch import Tensor, nn


def mask_samples(values: Tensor, valid: Tensor) -> Tensor:
    """``values (B, ...)`` where ``valid (B,)``, else exact zeros (also in the backward pass,
    whatever an unlabelled sample holds: a masked ``inf`` or NaN target leaves no NaN)."""
    return torch.where(valid.reshape((-1, ) + (1, ) * (values.dim() - 1)), values,
                       values.new_zeros(()))


class PerSampleLoss(nn.Module):
    """A loss that is the mean of per-sample losses over the samples that have a target.

    Subclasses implement :meth:`per_sample`, which returns each sample's loss, normalised by
    that sample's own labels only (its visible joints, its vertices, ...), and whether the
    sample has a target at all. So no sample's loss depends on the batch it is in -- test-time
    optimization and the meta-learning inner step take per-sample gradients and rely on it --
    and samples without a target neither count nor shrink the others' loss.

    Args:
        loss_weight (float): Weight of the loss. Defaults to 1.
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def per_sample(self, *inputs) -> Tuple[Tensor, Tensor]:
        """Returns ``loss (B,)`` (finite for every sample, 0 or anything where not valid) and
        ``valid (B,)`` bool."""
        raise NotImplementedError

    def forward(self, *inputs, reduction: str = 'mean') -> Tensor:
        """
        Args:
            *inputs: those of :meth:`per_sample`.
            reduction (str): ``'mean'``: ``loss_weight`` times the mean over valid samples (0,
                with a gradient path, when none is valid); ``'none'``: the ``(B,)`` weighted
                per-sample losses, 0 where not valid.

        Returns:
            Tensor: a scalar, or ``(B,)``.
        """
        loss, valid = self.per_sample(*inputs)
        loss = mask_samples(loss, valid)
        if reduction == 'none':
            return self.loss_weight * loss
        if reduction != 'mean':
            raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")
        return self.loss_weight * loss.sum() / valid.sum().clamp(min=1)
