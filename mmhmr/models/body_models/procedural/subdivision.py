"""Catmull-Clark subdivision (linear in the vertex attributes) and polygon orientation."""
import numpy as np


def _catmull_clark(faces, X):
    """One Catmull-Clark step of a closed polygon mesh.

    Args:
        faces (list[list[int]] | np.ndarray): polygons, consistently oriented or not.
        X (np.ndarray): ``(n, d)`` vertex attributes (positions, or an identity to get the
            subdivision matrix).

    Returns:
        tuple: quads ``(sum of face sizes, 4)`` (vertex point, edge point, face point, edge
        point), and the attributes ``(n + E + F, d)`` of the new vertices in that order.
    """
    n = len(X)
    sizes = np.array([len(f) for f in faces])
    corner_v = np.concatenate([np.asarray(f) for f in faces])
    corner_f = np.repeat(np.arange(len(faces)), sizes)
    first = np.cumsum(sizes) - sizes
    pos = np.arange(len(corner_v)) - np.repeat(first, sizes)
    corner_next = corner_v[np.repeat(first, sizes) + (pos + 1) % np.repeat(sizes, sizes)]
    lo, hi = np.minimum(corner_v, corner_next), np.maximum(corner_v, corner_next)
    edges, corner_e = np.unique(lo * n + hi, return_inverse=True)
    num_e = len(edges)
    if np.bincount(corner_e, minlength=num_e).max() != 2 or len(corner_e) != 2 * num_e:
        raise ValueError('Catmull-Clark needs a closed manifold mesh')
    ea, eb = edges // n, edges % n
    face_pt = np.zeros((len(faces), X.shape[1]))
    np.add.at(face_pt, corner_f, X[corner_v])
    face_pt /= sizes[:, None]
    edge_faces = np.zeros((num_e, X.shape[1]))
    np.add.at(edge_faces, corner_e, face_pt[corner_f])
    edge_pt = (X[ea] + X[eb] + edge_faces) / 4
    valence = np.bincount(np.concatenate([ea, eb]), minlength=n).astype(np.float64)
    f_sum = np.zeros_like(X)
    np.add.at(f_sum, corner_v, face_pt[corner_f])
    r_sum = np.zeros_like(X)
    mid = (X[ea] + X[eb]) / 2
    np.add.at(r_sum, ea, mid)
    np.add.at(r_sum, eb, mid)
    k = valence[:, None]
    vert_pt = (f_sum / k + 2 * r_sum / k + (k - 3) * X) / k
    corner_prev_e = corner_e[np.repeat(first, sizes) + (pos - 1) % np.repeat(sizes, sizes)]
    quads = np.stack([corner_v, n + corner_e, n + num_e + corner_f, n + corner_prev_e], 1)
    return quads, np.concatenate([vert_pt, edge_pt, face_pt])


def _orient(faces, points):
    """Orient polygons consistently (shared edges traversed both ways), outward normals."""
    faces = [list(f) for f in faces]
    edge_faces = {}
    for fi, f in enumerate(faces):
        for a, b in zip(f, f[1:] + f[:1]):
            edge_faces.setdefault((min(a, b), max(a, b)), []).append(fi)
    done = np.zeros(len(faces), dtype=bool)
    done[0] = True
    stack = [0]
    while stack:
        fi = stack.pop()
        f = faces[fi]
        for a, b in zip(f, f[1:] + f[:1]):
            for gi in edge_faces[min(a, b), max(a, b)]:
                if done[gi]:
                    continue
                g = faces[gi]
                if any(x == a and y == b for x, y in zip(g, g[1:] + g[:1])):
                    g.reverse()  # g must traverse the shared edge as b -> a
                done[gi] = True
                stack.append(gi)
    if not done.all():
        raise ValueError('the cage is not connected')
    volume = 0.0
    for f in faces:
        p = points[f]
        for i in range(1, len(f) - 1):
            volume += np.dot(p[0], np.cross(p[i], p[i + 1]))
    return faces if volume > 0 else [f[::-1] for f in faces]
