"""The joint skeleton of a body's parameters: landmarks, SMPL's rest joints, bones."""
import numpy as np

from .constants import _J


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
