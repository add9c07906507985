"""A small z-buffered triangle rasteriser in numpy, vectorised over faces.

Coordinates follow docs/en/conventions.md: camera frame x right, y down, z forward (m); the image
spans ``[0, W] x [0, H]`` and pixel ``(row i, column j)`` has its centre at ``(j + 0.5, i + 0.5)``.
A pixel belongs to a triangle when its centre lies inside the projected triangle.

How it works, without a Python loop over faces or pixels:

1. project the vertices; each face's bounding box gives its candidate pixel centres (all boxes are
   enumerated at once with ``np.repeat``);
2. screen-space barycentrics by edge functions keep the candidates inside their triangle;
3. depth ``z = 1 / sum(b_i / z_i)`` (perspective-correct); the nearest candidate of each pixel
   wins via ``np.minimum.at`` on a key that packs the float depth bits above the candidate index;
4. the winners' colours are the perspective-correct interpolation of the per-vertex colours
   (Gouraud: the lighting is evaluated per vertex).

:func:`render_mesh` can anti-alias by supersampling (``antialias``) and blend the mesh over the
background with an opacity (``alpha``); both are off by default.

Speed (``tools/analysis_tools/benchmark_renderer.py``): a 6890-vertex SMPL mesh filling 70% of
the height of a 512 x 512 image takes about 7-15 ms, 25-50 ms anti-aliased (2 x 2), on one
core. The spread is glibc's allocator: in a fresh process most large temporaries are fresh
``mmap`` pages (page faults); once its thresholds have grown (glibc raises them when large
buffers are freed, e.g. after torch has run in the process), or with
``MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=268435456`` in the environment, the
same calls take about half as long.
"""
from typing import Optional, Sequence, Tuple, Union

import numpy as np

# A candidate pixel centre on a shared edge may fail both triangles' tests by rounding; accept it
# with this tolerance on the normalised barycentrics (the z-buffer then picks one of them).
_BARY_EPS = 1e-6
_NEAR = 1e-3  # m; faces with a vertex nearer than this are dropped


