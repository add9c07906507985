"""One synthetic sample: sample a scene, pose the body, render it, and write its ground truth."""
from typing import Dict, Sequence, Union

import numpy as np
import torch

from mmhmr.models.body_models.model_files import GENDERS
from mmhmr.models.body_models.smpl import SMPL
from .appearance import make_background, paint_occluders, vertex_colors, vertex_parts
from .domain import resolve_domain, sample_scene
from .occlusion import exit_depth, keypoint_occlusion
from mmhmr.visualization.renderer import render_mesh

# Bump when a change alters the images or annotations drawn for a (seed, index): it keys caches.
# 2: annotations hold smpl_root_joint; 3: and keypoints_2d_occlusion (same images)
GENERATOR_VERSION = 3
# the person box is the visible body's bounding square enlarged like SPIN's boxes
BBOX_SCALE = 1.2


def project_points(points: np.ndarray, focal_length: float,
                   image_size: Sequence[int]) -> np.ndarray:
    """Pinhole projection with the principal point at the image centre.

    Args:
        points (np.ndarray): ``(N, 3)`` camera frame, m, ``z > 0``.
        focal_length (float): px.
        image_size (Sequence[int]): ``(W, H)``.

    Returns:
        np.ndarray: ``(N, 2)`` px: ``x = f X / Z + W / 2``, ``y = f Y / Z + H / 2``.
    """
    center = 0.5 * np.asarray(image_size, np.float64)
    return focal_length * points[:, :2] / points[:, 2:3] + center


def mask_bbox(mask: np.ndarray):
    """The square box around a mask's pixels (continuous coordinates), enlarged by 1.2.

    Args:
        mask (np.ndarray): ``(H, W)`` bool, not empty.

    Returns:
        tuple: ``bbox_center (2,)`` float32 and ``bbox_size`` float, px.
    """
    cols = np.nonzero(mask.any(axis=0))[0]
    rows = np.nonzero(mask.any(axis=1))[0]
    x0, x1 = cols[0], cols[-1] + 1  # pixel j spans [j, j + 1]
    y0, y1 = rows[0], rows[-1] + 1
    center = np.array([(x0 + x1) / 2, (y0 + y1) / 2], np.float32)
    return center, float(BBOX_SCALE * max(x1 - x0, y1 - y0))


