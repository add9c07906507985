"""A sampler that mixes several datasets in fixed ratios inside every batch."""
import math
from typing import Iterator, List, Optional, Sequence, Union

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from mmhmr.registry import DATA_SAMPLERS


@DATA_SAMPLERS.register_module()
class MultiSourceRatioSampler(Sampler):
    """Every batch holds ``batch_size * ratio_i / sum(ratios)`` samples of source ``i``.

    Same idea and arguments as mmpose's ``MultiSourceSampler``, for mmengine's
    ``ConcatDataset`` (mmpose's accepts only its ``CombinedDataset``, which needs a full 2D-pose
    metainfo) as well as ``CombinedDataset``. Differences: the per-batch counts are rounded by
    largest remainder and must all be >= 1 (mmpose's loops forever on a count of 0); ``len()``
    is the number of indices an epoch yields; the index streams are a function of
    ``(seed, epoch)`` (``set_epoch``), so a resumed run sees the same data.

    Each source is drawn from an endless stream of permutations of its indices; the stream is
    the same on every rank and rank ``r`` of ``w`` takes positions ``r, r + w, r + 2w, ...``,
    so the ranks get disjoint indices and together cover each permutation exactly once.
    Epoch ``e`` continues the streams where epoch ``e - 1`` stopped. An epoch has
    ``ceil(len(dataset) / world_size)`` indices per rank (rounded up to whole batches when
    ``round_up``, else down), grouped in batches of ``batch_size``: set the dataloader's
    ``batch_size`` to the same value and do not shuffle there.

    Args:
        dataset (ConcatDataset | CombinedDataset): The sources, as ``dataset.datasets``.
        batch_size (int): Samples per batch (per rank).
        source_ratio (list[float]): Positive weights of the sources, e.g. ``[5, 3, 2]``.
        shuffle (bool): Draw random permutations (else ``0, 1, ..., n - 1`` repeated).
            Defaults to True.
        round_up (bool): Whether an epoch ends with a whole batch more rather than one less
            when ``len(dataset) / world_size`` is not a multiple of ``batch_size``.
            Defaults to True.
        seed (int, optional): Random seed, the same on every rank; synchronised across ranks
            when None. Defaults to None.

    Example config::

        train_dataloader = dict(
            batch_size=30,
            sampler=dict(type='MultiSourceRatioSampler', batch_size=30,
                         source_ratio=[5, 3, 2]),
            dataset=dict(type='ConcatDataset', ignore_keys=['dataset_name'],
                         datasets=[h36m, coco_mpii, mpi_inf_3dhp]))
    """

    def __init__(self,
                 dataset,
                 batch_size: int,
                 source_ratio: Sequence[Union[int, float]],
                 shuffle: bool = True,
                 round_up: bool = True,
                 seed: Optional[int] = None) -> None:
        if not hasattr(dataset, 'datasets'):
            raise TypeError('MultiSourceRatioSampler needs a ConcatDataset or CombinedDataset '
                            f'(with `.datasets`), got {type(dataset).__name__}')
        sizes = list(getattr(dataset, '_lens', None) or [len(d) for d in dataset.datasets])
        if not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f'batch_size must be a positive int, got {batch_size!r}')
        if len(source_ratio) != len(sizes):
            raise ValueError(f'source_ratio {list(source_ratio)} has {len(source_ratio)} '
                             f'entries for {len(sizes)} datasets')
        if not all(isinstance(r, (int, float)) and not isinstance(r, bool) and
                   math.isfinite(r) and r > 0 for r in source_ratio):
            raise ValueError(f'source_ratio must be finite positive numbers, got '
                             f'{list(source_ratio)}')
        empty = [i for i, n in enumerate(sizes) if n == 0]
        if empty:
            raise ValueError(f'datasets {empty} of the ConcatDataset are empty')

        self.dataset = dataset
        self.sizes = sizes
        self.offsets = np.cumsum([0] + sizes[:-1])
        self.batch_size = batch_size
        self.source_ratio = list(source_ratio)
        self.num_per_source = split_by_ratio(batch_size, self.source_ratio)
        zero = [i for i, n in enumerate(self.num_per_source) if n == 0]
        if zero:
            raise ValueError(f'batch_size {batch_size} gives no sample per batch to source(s) '
                             f'{zero} with source_ratio {self.source_ratio}')
        self.rank, self.world_size = get_dist_info()
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else seed
        self.epoch = 0

        per_rank = math.ceil(sum(sizes) / self.world_size)
        rounding = math.ceil if round_up else math.floor
        self.num_batches = max(1, rounding(per_rank / batch_size))

    def __iter__(self) -> Iterator[int]:
        per_source = [
            self._source_indices(s, num).reshape(self.num_batches, num)
            for s, num in enumerate(self.num_per_source)
        ]
        # (num_batches, batch_size): each row is one batch, sources side by side
        return iter(np.concatenate(per_source, axis=1).reshape(-1).tolist())

    def _source_indices(self, source: int, num_per_batch: int) -> np.ndarray:
        """This rank's global indices of ``source`` for the current epoch.

        Returns:
            np.ndarray: ``(num_batches * num_per_batch,)`` indices into the concatenation.
        """
        size = self.sizes[source]
        count = self.num_batches * num_per_batch
        start = self.epoch * count * self.world_size  # where this epoch starts in the stream
        positions = start + self.rank + self.world_size * np.arange(count)
        cycles, offsets = np.divmod(positions, size)
        local = np.empty(count, np.int64)
        for cycle in np.unique(cycles):
            in_cycle = cycles == cycle
            local[in_cycle] = self._permutation(source, int(cycle))[offsets[in_cycle]]
        return local + self.offsets[source]

    def _permutation(self, source: int, cycle: int) -> np.ndarray:
        """The ``cycle``-th permutation of ``source``'s indices, the same on every rank."""
        if not self.shuffle:
            return np.arange(self.sizes[source])
        rng = np.random.default_rng([self.seed, source, cycle])
        return rng.permutation(self.sizes[source])

    def __len__(self) -> int:
        return self.num_batches * self.batch_size

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch (called by mmengine's loops)."""
        self.epoch = epoch


def split_by_ratio(total: int, ratio: Sequence[float]) -> List[int]:
    """Split ``total`` into integers proportional to ``ratio`` (largest remainder).

    Args:
        total (int): The sum of the parts.
        ratio (list[float]): Positive weights.

    Returns:
        list[int]: Parts summing to ``total``; ties go to the earlier source.
    """
    quota = np.asarray(ratio, np.float64) * total / float(np.sum(ratio))
    parts = np.floor(quota).astype(np.int64)
    remainder_order = np.argsort(-(quota - parts), kind='stable')
    parts[remainder_order[:total - parts.sum()]] += 1
    return parts.tolist()
