"""The numpy rasteriser on hand-made scenes whose answers are worked out by hand."""
import numpy as np
import pytest

from mmhmr.visualization.renderer import lambert_shade, rasterize, render_mesh, vertex_normals

W, H = 40, 30
F = 100.  # px
Z = 2.  # m


def to_camera(points_px, z=Z, focal=F):
    """Camera-frame points at depth ``z`` that project to ``points_px`` (principal point
    at the image centre)."""
    points_px = np.asarray(points_px, np.float64)
    xy = (points_px - [W / 2, H / 2]) * z / focal
    return np.concatenate([xy, np.full((len(points_px), 1), z)], axis=1)


def pixel_centres():
    ys, xs = np.mgrid[0:H, 0:W]
    return xs + 0.5, ys + 0.5


def test_triangle_covers_the_pixel_centres_inside_it():
    # right triangle with legs on x = 5 and y = 4, hypotenuse x + y = 25 (in px)
    corners = [(5., 4.), (21., 4.), (5., 20.)]
    tri = to_camera(corners)
    face_index, bary, depth = rasterize(tri, np.array([[0, 1, 2]]), F, (W / 2, H / 2), (W, H))
    xs, ys = pixel_centres()
    expected = (xs >= 5) & (ys >= 4) & (xs + ys <= 25)
    np.testing.assert_array_equal(face_index >= 0, expected)
    assert (face_index[expected] == 0).all()
    np.testing.assert_allclose(depth[expected], Z, rtol=1e-6)
    assert np.isinf(depth[~expected]).all()
    # barycentrics reproduce the pixel centre (fronto-parallel: screen-space = perspective)
    b = bary[expected]
    recon = b @ np.array(corners)
    np.testing.assert_allclose(recon, np.stack([xs[expected], ys[expected]], 1), atol=1e-4)


def test_triangle_with_vertices_on_pixel_centres_covers_the_hand_counted_pixels():
    # f = 64 px and z = 2 m make every coordinate exact in float32. The corners are the centres
    # of pixels (row 3, col 2), (3, 6) and (7, 2); pixel (i, j) is covered when its centre
    # (j + .5, i + .5) satisfies j >= 2, i >= 3 and (j - 2) + (i - 3) <= 4, the edges included:
    # rows 3..7 hold 5, 4, 3, 2 and 1 pixels, 15 in all.
    focal = 64.
    tri = to_camera([(2.5, 3.5), (6.5, 3.5), (2.5, 7.5)], focal=focal)
    face_index = rasterize(tri, np.array([[0, 1, 2]]), focal, (W / 2, H / 2), (W, H))[0]
    expected = {(3, 2), (3, 3), (3, 4), (3, 5), (3, 6), (4, 2), (4, 3), (4, 4), (4, 5),
                (5, 2), (5, 3), (5, 4), (6, 2), (6, 3), (7, 2)}
    assert set(zip(*np.nonzero(face_index >= 0))) == expected
    assert (face_index >= 0).sum() == 15


def test_a_known_vertex_projects_to_its_pixel():
    # X = (0.5, -0.25, 2) m, f = 100 px, principal point (32.5, 32):
    # u = 100 * 0.5 / 2 + 32.5 = 57.5, v = 100 * -0.25 / 2 + 32 = 19.5, the centre of the pixel
    # (row 19, column 57) (with cx = 32, u = 57 would fall on the border of columns 56 and 57).
    # A triangle with its right angle at X, legs along +x and +y (10 px long), covers that
    # pixel with barycentrics (1, 0, 0), and neither its left nor its upper neighbour.
    x = np.array([0.5, -0.25, 2.])
    tri = np.stack([x, x + [0.2, 0., 0.], x + [0., 0.2, 0.]])
    face_index, bary, depth = rasterize(tri, np.array([[0, 1, 2]]), 100., (32.5, 32.), (64, 64))
    assert face_index[19, 57] == 0
    np.testing.assert_allclose(bary[19, 57], [1., 0., 0.], atol=1e-5)
    assert depth[19, 57] == pytest.approx(2.)
    assert face_index[19, 56] == -1 and face_index[18, 57] == -1
    ys, xs = np.nonzero(face_index >= 0)
    assert ys.min() == 19 and xs.min() == 57


def test_winding_does_not_matter_without_culling():
    tri = to_camera([(5., 4.), (21., 4.), (5., 20.)])
    a = rasterize(tri, np.array([[0, 1, 2]]), F, (W / 2, H / 2), (W, H))[0]
    b = rasterize(tri, np.array([[0, 2, 1]]), F, (W / 2, H / 2), (W, H))[0]
    np.testing.assert_array_equal(a, b)
    assert (a >= 0).sum() > 0


