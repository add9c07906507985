"""Changes of the camera frame (in-plane rotation, mirror) applied to an SMPL body's translation.

SMPL's global orientation turns the body about its root joint ``J0(beta)``, not about the body
frame's origin: a body with orientation ``R_g`` and camera translation ``t`` has its points at
``R_g (x - J0) + J0 + t``. A linear change ``A`` of the camera frame (a rotation about the
optical axis, or the mirror ``diag(-1, 1, 1)``) maps them to ``A R_g (x - J0) + A J0 + A t``,
which the body with orientation ``A R_g`` (and, for the mirror, the flipped pose) reproduces with
the translation ``A t + (A - I) J0``.
"""
import numpy as np


def transform_smpl_translation(transl: np.ndarray, root_joint: np.ndarray,
                               linear: np.ndarray) -> np.ndarray:
    """The camera translation of an SMPL body after the camera frame changes by ``linear``.

    Args:
        transl (np.ndarray): ``(3,)`` translation ``t`` of the body in the camera frame.
        root_joint (np.ndarray): ``(3,)`` root joint ``J0(beta)`` of the sample's body model,
            body frame (the rest root joint; the global orientation turns the body about it).
        linear (np.ndarray): ``(3, 3)`` change ``A`` of the camera frame acting on column
            vectors (a rotation, or a mirror for a horizontal flip; the flipped body is then
            assumed mirror-symmetric about its root, as SMPL is to a few mm).

    Returns:
        np.ndarray: ``(3,)`` float64 ``A t + (A - I) J0``.
    """
    transl = np.asarray(transl, np.float64).reshape(3)
    root = np.asarray(root_joint, np.float64).reshape(3)
    linear = np.asarray(linear, np.float64)
    return linear @ transl + (linear - np.eye(3)) @ root


def smpl_root_joint(results: dict, transform: str) -> np.ndarray:
    """``results['smpl_root_joint']``, or a clear error when a transform needs it.

    Args:
        results (dict): The sample.
        transform (str): Name of the asking transform, for the message.

    Returns:
        np.ndarray: ``(3,)`` float64.
    """
    root = results.get('smpl_root_joint')
    if root is None:
        raise KeyError(
            f'{transform}: sample {results.get("sample_idx")} of dataset '
            f'{results.get("dataset_name")!r} has a ground-truth cam_transl (has_transl > 0) '
            'but no smpl_root_joint (3,): SMPL turns the body about its root joint J0(betas), '
            'so the translation after a rotation or flip A is A t + (A - I) J0. The dataset '
            'must provide smpl_root_joint (SyntheticHumanDataset does), or set has_transl 0.')
    root = np.asarray(root, np.float64)
    if root.shape != (3, ) or not np.isfinite(root).all():
        raise ValueError(f'{transform}: smpl_root_joint of sample {results.get("sample_idx")} '
                         f'must be 3 finite numbers, got {root!r}')
    return root


def has_gt_translation(results: dict) -> bool:
    """Whether the sample's ``cam_transl`` is ground truth to keep consistent."""
    return 'cam_transl' in results and float(results.get('has_transl', 1.)) > 0
