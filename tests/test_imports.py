"""Everything a user of mmpose calls imports with the pinned dependency set (the traps of
GUIDE §4: torchvision with the installed torch, mmcv's compiled ops, mmdet, chumpy-free mmpose)."""
import torch


def test_torchvision_ops_run_with_the_installed_torch():
    from torchvision.ops import nms
    keep = nms(torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.], [20., 20., 30., 30.]]),
               torch.tensor([0.9, 0.8, 0.7]), iou_threshold=0.5)
    assert keep.tolist() == [0, 2]


def test_mmcv_compiled_ops_run():
    from mmcv.ops import nms as mmcv_nms
    dets, keep = mmcv_nms(torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.]]),
                          torch.tensor([0.9, 0.8]), iou_threshold=0.5)
    assert keep.tolist() == [0]


def test_mmpose_registry_visualizer_and_inferencer_import():
    from mmpose.apis import MMPoseInferencer  # noqa: F401
    from mmpose.utils import register_all_modules
    from mmpose.visualization import PoseLocalVisualizer  # noqa: F401
    import mmdet  # noqa: F401
    register_all_modules(init_default_scope=False)
    from mmpose.registry import MODELS
    assert MODELS.get('RTMOHead') is not None  # the head that needs mmdet
