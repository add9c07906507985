"""Checkpoints written atomically: a crash, a kill or a full disk mid-write never costs the
previous checkpoint."""
import os
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from mmhmr.registry import HOOKS


def replace_atomically(tmp_path: str, path: str) -> None:
    """Flush ``tmp_path`` to disk, rename it over ``path`` and flush the folder, so that
    ``path`` is at all times either its old complete content or the new complete one."""
    with open(tmp_path, 'rb') as f:
        os.fsync(f.fileno())
    os.replace(tmp_path, path)
    folder = os.open(osp.dirname(osp.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def write_text_atomically(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder."""
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'w') as f:
        f.write(text)
    replace_atomically(tmp, path)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` (same arguments), with local checkpoints written
    atomically: into a temporary file in the same folder, flushed to disk (fsync), then renamed
    over the final name; ``last_checkpoint`` likewise. Old checkpoints (``max_keep_ckpts``) are
    removed only after the new one is complete (mmengine removes them first). A failed write
    (a full disk, a kill) leaves the previous checkpoint and ``last_checkpoint`` as they were,
    so ``--resume`` finds it; the temporary file is removed on an error. Remote backends
    (``backend_args`` / ``out_dir`` URIs) keep mmengine's behaviour.
    """

    def _save_checkpoint_with_step(self, runner, step, meta):
        if '://' in str(self.out_dir):
            return super()._save_checkpoint_with_step(runner, step, meta)
        name = self.filename_tmpl.format(step)
        final = osp.join(self.out_dir, name)
        # the kept steps as mmengine records them (the checkpoint's message hub holds them for
        # a resume), but the dropped file is removed only once the new one is complete
        dropped = None
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and
                                            self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                dropped = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        self.last_ckpt = final
        runner.message_hub.update_info('last_ckpt', final)
        tmp = osp.join(self.out_dir, f'.{name}.tmp{os.getpid()}')
        try:
            runner.save_checkpoint(
                self.out_dir, osp.basename(tmp), self.file_client_args,
                save_optimizer=self.save_optimizer,
                save_param_scheduler=self.save_param_scheduler, meta=meta,
                by_epoch=self.by_epoch, backend_args=self.backend_args, **self.args)
            if is_main_process():
                replace_atomically(tmp, final)
        except BaseException:
            if is_main_process() and osp.exists(tmp):
                os.remove(tmp)
            raise
        if not is_main_process():
            return
        write_text_atomically(osp.join(runner.work_dir, 'last_checkpoint'), final)
        if dropped is not None:
            old = osp.join(self.out_dir, self.filename_tmpl.format(dropped))
            if osp.isfile(old):
                os.remove(old)