class SyntheticHumanGenerator:
    """Renders SMPL-format bodies in random poses, views and scenes, with full ground truth.

    Everything drawn for a sample comes from ``np.random.default_rng([seed, index])``, so a
    sample depends on ``(seed, index)``, the domain, the body model and
    :data:`GENERATOR_VERSION` only.

    Args:
        model_path (str): a directory with ``SMPL_{NEUTRAL,MALE,FEMALE}.npz`` (or ``.pkl``) and
            ``J_regressor_extra.npy`` (see :class:`~mmhmr.models.body_models.SMPL`).
        domain (str | dict): a preset name or dict (see :func:`~.domain.resolve_domain`).
        genders (Sequence[str]): genders drawn uniformly, among 'neutral', 'male', 'female'.
        cull_backfaces (bool): skip faces turned away from the camera (the SMPL mesh is closed,
            so the image is the same). Defaults to True.
    """

    def __init__(self,
                 model_path: str,
                 domain: Union[str, dict] = 'train',
                 genders: Sequence[str] = ('neutral', ),
                 cull_backfaces: bool = True):
        genders = (genders, ) if isinstance(genders, str) else tuple(genders)
        bad = [g for g in genders if g not in GENDERS]
        if not genders or bad:
            raise ValueError(f'genders must be a non-empty choice of {GENDERS}, got {genders!r}')
        self.model_path = str(model_path)
        self.domain = resolve_domain(domain)
        self.genders = genders
        self.cull_backfaces = cull_backfaces
        self.body_models: Dict[str, SMPL] = {}
        self.parts: Dict[str, np.ndarray] = {}
        for gender in dict.fromkeys(genders):
            model = SMPL(self.model_path, gender=gender, joint_set='spin_49')
            self.body_models[gender] = model.eval()
            # smplx keeps the skinning weights (V, 24) as `lbs_weights`
            self.parts[gender] = vertex_parts(model.body_model.lbs_weights.numpy())

    def body(self, gender: int, smpl_betas: np.ndarray, smpl_pose: np.ndarray) -> Dict:
        """Pose the body of ``gender`` (0/1/2) in its own frame (no translation).

        Returns:
            dict: ``vertices (6890, 3)``, ``smpl_joints (24, 3)``, ``joints (49, 3)`` float64.
        """
        model = self.body_models[GENDERS[gender]]
        with torch.no_grad():
            out = model(torch.from_numpy(smpl_betas[None]), torch.from_numpy(smpl_pose[None]))
        return {k: v[0].double().numpy() for k, v in out.items()}

    def generate(self, seed: int, index: int) -> Dict:
        """Draw, pose and render sample ``index`` of the stream ``seed``.

        Returns:
            dict:
            - ``img`` (np.ndarray): ``(H, W, 3)`` uint8 BGR.
            - ``mask`` (np.ndarray): ``(H, W)`` bool, the body's pixels before occluders.
            - ``annotations`` (dict): ``bbox_center (2,)``, ``bbox_size``, ``focal_length``,
              ``keypoints_2d (49, 3)``, ``keypoints_3d (49, 4)``, ``smpl_pose (72,)``,
              ``smpl_betas (10,)``, ``gender``, ``cam_transl (3,)`` and ``smpl_root_joint (3,)``
              (the root joint of the sample's body model; docs/en/conventions.md).
              A 2D keypoint has confidence 1 when it projects inside the image, occluded or
              not (the ground truth is known behind occluders and the body itself), else 0.
              ``keypoints_2d_occlusion (49,)`` uint8 says which: 0 visible, 1 hidden by the
              body itself, 2 covered by a painted occluder, 3 outside the image (or behind
              the camera), from the rendered depth at the joint's pixel (see
              :mod:`~.occlusion`).
        """
        rng = np.random.default_rng([seed, index])
        scene = sample_scene(self.domain, rng, self.genders)
        width, height = scene['image_size']
        focal = scene['focal_length']

        body = self.body(scene['gender'], scene['smpl_betas'], scene['smpl_pose'])
        # put the pelvis at `distance` along the ray through `root_pixel`
        ray = np.append((scene['root_pixel'] - [width / 2, height / 2]) / focal, 1.)
        cam_transl = scene['distance'] * ray - body['smpl_joints'][0]
        vertices = body['vertices'] + cam_transl
        joints = body['joints'] + cam_transl

        kp2d = project_points(joints, focal, (width, height))
        inside = ((kp2d[:, 0] >= 0) & (kp2d[:, 0] <= width) & (kp2d[:, 1] >= 0)
                  & (kp2d[:, 1] <= height) & (joints[:, 2] > 0))
        keypoints_2d = np.concatenate([kp2d, inside[:, None]], axis=1).astype(np.float32)
        keypoints_3d = np.concatenate([joints, np.ones((len(joints), 1))],
                                      axis=1).astype(np.float32)

        background = make_background(scene['background'], (width, height), rng)
        gender_name = GENDERS[scene['gender']]
        colors = vertex_colors(self.parts[gender_name], scene['color_gain'])
        faces = self.body_models[gender_name].faces
        img, mask, depth = render_mesh(
            vertices, faces, colors, focal, (width / 2, height / 2), (width, height), background,
            scene['light_dir'], scene['ambient'], cull_backfaces=self.cull_backfaces)

        if mask.any():
            bbox_center, bbox_size = mask_bbox(mask)
        else:  # the body is outside the image: box around its joints (never for the presets)
            lo, hi = kp2d.min(0), kp2d.max(0)
            bbox_center = ((lo + hi) / 2).astype(np.float32)
            bbox_size = float(BBOX_SCALE * max(hi - lo))
        _, occluder_mask = paint_occluders(img, scene['occluders'], bbox_center, bbox_size, rng,
                                           return_mask=True)
        occlusion = keypoint_occlusion(
            keypoints_2d, joints[:, 2], depth,
            exit_depth(vertices, faces, focal, (width / 2, height / 2), (width, height)),
            occluder_mask)

        annotations = dict(
            bbox_center=bbox_center,
            bbox_size=bbox_size,
            focal_length=float(focal),
            keypoints_2d=keypoints_2d,
            keypoints_2d_occlusion=occlusion,
            keypoints_3d=keypoints_3d,
            smpl_pose=scene['smpl_pose'],
            smpl_betas=scene['smpl_betas'],
            gender=int(scene['gender']),
            cam_transl=cam_transl.astype(np.float32),
            # the global orientation turns the body about this point (it does not move)
            smpl_root_joint=body['smpl_joints'][0].astype(np.float32))
        return dict(img=np.ascontiguousarray(img[..., ::-1]), mask=mask, annotations=annotations)
