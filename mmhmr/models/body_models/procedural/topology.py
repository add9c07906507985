"""The mesh shared by every gender and seed, and the cage points of a body on it."""
import functools

import numpy as np

from .body_parts import _build_cage
from .cage import _NUM_REGIONS
from .constants import NUM_VERTICES, SMPL_VERTEX_IDS
from .params import _params
from .subdivision import _catmull_clark, _orient


def _mirror_index(V):
    """Index of each vertex's mirror image (x -> -x) in ``V`` (the mesh is symmetric)."""
    scale = 1e6 * np.pi  # a grid that round numbers of the construction do not sit on
    index = {key: i for i, key in enumerate(map(tuple, np.round(V * scale).astype(np.int64)))}
    mirrored = V * [-1.0, 1.0, 1.0]
    out = np.array([index.get(key, -1)
                    for key in map(tuple, np.round(mirrored * scale).astype(np.int64))])
    for i in np.nonzero(out < 0)[0]:  # the rare vertex that lies on a grid boundary
        out[i] = np.argmin(np.linalg.norm(V - mirrored[i], axis=1))
    if np.abs(V[out] - mirrored).max() > 1e-6:
        raise RuntimeError('the reference body is not mirror-symmetric')
    return out


def _split_edges(tris, S, num):
    """Split ``num`` edges at their mid-points (mirror pairs, longest first).

    Each split adds one vertex and two triangles to the closed mesh. ``S`` maps cage points to
    vertices; the new rows are the averages of the edge's end rows.
    """
    V = S @ _reference_cage()[0]
    mirror = _mirror_index(V)
    e = np.sort(np.concatenate([tris[:, [0, 1]], tris[:, [1, 2]], tris[:, [2, 0]]]), 1)
    owner = np.tile(np.arange(len(tris)), 3)
    keys, inverse = np.unique(e[:, 0] * len(V) + e[:, 1], return_inverse=True)
    edge_tris = np.zeros((len(keys), 2), dtype=np.int64)
    order = np.argsort(inverse, kind='stable')
    edge_tris[:] = owner[order].reshape(-1, 2)
    a, b = keys // len(V), keys % len(V)
    length = np.linalg.norm(V[a] - V[b], axis=1)
    key_index = {int(k): i for i, k in enumerate(keys)}
    used = np.zeros(len(tris), dtype=bool)
    chosen = []
    for i in np.argsort(-length, kind='stable'):
        ma, mb = sorted((mirror[a[i]], mirror[b[i]]))
        j = key_index.get(int(ma * len(V) + mb))
        group = [i] if j in (None, i) else [i, j]
        if len(chosen) + len(group) > num or used[edge_tris[group]].any():
            continue
        if len(group) == 2 and set(edge_tris[i]) & set(edge_tris[j]):
            continue
        used[edge_tris[group]] = True
        chosen += group
        if len(chosen) == num:
            break
    if len(chosen) != num:
        raise RuntimeError('could not find edges to split')
    tris = [list(t) for t in tris]
    rows = [S]
    n = len(S)
    for i in chosen:
        m = n
        n += 1
        rows.append((S[a[i]] + S[b[i]])[None] / 2)
        for ti in edge_tris[i]:
            t = tris[ti]
            k = [x for x in range(3) if t[x] not in (a[i], b[i])][0]
            c, x, y = t[k], t[(k + 1) % 3], t[(k + 2) % 3]  # triangle (c, x, y), edge x -> y
            tris[ti] = [c, x, m]
            tris.append([c, m, y])
    return np.array(tris, dtype=np.int64), np.concatenate(rows)


@functools.lru_cache(maxsize=1)
def _reference_cage():
    """Cage of the reference body (neutral, no seed): points, labels, oriented faces,
    landmarks, and the faces as built (to check other bodies' cages against)."""
    cage = _build_cage(_params('neutral'))
    points, labels, faces = cage.arrays()
    return points, labels, _orient(faces, points), cage.landmarks, faces


@functools.lru_cache(maxsize=1)
def _topology():
    """The mesh shared by all bodies.

    Returns:
        dict: ``S`` ``(6890, n)`` subdivision matrix from cage points to vertices, ``faces``
        ``(13776, 3)``, ``regions`` ``(6890, 6)`` region weights of each vertex.
    """
    points, labels, faces, landmarks, _ = _reference_cage()
    quads, S = _catmull_clark(faces, np.eye(len(points)))
    quads, S = _catmull_clark(quads, S)
    if len(S) > NUM_VERTICES:
        raise RuntimeError(f'the cage subdivides into {len(S)} > {NUM_VERTICES} vertices')
    tris = np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]])
    tris, S = _split_edges(tris, S, NUM_VERTICES - len(S))
    # give the smplx landmark vertices SMPL's indices
    V = S @ points
    regions = S @ np.eye(_NUM_REGIONS)[labels]
    picked = {}
    for name, (region, centre, direction, radius) in landmarks.items():
        near = (np.linalg.norm(V - centre, axis=1) < radius) & (regions[:, region] > 0.99)
        near[list(picked.values())] = False
        if not near.any():
            raise RuntimeError(f'no vertex near the {name} landmark')
        score = np.where(near, V @ direction, -np.inf)
        picked[name] = int(score.argmax())
    new_to_old = np.full(len(V), -1)
    for name, old in picked.items():
        new_to_old[SMPL_VERTEX_IDS[name]] = old
    rest = np.setdiff1d(np.arange(len(V)), list(picked.values()))
    new_to_old[new_to_old < 0] = rest
    old_to_new = np.argsort(new_to_old)
    return dict(S=S[new_to_old], faces=old_to_new[tris], regions=regions[new_to_old])


def _cage_points(p):
    """Cage points ``(n, 3)`` of parameters ``p``, checked to share the reference topology."""
    points, _, faces = _build_cage(p).arrays()
    if faces != _reference_cage()[4]:
        raise RuntimeError('body parameters too far from the reference changed the cage')
    return points