def face_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Outward face normals scaled by twice the face area.

    Args:
        vertices (np.ndarray): ``(V, 3)`` positions.
        faces (np.ndarray): ``(F, 3)`` vertex indices of a closed mesh.

    Returns:
        np.ndarray: ``(F, 3)``; outward whatever the winding: when the faces are wound
        clockwise seen from outside the signed volume is negative, and the normals are negated.
    """
    v0, v1, v2 = vertices[faces[:, 0]], vertices[faces[:, 1]], vertices[faces[:, 2]]
    e1, e2 = v1 - v0, v2 - v0
    normals = np.stack([e1[:, 1] * e2[:, 2] - e1[:, 2] * e2[:, 1],
                        e1[:, 2] * e2[:, 0] - e1[:, 0] * e2[:, 2],
                        e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]], axis=1)
    # 6 x signed volume = sum of v0 . (v1 x v2) = sum of v0 . ((v1 - v0) x (v2 - v0))
    if np.einsum('fi,fi->', v0, normals) < 0:
        normals = -normals
    return normals


def vertex_normals(vertices: np.ndarray, faces: np.ndarray,
                   normals_of_faces: Optional[np.ndarray] = None) -> np.ndarray:
    """Area-weighted unit vertex normals.

    Args:
        vertices (np.ndarray): ``(V, 3)`` positions.
        faces (np.ndarray): ``(F, 3)`` vertex indices of a closed mesh.
        normals_of_faces (np.ndarray, optional): ``(F, 3)`` from :func:`face_normals`, if
            already computed.

    Returns:
        np.ndarray: ``(V, 3)`` float32 unit normals (zero for unused vertices), outward
        whatever the winding (see :func:`face_normals`).
    """
    if normals_of_faces is None:
        normals_of_faces = face_normals(vertices, faces)
    corners = faces.T.reshape(-1)  # (3F,) corner k of every face, then corner k + 1 ...
    num = len(vertices)
    normals = np.stack([
        np.bincount(corners, np.tile(normals_of_faces[:, k], 3), minlength=num)
        for k in range(3)], axis=1)
    norm = np.linalg.norm(normals, axis=1, keepdims=True)
    return (normals / np.maximum(norm, 1e-12)).astype(np.float32)


def lambert_shade(normals: np.ndarray,
                  albedo: np.ndarray,
                  light_dir: Sequence[float] = (0., 0., -1.),
                  ambient: float = 0.35) -> np.ndarray:
    """Per-vertex Lambertian + ambient shading.

    Args:
        normals (np.ndarray): ``(V, 3)`` unit normals.
        albedo (np.ndarray): ``(V, 3)`` colours in ``[0, 1]``.
        light_dir (Sequence[float]): direction from the surface towards the light, camera frame;
            ``(0, 0, -1)`` is a light at the camera.
        ambient (float): ambient fraction; the diffuse part is ``1 - ambient``.

    Returns:
        np.ndarray: ``(V, 3)`` shaded colours in ``[0, 1]``.
    """
    light = np.asarray(light_dir, np.float32)
    light = light / np.linalg.norm(light)
    # a plain sum, not `normals @ light`: BLAS would start (busy-waiting) threads for a gemv
    cos = normals[:, 0] * light[0] + normals[:, 1] * light[1] + normals[:, 2] * light[2]
    diffuse = np.clip(cos, 0., None)[:, None]  # (V, 1)
    return albedo * (ambient + (1. - ambient) * diffuse)


def _rasterize_hits(vertices: np.ndarray,
                    faces: np.ndarray,
                    focal_length: float,
                    principal_point: Sequence[float],
                    image_size: Sequence[int],
                    cull_backfaces: bool = False,
                    normals_of_faces: Optional[np.ndarray] = None
                    ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`rasterize` on the covered pixels only (same arguments).

    Returns:
        tuple:
        - pixel (np.ndarray): ``(N,)`` int64 flat indices ``row * W + column`` of the covered
          pixels, ascending.
        - face (np.ndarray): ``(N,)`` int64 the visible face of each.
        - bary (np.ndarray): ``(N, 3)`` float32 its perspective-correct barycentrics.
        - depth (np.ndarray): ``(N,)`` float32 camera-frame z.
    """
    width, height = int(image_size[0]), int(image_size[1])
    verts = np.asarray(vertices, np.float32)
    faces = np.asarray(faces, np.int64)
    if verts.ndim != 2 or verts.shape[1] != 3:
        raise ValueError(f'rasterize: vertices must be (V, 3), got {verts.shape}')
    if faces.ndim != 2 or faces.shape[1] != 3:
        raise ValueError(f'rasterize: faces must be (F, 3), got {faces.shape}')

    z = verts[:, 2]
    inv_z = 1. / np.where(z > _NEAR, z, np.float32(_NEAR))
    # pixel coordinates shifted so that pixel j's centre is at j (it is at j + 0.5 in the image)
    sx = (focal_length * verts[:, 0] * inv_z + (principal_point[0] - 0.5)).astype(np.float32)
    sy = (focal_length * verts[:, 1] * inv_z + (principal_point[1] - 0.5)).astype(np.float32)

    i0, i1, i2 = faces.T
    keep = (z[i0] > _NEAR) & (z[i1] > _NEAR) & (z[i2] > _NEAR)
    if cull_backfaces:
        if normals_of_faces is None:
            normals_of_faces = face_normals(verts, faces)
        # front-facing: the outward normal points back at the camera (the origin)
        keep &= np.einsum('fi,fi->f', normals_of_faces, verts[i0]) < 0
    i0, i1, i2 = i0[keep], i1[keep], i2[keep]
    face_ids = np.nonzero(keep)[0]
    ax, bx, cx = sx[i0], sx[i1], sx[i2]
    ay, by, cy = sy[i0], sy[i1], sy[i2]
    # twice the signed screen area, per face (degenerate faces cover no pixel: dropped)
    area = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
    keep = area != 0
    if not keep.all():
        i0, i1, i2, face_ids, area = i0[keep], i1[keep], i2[keep], face_ids[keep], area[keep]
        ax, bx, cx, ay, by, cy = ax[keep], bx[keep], cx[keep], ay[keep], by[keep], cy[keep]
    inv_area = 1. / area
    x0 = np.maximum(np.ceil(np.minimum(np.minimum(ax, bx), cx)), 0).astype(np.int64)
    x1 = np.minimum(np.floor(np.maximum(np.maximum(ax, bx), cx)), width - 1).astype(np.int64)
    y0 = np.maximum(np.ceil(np.minimum(np.minimum(ay, by), cy)), 0).astype(np.int64)
    y1 = np.minimum(np.floor(np.maximum(np.maximum(ay, by), cy)), height - 1).astype(np.int64)
    box_w, box_h = x1 - x0 + 1, y1 - y0 + 1
    counts = np.where((box_w > 0) & (box_h > 0), box_w * box_h, 0)

    # enumerate the pixel centres of every face's box at once
    cand = np.repeat(np.arange(len(face_ids)), counts)  # (N,) face slot of each candidate
    local = np.arange(len(cand)) - np.repeat(np.cumsum(counts) - counts, counts)
    row, col = np.divmod(local, box_w[cand])
    px = x0[cand] + col
    py = y0[cand] + row

    # edge functions: b_k is proportional to the area of the sub-triangle opposite vertex k
    ax, ay, bx, by, cx, cy = ax[cand], ay[cand], bx[cand], by[cand], cx[cand], cy[cand]
    fpx, fpy = px.astype(np.float32), py.astype(np.float32)
    inv_area = inv_area[cand]
    b0 = ((bx - fpx) * (cy - fpy) - (by - fpy) * (cx - fpx)) * inv_area
    b1 = ((cx - fpx) * (ay - fpy) - (cy - fpy) * (ax - fpx)) * inv_area
    b2 = 1. - b0 - b1
    inside = np.nonzero((b0 >= -_BARY_EPS) & (b1 >= -_BARY_EPS) & (b2 >= -_BARY_EPS))[0]
    cand, b0, b1, b2 = cand[inside], b0[inside], b1[inside], b2[inside]
    pix = py[inside] * width + px[inside]

    # perspective-correct depth: 1/z is affine in screen space
    w0, w1, w2 = b0 * inv_z[i0[cand]], b1 * inv_z[i1[cand]], b2 * inv_z[i2[cand]]
    depth = (1. / (w0 + w1 + w2)).astype(np.float32)

    # z-buffer: positive float32 bits sort like the floats; the low 32 bits keep the candidate
    key = (depth.view(np.int32).astype(np.int64) << 32) | np.arange(len(pix), dtype=np.int64)
    empty = np.iinfo(np.int64).max
    zbuf = np.full(width * height, empty, np.int64)
    np.minimum.at(zbuf, pix, key)
    hit = np.nonzero(zbuf != empty)[0]
    win = zbuf[hit] & 0xFFFFFFFF

    depth_win = depth[win]
    bary = np.empty((len(hit), 3), np.float32)
    for k, w in enumerate((w0, w1, w2)):
        bary[:, k] = w[win] * depth_win
    return hit, face_ids[cand[win]], bary, depth_win


