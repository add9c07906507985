"""Per-sample linear layers on token inputs (one feature per keypoint): an SGD step equals each
sample's own step, worked out with a copy of the layer per sample in the test."""
import copy

import torch
from torch import nn

from mmhmr.models.tto import PerSampleLinearCopies, PerSampleLinearLowRank


def loss_of(y, target):
    return ((y - target) ** 2).sum(dim=tuple(range(1, y.dim())))  # (B,)


def test_token_inputs_step_as_each_sample_alone():
    torch.manual_seed(0)
    layer = nn.Linear(5, 3).double()
    x = torch.randn(4, 7, 5, dtype=torch.float64)  # 4 samples, 7 tokens
    target = torch.randn(4, 7, 3, dtype=torch.float64)
    lr = 0.05
    # the reference: each sample's own copy, one SGD step on its own loss, applied twice
    # (the layer is applied to the tokens, then to the tokens again, as a refinement would)
    expected = []
    for i in range(4):
        own = copy.deepcopy(layer)
        loss = loss_of(own(x[i:i + 1]) + own(x[i:i + 1] * 0.5), target[i:i + 1]).sum()
        grads = torch.autograd.grad(loss, list(own.parameters()))
        with torch.no_grad():
            for p, g in zip(own.parameters(), grads):
                p -= lr * g
            expected.append(own(x[i:i + 1]))
    expected = torch.cat(expected)

    lowrank = PerSampleLinearLowRank([layer], 4)
    loss = loss_of(lowrank(layer, x) + lowrank(layer, x * 0.5), target)
    lowrank.sgd_step(loss.sum(), lr, torch.ones(4, dtype=torch.bool))
    torch.testing.assert_close(lowrank(layer, x), expected)
    lowrank.discard_forward()

    copies = PerSampleLinearCopies([layer], 4)
    loss = loss_of(copies(layer, x) + copies(layer, x * 0.5), target)
    grads = torch.autograd.grad(loss.sum(), copies.tensors())
    with torch.no_grad():
        for t, g in zip(copies.tensors(), grads):
            t -= lr * g
    torch.testing.assert_close(copies(layer, x), expected)
    # a 2D input is one token: the same layer, the same result as before the change
    torch.testing.assert_close(copies(layer, x[:, 0]), expected[:, 0])
    torch.testing.assert_close(lowrank(layer, x[:, 0]), expected[:, 0])


def test_an_inactive_sample_keeps_its_layer():
    torch.manual_seed(0)
    layer = nn.Linear(4, 2).double()
    x = torch.randn(3, 6, 4, dtype=torch.float64)
    lowrank = PerSampleLinearLowRank([layer], 3)
    before = layer(x).detach()
    loss = loss_of(lowrank(layer, x), torch.zeros(3, 6, 2, dtype=torch.float64))
    lowrank.sgd_step(loss.sum(), 0.1, torch.tensor([True, False, True]))
    after = lowrank(layer, x)
    torch.testing.assert_close(after[1], before[1])
    assert not torch.allclose(after[0], before[0])
