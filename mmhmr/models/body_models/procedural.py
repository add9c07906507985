"""A procedurally generated body model in SMPL's format (no licensed data involved).

The body is modelled the way a 3D artist box-models a character: a coarse polygon cage is grown
around a human joint skeleton (a torso tube whose holes sprout legs, arms and a neck, each a tube of
rings; hands with four fingers and a thumb, feet, a head), then smoothed by two steps of
Catmull-Clark subdivision. A closed genus-0 cage with E edges subdivides twice into ``8 E + 2``
vertices (E = 856 here: 6850); splitting the 40 longest edges (in mirror pairs) brings the mesh to
SMPL's 6890 vertices and 13776 triangles. Every output is linear in the cage, which is itself a function
of a few anthropometric parameters (height, girth, limb lengths, shoulder and hip width, ...):

* ``v_template`` -- the cage of a gender's parameters, subdivided;
* ``shapedirs`` -- finite differences of the cage along ten parameter directions, subdivided and
  made orthogonal;
* ``weights`` -- inverse-distance skinning to the bones, kept inside each limb;
* ``J_regressor`` (and the extra / H36M regressors) -- per joint, the maximum-entropy weights over
  the vertices around the joint whose weighted mean is exactly the skeleton's joint;
* ``posedirs`` -- a small outward bulge around each joint growing with ``1 - cos(angle)``.

A seed moves the gender's parameters by 0.25 s.d. along each shape direction, so seeds give
slightly different bodies. Topology (faces, vertex order) is shared by all genders and seeds. Vertices that smplx reads as
extra joints (nose, eyes, ears, toes, heels, fingertips; ``smplx.vertex_ids['smplh']``) carry the
same indices as in SMPL and sit at those places.

Frame: SMPL's rest frame -- metres, y up, the body faces +z, its left side is +x, T-pose.
"""
import functools
import json
import os
import os.path as osp
import tempfile
import zipfile

import numpy as np

from .joint_sets import H36M_17_NAMES, SMPL_24_NAMES

GENERATOR_VERSION = 1
NUM_VERTICES = 6890
NUM_FACES = 13776
NUM_BETAS = 10
GENDERS = ('neutral', 'male', 'female')

SMPL_PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)
_ROOT_PARENT_ID = 4294967295  # how SMPL files store the root's parent (uint32 -1)

# Vertex indices that smplx turns into extra joints (``smplx.vertex_ids.vertex_ids['smplh']``).
SMPL_VERTEX_IDS = {
    'nose': 332, 'reye': 6260, 'leye': 2800, 'rear': 4071, 'lear': 583,
    'rthumb': 6191, 'rindex': 5782, 'rmiddle': 5905, 'rring': 6016, 'rpinky': 6133,
    'lthumb': 2746, 'lindex': 2319, 'lmiddle': 2445, 'lring': 2556, 'lpinky': 2673,
    'LBigToe': 3216, 'LSmallToe': 3226, 'LHeel': 3387,
    'RBigToe': 6617, 'RSmallToe': 6624, 'RHeel': 6787,
}

# SPIN's J_regressor_extra.npy rows, in order: SPIN's SMPL wrapper appends them after smplx's
# 45 joints, and constants.JOINT_MAP sends 'Right Hip' to 45, 'Left Hip' to 46, ...,
# 'Head (H36M)' to 53 (github.com/nkolot/SPIN, constants.py and models/smpl.py).
SPIN_EXTRA_9_NAMES = (
    'right_hip', 'left_hip', 'neck_lsp', 'head_top_lsp', 'pelvis_mpii', 'thorax_mpii',
    'spine_h36m', 'jaw_h36m', 'head_h36m')

_J = {name: i for i, name in enumerate(SMPL_24_NAMES)}
_Y_SHIFT = -1.15  # floor height in SMPL's frame: puts the neutral pelvis near y = -0.22


# ----------------------------------------------------------------------------------------------
# anthropometric parameters
# ----------------------------------------------------------------------------------------------
_GENDER_PARAMS = {
    'neutral': dict(height=1.70, leg=1.0, arm=1.0, torso=1.0, shoulder=0.175, hip=0.165,
                    waist=0.134, girth=1.03, belly=0.0, chest=0.005, bust=0.008, limb=1.02,
                    head=1.0, neck=1.0),
    'male': dict(height=1.78, leg=1.0, arm=1.01, torso=1.0, shoulder=0.192, hip=0.158,
                 waist=0.14, girth=1.03, belly=0.005, chest=0.012, bust=0.0, limb=1.06,
                 head=1.02, neck=1.03),
    'female': dict(height=1.63, leg=1.0, arm=0.98, torso=0.99, shoulder=0.158, hip=0.174,
                   waist=0.124, girth=1.02, belly=0.0, chest=0.0, bust=0.022, limb=0.98,
                   head=0.97, neck=0.97),
}

# Parameter change for beta_k = +1, k = 0..9 (height, weight, leg-to-torso ratio, shoulder width,
# hip width, arm length, chest, belly, limb muscularity, head/neck).
_SHAPE_DIRECTIONS = (
    dict(height=0.075),
    dict(girth=0.09, belly=0.01, limb=0.04),
    dict(leg=0.035, torso=-0.03),
    dict(shoulder=0.012),
    dict(hip=0.012, waist=0.004),
    dict(arm=0.035),
    dict(chest=0.012, bust=0.006),
    dict(belly=0.02, waist=0.006),
    dict(limb=0.07),
    dict(head=0.04, neck=0.08),
)


def _params(gender, seed=None, beta=None):
    """Parameters of a gender, perturbed by the seed (0.25 shape s.d.) and a beta vector."""
    if gender not in _GENDER_PARAMS:
        raise ValueError(f'gender must be one of {GENDERS}, got {gender!r}')
    p = dict(_GENDER_PARAMS[gender])
    coeffs = np.zeros(NUM_BETAS)
    if seed is not None:
        coeffs += 0.25 * np.random.default_rng(seed).standard_normal(NUM_BETAS)
    if beta is not None:
        coeffs += beta
    for c, direction in zip(coeffs, _SHAPE_DIRECTIONS):
        for k, v in direction.items():
            p[k] += c * v
    return p


