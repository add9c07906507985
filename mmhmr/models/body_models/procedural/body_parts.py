"""The body's cage, part by part: torso, arms and hands, legs and feet, head."""
import numpy as np

from .cage import (HEAD, LEFT_ARM, LEFT_LEG, RIGHT_ARM, RIGHT_LEG, TORSO, _Cage, _ellipse,
                   _round_angles, _tube_section)
from .skeleton import _skeleton


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
