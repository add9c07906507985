"""After every augmentation the annotations are one camera's view of one body.

The procedural body model gives exact ground truth: a synthetic sample is flipped and / or
rotated, cropped (off-centre boxes, non-square inputs, both box fits), and then the body posed
with the augmented SMPL parameters and ``cam_transl`` is projected with the full-image camera
(focal length, principal point at the image centre) and compared with the augmented 2D and 3D
keypoints -- and a CLIFF head set to the exact ground truth gets zero loss.
"""
import numpy as np
import pytest
import torch

from mmhmr.datasets.transforms import (CLIFFBBoxInfo, HMRRandomFlip, HMRTopdownAffine,
                                       PackHMRInputs)
from mmhmr.models.body_models.smpl import GenderedSMPL
from mmhmr.models.utils.rotation import axis_angle_to_matrix, matrix_to_rot6d
from mmhmr.registry import DATASETS, MODELS

# a non-square image with people well off its centre, so that the box centre, the principal
# point and the person are all far apart
DOMAIN = dict(image_size=(320, 200), person_offset=(0.3, 0.25), distance_range=(4.0, 6.0))
GENDERS = ('neutral', 'male', 'female')
AUGMENTATIONS = [  # (flip, rotation in degrees)
    (False, 30.), (True, 0.), (True, -40.), (False, 90.)]


@pytest.fixture(scope='module')
def body_dir(tmp_path_factory):
    from mmhmr.models.body_models.procedural import ensure_procedural_body_model
    return ensure_procedural_body_model(str(tmp_path_factory.mktemp('procedural')), seed=0)


def data_infos(body_dir, genders, num=4):
    ds = DATASETS.build(dict(type='SyntheticHumanDataset', num_samples=num, domain=DOMAIN,
                             body_model=dict(model_path=body_dir), genders=genders, seed=7))
    return [ds[i] for i in range(num)]  # no pipeline: the data infos


def augment(info, flip, rotation, input_size=(48, 64), bbox_fit='shorter',
            box_shift=(0., 0.)):
    """The sample flipped / rotated as the training pipeline does, its box moved by
    ``box_shift`` px (an off-centre box), cropped."""
    results = {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in info.items()}
    results = HMRRandomFlip(prob=float(flip))(results)
    results['bbox_center'] = results['bbox_center'] + np.asarray(box_shift, np.float32)
    results['rotation'] = rotation
    return HMRTopdownAffine(input_size=input_size, bbox_fit=bbox_fit)(results)


def pose_and_project(body_model, results):
    """The 49 joints of the body posed by the annotations, in the camera frame, and their
    projection by ``x = f X / Z + W / 2``, ``y = f Y / Z + H / 2``, float64 numpy."""
    with torch.no_grad():
        out = body_model(torch.from_numpy(results['smpl_betas'][None]).double(),
                         torch.from_numpy(results['smpl_pose'][None]).double(),
                         torch.tensor([results['gender']]))
    joints = out['joints'][0].numpy() + results['cam_transl'].astype(np.float64)
    height, width = results['ori_shape']
    pixels = results['focal_length'] * joints[:, :2] / joints[:, 2:] + (width / 2, height / 2)
    return joints, pixels


@pytest.mark.parametrize('flip,rotation', AUGMENTATIONS)
@pytest.mark.parametrize('bbox_fit,input_size,box_shift', [
    ('shorter', (48, 64), (0., 0.)), ('height', (48, 64), (18., -11.)),
    ('shorter', (64, 40), (-25., 9.))])
def test_augmented_annotations_are_one_cameras_view(body_dir, flip, rotation, bbox_fit,
                                                    input_size, box_shift):
    body_model = GenderedSMPL(body_dir, joint_set='spin_49').double()
    for info in data_infos(body_dir, GENDERS):
        out = augment(info, flip, rotation, input_size, bbox_fit, box_shift)
        joints, pixels = pose_and_project(body_model, out)
        np.testing.assert_allclose(out['keypoints_3d'][:, :3], joints, atol=2e-5)
        np.testing.assert_allclose(out['keypoints_2d'][:, :2], pixels, atol=5e-3)
        box_normalised = (pixels - out['bbox_center']) / (out['bbox_size'] / 2)
        np.testing.assert_allclose(out['keypoints_2d_crop'][:, :2], box_normalised, atol=1e-4)
        # confidences travel with their joints (rows permuted by the flip only)
        assert out['keypoints_2d'][:, 2].sum() == info['keypoints_2d'][:, 2].sum()


def test_rotation_moves_the_box_centre_about_the_principal_point(body_dir):
    """c' = pp + R2 (c - pp): a 90-degree turn takes the offset (dx, dy) to (dy, -dx)."""
    info = data_infos(body_dir, ('neutral', ), num=1)[0]
    out = augment(info, False, 90.)
    dx, dy = info['bbox_center'] - (160., 100.)
    np.testing.assert_allclose(out['bbox_center'], (160. + dy, 100. - dx), atol=1e-3)