# ----------------------------------------------------------------------------------------------
# skeleton
# ----------------------------------------------------------------------------------------------
def _skeleton(p):
    """Rest joints ``(24, 3)`` and landmarks (dict of ``(3,)``) of the left side and centre.

    Heights follow SMPL's rest joints scaled by height; the floor is at y = 0 here (shifted
    later). Right-side points are the mirror images (x -> -x) of the left ones.
    """
    s = p['height'] / 1.70
    lg, ar, to = p['leg'] * s, p['arm'] * s, p['torso'] * s
    hip_x = 0.045 + 0.16 * p['hip']
    L = {}
    L['ankle'] = np.array([hip_x + 0.02, 0.068 * s, -0.045])
    L['knee'] = np.array([hip_x + 0.033, L['ankle'][1] + 0.39 * lg, -0.005])
    L['hip'] = np.array([hip_x, L['knee'][1] + 0.385 * lg, 0.0])
    L['pelvis'] = np.array([0.0, L['hip'][1] + 0.09 * s, 0.005])
    L['spine1'] = np.array([0.0, L['pelvis'][1] + 0.11 * to, -0.02])
    L['spine2'] = np.array([0.0, L['spine1'][1] + 0.135 * to, -0.005])
    L['spine3'] = np.array([0.0, L['spine2'][1] + 0.055 * to, -0.0])
    L['neck'] = np.array([0.0, L['spine3'][1] + 0.21 * to, -0.04])
    L['head'] = np.array([0.0, L['neck'][1] + 0.07 * p['neck'] * s, 0.01])
    L['head_top'] = np.array([0.0, L['head'][1] + 0.19 * p['head'] * s, -0.005])
    L['shoulder'] = np.array([p['shoulder'] * s, L['spine3'][1] + 0.145 * to, -0.04])
    L['collar'] = np.array([0.43 * L['shoulder'][0], L['shoulder'][1] - 0.025 * s, -0.03])
    L['elbow'] = L['shoulder'] + np.array([0.255 * ar, -0.012 * s, -0.015])
    L['wrist'] = L['elbow'] + np.array([0.25 * ar, 0.008 * s, 0.005])
    L['hand'] = L['wrist'] + np.array([0.085 * s, -0.006 * s, -0.01])
    L['foot'] = L['ankle'] + np.array([0.028 * s, -0.055 * s, 0.135 * s])
    return L


# ----------------------------------------------------------------------------------------------
# the cage
# ----------------------------------------------------------------------------------------------
TORSO, HEAD, LEFT_ARM, RIGHT_ARM, LEFT_LEG, RIGHT_LEG = range(6)
_NUM_REGIONS = 6


def _ellipse(angles, ru, rw, ru_neg=None, rw_neg=None, power=2.0):
    """Section points ``(k, 2)`` at ``angles`` on a (super-)ellipse with per-side radii."""
    c, s = np.cos(angles), np.sin(angles)
    e = 2.0 / power
    cu, sw = np.sign(c) * np.abs(c) ** e, np.sign(s) * np.abs(s) ** e
    ru_neg = ru if ru_neg is None else ru_neg
    rw_neg = rw if rw_neg is None else rw_neg
    return np.stack([cu * np.where(cu > 0, ru, ru_neg), sw * np.where(sw > 0, rw, rw_neg)], 1)


def _round_angles(k, first):
    """``k`` evenly spaced slot angles (radians) from ``first`` degrees on."""
    return np.deg2rad(first + 360.0 / k * np.arange(k))


def _tube_section(angles, ru, rw, ru_neg=None, rw_neg=None):
    """Cage section whose subdivided surface has the given radii.

    Subdivision pulls a ring of k points on a circle in to the factor ``(4 + 2 cos(2 pi / k)) / 6``
    (a closed cubic B-spline), so the cage ring is pushed out by the inverse.
    """
    grow = 6.0 / (4.0 + 2.0 * np.cos(2 * np.pi / len(angles)))
    return grow * _ellipse(angles, ru, rw, ru_neg, rw_neg)


class _Cage:
    """A polygon mesh under construction: positions, region labels, faces (any orientation).

    Removed faces are set to ``None`` so that face ids stay valid while building.
    """

    def __init__(self):
        self.points, self.labels, self.faces = [], [], []
        self.landmarks = {}  # smplx vertex-id name -> (region, centre, direction, radius)

    def vertex(self, point, label):
        self.points.append(np.asarray(point, dtype=np.float64))
        self.labels.append(label)
        return len(self.points) - 1

    def face(self, ids):
        self.faces.append([int(i) for i in ids])
        return len(self.faces) - 1

    def cut_hole(self, face_ids):
        """Remove faces (a disk); return the loop of vertex ids around the hole."""
        count = {}
        for fi in face_ids:
            f = self.faces[fi]
            for a, b in zip(f, f[1:] + f[:1]):
                key = (min(a, b), max(a, b))
                count[key] = count.get(key, 0) + 1
            self.faces[fi] = None
        nbrs = {}
        for (a, b), n in count.items():
            if n == 1:
                nbrs.setdefault(a, []).append(b)
                nbrs.setdefault(b, []).append(a)
        start = min(nbrs)
        loop, prev = [start], None
        while True:
            a, b = nbrs[loop[-1]]
            nxt = b if a == prev else a
            if nxt == start:
                break
            prev = loop[-1]
            loop.append(nxt)
        assert len(loop) == len(nbrs), 'hole boundary is not one loop'
        return loop

    def ranks(self, loop, u, w, slot_angles):
        """Slot of each loop vertex: slots run around the loop with increasing angle in the
        (u, w) plane, slot 0 at the vertex nearest to ``slot_angles[0]``."""
        pts = np.array([self.points[i] for i in loop])
        d = pts - pts.mean(0)
        x, y = d @ u, d @ w
        ccw = np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y) > 0
        ang = np.arctan2(y, x)
        start = np.argmin(np.abs(np.angle(np.exp(1j * (ang - slot_angles[0])))))
        k = len(loop)
        rank = np.empty(k, dtype=int)
        rank[(start + (1 if ccw else -1) * np.arange(k)) % k] = np.arange(k)
        return rank

    def tube(self, loop, rank, rings, label):
        """Grow rings from ``loop``; each ring is ``(center, u, w, section (k, 2) by slot)``.

        Returns the rings (vertex ids by slot, the loop first) and the quads (face ids by slot
        of their first vertex) between consecutive rings.
        """
        k = len(loop)
        by_slot = np.empty(k, dtype=int)
        by_slot[rank] = loop
        out_rings, out_quads = [by_slot], []
        for center, u, w, section in rings:
            cur = np.array([self.vertex(center + section[r, 0] * u + section[r, 1] * w, label)
                            for r in range(k)])
            prev = out_rings[-1]
            quads = [self.face([prev[r], prev[(r + 1) % k], cur[(r + 1) % k], cur[r]])
                     for r in range(k)]
            out_rings.append(cur)
            out_quads.append(quads)
        return out_rings, out_quads

    def arrays(self):
        used = np.zeros(len(self.points), dtype=bool)
        faces = [f for f in self.faces if f is not None]
        for f in faces:
            used[f] = True
        new_id = np.cumsum(used) - 1
        faces = [[int(new_id[i]) for i in f] for f in faces]
        return np.array(self.points)[used], np.array(self.labels)[used], faces


