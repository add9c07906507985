"""The per-sample result keys of SMPLMetric: their reported names and units, and the order
of the printed table (final errors, before TTO, the TTO losses, then step by step)."""
from typing import Tuple

# per-sample result key -> (reported name, unit)
METRIC_NAMES = {
    'mpjpe': ('MPJPE', 'mm'),
    'pa_mpjpe': ('PA-MPJPE', 'mm'),
    'pve': ('PVE', 'mm'),
    'kpt2d_err': ('kpt2d_err', 'px'),
}


def split_key(key: str) -> Tuple[str, str]:
    """``'pa_mpjpe@3'`` -> ``('pa_mpjpe', '@3')``; ``'pve_init'`` -> ``('pve', '_init')``."""
    if '@' in key:
        base, step = key.split('@', 1)
        return base, f'@{step}'
    if key.endswith('_init') and key[:-len('_init')] in METRIC_NAMES:
        return key[:-len('_init')], '_init'
    return key, ''


def metric_name(key: str) -> Tuple[str, str]:
    """The reported name and unit of a per-sample result key."""
    base, suffix = split_key(key)
    name, unit = METRIC_NAMES.get(base, (base, ''))
    return name + suffix, unit


def metric_order(key: str):
    """Final errors first, then before TTO, the TTO losses, then step by step."""
    base, suffix = split_key(key)
    names = list(METRIC_NAMES) + ['tto_loss_init', 'tto_loss', 'oracle_det_keypoints']
    rank = names.index(base) if base in names else len(names)
    if base.startswith('tto_loss') or base == 'oracle_det_keypoints':
        group = 2
    else:
        group = 0 if suffix == '' else 1 if suffix == '_init' else 3
    step = int(suffix[1:]) if suffix.startswith('@') else -1
    return (group, step, rank)