def rasterize(vertices: np.ndarray,
              faces: np.ndarray,
              focal_length: float,
              principal_point: Sequence[float],
              image_size: Sequence[int],
              cull_backfaces: bool = False,
              normals_of_faces: Optional[np.ndarray] = None
              ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Z-buffered rasterisation: which face is seen at each pixel, and where on it.

    Args:
        vertices (np.ndarray): ``(V, 3)`` camera-frame positions, m.
        faces (np.ndarray): ``(F, 3)`` vertex indices.
        focal_length (float): px.
        principal_point (Sequence[float]): ``(cx, cy)``, px.
        image_size (Sequence[int]): ``(W, H)``.
        cull_backfaces (bool): drop the faces turned away from the camera before rasterising
            (half the candidates: faster when the mesh covers many pixels). Only for closed
            meshes: "away" is decided with the outward normals (see :func:`face_normals`).
            Defaults to False.
        normals_of_faces (np.ndarray, optional): ``(F, 3)`` from :func:`face_normals`, if
            already computed (for culling).

    Returns:
        tuple:
        - face_index (np.ndarray): ``(H, W)`` int64, the visible face, ``-1`` for background.
        - bary (np.ndarray): ``(H, W, 3)`` float32 perspective-correct barycentrics of the
          visible face (zero on background).
        - depth (np.ndarray): ``(H, W)`` float32 camera-frame z, ``inf`` on background.
    """
    width, height = int(image_size[0]), int(image_size[1])
    pixel, face, bary, depth = _rasterize_hits(vertices, faces, focal_length, principal_point,
                                               image_size, cull_backfaces, normals_of_faces)
    face_index = np.full(width * height, -1, np.int64)
    face_index[pixel] = face
    out_bary = np.zeros((width * height, 3), np.float32)
    out_bary[pixel] = bary
    out_depth = np.full(width * height, np.inf, np.float32)
    out_depth[pixel] = depth
    return (face_index.reshape(height, width), out_bary.reshape(height, width, 3),
            out_depth.reshape(height, width))


def _supersampling(antialias: Union[bool, int]) -> int:
    """The supersampling factor ``s`` of ``render_mesh(antialias=...)``: 1 (off), 2 for True."""
    if isinstance(antialias, (bool, np.bool_)):
        return 2 if antialias else 1
    if isinstance(antialias, (int, np.integer)) and antialias >= 1:
        return int(antialias)
    raise ValueError(f'render_mesh: antialias must be a bool or an int >= 1, got {antialias!r}')


def render_mesh(vertices: np.ndarray,
                faces: np.ndarray,
                vertex_colors: np.ndarray,
                focal_length: float,
                principal_point: Sequence[float],
                image_size: Sequence[int],
                background: Optional[np.ndarray] = None,
                light_dir: Sequence[float] = (0., 0., -1.),
                ambient: float = 0.35,
                cull_backfaces: bool = False,
                antialias: Union[bool, int] = False,
                alpha: float = 1.) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Render a shaded mesh over a background.

    Anti-aliasing is plain supersampling: the mesh is rasterised at ``s`` times the resolution
    (``s x s`` samples per pixel on a regular grid, at ``(j + (m + 0.5) / s, i + (n + 0.5) / s)``
    for ``m, n < s``), each sample is shaded as without anti-aliasing, and each pixel's samples
    are box-filtered: its colour is ``alpha * sum(colours of its mesh samples) / s^2 +
    (1 - alpha * coverage) * background``, with ``coverage`` the fraction of its samples on the
    mesh. It handles silhouettes, inner occlusion edges and any number of faces in a pixel alike,
    for about ``s^2`` times the rasterisation cost (an analytic edge coverage would need every
    face's overlap area with every pixel it touches, and still a visibility rule). Without
    anti-aliasing a pixel is the sample at its centre, as in :func:`rasterize`.

    Args:
        vertices (np.ndarray): ``(V, 3)`` camera-frame positions, m.
        faces (np.ndarray): ``(F, 3)`` vertex indices of a closed mesh (its outside is found by
            the signed volume, see :func:`face_normals`).
        vertex_colors (np.ndarray): ``(V, 3)`` albedo in ``[0, 1]`` (any channel order; the
            output keeps it).
        focal_length (float): px.
        principal_point (Sequence[float]): ``(cx, cy)``, px.
        image_size (Sequence[int]): ``(W, H)``.
        background (np.ndarray, optional): ``(H, W, 3)`` uint8; black when None.
        light_dir (Sequence[float]): direction towards the light in the camera frame.
        ambient (float): ambient fraction of the shading.
        cull_backfaces (bool): see :func:`rasterize`; only for closed meshes.
        antialias (bool | int): supersampling factor ``s`` (see above); True is 2 (4 samples a
            pixel), False or 1 is off: one sample at the pixel centre and a hard edge.
            Defaults to False.
        alpha (float): opacity of the mesh over the background, in ``[0, 1]``. Defaults to 1.

    Returns:
        tuple:
        - image (np.ndarray): ``(H, W, 3)`` uint8, rounded to the nearest level.
        - mask (np.ndarray): ``(H, W)`` bool, True where the mesh is seen (any sample on it).
        - depth (np.ndarray): ``(H, W)`` float32, the nearest sample's depth, ``inf`` on
          background.
    """
    width, height = int(image_size[0]), int(image_size[1])
    verts = np.asarray(vertices, np.float32)
    faces = np.asarray(faces, np.int64)
    if vertex_colors.shape != verts.shape:
        raise ValueError(f'render_mesh: vertex_colors must be {verts.shape}, '
                         f'got {vertex_colors.shape}')
    if background is None:
        background = np.zeros((height, width, 3), np.uint8)
    elif background.shape != (height, width, 3):
        raise ValueError(f'render_mesh: background must be {(height, width, 3)}, '
                         f'got {background.shape}')
    if not 0. <= alpha <= 1.:
        raise ValueError(f'render_mesh: alpha must be in [0, 1], got {alpha}')
    factor = _supersampling(antialias)

    normals_of_faces = face_normals(verts, faces)
    normals = vertex_normals(verts, faces, normals_of_faces)
    shaded = lambert_shade(normals, vertex_colors, light_dir, ambient)  # (V, 3)

    focal, centre, big_size = focal_length, principal_point, (width, height)
    if factor > 1:  # sample (i, j) of the s times larger image is at ((j + .5) / s, (i + .5) / s)
        focal, centre = focal_length * factor, (principal_point[0] * factor,
                                                principal_point[1] * factor)
        big_size = (width * factor, height * factor)
    pixel, face, bary, depth = _rasterize_hits(verts, faces, focal, centre, big_size,
                                               cull_backfaces, normals_of_faces)
    color = np.einsum('nk,nkc->nc', bary, shaded[faces[face]])  # (N, 3) in [0, 1]
    image = background.copy()
    if factor == 1:
        mask = np.zeros(height * width, bool)
        mask[pixel] = True
        mask = mask.reshape(height, width)
        if alpha == 1.:
            image[mask] = np.clip(color * 255. + 0.5, 0, 255).astype(np.uint8)
        else:
            blend = alpha * 255. * color + (1. - alpha) * background[mask]
            image[mask] = np.clip(blend + 0.5, 0, 255).astype(np.uint8)
        out_depth = np.full(height * width, np.inf, np.float32)
        out_depth[pixel] = depth
        return image, mask, out_depth.reshape(height, width)

    # box filter: the pixel of each sample, then sums per pixel
    big_row, big_col = np.divmod(pixel, big_size[0])
    pixel = (big_row // factor) * width + big_col // factor
    count = np.bincount(pixel, minlength=width * height).reshape(height, width)
    mask = count > 0
    color_sum = np.stack([np.bincount(pixel, color[:, c], minlength=width * height)
                          for c in range(3)], axis=1).reshape(height, width, 3)
    coverage = count[mask] / factor**2  # (M,)
    blend = (alpha * 255. / factor**2) * color_sum[mask] + (1. - alpha * coverage)[:, None] \
        * background[mask]
    image[mask] = np.clip(blend + 0.5, 0, 255).astype(np.uint8)
    out_depth = np.full(height * width, np.inf, np.float32)
    np.minimum.at(out_depth, pixel, depth)  # the nearest sample of each pixel
    return image, mask, out_depth.reshape(height, width)