# torso ring slots: (gx, gz) grid coordinates of the 12-vertex ring around a 4 x 2 grid
_TORSO_SLOTS = ((0, 1), (1, 1), (2, 1), (2, 0), (2, -1), (1, -1), (0, -1), (-1, -1), (-2, -1),
                (-2, 0), (-2, 1), (-1, 1))
_TORSO_ANGLES = np.deg2rad([90, 58, 27, 0, -27, -58, -90, -122, -153, 180, 153, 122])
_GRID_CAP = ((0, 1, 2, -1), (2, 3, 4, -1), (4, 5, 6, -1), (6, 7, 0, -1))  # 8-ring, 1 centre


def _torso_ring(y, hw, zf, zb, zc=0.0, power=2.4):
    """12 torso ring points at height ``y``: half-width, front / back depth, centre z."""
    pts = _ellipse(_TORSO_ANGLES, hw, zf, hw, zb, power)
    return np.stack([pts[:, 0], np.full(12, y), zc + pts[:, 1]], 1)


def _build_torso(cage, p, L):
    """Torso tube (7 rings of 12), top cap with a neck hole, arm holes, leg holes."""
    s, g = p['height'] / 1.70, p['girth']
    hip, sh = L['hip'], L['shoulder']
    hip_hw, waist_hw = p['hip'] * g * s, p['waist'] * g * s
    belly, chest, bust = p['belly'] * s, p['chest'] * s, p['bust'] * s
    dsh = sh[0] - 0.175 * s  # shoulders broader than average
    gs = g * s
    rings = [
        _torso_ring(hip[1] - 0.04 * s, 0.96 * hip_hw, 0.075 * gs, 0.13 * gs, -0.012 * s),
        _torso_ring(L['pelvis'][1] - 0.01 * s, hip_hw, 0.09 * gs + 0.3 * belly, 0.108 * gs,
                    -0.012 * s),
        _torso_ring(L['spine1'][1] + 0.03 * s, waist_hw, 0.09 * gs + belly, 0.078 * gs,
                    -0.008 * s),
        _torso_ring(sh[1] - 0.11 * s, 0.165 * gs + 0.35 * dsh, 0.115 * gs + chest + 1.3 * bust,
                    0.1 * gs, -0.015 * s),
        _torso_ring(sh[1] - 0.045 * s, sh[0] - 0.01 * s, 0.105 * gs + chest + 0.5 * bust,
                    0.102 * gs, -0.025 * s),
        _torso_ring(sh[1] + 0.01 * s, sh[0] + 0.002 * s, 0.085 * gs + chest, 0.095 * gs,
                    -0.035 * s),
    ]
    # top ring: neck base in the middle, shoulder tips at the sides (slots 7..11 mirror 5..1)
    ytop, nz = sh[1] + 0.045 * s, L['neck'][2]
    top = np.array([
        (0.0, ytop - 0.01 * s, nz + 0.072 * s), (0.058 * s, ytop - 0.002 * s, nz + 0.066 * s),
        (sh[0] - 0.005 * s, ytop - 0.025 * s, nz + 0.06 * s),
        (sh[0] + 0.028 * s, ytop - 0.04 * s, sh[2]),
        (sh[0] - 0.005 * s, ytop - 0.025 * s, sh[2] - 0.055 * s),
        (0.058 * s, ytop + 0.008 * s, nz - 0.06 * s), (0.0, ytop + 0.005 * s, nz - 0.065 * s)])
    rings.append(np.concatenate([top, top[5:0:-1] * [-1, 1, 1]]))
    ids = [[cage.vertex(pt, TORSO) for pt in ring] for ring in rings]
    top_level = len(ids) - 1
    side_faces = {(lvl, i): cage.face([ids[lvl][i], ids[lvl][(i + 1) % 12],
                                       ids[lvl + 1][(i + 1) % 12], ids[lvl + 1][i]])
                  for lvl in range(top_level) for i in range(12)}

    def grid(ring_ids, interior):
        """4 x 2 grid of quads closing a 12-ring; ``interior`` maps (gx, 0) to vertex ids."""
        at = {xz: ring_ids[i] for i, xz in enumerate(_TORSO_SLOTS)}
        at.update(interior)
        return {(gx, gz): cage.face([at[gx, gz], at[gx + 1, gz], at[gx + 1, gz + 1],
                                     at[gx, gz + 1]])
                for gx in range(-2, 2) for gz in range(-1, 1)}

    # top cap: interior grid vertices on the trapezius; the middle cells are the neck hole
    trapezius = {(sx, 0): cage.vertex((sx * 0.095 * s, ytop + 0.006 * s, nz + 0.005 * s), TORSO)
                 for sx in (1, -1)}
    trapezius[0, 0] = cage.vertex((0.0, ytop, nz), TORSO)
    top_cells = grid(ids[top_level], trapezius)
    neck_loop = cage.cut_hole([top_cells[gx, gz] for gx in (-1, 0) for gz in (-1, 0)])
    # bottom: all cells are leg holes; the crotch vertex (0, 0) is shared by both loops, the
    # interior vertices (+-1, 0) go with the holes
    crotch = {(gx, 0): cage.vertex((0.0, hip[1] - 0.075 * s, -0.012 * s), TORSO)
              for gx in (-1, 0, 1)}
    bottom_cells = grid(ids[0], crotch)
    leg_loops = {sx: cage.cut_hole([bottom_cells[gx, gz] for gx in ((0, 1) if sx > 0 else (-2, -1))
                                    for gz in (-1, 0)]) for sx in (1, -1)}
    # arm holes: 2 x 3 side faces below the shoulder tip
    arm_loops = {sx: cage.cut_hole([side_faces[lvl, i] for lvl in range(top_level - 3, top_level)
                                    for i in ((2, 3) if sx > 0 else (8, 9))]) for sx in (1, -1)}
    return neck_loop, leg_loops, arm_loops


