"""Top-down human mesh recovery: backbone (+ neck) + an SMPL head."""
from typing import Sequence

from mmpose.models.pose_estimators.base import BasePoseEstimator
from mmpose.utils.typing import SampleList
from torch import Tensor

from mmhmr.registry import MODELS
from ..utils.finite_losses import check_finite_losses
from ..tto import tto_instances


@MODELS.register_module()
class HMREstimator(BasePoseEstimator):
    """Recover an SMPL body from a person crop.

    The estimator only composes: the backbone (and neck) come from the mmpose / mmengine
    registries, and the head (e.g. :class:`CLIFFHead`) owns the body model, the losses and the
    decoding, as mmpose's heads do. Inputs are crops ``(B, 3, H, W)`` and packed
    :class:`PoseDataSample` s (see docs/en/conventions.md).

    With ``test_cfg=dict(tto=dict(type='TestTimeOptimizer', ...))``, :meth:`predict` runs
    test-time optimization (the one place it runs): ``pred_instances`` is then the result after
    TTO and ``pred_instances_init`` the prediction before it.

    Args:
        backbone (dict): Backbone config (e.g. mmpose's ``ResNet`` or ``HRNet``).
        head (dict): Head config.
        neck (dict, optional): Neck config.
        train_cfg, test_cfg (dict, optional): passed to the head; ``test_cfg.tto`` configures
            test-time optimization.
        data_preprocessor (dict, optional): e.g. ``PoseDataPreprocessor`` with mean / std.
        init_cfg (dict, optional): Initialisation config (e.g. a pretrained backbone).
    """

    def __init__(self, backbone, head, neck=None, train_cfg=None, test_cfg=None,
                 data_preprocessor=None, init_cfg=None):
        super().__init__(backbone=backbone, neck=neck, head=head, train_cfg=train_cfg,
                         test_cfg=test_cfg, data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        tto = self.test_cfg.get('tto')
        # a submodule without parameters: the state_dict is the same with and without TTO
        self.tto = MODELS.build(tto) if isinstance(tto, dict) else tto

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """Losses of a batch: ``dict(loss_<name>=Tensor)``; a non-finite one is an error
        (:func:`check_finite_losses`)."""
        feats = self.extract_feat(inputs)
        losses = self.head.loss(feats, data_samples, train_cfg=self.train_cfg)
        check_finite_losses(losses, data_samples)
        return losses

    def predict(self, inputs: Tensor, data_samples: SampleList) -> SampleList:
        """Predictions of a batch, written into each sample's ``pred_instances`` (and, with
        TTO, the prediction before it into ``pred_instances_init``)."""
        if self.tto is None:
            feats = self.extract_feat(inputs)
            preds = self.head.predict(feats, data_samples, test_cfg=self.test_cfg)
            return self.add_pred_to_datasample(preds, data_samples)
        instances = tto_instances(self.tto.run(self, inputs, data_samples), self.head)
        for sample, init in zip(data_samples, instances['init']):
            sample.pred_instances_init = init
        return self.add_pred_to_datasample(instances['pred'], data_samples)

    def add_pred_to_datasample(self, batch_pred_instances: Sequence,
                               batch_data_samples: SampleList) -> SampleList:
        """Attach each sample's predicted instances as ``pred_instances``."""
        for pred, sample in zip(batch_pred_instances, batch_data_samples):
            sample.pred_instances = pred
        return batch_data_samples
