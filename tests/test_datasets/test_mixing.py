"""Ratio-mixed training: ConcatDataset + MultiSourceRatioSampler."""
import numpy as np
import pytest
from npz_samples import spin_arrays
from mmengine.registry import init_default_scope
from torch.utils.data import DataLoader

import mmhmr.datasets.samplers as samplers
from mmhmr.datasets.hmr_dataset import HMRDataset  # noqa: F401  (registers HMRDataset)
from mmhmr.datasets.samplers import MultiSourceRatioSampler, split_by_ratio
from mmhmr.registry import DATA_SAMPLERS, DATASETS

SIZES = (120, 7, 45)  # deliberately not proportional to the ratios
RATIO = [5, 3, 2]


@pytest.fixture(scope='module')
def concat(tmp_path_factory):
    """Three HMRDatasets of SIZES samples, concatenated as a config would do it."""
    init_default_scope('mmhmr')
    root = tmp_path_factory.mktemp('mixing')
    datasets = []
    for i, num in enumerate(SIZES):
        np.savez(root / f'src{i}.npz', **spin_arrays(num))
        datasets.append(dict(type='HMRDataset', ann_file=str(root / f'src{i}.npz')))
    return DATASETS.build(
        dict(type='ConcatDataset', datasets=datasets, ignore_keys=['dataset_name']))


def source_of(indices):
    """Source number of global indices of the concatenation of SIZES."""
    return np.searchsorted(np.cumsum(SIZES), indices, side='right')


def build(dataset, rank=0, world_size=1, monkeypatch=None, **kwargs):
    if monkeypatch is not None:
        monkeypatch.setattr(samplers, 'get_dist_info', lambda: (rank, world_size))
    cfg = dict(type='MultiSourceRatioSampler', batch_size=10, source_ratio=RATIO)
    cfg.update(kwargs)
    # as mmengine's Runner.build_dataloader does
    return DATA_SAMPLERS.build(cfg, default_args=dict(dataset=dataset, seed=0))


def test_split_by_ratio():
    assert split_by_ratio(30, [0.5, 0.3, 0.2]) == [15, 9, 6]
    assert split_by_ratio(10, [1, 1, 1]) == [4, 3, 3]
    assert split_by_ratio(7, [5, 3, 2]) == [4, 2, 1]  # quotas 3.5, 2.1, 1.4


def test_every_batch_has_the_ratio_and_indices_hit_the_right_dataset(concat):
    sampler = build(concat)
    indices = np.array(list(sampler))
    assert len(indices) == len(sampler) == 180  # ceil(172 / 10) batches of 10
    batches = source_of(indices).reshape(-1, 10)
    counts = np.stack([(batches == s).sum(1) for s in range(3)], 1)
    assert (counts == [5, 3, 2]).all()
    # the global index reaches the sample of that dataset
    for idx in indices[:10]:
        assert concat.get_data_info(int(idx))['dataset_name'] == f'src{source_of(idx)}'
    # within one pass of a source, no index repeats before all were drawn
    src0 = indices[source_of(indices) == 0]
    assert len(src0) == 90 and len(set(src0.tolist())) == 90
    src1 = indices[source_of(indices) == 1] - 120  # 54 draws of 7 samples: each 7 or 8 times
    assert set(np.bincount(src1, minlength=7).tolist()) <= {7, 8}


def test_dataloader_batches_keep_the_ratio(concat):
    sampler = build(concat)
    loader = DataLoader(list(range(sum(SIZES))), batch_size=10, sampler=sampler)
    for batch in loader:
        assert np.bincount(source_of(batch.numpy()), minlength=3).tolist() == [5, 3, 2]