def ground_truth_params(data_samples):
    """The CLIFF head's raw outputs that reproduce the ground truth: 6D pose, betas, and the
    crop camera inverted by hand from ``cam_transl``: ``s = 2 f / (b t_z)``,
    ``t_x = T_x - 2 (c_x - W / 2) / (b s)``, ``t_y = T_y - 2 (c_y - H / 2) / (b s)``."""
    def field(key):
        return torch.cat([torch.as_tensor(d.gt_instances[key]) for d in data_samples]).double()
    pose = axis_angle_to_matrix(field('smpl_pose').reshape(-1, 24, 3))
    transl, center, size = field('cam_transl'), field('bbox_center'), field('bbox_size')
    focal = field('focal_length')
    img_wh = torch.tensor([d.ori_shape[::-1] for d in data_samples], dtype=torch.float64)
    s = 2 * focal / (size * transl[:, 2])
    offset = 2 * (center - img_wh / 2) / (size * s)[:, None]
    cam = torch.stack([s, transl[:, 0] - offset[:, 0], transl[:, 1] - offset[:, 1]], 1)
    return dict(pose_6d=matrix_to_rot6d(pose).reshape(-1, 144), betas=field('smpl_betas'),
                pred_cam=cam)


@pytest.mark.parametrize('flip,rotation', AUGMENTATIONS + [(False, 0.)])
def test_exact_ground_truth_head_has_zero_loss_after_augmentation(body_dir, flip, rotation):
    head = MODELS.build(dict(
        type='CLIFFHead', in_channels=8, hidden_dims=(8, ), n_iter=1,
        body_model=dict(type='SMPL', model_path=body_dir, joint_set='spin_49'),
        loss_keypoints_2d=dict(type='KeypointReprojectionLoss', loss_weight=1.0),
        loss_keypoints_3d=dict(type='PelvisAlignedKeypoint3DLoss', loss_weight=1.0))).double()
    samples = [
        PackHMRInputs()(CLIFFBBoxInfo()(augment(info, flip, rotation, box_shift=(9., -6.))))
        ['data_samples'] for info in data_infos(body_dir, ('neutral', ))
    ]
    with torch.no_grad():
        pred = head.decode_smpl(ground_truth_params(samples), samples)
        losses = head.loss_by_pred(pred, samples)
    for name in ('loss_keypoints_2d', 'loss_keypoints_3d', 'loss_smpl_pose',
                 'loss_smpl_betas', 'loss_vertices'):
        assert losses[name].item() == pytest.approx(0, abs=1e-10), name
    # and the full-image translation the head decodes is the augmented ground truth
    gt_transl = np.concatenate([d.gt_instances.cam_transl for d in samples])
    np.testing.assert_allclose(pred['cam_transl'].numpy(), gt_transl, atol=1e-5)


def test_gendered_vertex_targets(body_dir):
    """With ``gt_body_model`` the GT mesh of each sample is its own gender's (male and female
    meshes differ from the neutral one by centimetres); the betas loss skips those samples."""
    infos = [info for info in data_infos(body_dir, GENDERS, num=8)]
    genders = [info['gender'] for info in infos]
    assert set(genders) == {0, 1, 2}
    cfg = dict(type='CLIFFHead', in_channels=8, hidden_dims=(8, ), n_iter=1,
               body_model=dict(type='SMPL', model_path=body_dir, joint_set='spin_49'))
    gendered = MODELS.build(dict(cfg, gt_body_model=dict(
        type='GenderedSMPL', model_path=body_dir, joint_set='smpl_24')))
    neutral = MODELS.build(cfg)
    samples = [PackHMRInputs()(CLIFFBBoxInfo()(augment(info, False, 0.)))['data_samples']
               for info in infos]
    like = torch.zeros(())
    t_gendered = gendered.targets_from_samples(samples, like)
    t_neutral = neutral.targets_from_samples(samples, like)
    names = ('neutral', 'male', 'female')
    for i, info in enumerate(infos):
        # an independent body model of the sample's gender
        from mmhmr.models.body_models.smpl import SMPL
        own = SMPL(body_dir, gender=names[info['gender']], joint_set='smpl_24')
        with torch.no_grad():
            expected = own(torch.from_numpy(info['smpl_betas'][None]),
                           torch.from_numpy(info['smpl_pose'][None]))['vertices'][0]
        torch.testing.assert_close(t_gendered['vertices'][i], expected, atol=1e-5, rtol=0)
        gap = (t_neutral['vertices'][i] - expected).norm(dim=-1).mean().item()
        if info['gender'] == 0:
            assert gap < 1e-5
        else:
            assert gap > 0.01  # the neutral mesh is centimetres off a male / female body
    np.testing.assert_array_equal(t_gendered['has_betas'].numpy(),
                                  [float(g == 0) for g in genders])
    np.testing.assert_array_equal(t_neutral['has_betas'].numpy(), np.ones(len(infos)))
