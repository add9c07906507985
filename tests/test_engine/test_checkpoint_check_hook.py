"""CheckpointCheckHook and the non-finite loss check: no NaN checkpoint is written, a loaded
checkpoint must be finite and fit the model, and the first non-finite loss names its
iteration, terms and samples."""
import types

import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.structures import BaseDataElement
from torch import nn

from mmhmr.engine.hooks import CheckpointCheckHook
from mmhmr.models.utils.finite_losses import NonFiniteLossError, check_finite_losses


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)
        self.register_buffer('count', torch.zeros(1, dtype=torch.long))


def runner_with(model):
    return types.SimpleNamespace(model=model, iter=41)


def test_a_checkpoint_with_nan_weights_is_not_written():
    hook, model = CheckpointCheckHook(), Tiny()
    state = model.state_dict()
    hook.before_save_checkpoint(runner_with(model), dict(state_dict=state))  # finite: fine
    state['fc.bias'] = torch.tensor([0., float('nan')])
    with pytest.raises(FloatingPointError, match=r'iteration 41: 1 weight tensors hold NaN / '
                                                 r'inf \(fc.bias\).*previous checkpoint is kept'):
        hook.before_save_checkpoint(runner_with(model), dict(state_dict=state))


def test_a_loaded_checkpoint_must_be_finite_and_fit_the_model():
    hook, model = CheckpointCheckHook(), Tiny()
    good = {'module.' + k: v for k, v in model.state_dict().items()}  # a DDP checkpoint
    hook.after_load_checkpoint(runner_with(model), dict(state_dict=good))
    other = dict(model.state_dict(), **{'fc.weight': torch.zeros(5, 3), 'head.x': torch.ones(1)})
    del other['count']
    with pytest.raises(ValueError, match=r'does not fit the model Tiny: keys 1 missing '
                                         r'\(count\); 1 unexpected \(head.x\); 1 of another '
                                         r'shape \(fc.weight \(5, 3\) vs \(2, 3\)\)'):
        hook.after_load_checkpoint(runner_with(model), dict(state_dict=other))
    CheckpointCheckHook(strict=False).after_load_checkpoint(runner_with(model),
                                                           dict(state_dict=other))
    nan = dict(model.state_dict(), **{'fc.weight': torch.full((2, 3), float('inf'))})
    with pytest.raises(ValueError, match=r'NaN / inf in 1 weight tensors \(fc.weight\)'):
        CheckpointCheckHook(strict=False).after_load_checkpoint(runner_with(model),
                                                                dict(state_dict=nan))


def test_the_first_nonfinite_loss_names_iteration_terms_and_samples():
    hub = MessageHub.get_instance('test_nonfinite_loss')
    hub.update_info('iter', 17)
    samples = [BaseDataElement(metainfo=dict(dataset_name='h36m', sample_idx=i))
               for i in (3, 9)]
    losses = dict(loss_kpt=torch.tensor(1.), loss_pose=torch.tensor(float('nan')),
                  inner_objective=torch.tensor(float('inf')))  # diagnostics are not checked
    with pytest.raises(NonFiniteLossError, match=r'iteration 17: loss_pose = nan; the batch: '
                                                 r'h36m\[3\], h36m\[9\]'):
        check_finite_losses(losses, samples)
    check_finite_losses(dict(loss_kpt=torch.tensor(1.), inner_objective=torch.tensor(
        float('inf'))), samples)


def test_skip_wrapper_skips_nonfinite_batches_and_leaves_adam_untouched():
    """A NaN loss: no step (weights and Adam's moments as before), gradients cleared, the
    estimator's check warns instead of raising; a finite loss steps; max_skips in a row is an
    error."""
    import copy

    from mmhmr.engine.optim_wrappers import SkipNonFiniteOptimWrapper
    MessageHub.get_instance('test_skip_wrapper')
    model = Tiny()
    wrapper = SkipNonFiniteOptimWrapper(torch.optim.Adam(model.parameters(), lr=0.1),
                                        max_skips=3)
    x = torch.ones(4, 3)
    wrapper.update_params(model.fc(x).sum())  # a normal step fills Adam's state
    before = copy.deepcopy((model.state_dict(), wrapper.optimizer.state_dict()))
    samples = [BaseDataElement(metainfo=dict(dataset_name='h36m', sample_idx=1))]
    check_finite_losses(dict(loss_pose=torch.tensor(float('nan'))), samples)  # warns only
    wrapper.update_params(model.fc(x).sum() * float('nan'))
    torch.testing.assert_close(model.state_dict(), before[0])
    torch.testing.assert_close(wrapper.optimizer.state_dict()['state'], before[1]['state'])
    assert all(p.grad is None or (p.grad == 0).all() for p in model.parameters())
    wrapper.update_params(model.fc(x).sum())
    assert not torch.equal(model.fc.weight, before[0]['fc.weight'])
    with pytest.raises(FloatingPointError, match='3 batches in a row'):
        for _ in range(3):
            wrapper.update_params(model.fc(x).sum() * float('inf'))
    # the skip mode lives in this hub's runtime info: leave later tests the default (error)
    MessageHub.get_current_instance().runtime_info.pop('nonfinite_loss', None)
