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
    so ``--resume`` finds it; the temporary file is removed on an error. The best checkpoint
    (``save_best``) likewise: the previous best is removed after the new one is complete.
    Remote backends (``backend_args`` / ``out_dir`` URIs) keep mmengine's behaviour.
    """

    def before_train(self, runner) -> None:
        """mmengine's, then remove the temporary files of writes that a kill interrupted
        (``.<name>.tmp<pid>`` of another process), which would otherwise pile up."""
        super().before_train(runner)
        if '://' in str(self.out_dir) or not is_main_process() or not osp.isdir(self.out_dir):
            return
        for name in os.listdir(self.out_dir):
            stem, _, pid = name.rpartition('.tmp')
            if name.startswith('.') and stem and pid.isdigit() and int(pid) != os.getpid():
                os.remove(osp.join(self.out_dir, name))
                runner.logger.info(f'removed {name}, the remains of an interrupted checkpoint '
                                   'write')

    def _save_atomically(self, runner, name: str, **kwargs) -> str:
        """``runner.save_checkpoint`` into a temporary file in ``out_dir``, renamed to ``name``
        once complete; returns the final path."""
        final = osp.join(self.out_dir, name)
        tmp = osp.join(self.out_dir, f'.{name}.tmp{os.getpid()}')
        try:
            runner.save_checkpoint(self.out_dir, osp.basename(tmp), self.file_client_args,
                                   backend_args=self.backend_args, **kwargs)
            if is_main_process():
                replace_atomically(tmp, final)
        except BaseException:
            if is_main_process() and osp.exists(tmp):
                os.remove(tmp)
            raise
        return final

    def _save_best_checkpoint(self, runner, metrics) -> None:
        """mmengine's best-checkpoint logic (same names, rules and message-hub keys), but the
        new best checkpoint is written atomically and the previous one removed only then
        (mmengine removes it first: a failed write left no best checkpoint at all)."""
        if not self.save_best:
            return
        if '://' in str(self.out_dir):
            return super()._save_best_checkpoint(runner, metrics)
        step = runner.epoch if self.by_epoch else runner.iter
        meta = dict(epoch=runner.epoch, iter=runner.iter)
        if 'auto' in self.key_indicators:
            self._init_rule(self.rules, [list(metrics.keys())[0]])
        single = len(self.key_indicators) == 1
        updated = False
        for key, rule in zip(self.key_indicators, self.rules):
            score_key = 'best_score' if single else f'best_score_{key}'
            best = runner.message_hub.get_info(score_key, self.init_value_map[rule])
            score = metrics[key]
            if score is None or not self.is_better_than[key](score, best):
                continue
            previous = self.best_ckpt_path if single else self.best_ckpt_path_dict[key]
            name = f'best_{key}_{self.filename_tmpl.format(step)}'.replace('/', '_')
            # the new best is recorded before the write (the checkpoint's message hub holds
            # it, as in mmengine); a failed write puts the previous record back
            info = runner.message_hub.runtime_info
            ckpt_key = 'best_ckpt' if single else f'best_ckpt_{key}'
            record = {k: info.get(k) for k in (score_key, ckpt_key)}
            path = self._set_best(runner, key, single, osp.join(self.out_dir, name), score)
            try:
                self._save_atomically(runner, name, save_optimizer=False,
                                      save_param_scheduler=False, meta=meta, by_epoch=False)
            except BaseException:
                self._set_best(runner, key, single, previous, best)
                for k, v in record.items():
                    if v is None:
                        info.pop(k, None)
                    else:
                        runner.message_hub.update_info(k, v)
                raise
            updated = True
            if is_main_process() and previous and previous != path and osp.isfile(previous):
                os.remove(previous)
                runner.logger.info(f'The previous best checkpoint {previous} is removed')
            runner.logger.info(f'The best checkpoint with {score:0.4f} {key} at {step} '
                               f'{"epoch" if self.by_epoch else "iter"} is saved to {name}.')
        # as mmengine: save the step's checkpoint again, so that it records the new best
        if updated and self.last_ckpt is not None:
            self._save_checkpoint_with_step(runner, step, meta)

    def _set_best(self, runner, key, single, path, score):
        """Record ``path`` as the best checkpoint of ``key`` with ``score`` (hook and message
        hub, as mmengine's hook records them)."""
        if single:
            self.best_ckpt_path = path
        else:
            self.best_ckpt_path_dict[key] = path
        runner.message_hub.update_info('best_ckpt' if single else f'best_ckpt_{key}', path)
        runner.message_hub.update_info('best_score' if single else f'best_score_{key}', score)
        return path

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
        self._save_atomically(runner, name, save_optimizer=self.save_optimizer,
                              save_param_scheduler=self.save_param_scheduler, meta=meta,
                              by_epoch=self.by_epoch, **self.args)
        if not is_main_process():
            return
        write_text_atomically(osp.join(runner.work_dir, 'last_checkpoint'), final)
        if dropped is not None:
            old = osp.join(self.out_dir, self.filename_tmpl.format(dropped))
            if osp.isfile(old):
                os.remove(old)
