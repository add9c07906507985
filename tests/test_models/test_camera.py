import torch

from mmhmr.models.utils.camera import (cam_crop_to_full, crop_normalized_to_full,
                                       full_to_crop_normalized, perspective_projection)


def test_full_camera_reproduces_the_weak_perspective_crop_camera():
    # For points on the z = 0 plane of the body frame, the CLIFF full-image camera must give
    # exactly the crop camera's box-normalised coordinates s * (X + t).
    torch.manual_seed(0)
    b = 4
    cam = torch.tensor([[0.9, 0.1, -0.2], [1.2, 0.0, 0.3], [0.5, -0.4, 0.0], [2.0, 0.2, 0.2]])
    center = torch.tensor([[320., 240.], [100., 50.], [600., 400.], [10., 470.]])
    size = torch.tensor([200., 80., 300., 60.])
    img_size = torch.tensor([[640., 480.]]).expand(b, 2)
    focal = torch.tensor([800., 1000., 500., 1200.])
    points = torch.randn(b, 7, 3)
    points[..., 2] = 0
    transl = cam_crop_to_full(cam, center, size, img_size, focal)
    projected = perspective_projection(points, transl, focal, img_size / 2)
    normalised = full_to_crop_normalized(projected, center, size)
    expected = cam[:, None, :1] * (points[..., :2] + cam[:, None, 1:])
    torch.testing.assert_close(normalised, expected, rtol=1e-5, atol=1e-5)


def test_cam_crop_to_full_hand_computed():
    # s = 0.5, box of 100 px centred 40 px right of the principal point, f = 1000:
    # tz = 2 * 1000 / (100 * 0.5) = 40, tx = 0.1 + 2 * 40 / 50 = 1.7, ty = -0.2 + 0 = -0.2
    transl = cam_crop_to_full(
        torch.tensor([[0.5, 0.1, -0.2]]), torch.tensor([[360., 240.]]), torch.tensor([100.]),
        torch.tensor([[640., 480.]]), torch.tensor([1000.]))
    torch.testing.assert_close(transl, torch.tensor([[1.7, -0.2, 40.0]]))


def test_projection_hand_computed_and_normalisation_round_trip():
    p = perspective_projection(torch.tensor([[[1., -2., 0.]]]), torch.tensor([[0., 0., 10.]]),
                               torch.tensor([500.]), torch.tensor([[320., 240.]]))
    torch.testing.assert_close(p, torch.tensor([[[370., 140.]]]))
    center, size = torch.tensor([[300., 200.]]), torch.tensor([100.])
    n = full_to_crop_normalized(p, center, size)
    torch.testing.assert_close(n, torch.tensor([[[1.4, -1.2]]]))
    torch.testing.assert_close(crop_normalized_to_full(n, center, size), p)
