"""The inference API end to end on synthetic images with given boxes and keypoints: the JSON
holds the model's prediction (checked against inference_mesh and the pinhole projection
written here), TTO runs where keypoints exist, meshes and renders are written; the demo CLIs
run on two images and a short video that OpenCV writes here."""
import glob
import json
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from scipy.spatial.transform import Rotation

from mmhmr.apis import MeshInferencer, inference_mesh, init_model
from mmhmr.registry import DATASETS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'tests', 'data', 'cliff_synthetic_tiny_tto.py')


@pytest.fixture(scope='module')
def scene(tmp_path_factory, procedural_body_dir):
    """Two synthetic 128x128 images in a folder, a random-weight checkpoint of the tiny TTO
    config, and a keypoints JSON with each image's box and exact 49 2D joints."""
    init_default_scope('mmhmr')
    root = tmp_path_factory.mktemp('inferencer')
    options = {'model.head.body_model.model_path': procedural_body_dir}
    torch.manual_seed(0)
    model = init_model(CONFIG, None, cfg_options=options)
    checkpoint = str(root / 'tiny.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), checkpoint)
    ds = DATASETS.build(dict(type='SyntheticHumanDataset', num_samples=2, seed=3,
                             domain=dict(image_size=(128, 128)),
                             body_model=dict(model_path=procedural_body_dir), pipeline=[]))
    images, people = root / 'images', {}
    images.mkdir()
    for i in range(2):
        info = ds.get_data_info(i)
        cv2.imwrite(str(images / f'img{i}.png'), info['img'])
        centre, size = info['bbox_center'], float(info['bbox_size'])
        kpts = info['keypoints_2d'].copy()
        people[f'img{i}'] = [dict(keypoints=kpts.tolist(),
                                  bbox=[*(centre - size / 2), *(centre + size / 2)])]
    kfile = root / 'keypoints.json'
    kfile.write_text(json.dumps(people, default=float))
    return dict(root=root, images=str(images), checkpoint=checkpoint, keypoints=str(kfile),
                options=options, people=people)


def test_json_outputs_are_the_models_prediction(scene, tmp_path):
    inferencer = MeshInferencer(CONFIG, scene['checkpoint'], keypoint_order='spin49',
                                bbox_padding=1.0, cfg_options=scene['options'],
                                show_progress=False)
    results = list(inferencer(scene['images'], out_dir=str(tmp_path),
                              keypoints_file=scene['keypoints'],
                              mesh_out_dir=str(tmp_path / 'meshes')))
    assert [r['name'] for r in results] == ['img0', 'img1']
    model = init_model(CONFIG, scene['checkpoint'], cfg_options=scene['options'])
    for result in results:
        name = result['name']
        saved = json.load(open(tmp_path / 'predictions' / f'{name}.json'))
        assert saved['image_size'] == [128, 128] and len(saved['instances']) == 1
        person = saved['instances'][0]
        assert result['predictions'] == [person]
        given = scene['people'][name][0]
        np.testing.assert_allclose(person['bbox'], given['bbox'], atol=1e-3)
        assert person['tto'] is True and person['bbox_score'] == 1.0
        # the same prediction as inference_mesh on the same input (TTO is deterministic)
        img = cv2.imread(osp.join(scene['images'], name + '.png'))
        (sample, ) = inference_mesh(model, img, np.array([given['bbox']]),
                                    np.array([given['keypoints']]), 'spin49', bbox_padding=1.0)
        pred = sample.pred_instances
        np.testing.assert_allclose(person['cam_transl'], pred.cam_transl[0].numpy(), atol=1e-5)
        np.testing.assert_allclose(person['smpl_betas'], pred.smpl_betas[0].numpy(), atol=1e-5)
        # axis-angle -> matrices (scipy) gives back the predicted rotations
        rotmats = Rotation.from_rotvec(np.reshape(person['smpl_pose'], (24, 3))).as_matrix()
        np.testing.assert_allclose(rotmats, pred.smpl_pose[0].numpy(), atol=1e-4)
        # the 2D joints are the pinhole projection of the 3D ones: u = f X / Z + W / 2
        k3d = np.asarray(person['keypoints_3d']) + person['cam_transl']
        f = person['focal_length']
        assert f == pytest.approx(np.hypot(128, 128))  # CLIFF's guess: no focal length given
        uv = f * k3d[:, :2] / k3d[:, 2:] + 64
        np.testing.assert_allclose(person['keypoints_2d'], uv, rtol=1e-4, atol=1e-3)
        # the mesh file: 6890 camera-frame vertices and the body model's faces, 1-based
        lines = open(tmp_path / 'meshes' / f'{name}_0.obj').read().splitlines()
        verts = np.array([[float(x) for x in ln.split()[1:]] for ln in lines if ln[0] == 'v'])
        faces = np.array([[int(x) for x in ln.split()[1:]] for ln in lines if ln[0] == 'f'])
        assert verts.shape == (6890, 3) and faces.min() == 1 and faces.max() == 6890
        np.testing.assert_allclose(verts, (pred.vertices[0] + pred.cam_transl[0]).numpy(),
                                   atol=1e-5)
        # the render: (before TTO, after TTO) x (image, side view), the 128 px image drawn
        # at the default 480 px
        assert cv2.imread(str(tmp_path / 'visualizations' / f'{name}.png')).shape == \
            (960, 960, 3)


def test_without_keypoints_or_with_tto_off_it_regresses(scene):
    inferencer = MeshInferencer(CONFIG, scene['checkpoint'], tto=False,
                                keypoint_order='spin49', cfg_options=scene['options'],
                                show_progress=False)
    (result, ) = inferencer(osp.join(scene['images'], 'img0.png'),
                            keypoints_file=scene['keypoints'], return_datasamples=True)
    assert result['predictions'][0]['tto'] is False
    assert 'pred_instances_init' not in result['data_samples'][0]
    # no boxes and no keypoints: the whole image is the box
    (result, ) = inferencer(osp.join(scene['images'], 'img1.png'))
    assert result['predictions'][0]['bbox'] == pytest.approx([0, 0, 128, 128])


def test_missing_files_say_what_to_pass(scene, tmp_path):
    with pytest.raises(FileNotFoundError, match='checkpoint file not found.*nothing is'):
        init_model(CONFIG, str(tmp_path / 'missing.pth'), cfg_options=scene['options'])
    with pytest.raises(ValueError, match='det_weights'):
        MeshInferencer(CONFIG, scene['checkpoint'], det_model=CONFIG,
                       cfg_options=scene['options'])
    with pytest.raises(FileNotFoundError, match='pose2d_weights not found'):
        MeshInferencer(CONFIG, scene['checkpoint'], pose2d=CONFIG,
                       pose2d_weights=str(tmp_path / 'none.pth'),
                       cfg_options=scene['options'])
    with pytest.raises(ValueError, match=r'\(N, 17, 3\)'):
        model = init_model(CONFIG, scene['checkpoint'], cfg_options=scene['options'])
        inference_mesh(model, np.zeros((32, 32, 3), np.uint8), keypoints_2d=np.zeros((1, 5, 3)))


def run(args):
    out = subprocess.run([sys.executable] + args, cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    return out.stdout


def test_demo_clis_on_two_images_and_a_short_video(scene, tmp_path):
    # the CLIs read a config file: one that points at the session's body model
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(f"_base_ = ['{CONFIG}']\nmodel = dict(head=dict(body_model=dict("
                   f"model_path='{scene['options']['model.head.body_model.model_path']}')))\n")
    out_dir = tmp_path / 'images_out'
    stdout = run(['tools/demo/image_demo.py', scene['images'], str(cfg), scene['checkpoint'],
                  '--out-dir', str(out_dir), '--keypoints-file', scene['keypoints'],
                  '--keypoint-order', 'spin49', '--save-mesh'])
    assert '2 image(s), 2 person(s)' in stdout
    assert len(glob.glob(str(out_dir / 'visualizations' / '*.png'))) == 2
    assert len(glob.glob(str(out_dir / 'meshes' / '*.obj'))) == 2
    # a 3-frame video of the first image, written by OpenCV
    video = str(tmp_path / 'clip.mp4')
    frame = cv2.imread(osp.join(scene['images'], 'img0.png'))
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'mp4v'), 5, (128, 128))
    for _ in range(3):
        writer.write(frame)
    writer.release()
    out_video = str(tmp_path / 'out.mp4')
    stdout = run(['tools/demo/video_demo.py', video, str(cfg), scene['checkpoint'],
                  '--out-video', out_video, '--out-dir', str(tmp_path / 'video_out'),
                  '--bboxes', *map(str, scene['people']['img0'][0]['bbox'])])
    assert '3 frame(s)' in stdout
    reader = cv2.VideoCapture(out_video)
    frames = int(reader.get(cv2.CAP_PROP_FRAME_COUNT))
    ok, first = reader.read()
    # image | side view, no TTO, the 128 px frames drawn at 480 px
    assert frames == 3 and ok and first.shape == (480, 960, 3)
    assert sorted(osp.basename(p) for p in glob.glob(str(tmp_path / 'video_out' /
                                                         'predictions' / '*.json'))) == [
        'clip_000000.json', 'clip_000001.json', 'clip_000002.json']