_FINGERS = (  # length (m) and spread (rad, towards the thumb) of pinky, ring, middle, index
    (0.062, -0.10), (0.078, -0.035), (0.085, 0.02), (0.076, 0.08))
_SQUARE_ANGLES = np.deg2rad([-135.0, -45.0, 45.0, 135.0])


def _unit(v):
    return v / np.linalg.norm(v)


def _build_arm(cage, p, L, loop, sx):
    """Arm tube (10-ring), flat palm, four fingers from the palm's end, thumb from its side.

    Records the fingertips as landmarks.
    """
    s = p['height'] / 1.70
    lm = p['limb'] * np.sqrt(p['girth']) * s
    mx = np.array([sx, 1.0, 1.0])
    label = LEFT_ARM if sx > 0 else RIGHT_ARM
    t, u, w = np.array([sx, 0.0, 0.0]), np.array([0.0, 0.0, 1.0]), np.array([0.0, 1.0, 0.0])
    angles = _round_angles(10, -162)
    sh, el, wr, ha = (L[k] * mx for k in ('shoulder', 'elbow', 'wrist', 'hand'))
    hand_dir = _unit(ha - wr)
    palm_hw, palm_ht = 0.044 * s, 0.016 * s
    zs = np.linspace(-1, 1, 5) * palm_hw
    knuckles = np.concatenate([np.stack([zs, np.full(5, -palm_ht)], 1),
                               np.stack([zs[::-1], np.full(5, palm_ht)], 1)])
    rings, quads = cage.tube(loop, cage.ranks(loop, u, w, angles), [
        (sh + t * 0.06 * s + [0, -0.012 * s, 0], u, w,
         _tube_section(angles, 0.052 * lm, 0.056 * lm)),
        (el - t * 0.01 * s, u, w, _tube_section(angles, 0.04 * lm, 0.038 * lm, 0.042 * lm)),
        (0.65 * el + 0.35 * wr, u, w, _tube_section(angles, 0.044 * lm, 0.037 * lm)),
        (wr, u, w, _tube_section(angles, 0.03 * lm, 0.02 * lm)),
        (ha + hand_dir * 0.02 * s, u, w, knuckles * [1.0, 0.8]),
    ], label)
    end = rings[-1]
    # palm end: a strip of four quads (bottom slots c, c + 1; top slots 8 - c, 9 - c)
    strip = [cage.face(end[[c, c + 1, 8 - c, 9 - c]]) for c in range(4)]
    r = 0.0095 * s * np.sqrt(p['limb'])
    sec = _ellipse(_SQUARE_ANGLES, r * 1.45, r * 1.3)
    for c, (length, spread) in enumerate(_FINGERS):
        fl = cage.cut_hole([strip[c]])
        base = np.mean([cage.points[i] for i in fl], 0)
        d = t * np.cos(spread) + u * np.sin(spread)
        f_rings, _ = cage.tube(fl, cage.ranks(fl, u, w, _SQUARE_ANGLES), [
            (base + d * 0.02 * s, u, w, sec * 0.95),
            (base + d * length * 1.05 * s, u, w, sec * 0.9)], label)
        cage.face(f_rings[-1])
        name = ('l' if sx > 0 else 'r') + ('pinky', 'ring', 'middle', 'index')[c]
        cage.landmarks[name] = (label, base + d * length * 1.05 * s, d, 0.02 * s)
    # thumb: from the palm's side quad on the thumb side (+z), between wrist and knuckles
    th_loop = cage.cut_hole([quads[-1][4]])
    tt = _unit(t * 0.55 + u * 0.8 - w * 0.15)
    tu = _unit(t - (t @ tt) * tt)
    tw = _unit(np.cross(tt, tu) * sx)
    base = np.mean([cage.points[i] for i in th_loop], 0)
    rt = 0.011 * s * np.sqrt(p['limb'])
    th_sec = _ellipse(_SQUARE_ANGLES, rt * 1.5, rt * 1.3)
    th_rings, _ = cage.tube(th_loop, cage.ranks(th_loop, tu, tw, _SQUARE_ANGLES), [
        (base + tt * 0.03 * s - tu * 0.005 * s, tu, tw, th_sec),
        (base + tt * 0.075 * s + tu * 0.01 * s, tu, tw, th_sec * 0.85)], label)
    cage.face(th_rings[-1])
    cage.landmarks[('l' if sx > 0 else 'r') + 'thumb'] = (
        label, base + tt * 0.075 * s + tu * 0.01 * s, tt, 0.02 * s)


