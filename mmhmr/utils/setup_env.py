import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Register all modules of mmhmr (and mmpose, their parents) into the registries.

    Args:
        init_default_scope (bool): Whether to set the global default scope to ``mmhmr``, so that
            registries build modules from mmhmr's registry node. Defaults to True.
    """
    import mmhmr.datasets  # noqa: F401,F403
    import mmhmr.engine  # noqa: F401,F403
    import mmhmr.evaluation  # noqa: F401,F403
    import mmhmr.models  # noqa: F401,F403
    import mmhmr.visualization  # noqa: F401,F403

    if not init_default_scope:
        return
    never_created = DefaultScope.get_current_instance() is None \
        or not DefaultScope.check_instance_created('mmhmr')
    if never_created:
        DefaultScope.get_instance('mmhmr', scope_name='mmhmr')
        return
    current_scope = DefaultScope.get_current_instance()
    if current_scope.scope_name != 'mmhmr':
        warnings.warn(f'The current default scope "{current_scope.scope_name}" is not '
                      '"mmhmr"; `register_all_modules` forces it to "mmhmr".')
        # a unique name for the new instance, as mmpose does
        new_instance_name = f'mmhmr-{datetime.datetime.now()}'
        DefaultScope.get_instance(new_instance_name, scope_name='mmhmr')