def test_detector_and_2d_model_paths(scene, tmp_path):
    """mmdet's RTMDet-tiny and mmpose's RTMPose-t configs (shipped in their packages) with
    random weights saved here: boxes come from the detector (at most 3: its test_cfg), the
    TTO targets from the 2D model (COCO-17), each model in its own registry scope."""
    import mmdet
    import mmpose
    from mmdet.apis import init_detector
    from mmpose.apis import init_model as init_pose_model
    from mmengine.registry import DefaultScope
    det_cfg = tmp_path / 'det.py'
    det_cfg.write_text(f"_base_ = ['{osp.dirname(mmdet.__file__)}/.mim/configs/rtmdet/"
                       "rtmdet_tiny_8xb32-300e_coco.py']\nmodel = dict(test_cfg=dict("
                       "max_per_img=3, score_thr=0.0))\n")
    pose_cfg = (f'{osp.dirname(mmpose.__file__)}/.mim/configs/body_2d_keypoint/rtmpose/coco/'
                'rtmpose-t_8xb256-420e_coco-256x192.py')
    weights = {}
    for name, cfg, build, scope in (('det', str(det_cfg), init_detector, 'mmdet'),
                                    ('pose', pose_cfg, init_pose_model, 'mmpose')):
        torch.manual_seed(0)  # random weights that give boxes (checked alone and in the file)
        with DefaultScope.overwrite_default_scope(scope):
            model = build(cfg, None, device='cpu')
        weights[name] = str(tmp_path / f'{name}.pth')
        torch.save(dict(state_dict=model.state_dict()), weights[name])
    inferencer = MeshInferencer(CONFIG, scene['checkpoint'], det_model=str(det_cfg),
                                det_weights=weights['det'], det_cat_ids=list(range(80)),
                                bbox_thr=0.0, pose2d=pose_cfg, pose2d_weights=weights['pose'],
                                cfg_options=scene['options'], show_progress=False)
    (result, ) = inferencer(osp.join(scene['images'], 'img0.png'), return_datasamples=True)
    people = result['predictions']
    assert 1 <= len(people) <= 3
    for person, sample in zip(people, result['data_samples']):
        assert person['tto'] is True  # the 2D model's keypoints were the targets
        det = sample.gt_instances.det_keypoints_2d_score[0]
        assert (det > 0).sum() <= 17  # COCO-17 in the 49 slots


@pytest.mark.parametrize('image, boxes, message', [
    (np.full((64, 48, 3), 0.5, np.float32), None, r'0-255 values .* multiply a \[0, 1\]'),
    (np.zeros((64, 48, 3), bool), None, 'must be uint8'),
    (np.full((64, 48, 3), np.nan, np.float32), None, 'NaN'),
    (np.zeros((64, 48, 3), np.uint8), [[0, 0, np.nan, 10]], r'box 0 .* NaN'),
    (np.zeros((64, 48, 3), np.uint8), [[0, 0, 10, 10], [100, 100, 120, 130]],
     r'box 1 \[100.0, 100.0, 120.0, 130.0\] \(padded\) lies outside the 48x64 image'),
])
def test_inference_inputs_that_would_be_silently_wrong_are_errors(image, boxes, message):
    """A float image in [0, 1] (normalised with 0-255 means it is a near-constant input), a
    NaN box or one outside the image (a crop of padding) are refused before the model runs.
    The box check by hand: box 1 padded by 1.2 is a square of side 36 centred at (110, 115),
    whose nearest corner (92, 97) is beyond the 48x64 image."""
    with pytest.raises(ValueError, match=message):
        inference_mesh(None, image, None if boxes is None else np.array(boxes, np.float32))