_FOOT_ANGLES = np.deg2rad([-135.0, -90.0, -45.0, 45.0, 90.0, 135.0])


def _build_leg(cage, p, L, loop, sx):
    """Leg tube (8-ring) down to the sole; the foot grows forward from the ankle's front."""
    s = p['height'] / 1.70
    lm = p['limb'] * np.sqrt(p['girth']) * s
    mx = np.array([sx, 1.0, 1.0])
    label = LEFT_LEG if sx > 0 else RIGHT_LEG
    u, w = np.array([0.0, 0.0, 1.0]), np.array([sx, 0.0, 0.0])
    angles = _round_angles(8, -180)
    hip, kn, an = (L[k] * mx for k in ('hip', 'knee', 'ankle'))
    rings, quads = cage.tube(loop, cage.ranks(loop, u, w, angles), [
        (0.5 * (hip + kn) + [sx * 0.028 * s, 0.09 * s, 0.0], u, w,
         _tube_section(angles, 0.09 * lm, 0.092 * lm, 0.096 * lm, 0.085 * lm)),
        (kn + [0.0, 0.1 * s, 0.0], u, w, _tube_section(angles, 0.066 * lm, 0.064 * lm)),
        (kn + [0.0, -0.005 * s, 0.005 * s], u, w,
         _tube_section(angles, 0.058 * lm, 0.057 * lm, 0.056 * lm)),
        (kn + [0.0, -0.13 * s, -0.01 * s], u, w,
         _tube_section(angles, 0.05 * lm, 0.055 * lm, 0.072 * lm, 0.052 * lm)),
        (an + [0.0, 0.02 * s, 0.0], u, w, _tube_section(angles, 0.033 * lm, 0.032 * lm)),
        (np.array([an[0], -0.004, an[2] - 0.005 * s]), u, w,
         _tube_section(angles, 0.028 * s, 0.031 * s, 0.045 * s, 0.028 * s)),
    ], label)
    # sole under the heel: a 2 x 2 grid around a centre vertex
    centre = cage.vertex((an[0], -0.004, an[2] - 0.01 * s), label)
    for sf in _GRID_CAP:
        cage.face([rings[-1][i] if i >= 0 else centre for i in sf])
    # foot: from the two front quads of the ankle-to-sole segment
    f_loop = cage.cut_hole([quads[-1][3], quads[-1][4]])
    fu, fw, ft = np.array([sx, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0])
    x0 = an[0] + sx * 0.012 * s

    def foot_ring(dz, med, lat, top):
        return (np.array([x0, -0.004, an[2] + dz * s]), fu, fw,
                np.array([[-med, 0], [0, 0], [lat, 0], [lat, top], [0, top], [-med, top]]) * s)

    f_rings, _ = cage.tube(f_loop, cage.ranks(f_loop, fu, fw, _FOOT_ANGLES), [
        foot_ring(0.09, 0.042, 0.045, 0.075),
        foot_ring(0.16, 0.045, 0.048, 0.05),
        foot_ring(0.225, 0.035, 0.03, 0.03)], label)
    toe = f_rings[-1]
    cage.face(toe[[0, 1, 4, 5]])
    cage.face(toe[[1, 2, 3, 4]])
    side = 'L' if sx > 0 else 'R'
    toe_z = an[2] + 0.225 * s
    cage.landmarks[side + 'BigToe'] = (label, np.array([x0 - sx * 0.02 * s, 0.015 * s, toe_z]),
                                       _unit(ft - 0.4 * fu), 0.04 * s)
    cage.landmarks[side + 'SmallToe'] = (label, np.array([x0 + sx * 0.03 * s, 0.012 * s,
                                                          toe_z - 0.03 * s]),
                                         _unit(ft + 0.8 * fu), 0.03 * s)
    cage.landmarks[side + 'Heel'] = (label, np.array([an[0], 0.015 * s, an[2] - 0.05 * s]),
                                     _unit(-ft - 0.3 * fw), 0.04 * s)


def _build_head(cage, p, L, loop):
    """Neck and head: an 8-ring tube closed by a 2 x 2 grid at the crown."""
    s, hs = p['height'] / 1.70, p['head'] * p['height'] / 1.70
    u, w = np.array([0.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0])
    angles = _round_angles(8, -180)
    ne, he, top = L['neck'], L['head'], L['head_top']
    ng = np.sqrt(p['girth']) * p['limb'] ** 0.3

    def ring(y, zc, front, back, lat, nose=0.0):
        sec = _tube_section(angles, front, lat, back, lat)
        sec[4, 0] += nose
        return (np.array([0.0, y, zc]), u, w, sec)

    hy = he[1]
    rings, _ = cage.tube(loop, cage.ranks(loop, u, w, angles), [
        ring(ne[1] + 0.025 * s, ne[2] + 0.01, 0.055 * s * ng, 0.058 * s * ng, 0.053 * s * ng),
        ring(hy - 0.01 * hs, 0.0, 0.094 * hs, 0.072 * hs, 0.07 * hs, 0.004 * hs),
        ring(hy + 0.07 * hs, -0.005, 0.1 * hs, 0.1 * hs, 0.079 * hs, 0.022 * hs),
        ring(hy + 0.135 * hs, -0.01, 0.088 * hs, 0.098 * hs, 0.077 * hs),
    ], HEAD)
    centre = cage.vertex((0.0, top[1] + 0.03 * hs, -0.01), HEAD)
    z = np.array([0.0, 0.0, 1.0])
    cage.landmarks['nose'] = (HEAD, np.array([0.0, hy + 0.055 * hs, 0.09 * hs]), z, 0.04 * hs)
    for sx, side in ((1, 'l'), (-1, 'r')):
        cage.landmarks[side + 'eye'] = (HEAD, np.array([sx * 0.033 * hs, hy + 0.085 * hs,
                                                        0.08 * hs]), z, 0.015 * hs)
        cage.landmarks[side + 'ear'] = (HEAD, np.array([sx * 0.075 * hs, hy + 0.06 * hs, -0.01]),
                                        np.array([sx, 0.0, 0.0]), 0.03 * hs)
    for sf in _GRID_CAP:
        cage.face([rings[-1][i] if i >= 0 else centre for i in sf])


