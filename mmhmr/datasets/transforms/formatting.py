"""Pack an HMR sample into the model's input tensor and a ``PoseDataSample``."""
from typing import Sequence

import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.structures import InstanceData
from mmpose.datasets.transforms.formatting import image_to_tensor
from mmpose.structures import PoseDataSample

from mmhmr.registry import TRANSFORMS
from .cliff_bbox_info import fill_focal_length

DEFAULT_META_KEYS = ('img_path', 'ori_shape', 'img_shape', 'input_size', 'input_center',
                     'input_scale', 'flip', 'rotation', 'sample_idx', 'dataset_name',
                     'det_keypoints_source')


@TRANSFORMS.register_module()
class PackHMRInputs(BaseTransform):
    """Pack the crop into ``inputs (3, H_in, W_in)`` (uint8, as mmpose's ``PackPoseInputs``)
    and the annotations into ``data_samples``, a ``PoseDataSample``.

    ``gt_instances`` holds one instance as numpy arrays (float32 unless said; numpy as in mmpose's
    ``PackPoseInputs``: dataloader workers pass a tensor through shared memory one by one, which
    for ~15 small fields a sample costs more than the sample itself; heads convert them):
    ``keypoints_2d (1, K, 2)``
    (crop-normalised, from ``keypoints_2d_crop``), ``keypoints_2d_visible (1, K)``,
    ``keypoints_3d (1, K, 3)``, ``keypoints_3d_visible (1, K)``, ``smpl_pose (1, 72)``,
    ``smpl_betas (1, 10)``, ``has_smpl (1,)``, ``gender (1,)`` (int64), ``bbox_center (1, 2)``,
    ``bbox_size (1,)``, ``focal_length (1,)``, ``bbox_info (1, 3)``, ``cam_transl (1, 3)``,
    ``has_transl (1,)``. Missing optional fields: ``keypoints_3d`` zeros (confidence 0), SMPL
    zeros with ``has_smpl = 0``, ``gender`` 0, ``cam_transl`` zeros with ``has_transl = 0``,
    ``bbox_info`` zeros (add ``CLIFFBBoxInfo`` for CLIFF heads), ``focal_length``
    ``sqrt(W^2 + H^2)``.

    Detected 2D keypoints (test-time inputs, from ``HMRDataset(det_keypoints=...)`` or
    ``SimulateKeypointDetections``), only when the sample has them:
    ``det_keypoints_2d (1, K, 2)`` (crop-normalised, from ``det_keypoints_2d_crop``) and
    ``det_keypoints_2d_score (1, K)`` (detector confidence, 0 where nothing was detected).
    They go into ``gt_instances`` as mmpose keeps its detector outputs used as inputs (the
    person boxes) there. Without detections nothing is packed: zeros would read as "detected
    nothing" where the consumer should be told the sample has no detections.

    Metainfo: ``meta_keys`` present in the results; ``flip`` defaults to False and ``rotation``
    to 0 when no transform set them.

    Args:
        meta_keys (Sequence[str]): Keys copied into the metainfo. Defaults to ``img_path``,
            ``ori_shape``, ``img_shape``, ``input_size``, ``input_center``, ``input_scale``,
            ``flip``, ``rotation``, ``sample_idx``, ``dataset_name``, ``det_keypoints_source``
            (where the detections come from: ``'openpose'``, ``'gt (oracle)'``,
            ``'simulated'`` or a file name).
    """

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META_KEYS) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        """Pack the sample.

        Returns:
            dict: ``inputs`` (Tensor ``(3, H_in, W_in)``) and ``data_samples``
            (``PoseDataSample``).
        """
        if 'keypoints_2d_crop' not in results:
            raise KeyError('keypoints_2d_crop is missing: put HMRTopdownAffine before '
                           'PackHMRInputs')
        num_kpts = len(results['keypoints_2d_crop'])
        kp2d = np.asarray(results['keypoints_2d_crop'], np.float32)
        kp3d = np.asarray(results.get('keypoints_3d', np.zeros((num_kpts, 4))), np.float32)
        has_smpl = results.get('has_smpl', 0.) if 'smpl_pose' in results else 0.

        def f32(value, shape):
            return np.asarray(value, np.float32).reshape(shape)

        gt = InstanceData()
        gt.keypoints_2d = f32(kp2d[:, :2], (1, num_kpts, 2))
        gt.keypoints_2d_visible = f32(kp2d[:, 2], (1, num_kpts))
        gt.keypoints_3d = f32(kp3d[:, :3], (1, num_kpts, 3))
        gt.keypoints_3d_visible = f32(kp3d[:, 3], (1, num_kpts))
        gt.smpl_pose = f32(results.get('smpl_pose', np.zeros(72)), (1, 72))
        gt.smpl_betas = f32(results.get('smpl_betas', np.zeros(10)), (1, 10))
        gt.has_smpl = f32(has_smpl, (1, ))
        gt.gender = np.array([int(results.get('gender', 0))], np.int64)
        gt.bbox_center = f32(results['bbox_center'], (1, 2))
        gt.bbox_size = f32(results['bbox_size'], (1, ))
        gt.focal_length = f32(fill_focal_length(results), (1, ))
        gt.bbox_info = f32(results.get('bbox_info', np.zeros(3)), (1, 3))
        gt.cam_transl = f32(results.get('cam_transl', np.zeros(3)), (1, 3))
        gt.has_transl = f32(results.get('has_transl', 0.), (1, ))
        if 'det_keypoints_2d' in results or 'det_keypoints_2d_crop' in results:
            if 'det_keypoints_2d_crop' not in results:
                raise KeyError(
                    f'sample {results.get("sample_idx")} of {results.get("dataset_name")!r} '
                    'has det_keypoints_2d but no det_keypoints_2d_crop: the detections must '
                    'come before HMRTopdownAffine in the pipeline')
            det = np.asarray(results['det_keypoints_2d_crop'], np.float32)
            if det.shape != (num_kpts, 3):
                raise ValueError(
                    f'sample {results.get("sample_idx")}: det_keypoints_2d_crop has shape '
                    f'{det.shape}, expected ({num_kpts}, 3) as keypoints_2d_crop')
            gt.det_keypoints_2d = f32(det[:, :2], (1, num_kpts, 2))
            gt.det_keypoints_2d_score = f32(det[:, 2], (1, num_kpts))

        data_sample = PoseDataSample(gt_instances=gt)
        meta = dict(flip=False, rotation=0.)
        meta.update({k: results[k] for k in self.meta_keys if k in results})
        data_sample.set_metainfo({k: v for k, v in meta.items() if k in self.meta_keys})
        return dict(inputs=image_to_tensor(results['img']), data_samples=data_sample)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
