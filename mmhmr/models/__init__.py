import mmpose.models  # noqa: F401  (registers mmpose's backbones, necks, losses: our parents)

from .body_models import *  # noqa: F401,F403
from .estimators import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .task_modules import *  # noqa: F401,F403
from .tto import *  # noqa: F401,F403