def _build_cage(p):
    """Cage of a body with parameters ``p`` (a :class:`_Cage`; call ``arrays()``)."""
    L = _skeleton(p)
    cage = _Cage()
    neck_loop, leg_loops, arm_loops = _build_torso(cage, p, L)
    for sx in (1, -1):
        _build_arm(cage, p, L, arm_loops[sx], sx)
        _build_leg(cage, p, L, leg_loops[sx], sx)
    _build_head(cage, p, L, neck_loop)
    return cage


# ----------------------------------------------------------------------------------------------
# Catmull-Clark subdivision (linear in the vertex attributes)
# ----------------------------------------------------------------------------------------------
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


# ----------------------------------------------------------------------------------------------
# topology: shared by every gender and seed
# ----------------------------------------------------------------------------------------------
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


# ----------------------------------------------------------------------------------------------
# per-body arrays
# ----------------------------------------------------------------------------------------------
def _cage_points(p):
    """Cage points ``(n, 3)`` of parameters ``p``, checked to share the reference topology."""
    points, _, faces = _build_cage(p).arrays()
    if faces != _reference_cage()[4]:
        raise RuntimeError('body parameters too far from the reference changed the cage')
    return points


def _rest_joints(L):
    """SMPL's 24 rest joints ``(24, 3)`` from the left/centre landmarks of :func:`_skeleton`."""
    J = np.zeros((24, 3))
    for name, i in _J.items():
        key = name.replace('left_', '').replace('right_', '')
        J[i] = L[key] * ([-1.0, 1.0, 1.0] if name.startswith('right_') else 1.0)
    return J


def _bones(L, J):
    """Segments ``(start, end)`` of each joint's bone: what the joint's rotation moves."""
    mx = np.array([-1.0, 1.0, 1.0])
    toe = L['foot'] + np.array([0.0, 0.0, 0.08])
    heel = L['ankle'] + np.array([0.0, -0.05, -0.05])
    tips = [L['hand'] + np.array([0.09, 0.0, dz]) for dz in (-0.03, 0.0, 0.03)]
    tips.append(L['wrist'] + np.array([0.1, -0.01, 0.07]))  # thumb
    nose = L['head'] + np.array([0.0, 0.05, 0.1])
    bones = {0: [(J[0], J[1]), (J[0], J[2]), (J[0], J[3])], 3: [(J[3], J[6])],
             6: [(J[6], J[9])], 9: [(J[9], J[12]), (J[9], J[13]), (J[9], J[14])],
             12: [(J[12], J[15])], 15: [(J[15], L['head_top']), (J[15], nose)]}
    for sx, side in ((1.0, 'left_'), (-1.0, 'right_')):
        m = np.array([1.0, 1.0, 1.0]) if sx > 0 else mx
        j = {k: _J[side + k] for k in ('hip', 'knee', 'ankle', 'foot', 'collar', 'shoulder',
                                        'elbow', 'wrist', 'hand')}
        bones[j['hip']] = [(J[j['hip']], J[j['knee']])]
        bones[j['knee']] = [(J[j['knee']], J[j['ankle']])]
        bones[j['ankle']] = [(J[j['ankle']], J[j['foot']]), (J[j['ankle']], heel * m)]
        bones[j['foot']] = [(J[j['foot']], toe * m)]
        bones[j['collar']] = [(J[j['collar']], J[j['shoulder']])]
        bones[j['shoulder']] = [(J[j['shoulder']], J[j['elbow']])]
        bones[j['elbow']] = [(J[j['elbow']], J[j['wrist']])]
        bones[j['wrist']] = [(J[j['wrist']], J[j['hand']])]
        bones[j['hand']] = [(J[j['hand']], tip * m) for tip in tips]
    return bones


def _segment_distance(V, a, b):
    ab = b - a
    t = np.clip((V - a) @ ab / (ab @ ab), 0.0, 1.0)
    return np.linalg.norm(V - a - t[:, None] * ab, axis=1)


# joints whose bones may move each region's vertices
_REGION_JOINTS = {
    TORSO: ('pelvis', 'left_hip', 'right_hip', 'spine1', 'spine2', 'spine3', 'neck',
            'left_collar', 'right_collar', 'left_shoulder', 'right_shoulder'),
    HEAD: ('spine3', 'neck', 'head'),
    LEFT_ARM: ('spine3', 'left_collar', 'left_shoulder', 'left_elbow', 'left_wrist', 'left_hand'),
    RIGHT_ARM: ('spine3', 'right_collar', 'right_shoulder', 'right_elbow', 'right_wrist',
                'right_hand'),
    LEFT_LEG: ('pelvis', 'left_hip', 'left_knee', 'left_ankle', 'left_foot'),
    RIGHT_LEG: ('pelvis', 'right_hip', 'right_knee', 'right_ankle', 'right_foot'),
}


def _vertex_neighbours(faces, n):
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    return e[:, 0], e[:, 1], np.bincount(e[:, 0], minlength=n)


def _skinning_weights(V, faces, regions, bones, power=6.0, prune=0.01, smooth=2):
    """Inverse-distance skinning: ``w_j ~ (d_min / d_j) ** power`` over the allowed joints.

    ``d_j`` is the distance to joint j's bone; the joints allowed at a vertex come from its
    region (so a thigh never follows the other leg), blended smoothly across region borders.
    """
    allowed = np.zeros((_NUM_REGIONS, 24))
    for region, names in _REGION_JOINTS.items():
        allowed[region, [_J[n] for n in names]] = 1.0
    mask = regions @ allowed
    d = np.stack([np.min([_segment_distance(V, a, b) for a, b in bones[j]], 0)
                  for j in range(24)], 1)
    d = np.maximum(d, 1e-4)
    w = (d.min(1, keepdims=True) / d) ** power * mask
    w /= w.sum(1, keepdims=True)
    src, dst, degree = _vertex_neighbours(faces, len(V))
    for _ in range(smooth):
        acc = np.zeros_like(w)
        np.add.at(acc, src, w[dst])
        w = 0.5 * w + 0.5 * acc / degree[:, None]
    w[w < prune] = 0.0
    return w / w.sum(1, keepdims=True)


