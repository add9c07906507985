"""The polygon cage under construction, its region labels and its tube sections."""
import numpy as np


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
