"""CLIFFHead and HMREstimator on a random SMPL-format body model."""
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData
from mmpose.structures import PoseDataSample

from mmhmr.models.utils.camera import cam_crop_to_full
from mmhmr.models.utils.rotation import matrix_to_axis_angle, matrix_to_rot6d
from mmhmr.registry import MODELS

IMG_H, IMG_W = 300, 400


def head_cfg(model_dir, in_channels=16):
    return dict(
        type='CLIFFHead', in_channels=in_channels, hidden_dims=(32, 32), n_iter=2,
        body_model=dict(type='SMPL', model_path=str(model_dir), joint_set='spin_49'),
        loss_shape_prior=dict(type='ShapePriorLoss', loss_weight=0.1))


def make_samples(b, center, size, focal):
    samples = []
    for i in range(b):
        s = PoseDataSample(metainfo=dict(ori_shape=(IMG_H, IMG_W)))
        s.gt_instances = InstanceData(
            bbox_center=center[i:i + 1], bbox_size=size[i:i + 1], focal_length=focal[i:i + 1],
            bbox_info=torch.zeros(1, 3))
        samples.append(s)
    return samples


def set_targets(samples, pose_aa, betas, keypoints_3d, keypoints_2d_crop):
    for i, s in enumerate(samples):
        s.gt_instances.smpl_pose = pose_aa[i:i + 1].reshape(1, 72)
        s.gt_instances.smpl_betas = betas[i:i + 1]
        s.gt_instances.has_smpl = torch.ones(1)
        s.gt_instances.keypoints_3d = keypoints_3d[i:i + 1]
        s.gt_instances.keypoints_3d_visible = torch.ones(1, 49)
        s.gt_instances.keypoints_2d = keypoints_2d_crop[i:i + 1]
        s.gt_instances.keypoints_2d_visible = torch.ones(1, 49)


def random_rotations(b, scale=0.4, seed=0):
    g = torch.Generator().manual_seed(seed)
    from mmhmr.models.utils.rotation import axis_angle_to_matrix
    return axis_angle_to_matrix(torch.randn(b, 24, 3, generator=g) * scale)


def test_ground_truth_made_from_the_prediction_gives_zero_loss(random_smpl_dir):
    # Targets built independently from chosen SMPL parameters (axis-angle GT pose, joints from
    # the body model, 2D keypoints projected with the hand-written CLIFF formula) must agree
    # with the head's own decoding of the same parameters: every ground-truth loss is 0.
    head = MODELS.build(head_cfg(random_smpl_dir))
    b = 3
    rotmat = random_rotations(b)
    betas = torch.randn(b, 10, generator=torch.Generator().manual_seed(1))
    cam = torch.tensor([[0.9, 0.1, 0.2], [1.1, -0.1, 0.0], [0.7, 0.0, -0.3]])
    center = torch.tensor([[200., 150.], [120., 80.], [300., 200.]])
    size = torch.tensor([150., 100., 200.])
    focal = torch.tensor([500., 500., 700.])
    samples = make_samples(b, center, size, focal)

    body = head.body_model(betas=betas, pose=rotmat)
    transl = cam[:, 1:].new_zeros(b, 3)
    bs = size * cam[:, 0]
    transl[:, 0] = cam[:, 1] + 2 * (center[:, 0] - IMG_W / 2) / bs
    transl[:, 1] = cam[:, 2] + 2 * (center[:, 1] - IMG_H / 2) / bs
    transl[:, 2] = 2 * focal / bs
    p = body['joints'] + transl[:, None]
    pixels = focal[:, None, None] * p[..., :2] / p[..., 2:] + torch.tensor([IMG_W, IMG_H]) / 2
    kp2d_crop = (pixels - center[:, None]) / (size[:, None, None] / 2)
    set_targets(samples, matrix_to_axis_angle(rotmat), betas, body['joints'], kp2d_crop)

    params = dict(pose_6d=matrix_to_rot6d(rotmat).reshape(b, 144), betas=betas, pred_cam=cam)
    pred = head.decode_smpl(params, samples)
    torch.testing.assert_close(pred['cam_transl'], transl)
    torch.testing.assert_close(pred['cam_transl'],
                               cam_crop_to_full(cam, center, size,
                                                torch.tensor([[IMG_W, IMG_H]] * b).float(),
                                                focal))
    losses = head.loss_by_pred(pred, samples)
    assert set(losses) == {'loss_keypoints_2d', 'loss_keypoints_3d', 'loss_smpl_pose',
                           'loss_smpl_betas', 'loss_vertices', 'loss_shape_prior',
                           'loss_camera_prior'}
    for name in ('loss_keypoints_2d', 'loss_keypoints_3d', 'loss_smpl_pose', 'loss_smpl_betas',
                 'loss_vertices'):
        assert losses[name].item() == pytest.approx(0, abs=1e-6), name
    assert losses['loss_shape_prior'].item() == pytest.approx(0.1 * (betas ** 2).mean().item())

    # a wrong pose is penalised
    params['pose_6d'] = matrix_to_rot6d(random_rotations(b, seed=5)).reshape(b, 144)
    wrong = head.loss_by_pred(head.decode_smpl(params, samples), samples)
    assert wrong['loss_smpl_pose'] > 1e-3 and wrong['loss_vertices'] > 1e-4