def _max_entropy_regressor(V, targets, radius_scale=1.3, min_radius=0.02):
    """Rows ``(len(targets), len(V))``: weights >= 0 summing to 1 with mean exactly the target.

    For each target, the vertices within ``1.3 * (distance to the nearest vertex) + 2 cm`` get
    Gaussian prior weights, tilted by ``exp(lambda . (v - target))``; Newton's method finds
    the ``lambda`` that puts the weighted mean on the target (it exists when the target lies
    inside the convex hull of those vertices; otherwise the radius grows).
    """
    R = np.zeros((len(targets), len(V)))
    for j, t in enumerate(targets):
        dist = np.linalg.norm(V - t, axis=1)
        radius = radius_scale * dist.min() + min_radius
        for _ in range(8):
            idx = np.nonzero(dist < radius)[0]
            x = V[idx] - t
            prior = -0.5 * (dist[idx] / (0.5 * radius)) ** 2
            lam = np.zeros(3)
            for _ in range(100):
                logit = prior + x @ lam
                w = np.exp(logit - logit.max())
                w /= w.sum()
                g = w @ x
                if np.linalg.norm(g) < 1e-12:
                    break
                H = (x * w[:, None]).T @ x - np.outer(g, g) + 1e-12 * np.eye(3)
                step = np.linalg.solve(H, g)
                lam -= step / max(1.0, np.linalg.norm(step) * 0.05)
            if np.linalg.norm(g) < 1e-9:
                break
            radius *= 1.3
        else:
            raise RuntimeError(f'joint {j} is not inside the vertices around it')
        R[j, idx] = w
    return R


def _vertex_normals(V, faces):
    n = np.cross(V[faces[:, 1]] - V[faces[:, 0]], V[faces[:, 2]] - V[faces[:, 0]])
    out = np.zeros_like(V)
    for k in range(3):
        np.add.at(out, faces[:, k], n)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def _pose_blend_shapes(V, faces, J, regions, amplitude=0.15, reach=2.5):
    """``posedirs (V, 3, 207)``: an outward bulge around each bent joint.

    For joint j the offset is ``a_j * g_j(v) * n(v) * (1 - cos angle_j)``, with
    ``1 - cos angle = -(tr(R - I)) / 2`` linear in SMPL's pose feature ``R - I``; ``g_j`` is a
    Gaussian around the joint (its width ``r_j`` the distance from the joint to the surface,
    cut at ``reach * r_j``), ``a_j = amplitude * r_j``.
    """
    normals = _vertex_normals(V, faces)
    posedirs = np.zeros((len(V), 3, 207))
    allowed = np.zeros((_NUM_REGIONS, 24))
    for region, names in _REGION_JOINTS.items():
        allowed[region, [_J[n] for n in names]] = 1.0
    near_region = regions @ allowed
    for j in range(1, 24):
        dist = np.linalg.norm(V - J[j], axis=1)
        r = np.partition(dist, 20)[20]
        g = np.exp(-0.5 * (dist / r) ** 2) * (dist < reach * r) * near_region[:, j]
        offset = -0.5 * amplitude * r * g[:, None] * normals
        for d in (0, 4, 8):
            posedirs[:, :, 9 * (j - 1) + d] = offset
    return posedirs


def _shape_blend_shapes(gender, seed, S):
    """``shapedirs (V, 3, 10)``: central differences of the body along the shape directions,
    made orthogonal (Gram-Schmidt in order) with each direction keeping its length."""
    dirs = []
    for k in range(NUM_BETAS):
        e = np.zeros(NUM_BETAS)
        e[k] = 1.0
        plus = S @ _cage_points(_params(gender, seed, e))
        minus = S @ _cage_points(_params(gender, seed, -e))
        dirs.append(((plus - minus) / 2).ravel())
    out = []
    for d in dirs:
        norm = np.linalg.norm(d)
        for o in out:
            d = d - (d @ o) / (o @ o) * o
        out.append(d * norm / np.linalg.norm(d))
    return np.stack(out, -1).reshape(-1, 3, NUM_BETAS)


def generate_smpl_model(gender='neutral', seed=0):
    """A body model in SMPL's format, generated from anthropometric rules.

    Args:
        gender (str): 'neutral', 'male' or 'female'.
        seed (int): seeds a small random change of the body's proportions (0.25 s.d. of each
            shape direction); the same seed gives the same arrays.

    Returns:
        dict[str, np.ndarray]: SMPL's keys -- ``v_template (6890, 3)``, ``f (13776, 3)``,
        ``kintree_table (2, 24)``, ``J_regressor (24, 6890)``, ``weights (6890, 24)``,
        ``shapedirs (6890, 3, 10)``, ``posedirs (6890, 3, 207)`` -- all float64 but the
        integer ``f`` and ``kintree_table``.
    """
    topo = _topology()
    S, faces = topo['S'], topo['faces']
    p = _params(gender, seed)
    shift = np.array([0.0, _Y_SHIFT, 0.0])
    V = S @ _cage_points(p) + shift
    L = _skeleton(p)
    J = _rest_joints(L) + shift
    L = {k: v + shift for k, v in L.items()}
    kintree = np.stack([np.array(SMPL_PARENTS, dtype=np.int64), np.arange(24)])
    kintree[0, 0] = _ROOT_PARENT_ID
    return dict(
        v_template=V,
        f=faces.copy(),
        kintree_table=kintree,
        J_regressor=_max_entropy_regressor(V, J),
        weights=_skinning_weights(V, faces, topo['regions'], _bones(L, J)),
        shapedirs=_shape_blend_shapes(gender, seed, S),
        posedirs=_pose_blend_shapes(V, faces, J, topo['regions']),
    )


