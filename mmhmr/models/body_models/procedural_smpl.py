"""The SMPL classes over the procedural body model, generated on first use.

They are :class:`SMPL` / :class:`GenderedSMPL` in every respect, the same code path as a user's
SMPL files, except that the model files are written into ``model_path`` first when they are not
there (:func:`ensure_procedural_body_model`), so that a config needs no licensed file.
"""
from mmhmr.registry import MODELS
from .procedural import ensure_procedural_body_model
from .smpl import SMPL, GenderedSMPL

PROCEDURAL_MODEL_DIR = 'data/body_models/procedural'


@MODELS.register_module()
class ProceduralSMPL(SMPL):
    """:class:`SMPL` over the procedural body model.

    Args:
        model_path (str): where the generated files live. Defaults to
            ``data/body_models/procedural``.
        seed (int): the generator's seed. Defaults to 0.
        **kwargs: passed to :class:`SMPL`.
    """

    def __init__(self, model_path: str = PROCEDURAL_MODEL_DIR, seed: int = 0, **kwargs):
        super().__init__(ensure_procedural_body_model(model_path, seed=seed), **kwargs)


@MODELS.register_module()
class ProceduralGenderedSMPL(GenderedSMPL):
    """:class:`GenderedSMPL` over the procedural body model (neutral, male and female).

    Args:
        model_path (str): where the generated files live. Defaults to
            ``data/body_models/procedural``.
        seed (int): the generator's seed. Defaults to 0.
        **kwargs: passed to :class:`GenderedSMPL`.
    """

    def __init__(self, model_path: str = PROCEDURAL_MODEL_DIR, seed: int = 0, **kwargs):
        super().__init__(ensure_procedural_body_model(model_path, seed=seed), **kwargs)