def test_nearer_triangle_occludes_farther_one_whatever_the_order():
    # a far triangle pointing down and a near one pointing up; they overlap in a diamond
    far = to_camera([(2., 2.), (30., 2.), (16., 28.)], z=4.)
    near = to_camera([(10., 28.), (38., 28.), (24., 2.)], z=2.)
    verts = np.concatenate([far, near])
    xs, ys = pixel_centres()
    in_far = ((ys >= 2) & (26 * (xs - 2) - 14 * (ys - 2) >= 0)
              & (26 * (30 - xs) - 14 * (ys - 2) >= 0))
    in_near = ((ys <= 28) & (26 * (xs - 24) + 14 * (ys - 2) >= 0)
               & (26 * (24 - xs) + 14 * (ys - 2) >= 0))
    assert (in_far & in_near).sum() > 50  # the overlap is substantial
    for faces, near_id in ((np.array([[0, 1, 2], [3, 4, 5]]), 1),
                           (np.array([[3, 4, 5], [0, 1, 2]]), 0)):
        face_index, _, depth = rasterize(verts, faces, F, (W / 2, H / 2), (W, H))
        assert (face_index[in_near] == near_id).all()
        assert (face_index[in_far & ~in_near] == 1 - near_id).all()
        np.testing.assert_allclose(depth[in_near], 2., rtol=1e-6)
        np.testing.assert_allclose(depth[in_far & ~in_near], 4., rtol=1e-6)


def test_tilted_triangle_depth_is_perspective_correct():
    # the plane z = 2 + 0.5 x (camera frame); a ray through pixel (u, v) meets it at
    # z = 2 / (1 - 0.5 (u - cx) / f)
    pts = np.array([[-0.3, -0.2, 0.], [0.3, -0.2, 0.], [0., 0.25, 0.]])
    pts[:, 2] = 2. + 0.5 * pts[:, 0]
    face_index, _, depth = rasterize(pts, np.array([[0, 1, 2]]), F, (W / 2, H / 2), (W, H))
    xs, _ = pixel_centres()
    hit = face_index >= 0
    assert hit.sum() > 100
    expected = 2. / (1. - 0.5 * (xs[hit] - W / 2) / F)
    np.testing.assert_allclose(depth[hit], expected, rtol=1e-5)


def test_square_of_two_triangles_has_no_holes_and_the_analytic_area():
    # axis-aligned square [8.3, 30.3] x [6.7, 22.7] split along a diagonal
    corners = [(8.3, 6.7), (30.3, 6.7), (30.3, 22.7), (8.3, 22.7)]
    verts = to_camera(corners)
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    face_index, _, _ = rasterize(verts, faces, F, (W / 2, H / 2), (W, H))
    xs, ys = pixel_centres()
    expected = (xs >= 8.3) & (xs <= 30.3) & (ys >= 6.7) & (ys <= 22.7)
    np.testing.assert_array_equal(face_index >= 0, expected)
    assert expected.sum() == 22 * 16


def test_disc_mask_area_matches_analytic_area():
    # a fan of 64 triangles approximating a disc of radius 10 px (polygon area is known)
    n, r = 64, 10.
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    rim = np.stack([20.1 + r * np.cos(angles), 15.2 + r * np.sin(angles)], 1)
    verts = to_camera(np.concatenate([[[20.1, 15.2]], rim]))
    faces = np.stack([np.zeros(n, int), 1 + np.arange(n), 1 + (np.arange(n) + 1) % n], 1)
    image, mask, _ = render_mesh(verts, faces, np.ones((n + 1, 3), np.float32), F,
                                 (W / 2, H / 2), (W, H))
    polygon_area = 0.5 * n * r * r * np.sin(2 * np.pi / n)
    assert abs(mask.sum() - polygon_area) < 0.05 * polygon_area
    assert (image[~mask] == 0).all()


def test_faces_behind_the_camera_or_outside_the_image_are_dropped():
    tri = to_camera([(5., 4.), (21., 4.), (5., 20.)])
    behind = tri.copy()
    behind[:, 2] = -1.
    face_index = rasterize(behind, np.array([[0, 1, 2]]), F, (W / 2, H / 2), (W, H))[0]
    assert (face_index < 0).all()
    outside = to_camera([(-30., -30.), (-10., -30.), (-30., -10.)])
    face_index = rasterize(outside, np.array([[0, 1, 2]]), F, (W / 2, H / 2), (W, H))[0]
    assert (face_index < 0).all()