def _extra_joint_targets(model):
    """Targets of SPIN's 9 extra joints and of the 17 H36M joints, from a model's arrays."""
    V = model['v_template']
    J = model['J_regressor'] @ V
    j = {name: J[i] for name, i in _J.items()}
    vid = SMPL_VERTEX_IDS
    nose = V[vid['nose']]
    ear_y = 0.5 * (V[vid['lear'], 1] + V[vid['rear'], 1])
    ear_z = 0.5 * (V[vid['lear'], 2] + V[vid['rear'], 2])
    top = V[np.argmax(V[:, 1])]
    t = {}
    # LSP-style hips sit a little lower and wider than SMPL's hip joints
    t['left_hip'] = j['left_hip'] + [0.012, -0.045, 0.0]
    t['right_hip'] = j['right_hip'] + [-0.012, -0.045, 0.0]
    t['neck_lsp'] = j['neck'] + 0.5 * (j['head'] - j['neck'])
    t['head_top_lsp'] = np.array([0.0, top[1] - 0.02, top[2]])
    t['pelvis_mpii'] = 0.5 * (t['left_hip'] + t['right_hip'])
    t['thorax_mpii'] = j['neck'] + 0.3 * (j['spine3'] - j['neck'])
    t['spine_h36m'] = 0.5 * (t['pelvis_mpii'] + t['thorax_mpii'])
    t['jaw_h36m'] = j['head'] + [0.0, -0.015, 0.6 * (nose[2] - j['head'][2])]
    t['head_h36m'] = np.array([0.0, 0.6 * top[1] + 0.4 * ear_y, 0.5 * (top[2] + ear_z)])
    extra = np.stack([t[name] for name in SPIN_EXTRA_9_NAMES])
    h36m = dict(pelvis=t['pelvis_mpii'], spine=t['spine_h36m'], thorax=t['thorax_mpii'],
                neck_nose=nose - [0.0, 0.0, 0.04], head=t['head_h36m'],
                left_hip=t['left_hip'], right_hip=t['right_hip'])
    for name in H36M_17_NAMES:
        if name not in h36m:
            h36m[name] = j[name]
    return extra, np.stack([h36m[name] for name in H36M_17_NAMES])


def generate_joint_regressors(model):
    """SPIN's extra (9) and H36M (17) joint regressors for a generated model.

    Rows sum to 1; each joint is a weighted mean of the vertices around its place (row order:
    :data:`SPIN_EXTRA_9_NAMES` and ``joint_sets.H36M_17_NAMES``).

    Args:
        model (dict): the output of :func:`generate_smpl_model` (``v_template``,
            ``J_regressor`` are used).

    Returns:
        dict: ``J_regressor_extra (9, 6890)`` and ``J_regressor_h36m (17, 6890)``, float64.
    """
    extra, h36m = _extra_joint_targets(model)
    V = model['v_template']
    return dict(J_regressor_extra=_max_entropy_regressor(V, extra),
                J_regressor_h36m=_max_entropy_regressor(V, h36m))


# ----------------------------------------------------------------------------------------------
# files
# ----------------------------------------------------------------------------------------------
MODEL_FILES = tuple(f'SMPL_{g.upper()}.npz' for g in GENDERS) + (
    'J_regressor_extra.npy', 'J_regressor_h36m.npy')
_META_FILE = 'meta.json'


def _write_atomic(path, write):
    """Write through ``write(file object)`` to a temporary name, then rename onto ``path``."""
    fd, tmp = tempfile.mkstemp(dir=osp.dirname(path), prefix='.' + osp.basename(path) + '.')
    try:
        with os.fdopen(fd, 'wb') as f:
            write(f)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def _save_npz(f, arrays):
    """``np.savez_compressed`` with fast (level 1) compression: posedirs is mostly zeros."""
    with zipfile.ZipFile(f, 'w', zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for key, value in arrays.items():
            with zf.open(key + '.npy', 'w', force_zip64=True) as entry:
                np.lib.format.write_array(entry, np.asarray(value), allow_pickle=False)


def _read_meta(model_dir):
    try:
        with open(osp.join(model_dir, _META_FILE)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def ensure_procedural_body_model(model_dir='data/body_models/procedural', seed=0, force=False):
    """Write the procedural body model files into ``model_dir`` unless they are there already.

    Files: ``SMPL_NEUTRAL.npz``, ``SMPL_MALE.npz``, ``SMPL_FEMALE.npz`` (SMPL's keys, see
    :func:`generate_smpl_model`), ``J_regressor_extra.npy``, ``J_regressor_h36m.npy`` and
    ``meta.json`` (generator version and seed, written last). They are regenerated when
    ``meta.json`` names another version or seed, when one is missing, or with ``force``.
    Every file is written to a temporary name and renamed, so processes of a distributed
    run may call this at the same time.

    Args:
        model_dir (str): the directory (created if needed); it belongs to the generator.
        seed (int): see :func:`generate_smpl_model`.
        force (bool): regenerate even if the files are up to date.

    Returns:
        str: ``model_dir``.
    """
    meta = dict(generator='mmhmr.models.body_models.procedural', version=GENERATOR_VERSION,
                seed=int(seed))
    up_to_date = _read_meta(model_dir) == meta and all(
        osp.isfile(osp.join(model_dir, name)) for name in MODEL_FILES)
    if up_to_date and not force:
        return model_dir
    os.makedirs(model_dir, exist_ok=True)
    for gender in GENDERS:
        model = generate_smpl_model(gender, seed)
        if gender == 'neutral':
            regressors = generate_joint_regressors(model)
        _write_atomic(osp.join(model_dir, f'SMPL_{gender.upper()}.npz'),
                      lambda f: _save_npz(f, model))
    for name, array in regressors.items():
        _write_atomic(osp.join(model_dir, name + '.npy'), lambda f: np.save(f, array))
    text = json.dumps(meta, indent=2).encode()
    _write_atomic(osp.join(model_dir, _META_FILE), lambda f: f.write(text))
    return model_dir
