from .skip_nonfinite_optim_wrapper import NONFINITE_LOSS_INFO, SkipNonFiniteOptimWrapper

__all__ = ['NONFINITE_LOSS_INFO', 'SkipNonFiniteOptimWrapper']
