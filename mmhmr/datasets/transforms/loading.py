"""Image loading whose errors name the sample."""
from typing import Optional

from mmpose.datasets.transforms import LoadImage

from mmhmr.registry import TRANSFORMS


@TRANSFORMS.register_module()
class HMRLoadImage(LoadImage):
    """mmpose's ``LoadImage`` whose errors also name the sample index and the dataset.

    mmpose's message names the path only; with several datasets mixed, the index and the
    dataset name say which annotation row points at the missing or unreadable file.

    Required Keys: ``img_path`` (or ``img``); optional ``sample_idx``, ``dataset_name``.

    Added Keys: ``img``, ``img_shape``, ``ori_shape`` (``(H, W)``).

    Args:
        **kwargs: The arguments of mmpose's ``LoadImage``.
    """

    def transform(self, results: dict) -> Optional[dict]:
        """Load the image; on failure re-raise naming the path, sample index and dataset."""
        try:
            return super().transform(results)
        except Exception as e:
            msg = (f'cannot load image {results.get("img_path")!r} of sample '
                   f'{results.get("sample_idx")} of dataset '
                   f'{results.get("dataset_name")!r}: {e}')
            try:
                error = type(e)(msg)
            except Exception:  # an exception type with another constructor
                error = RuntimeError(msg)
            raise error from e
