"""Per-epoch worker seeds and the random states that travel with a checkpoint (the whole
kill-and-resume run is tests/test_e2e/test_kill_and_resume.py)."""
import io
import random
from functools import partial

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

import mmhmr.utils.workers as workers
from mmhmr.engine.hooks.random_states_hook import get_random_states, set_random_states


class Draws(Dataset):
    """Each item: what the worker's three generators give next."""

    def __len__(self):
        return 4

    def __getitem__(self, idx):
        return torch.tensor([np.random.rand(), random.random(), torch.rand(()).item()])


@pytest.fixture
def shared_epoch(monkeypatch):
    """A fresh installation of the workers' init (as tools/train.py makes it)."""
    import mmengine.runner.runner as runner_module
    monkeypatch.setattr(workers, '_shared_epoch', None)
    monkeypatch.setattr(runner_module, 'default_worker_init_fn',
                        runner_module.default_worker_init_fn)
    workers.install_worker_init()
    return runner_module.default_worker_init_fn


def epochs(init, first, last, persistent=True):
    """The items of epochs ``first..last`` of a 2-worker loader, as mmengine builds it."""
    loader = DataLoader(Draws(), batch_size=1, num_workers=2, persistent_workers=persistent,
                        worker_init_fn=partial(init, num_workers=2, rank=0, seed=11))
    out = []
    for epoch in range(first, last + 1):
        workers.set_worker_epoch(epoch)
        out.append(torch.cat(list(loader)))
    return out


def test_worker_seed_of_epoch_0_is_mmengines():
    assert workers.worker_seed(12, 0) == 12
    assert workers.worker_seed(12, 2) == 12 + 2 * workers.EPOCH_SEED_STRIDE
    assert workers.worker_seed(2**32 - 1, 1) == (2**32 - 1 + workers.EPOCH_SEED_STRIDE) % 2**32


@pytest.mark.parametrize('persistent', [True, False])
def test_workers_reseed_per_epoch_and_a_late_start_matches(shared_epoch, persistent):
    from mmengine.dataset import worker_init_fn as mmengine_init
    e0, e1, e2 = epochs(shared_epoch, 0, 2, persistent)
    # epoch 0 is what mmengine's seeding gives; later epochs draw new numbers
    (plain, ) = epochs(mmengine_init, 0, 0, persistent)
    assert torch.equal(e0, plain)
    assert not torch.equal(e0, e1) and not torch.equal(e1, e2)
    # a loader started at epoch 2 (a resumed run) draws what the long-running one drew
    (late, ) = epochs(shared_epoch, 2, 2, persistent)
    assert torch.equal(late, e2)
    # each worker's first item of an epoch is its seed's first draw
    rng = np.random.RandomState(workers.worker_seed(11, 1))  # worker 0 serves item 0
    assert e1[0, 0].item() == pytest.approx(rng.rand(), abs=0, rel=1e-7)


def test_random_states_round_trip_through_a_safe_load():
    torch.manual_seed(5)
    np.random.seed(5)
    random.seed(5)
    states = get_random_states()
    buffer = io.BytesIO()
    torch.save({'random_states': [states]}, buffer)
    expected = (np.random.rand(3), [random.random() for _ in range(3)], torch.rand(3))
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=True)['random_states'][0]
    np.random.seed(0)
    random.seed(0)
    torch.manual_seed(0)
    set_random_states(loaded)
    got = (np.random.rand(3), [random.random() for _ in range(3)], torch.rand(3))
    np.testing.assert_array_equal(got[0], expected[0])
    assert got[1] == expected[1]
    assert torch.equal(got[2], expected[2])


class BatchedDraws(Draws):
    """A dataset with the fetcher's batched path (``__getitems__``), as torch's Subset."""

    def __getitems__(self, indices):
        return [self[i] for i in indices]


def test_batched_datasets_reseed_too(shared_epoch):
    loader = DataLoader(BatchedDraws(), batch_size=2, num_workers=1, persistent_workers=True,
                        worker_init_fn=partial(shared_epoch, num_workers=1, rank=0, seed=4))
    firsts = []
    for epoch in (0, 1, 1):
        workers.set_worker_epoch(epoch)
        firsts.append(next(iter(loader))[0][0].item())
    rng = np.random.RandomState(workers.worker_seed(4, 1))
    assert firsts[1] == pytest.approx(rng.rand(), rel=1e-7)
    assert firsts[0] != firsts[1]


class Logger:
    def __init__(self):
        self.warnings = []

    def warning(self, message):
        self.warnings.append(message)


@pytest.mark.parametrize('saved_workers,now_workers,loop,warns', [
    (2, 2, 'epoch', []), (2, 0, 'epoch', ['dataloader workers']),
    (0, 0, 'iter', ['replays the data']), (2, 2, 'iter', [])])
def test_resumes_that_cannot_be_identical_warn(saved_workers, now_workers, loop, warns):
    from types import SimpleNamespace

    from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop

    from mmhmr.engine.hooks import RandomStatesHook
    cls = IterBasedTrainLoop if loop == 'iter' else EpochBasedTrainLoop
    train_loop = cls.__new__(cls)
    train_loop.dataloader = SimpleNamespace(num_workers=now_workers)
    runner = SimpleNamespace(_resume=True, logger=Logger(), train_loop=train_loop)
    hook = RandomStatesHook()
    states = dict(get_random_states(), num_workers=saved_workers)
    hook.after_load_checkpoint(runner, dict(random_states=[states]))
    assert len(runner.logger.warnings) == len(warns)
    for expected, got in zip(warns, runner.logger.warnings):
        assert expected in got
    assert hook._to_restore is states  # restored at the next epoch in every case
