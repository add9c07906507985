"""mmhmr's registries.

Every registry is a child of mmpose's (hence of mmengine's), so that a config with
``default_scope='mmhmr'`` can use mmpose's and mmengine's components unchanged (a lookup falls
back to the parent registries), and a config of another scope can use ours with the scope prefix
(``type='mmhmr.HMREstimator'``; mmengine imports this module when it meets the prefix).
``locations`` let each registry import the modules that register into it on first use.
"""
from mmengine.registry import Registry
from mmpose.registry import DATA_SAMPLERS as MMPOSE_DATA_SAMPLERS
from mmpose.registry import DATASETS as MMPOSE_DATASETS
from mmpose.registry import EVALUATORS as MMPOSE_EVALUATORS
from mmpose.registry import HOOKS as MMPOSE_HOOKS
from mmpose.registry import LOG_PROCESSORS as MMPOSE_LOG_PROCESSORS
from mmpose.registry import LOOPS as MMPOSE_LOOPS
from mmpose.registry import METRICS as MMPOSE_METRICS
from mmpose.registry import MODEL_WRAPPERS as MMPOSE_MODEL_WRAPPERS
from mmpose.registry import MODELS as MMPOSE_MODELS
from mmpose.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMPOSE_OPTIM_WRAPPER_CONSTRUCTORS
from mmpose.registry import OPTIM_WRAPPERS as MMPOSE_OPTIM_WRAPPERS
from mmpose.registry import OPTIMIZERS as MMPOSE_OPTIMIZERS
from mmpose.registry import PARAM_SCHEDULERS as MMPOSE_PARAM_SCHEDULERS
from mmpose.registry import RUNNERS as MMPOSE_RUNNERS
from mmpose.registry import TASK_UTILS as MMPOSE_TASK_UTILS
from mmpose.registry import TRANSFORMS as MMPOSE_TRANSFORMS
from mmpose.registry import VISBACKENDS as MMPOSE_VISBACKENDS
from mmpose.registry import VISUALIZERS as MMPOSE_VISUALIZERS
from mmpose.registry import WEIGHT_INITIALIZERS as MMPOSE_WEIGHT_INITIALIZERS

# runners and loops
RUNNERS = Registry('runner', parent=MMPOSE_RUNNERS)
LOOPS = Registry('loop', parent=MMPOSE_LOOPS, locations=['mmhmr.engine'])
HOOKS = Registry('hook', parent=MMPOSE_HOOKS, locations=['mmhmr.engine'])
LOG_PROCESSORS = Registry('log processor', parent=MMPOSE_LOG_PROCESSORS)

# data
DATASETS = Registry('dataset', parent=MMPOSE_DATASETS, locations=['mmhmr.datasets'])
DATA_SAMPLERS = Registry(
    'data sampler', parent=MMPOSE_DATA_SAMPLERS, locations=['mmhmr.datasets'])
TRANSFORMS = Registry(
    'transform', parent=MMPOSE_TRANSFORMS, locations=['mmhmr.datasets.transforms'])

# models
MODELS = Registry('model', parent=MMPOSE_MODELS, locations=['mmhmr.models'])
MODEL_WRAPPERS = Registry(
    'model_wrapper', parent=MMPOSE_MODEL_WRAPPERS, locations=['mmhmr.models'])
WEIGHT_INITIALIZERS = Registry(
    'weight initializer', parent=MMPOSE_WEIGHT_INITIALIZERS, locations=['mmhmr.models'])
TASK_UTILS = Registry('task util', parent=MMPOSE_TASK_UTILS, locations=['mmhmr.models'])

# optimisation
OPTIMIZERS = Registry('optimizer', parent=MMPOSE_OPTIMIZERS, locations=['mmhmr.engine'])
OPTIM_WRAPPERS = Registry(
    'optimizer_wrapper', parent=MMPOSE_OPTIM_WRAPPERS, locations=['mmhmr.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor', parent=MMPOSE_OPTIM_WRAPPER_CONSTRUCTORS,
    locations=['mmhmr.engine'])
PARAM_SCHEDULERS = Registry(
    'parameter scheduler', parent=MMPOSE_PARAM_SCHEDULERS, locations=['mmhmr.engine'])

# evaluation
METRICS = Registry('metric', parent=MMPOSE_METRICS, locations=['mmhmr.evaluation'])
EVALUATORS = Registry('evaluator', parent=MMPOSE_EVALUATORS, locations=['mmhmr.evaluation'])

# visualisation
VISUALIZERS = Registry('visualizer', parent=MMPOSE_VISUALIZERS,
                       locations=['mmhmr.visualization'])
VISBACKENDS = Registry('vis_backend', parent=MMPOSE_VISBACKENDS)
