"""HMRLocalVisualizer: the mesh is drawn where its vertices project (pinhole formula written
here), in the full image or the crop, with a side view, the ground truth and before / after
TTO rows."""
import copy

import cv2
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

from mmhmr.registry import DATASETS, MODELS, VISUALIZERS
from mmhmr.visualization import HMRLocalVisualizer, turn_meshes, view_rotation

PIPELINE = [dict(type='HMRTopdownAffine', input_size=(64, 64)), dict(type='CLIFFBBoxInfo'),
            dict(type='PackHMRInputs')]


@pytest.fixture(scope='module')
def sample(procedural_body_dir):
    """A synthetic sample (160x160 image), its full image (RGB) and a prediction equal to the
    ground truth, posed by the procedural body model."""
    init_default_scope('mmhmr')
    ds = DATASETS.build(dict(type='SyntheticHumanDataset', num_samples=1,
                             domain=dict(image_size=(160, 160)),
                             body_model=dict(model_path=procedural_body_dir),
                             pipeline=PIPELINE))
    image = ds.get_data_info(0)['img'][..., ::-1].copy()
    data = pseudo_collate([ds[0]])
    data_sample = data['data_samples'][0]
    body = MODELS.build(dict(type='ProceduralSMPL', model_path=procedural_body_dir,
                             joint_set='spin_49'))
    gt = data_sample.gt_instances
    out = body(torch.as_tensor(gt.smpl_betas), torch.as_tensor(gt.smpl_pose))
    data_sample.pred_instances = InstanceData(
        vertices=out['vertices'], cam_transl=torch.as_tensor(gt.cam_transl),
        keypoints=torch.zeros(1, 49, 2))
    return image, data_sample, body


def projected_pixels(vertices, focal, principal):
    """Pixel (row, col) of each camera-frame vertex: u = f X / Z + c."""
    u = focal * vertices[:, 0] / vertices[:, 2] + principal[0]
    v = focal * vertices[:, 1] / vertices[:, 2] + principal[1]
    return np.floor(v).astype(int), np.floor(u).astype(int)


def near_fraction(changed, rows, cols):
    """The share of pixels (rows, cols) with a changed pixel among their 3x3 neighbours."""
    h, w = changed.shape
    near = np.zeros(len(rows), bool)
    for dr in range(-1, 2):
        for dc in range(-1, 2):
            near |= changed[np.clip(rows + dr, 0, h - 1), np.clip(cols + dc, 0, w - 1)]
    return near.mean()


def test_view_rotations_turn_about_the_vertical_and_show_the_head():
    side, top = view_rotation('side'), view_rotation('top')
    for rot in (side, top):
        np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-7)
        assert np.linalg.det(rot) == pytest.approx(1.)
    # side: 90 degrees about y keeps y (the camera's vertical), sends x (right) to depth
    np.testing.assert_allclose(side @ [0, 1, 0], [0, 1, 0])
    np.testing.assert_allclose(side @ [1, 0, 0], [0, 0, -1])
    # top: the head (y = -1, up) comes towards the camera (z decreases)
    np.testing.assert_allclose(top @ [0, -1, 0], [0, 0, -1])
    mesh = np.array([[0., 0., 3.], [0., -1., 3.]])
    turned = turn_meshes([mesh], 'top')[0]
    np.testing.assert_allclose(turned.mean(0), mesh.mean(0))


def test_draws_the_mesh_where_its_vertices_project(sample):
    image, data_sample, body = sample
    vis = VISUALIZERS.build(dict(type='HMRLocalVisualizer', name='vis_project', alpha=1.0,
                                 antialias=False, faces=body.faces))
    drawn = vis.add_datasample('s', image, data_sample, draw_gt=False, side_view=True,
                               draw_keypoints=False, out_file=None)
    h, w = image.shape[:2]
    assert drawn.shape == (h, 2 * w, 3)  # image | side view
    overlay = drawn[:, :w]
    changed = (overlay != image).any(-1)
    verts = (data_sample.pred_instances.vertices[0] +
             data_sample.pred_instances.cam_transl).numpy()
    focal = float(data_sample.gt_instances.focal_length[0])
    rows, cols = projected_pixels(verts, focal, (w / 2, h / 2))
    inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    # every vertex lands on the drawn silhouette: at this size (a body ~70 px tall) thin parts
    # and the outline cover no pixel centre at some vertices, so the 3x3 pixels around
    # each vertex are searched
    assert near_fraction(changed, rows[inside], cols[inside]) > 0.99
    assert changed[rows[inside], cols[inside]].mean() > 0.8
    # and nothing is drawn away from the body: pixels farther than 2 px from every vertex
    far = np.ones((h, w), bool)
    for dr in range(-2, 3):
        for dc in range(-2, 3):
            far[np.clip(rows + dr, 0, h - 1), np.clip(cols + dc, 0, w - 1)] = False
    assert not changed[far].any()
    # the side view is on a plain background, with the body in it
    side = drawn[:, w:]
    assert (side != side[0, 0]).any(-1).sum() > 50