def closed_tetrahedron():
    """A tetrahedron in front of the camera, faces wound counter-clockwise from outside."""
    verts = np.array([[0., 0., 0.], [1., 0., 0.], [0., 1., 0.], [0., 0., 1.]]) - 0.25
    faces = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])
    return verts * 0.4 + [0., 0., 3.], faces


def test_normals_point_outward_for_either_winding():
    verts, faces = closed_tetrahedron()
    centroid = verts.mean(0)
    for f in (faces, faces[:, ::-1]):
        normals = vertex_normals(verts, f)
        np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1., rtol=1e-5)
        assert ((normals * (verts - centroid)).sum(1) > 0).all()


def test_backface_culling_keeps_the_image_of_a_closed_mesh():
    verts, faces = closed_tetrahedron()
    for f in (faces, faces[:, ::-1]):
        full = rasterize(verts, f, F, (W / 2, H / 2), (W, H))
        culled = rasterize(verts, f, F, (W / 2, H / 2), (W, H), cull_backfaces=True)
        assert (full[0] >= 0).sum() > 20
        np.testing.assert_array_equal(full[0], culled[0])


def test_lambert_shading_values():
    normals = np.array([[0., 0., -1.], [0., 0., 1.], [np.sqrt(.5), 0., -np.sqrt(.5)]])
    albedo = np.full((3, 3), 0.8, np.float32)
    shaded = lambert_shade(normals, albedo, light_dir=(0., 0., -1.), ambient=0.25)
    # facing the light: full; facing away: ambient only; at 45 deg: ambient + 0.75 cos 45
    np.testing.assert_allclose(shaded[:, 0], [0.8, 0.2, 0.8 * (0.25 + 0.75 * np.sqrt(.5))],
                               rtol=1e-5)


def test_render_colours_and_background():
    verts = to_camera([(5., 4.), (21., 4.), (5., 20.)])
    colors = np.tile([[1., 0.5, 0.]], (3, 1)).astype(np.float32)
    background = np.full((H, W, 3), 7, np.uint8)
    image, mask, _ = render_mesh(verts, np.array([[0, 1, 2]]), colors, F, (W / 2, H / 2),
                                 (W, H), background, ambient=1.)
    # ambient only: the albedo whatever the normals
    np.testing.assert_array_equal(image[mask], np.tile([[255, 128, 0]], (mask.sum(), 1)))
    assert (image[~mask] == 7).all()
    with pytest.raises(ValueError, match='background'):
        render_mesh(verts, np.array([[0, 1, 2]]), colors, F, (W / 2, H / 2), (W, H),
                    np.zeros((H + 1, W, 3), np.uint8))


# ---------------------------------------------------------------------------------------------
# anti-aliasing (supersampling) and opacity

ALBEDO = (0.8, 0.4, 0.2)  # x 255 = (204, 102, 51)
BACKGROUND = (10, 20, 31)


def half_plane(z=Z):
    """A triangle that covers exactly ``x >= 20.5`` px of the image (its other two edges pass
    far above and below it): its left edge runs through the centres of column 20."""
    return to_camera([(20.5, -100.), (20.5, 200.), (300., 50.)], z=z)


def test_antialiased_edge_through_pixel_centres_has_half_coverage():
    colors = np.tile([ALBEDO], (3, 1)).astype(np.float32)
    background = np.tile(np.array(BACKGROUND, np.uint8), (H, W, 1))
    plain, _, _ = render_mesh(half_plane(), np.array([[0, 1, 2]]), colors, F, (W / 2, H / 2),
                              (W, H), background, ambient=1.)
    for antialias in (True, 4):  # 2 x 2 and 4 x 4 samples: columns 20.25 | 20.75, ...
        image, mask, depth = render_mesh(half_plane(), np.array([[0, 1, 2]]), colors, F,
                                         (W / 2, H / 2), (W, H), background, ambient=1.,
                                         antialias=antialias)
        # half the samples of column 20: (0.5 * 204 + 0.5 * 10, 0.5 * 102 + 0.5 * 20,
        # 0.5 * 51 + 0.5 * 31) = (107, 61, 41)
        assert (image[:, 20] == [107, 61, 41]).all()
        # inside: the albedo (ambient only), as without anti-aliasing; outside: the background
        assert (image[:, 21:] == [204, 102, 51]).all()
        np.testing.assert_array_equal(image[:, 21:], plain[:, 21:])
        assert (image[:, :20] == BACKGROUND).all()
        # mask: any sample on the mesh; depth: the nearest sample
        assert mask[:, 20:].all() and not mask[:, :20].any()
        np.testing.assert_allclose(depth[:, 20:], Z, rtol=1e-6)
        assert np.isinf(depth[:, :20]).all()


