"""Reading fields of data samples as SMPLMetric receives them: dicts (mmengine's
``to_dict``) or data elements (``PoseDataSample`` / ``InstanceData``)."""
from typing import List, Optional

import torch
from torch import Tensor


def meta_field(sample, key: str):
    """A metainfo field of a data sample (dict, as mmengine passes it, or a data element)."""
    if isinstance(sample, dict):
        return sample.get(key, sample.get('metainfo', {}).get(key))
    return sample.metainfo.get(key)


def has_field(container, key: str) -> bool:
    """Whether a dict or a data sample holds ``key``."""
    return key in container if isinstance(container, dict) else hasattr(container, key)


def get_field(container, key: str):
    """``container[key]`` of a dict, or the attribute of a data element (``InstanceData``)."""
    return container[key] if isinstance(container, dict) else getattr(container, key)


def stack_field(instances: List[dict],
                key: str,
                owner: str,
                device: Optional[torch.device] = None) -> Tensor:
    """Concatenate one field of every sample's instances (each ``(1, ...)``) into ``(B, ...)``."""
    try:
        values = [torch.as_tensor(get_field(instance, key)) for instance in instances]
    except (KeyError, AttributeError):
        raise KeyError(f'SMPLMetric: {owner}.{key} is missing in a data sample; present: '
                       f'{sorted(next(i for i in instances if key not in i).keys())}') from None
    stacked = torch.cat(values) if values[0].ndim > 0 else torch.stack(values)
    return stacked.to(device) if device is not None else stacked