def test_head_starts_at_the_mean_parameters_and_predicts(random_smpl_dir):
    head = MODELS.build(head_cfg(random_smpl_dir)).eval()
    b = 2
    samples = make_samples(b, torch.tensor([[200., 150.], [100., 100.]]),
                           torch.tensor([150., 90.]), torch.tensor([500., 500.]))
    feats = (torch.randn(b, 16, 4, 3),)
    out = head(feats, torch.zeros(b, 3))
    # decoders start near zero: the estimate is near the mean (upright body, camera 0.9)
    mean_rot = torch.diag(torch.tensor([1., -1., -1.]))
    np.testing.assert_allclose(out['pred_cam'].detach().numpy(), [[0.9, 0, 0]] * b, atol=0.05)
    preds = head.predict(feats, samples)
    assert len(preds) == b
    p = preds[0]
    assert p.smpl_pose.shape == (1, 24, 3, 3) and p.vertices.shape == (1, 6890, 3)
    assert p.keypoints_3d.shape == (1, 49, 3) and p.keypoints_2d.shape == (1, 49, 2)
    assert p.cam_transl.shape == (1, 3) and p.keypoint_scores.shape == (1, 49)
    torch.testing.assert_close(p.smpl_pose[0, 0], mean_rot, atol=0.05, rtol=0)


def test_estimator_trains_end_to_end(random_smpl_dir):
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='HMREstimator',
        data_preprocessor=dict(type='PoseDataPreprocessor', mean=[0, 0, 0], std=[255, 255, 255]),
        backbone=dict(type='ResNet', depth=18, base_channels=8, stem_channels=8),
        head=head_cfg(random_smpl_dir, in_channels=64)))
    b = 2
    samples = make_samples(b, torch.tensor([[200., 150.], [100., 100.]]),
                           torch.tensor([150., 90.]), torch.tensor([500., 500.]))
    set_targets(samples, torch.zeros(b, 24, 3), torch.zeros(b, 10), torch.zeros(b, 49, 3),
                torch.zeros(b, 49, 2))
    data = dict(inputs=[torch.randint(0, 255, (3, 64, 48), dtype=torch.uint8)] * b,
                data_samples=samples)
    optim = torch.optim.Adam(model.parameters(), lr=1e-3)
    from mmengine.optim import OptimWrapper
    losses = model.train_step(data, OptimWrapper(optim))
    assert all(torch.isfinite(v) for v in losses.values())
    model.eval()
    outputs = model.val_step(dict(inputs=data['inputs'], data_samples=samples))
    assert outputs[0].pred_instances.vertices.shape == (1, 6890, 3)