def far_quad(z=4.):
    """Two triangles covering the whole image (and more) at depth ``z``."""
    verts = to_camera([(-10., -10.), (50., -10.), (50., 40.), (-10., 40.)], z=z)
    return verts, np.array([[0, 1, 2], [0, 2, 3]])


def test_antialiased_occlusion_edge_mixes_the_two_faces_and_keeps_the_nearest_depth():
    quad, quad_faces = far_quad()
    verts = np.concatenate([quad, half_plane()])
    faces = np.concatenate([quad_faces, [[4, 5, 6]]])
    colors = np.array([(0.4, 0.8, 1.)] * 4 + [ALBEDO] * 3, np.float32)
    image, mask, depth = render_mesh(verts, faces, colors, F, (W / 2, H / 2), (W, H),
                                     ambient=1., antialias=True)
    # column 20: half near (204, 102, 51), half far (102, 204, 255): (153, 153, 153)
    assert (image[:, 20] == 153).all()
    assert (image[:, 21:] == [204, 102, 51]).all() and (image[:, :20] == [102, 204, 255]).all()
    assert mask.all()
    np.testing.assert_allclose(depth[:, 20:], 2., rtol=1e-6)
    np.testing.assert_allclose(depth[:, :20], 4., rtol=1e-6)


def test_antialiased_full_coverage_keeps_the_colour():
    # vertex colours affine in the image position: a fronto-parallel mesh interpolates them
    # affinely, so the mean of a pixel's symmetric samples is the colour at its centre
    verts, faces = far_quad()
    u = np.array([-10., 50., 50., -10.])
    v = np.array([-10., -10., 40., 40.])
    colors = np.stack([0.2 + 0.01 * u, 0.3 + 0.012 * v, 0.5 + 0.005 * u - 0.004 * v],
                      1).astype(np.float32)
    plain, _, _ = render_mesh(verts, faces, colors, F, (W / 2, H / 2), (W, H), ambient=1.)
    assert len(np.unique(plain[..., 0])) > 20  # a real gradient
    for antialias in (2, 3):
        image, mask, depth = render_mesh(verts, faces, colors, F, (W / 2, H / 2), (W, H),
                                         ambient=1., antialias=antialias)
        assert mask.all()
        assert np.abs(image.astype(int) - plain).max() <= 1
        np.testing.assert_allclose(depth, 4., rtol=1e-6)


def test_alpha_blends_the_mesh_over_the_background():
    colors = np.tile([ALBEDO], (3, 1)).astype(np.float32)
    background = np.tile(np.array(BACKGROUND, np.uint8), (H, W, 1))
    # alpha 0.3 over (10, 20, 31): (0.3 * 204 + 0.7 * 10, 0.3 * 102 + 0.7 * 20,
    # 0.3 * 51 + 0.7 * 31) = (68.2, 44.6, 37.0) -> (68, 45, 37)
    for antialias in (False, True):
        image, mask, _ = render_mesh(half_plane(), np.array([[0, 1, 2]]), colors, F,
                                     (W / 2, H / 2), (W, H), background, ambient=1., alpha=0.3,
                                     antialias=antialias)
        assert (image[10, 30] == [68, 45, 37]).all()
        assert (image[:, :20] == BACKGROUND).all()
    # anti-aliased edge: weight alpha x coverage = 0.15: (0.15 * 204 + 0.85 * 10,
    # 0.15 * 102 + 0.85 * 20, 0.15 * 51 + 0.85 * 31) = (39.1, 32.3, 34.0) -> (39, 32, 34)
    assert (image[10, 20] == [39, 32, 34]).all()
    assert mask[10, 20]


def test_antialias_and_alpha_arguments():
    verts = to_camera([(5., 4.), (21., 4.), (5., 20.)])
    colors = np.ones((3, 3), np.float32)
    args = (verts, np.array([[0, 1, 2]]), colors, F, (W / 2, H / 2), (W, H))
    off = render_mesh(*args)
    for same in (dict(antialias=1), dict(antialias=False, alpha=1.)):
        for a, b in zip(off, render_mesh(*args, **same)):
            np.testing.assert_array_equal(a, b)
    for bad in (dict(antialias=0), dict(antialias=-2), dict(antialias=1.5)):
        with pytest.raises(ValueError, match='antialias'):
            render_mesh(*args, **bad)
    for alpha in (-0.1, 1.5):
        with pytest.raises(ValueError, match='alpha'):
            render_mesh(*args, alpha=alpha)
