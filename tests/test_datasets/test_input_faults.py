"""Malformed synthetic domains and sampler ratios are errors naming the key, and never give
data silently (NaN / inf / bool where a number is expected)."""
import itertools
import math

import pytest

from mmhmr.datasets.samplers import MultiSourceRatioSampler
from mmhmr.datasets.synthetic.domain import resolve_domain


@pytest.mark.parametrize('key,value', [
    ('distance_range', (2.0, math.nan)),
    ('distance_range', (math.inf, 5.0)),
    ('distance_range', (True, 5.0)),
    ('focal_range', (500., math.nan)),
    ('pose_scale', math.nan),
    ('betas_std', math.inf),
    ('light_spread', True),
    ('occlusion_prob', math.nan),
    ('max_occluders', True),
    ('image_size', (160, True)),
    ('person_offset', math.nan),
    ('person_offset', (0.1, math.inf)),
])
def test_synthetic_domain_rejects_nan_inf_bool_by_key(key, value):
    with pytest.raises(ValueError, match=key):
        resolve_domain(dict(preset='train', **{key: value}))


class _Sized:
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n


@pytest.mark.parametrize('ratio', [[5, math.nan], [math.inf, 1], [1, True], [0, 1], [-1, 2]])
def test_ratio_sampler_rejects_non_finite_ratios(ratio):
    with pytest.raises(ValueError, match='source_ratio must be finite positive numbers'):
        MultiSourceRatioSampler(_FakeConcat([4, 4]), batch_size=4, source_ratio=ratio)


class _FakeConcat:
    """What the sampler reads of a ConcatDataset: the sources' sizes."""

    def __init__(self, sizes):
        self.datasets = [_Sized(n) for n in sizes]
        self.cumulative_sizes = list(itertools.accumulate(sizes))

    def __len__(self):
        return self.cumulative_sizes[-1]


def test_config_mistakes_are_caught_at_build_time(random_smpl_dir, tmp_path):
    """A head's body model with another joint set, a metric without the H36M regressor and a
    wrong protocol fail when the model / metric is built, naming the key."""
    import shutil

    from mmhmr.registry import METRICS, MODELS
    with pytest.raises(ValueError, match="body_model.joint_set must be 'spin_49'"):
        MODELS.build(dict(type='CLIFFHead', in_channels=8,
                          body_model=dict(type='SMPL', model_path=str(random_smpl_dir),
                                          joint_set='h36m_17')))
    bare = tmp_path / 'smpl'
    bare.mkdir()
    for gender in ('NEUTRAL', 'MALE', 'FEMALE'):
        shutil.copy(random_smpl_dir / f'SMPL_{gender}.npz', bare)
    with pytest.raises(FileNotFoundError, match='J_regressor_h36m'):
        METRICS.build(dict(type='SMPLMetric', body_model=dict(
            type='GenderedSMPL', model_path=str(bare), joint_set='smpl_24')))
    with pytest.raises(ValueError, match="protocol must be one of"):
        METRICS.build(dict(type='SMPLMetric', protocol='3DPW', body_model=dict(
            type='GenderedSMPL', model_path=str(random_smpl_dir), joint_set='h36m_17')))
