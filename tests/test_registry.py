"""mmhmr's registries are children of mmpose's: both directions work."""
import subprocess
import sys
import textwrap

from mmengine.registry import DefaultScope


def test_mmhmr_scope_builds_mmpose_components():
    from mmhmr.registry import HOOKS, MODELS, TRANSFORMS
    with DefaultScope.overwrite_default_scope('mmhmr'):
        backbone = MODELS.build(dict(type='ResNet', depth=18))
        transform = TRANSFORMS.build(dict(type='PhotometricDistortion'))
        hook = HOOKS.build(dict(type='EMAHook'))
        loss = MODELS.build(dict(type='KeypointReprojectionLoss'))
    assert type(backbone).__module__.startswith('mmpose.models')
    assert type(transform).__module__.startswith('mmpose.datasets')
    assert type(hook).__name__ == 'EMAHook'
    assert type(loss).__module__.startswith('mmhmr.models')


def test_mmpose_config_uses_mmhmr_components_through_custom_imports(tmp_path):
    # A fresh interpreter, as a user's mmpose config would run: nothing of mmhmr imported
    # before the config's custom_imports.
    cfg = tmp_path / 'mmpose_cfg.py'
    cfg.write_text(textwrap.dedent("""
        default_scope = 'mmpose'
        custom_imports = dict(imports=['mmhmr'], allow_failed_imports=False)
        loss = dict(type='mmhmr.CameraPriorLoss', loss_weight=2.0)
        backbone = dict(type='ResNet', depth=18)
    """))
    code = textwrap.dedent(f"""
        from mmengine.config import Config
        from mmengine.registry import init_default_scope
        from mmpose.registry import MODELS
        cfg = Config.fromfile({str(cfg)!r})
        init_default_scope(cfg.default_scope)
        loss = MODELS.build(cfg.loss)
        backbone = MODELS.build(cfg.backbone)
        print(type(loss).__module__, loss.loss_weight, type(backbone).__module__)
    """)
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ['mmhmr.models.losses.prior_losses', '2.0', 'mmpose.models.backbones.resnet']


def test_register_all_modules_sets_scope():
    from mmhmr.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    assert DefaultScope.get_current_instance().scope_name == 'mmhmr'