def test_ranks_get_disjoint_indices_covering_each_source(concat, monkeypatch):
    world_size = 4
    per_rank = [
        np.array(list(build(concat, rank, world_size, monkeypatch))) for rank in range(world_size)
    ]
    # ceil(172 / 4) = 43 per rank -> 5 batches of 10
    assert [len(x) for x in per_rank] == [50] * world_size
    for rank_indices in per_rank:
        counts = np.bincount(source_of(rank_indices), minlength=3)
        assert counts.tolist() == [25, 15, 10]
    everything = np.concatenate(per_rank)
    # source 0 (120 samples, 100 drawn in all): no index on two ranks, none twice
    src0 = everything[source_of(everything) == 0]
    assert len(src0) == 100 and len(np.unique(src0)) == 100
    # source 1 (7 samples, 60 drawn): every sample 8 or 9 times over the ranks
    src1 = everything[source_of(everything) == 1] - 120
    assert set(np.bincount(src1, minlength=7).tolist()) <= {8, 9}


def test_epochs_continue_the_stream_and_are_reproducible(concat, monkeypatch):
    sampler = build(concat)
    epoch0 = list(sampler)
    assert list(sampler) == epoch0  # same epoch, same indices
    sampler.set_epoch(1)
    epoch1 = np.array(list(sampler))
    both = np.concatenate([epoch0, epoch1])
    src0 = both[source_of(both) == 0]
    # 180 draws of 120 samples: the first 120 are one permutation, then a new one starts
    assert len(np.unique(src0[:120])) == 120
    assert set(np.bincount(src0, minlength=120).tolist()) <= {1, 2}
    # another process (e.g. after resuming) with the same seed draws the same epoch 1
    again = build(concat)
    again.set_epoch(1)
    assert list(again) == epoch1.tolist()


def test_round_up_false_drops_the_partial_batch(concat):
    assert len(list(build(concat, round_up=False))) == 170
    assert len(build(concat, round_up=False)) == 170


def test_no_shuffle_is_sequential(concat):
    indices = np.array(list(build(concat, shuffle=False)))
    src0 = indices[source_of(indices) == 0]
    np.testing.assert_array_equal(src0, np.arange(90))


@pytest.mark.parametrize('kwargs, words', [
    (dict(source_ratio=[1, 0, 1]), 'positive'),
    (dict(source_ratio=[1, 1]), '3 datasets'),
    (dict(batch_size=3, source_ratio=[10, 1, 1]), 'no sample per batch'),
    (dict(batch_size=0), 'batch_size'),
])
def test_bad_arguments(concat, kwargs, words):
    with pytest.raises(ValueError, match=words):
        build(concat, **kwargs)


def test_needs_a_concatenation():
    with pytest.raises(TypeError, match='ConcatDataset'):
        MultiSourceRatioSampler(list(range(5)), batch_size=2, source_ratio=[1])


def test_runner_builds_a_ratio_mixed_dataloader(write_npz, tmp_path):
    """The config snippet of the docs, through mmengine's Runner.build_dataloader."""
    from mmengine.runner import Runner
    pipeline = [
        dict(type='HMRLoadImage'),
        dict(type='HMRTopdownAffine', input_size=(32, 32)),
        dict(type='PackHMRInputs'),
    ]
    datasets = [
        dict(type='HMRDataset',
             ann_file=write_npz(f'd{i}.npz', spin_arrays(num, img_names=[
                 f'd{i}/{j}.jpg' for j in range(num)])),
             data_prefix=dict(img=str(tmp_path)), dataset_name=f'd{i}', pipeline=pipeline)
        for i, num in enumerate((12, 5, 8))
    ]
    loader = Runner.build_dataloader(
        dict(batch_size=10, num_workers=0,
             sampler=dict(type='MultiSourceRatioSampler', batch_size=10, source_ratio=RATIO),
             dataset=dict(type='ConcatDataset', datasets=datasets,
                          ignore_keys=['dataset_name'])),
        seed=0)
    batches = list(loader)
    assert len(batches) == 3  # ceil(25 / 10)
    for batch in batches:
        names = [s.dataset_name for s in batch['data_samples']]
        assert [names.count(f'd{i}') for i in range(3)] == [5, 3, 2]
        assert tuple(batch['inputs'][0].shape) == (3, 32, 32)
