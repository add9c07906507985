"""Joint regressors: maximum-entropy vertex weights whose mean is each joint."""
import numpy as np

from ..joint_sets import H36M_17_NAMES
from .constants import SMPL_VERTEX_IDS, SPIN_EXTRA_9_NAMES, _J


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