def test_the_crop_is_drawn_with_the_crop_camera(sample, procedural_body_dir):
    """On the network's 64x64 crop, vertices land where the crop's affine map sends their
    full-image projections: crop = k * full + offset, k = 64 / input_scale_w."""
    image, data_sample, body = sample
    vis = HMRLocalVisualizer(name='vis_crop', alpha=1.0, antialias=False, faces=body.faces)
    crop = np.full((64, 64, 3), 30, np.uint8)
    drawn = vis.add_datasample('c', crop, data_sample, draw_gt=False, side_view=False,
                               draw_keypoints=False)
    changed = (drawn != crop).any(-1)
    meta = data_sample.metainfo
    k = 64 / meta['input_scale'][0]
    offset = np.array([32., 32.]) - k * np.asarray(meta['input_center'])
    verts = (data_sample.pred_instances.vertices[0] +
             data_sample.pred_instances.cam_transl).numpy()
    focal = float(data_sample.gt_instances.focal_length[0])
    h, w = image.shape[:2]
    u = focal * verts[:, 0] / verts[:, 2] + w / 2
    v = focal * verts[:, 1] / verts[:, 2] + h / 2
    cols, rows = np.floor(k * u + offset[0]).astype(int), np.floor(k * v + offset[1]).astype(int)
    ok = (rows >= 0) & (rows < 64) & (cols >= 0) & (cols < 64)
    assert ok.mean() > 0.5 and near_fraction(changed, rows[ok], cols[ok]) > 0.99


def test_ground_truth_and_before_after_rows(sample):
    image, data_sample, body = sample
    data_sample = copy.deepcopy(data_sample)
    init = data_sample.pred_instances.clone()
    init.cam_transl = init.cam_transl + torch.tensor([[0.3, 0., 0.]])  # shifted right
    data_sample.pred_instances_init = init
    vis = HMRLocalVisualizer(name='vis_rows', alpha=1.0, antialias=False)
    vis.set_body_model(body)
    drawn = vis.add_datasample('r', image, data_sample, top_view=True, draw_keypoints=False)
    h, w = image.shape[:2]
    assert drawn.shape == (2 * h, 3 * w, 3)  # (before, after) x (image, side, top)
    # the ground truth (green, GT_COLOR) equals the prediction after TTO (blue): in the lower
    # row the two coincide; above, the orange regression shifted 0.3 m right leaves the
    # ground truth visible, so green-dominant pixels appear there and not below (where the
    # synthetic image's own green background is masked out by comparing with the input)
    def green_mesh_pixels(row):
        row = row.astype(int)
        drawn_here = (row != image).any(-1)
        return (drawn_here & (row[..., 1] > row[..., 0] + 20) &
                (row[..., 1] > row[..., 2] + 20)).sum()
    assert green_mesh_pixels(drawn[:h, :w]) > 20 + green_mesh_pixels(drawn[h:, :w])
    with pytest.raises(KeyError, match='cam_transl'):
        broken = copy.deepcopy(data_sample)
        del broken.pred_instances.cam_transl
        vis.add_datasample('b', image, broken)


def test_small_images_are_drawn_enlarged_with_the_same_projection(sample):
    """min_render_size draws a 160 px image at 480 px: the drawn silhouette is where the
    vertices project through the camera scaled 3x (u = 3 (f X / Z + W / 2))."""
    image, data_sample, body = sample
    vis = HMRLocalVisualizer(name='vis_enlarged', alpha=1.0, antialias=False, faces=body.faces,
                             min_render_size=480)
    drawn = vis.add_datasample('e', image, data_sample, draw_gt=False, side_view=False,
                               draw_keypoints=False)
    assert drawn.shape == (480, 480, 3)
    verts = (data_sample.pred_instances.vertices[0] +
             data_sample.pred_instances.cam_transl).numpy()
    focal = float(data_sample.gt_instances.focal_length[0])
    rows, cols = projected_pixels(verts, 3 * focal, (240, 240))
    background = cv2.resize(image, (480, 480), interpolation=cv2.INTER_CUBIC)
    changed = (drawn != background).any(-1)
    assert near_fraction(changed, rows, cols) > 0.99


def test_drawings_go_to_mmengines_vis_backends(sample, tmp_path):
    """Without out_file the drawing goes to the backends, as mmpose's visualizer does:
    LocalVisBackend writes <save_dir>/vis_data/vis_image/<name>_<step>.png."""
    image, data_sample, body = sample
    vis = HMRLocalVisualizer(name='vis_backend', faces=body.faces, save_dir=str(tmp_path),
                             vis_backends=[dict(type='LocalVisBackend')])
    drawn = vis.add_datasample('person', image, data_sample, draw_gt=False, step=3)
    saved = cv2.imread(str(tmp_path / 'vis_data' / 'vis_image' / 'person_3.png'))
    assert saved is not None and saved.shape == drawn.shape
    np.testing.assert_array_equal(saved[..., ::-1], drawn)


def test_detections_are_drawn_in_the_slots_the_detector_fills():
    """OpenPose-order detections (slots 0-24 of the 49, as openpose25 / coco17 files and
    SimulateKeypointDetections give them) are drawn green with their slot's prediction in red,
    though the default keypoint_ids are SPIN's slots 25-48; a zero score is not drawn."""
    from mmhmr.visualization.hmr_visualizer import DET_KPT_COLOR, PRED_KPT_COLOR
    vis = HMRLocalVisualizer(radius=2, antialias=False)
    pred = np.full((49, 2), 5.)
    pred[4] = (40., 10.)  # right wrist (OpenPose slot 4)
    pred[30] = (10., 40.)  # a SPIN slot, drawn by default
    det = np.zeros((49, 2))
    det[4] = (40., 30.)
    det[7] = (20., 50.)  # score 0 below: not drawn
    score = np.zeros(49)
    score[4] = 0.9
    panel = vis.draw_keypoints(np.zeros((64, 64, 3), np.uint8), pred, det, score)
    assert tuple(panel[30, 40]) == tuple(DET_KPT_COLOR)
    assert tuple(panel[10, 40]) == tuple(PRED_KPT_COLOR)
    assert tuple(panel[40, 10]) == tuple(PRED_KPT_COLOR)
    assert panel[20, 40].min() > 100  # the (antialiased, white) line between the two
    assert not panel[50, 20].any()
