"""Anthropometric parameters: each gender's values, the ten shape directions."""
import numpy as np

from .constants import GENDERS, NUM_BETAS


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
