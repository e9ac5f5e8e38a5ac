"""The resumable training loop every duet-tiny stage uses.

A stage trains until its step budget or its wall-clock budget runs out (whichever first), so
a preset finishes in known time on a loaded machine. Every `ckpt_every_s` seconds, and at the
end, it writes <work>/<name>.partial.pt (modules, optimizer, step, elapsed seconds, RNG states);
rerunning picks up from there. The learning rate warms up linearly, then follows a cosine to 10 %
over the stage's progress = max(step / steps, elapsed / seconds).
"""
import math
import os
import time

import numpy as np
import torch


def lr_factor(step, progress, warmup=100):
    w = min(1.0, (step + 1) / warmup)
    return w * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def run(name, work, modules, opt, loss_fn, budget, log, ckpt_every_s=300, extra=None,
        log_every=25):
    """modules: dict name -> nn.Module (trained and checkpointed); loss_fn(step, rng) -> (loss,
    dict of floats to log). extra: dict of nn.Modules checkpointed but not trained (EMA).
    Returns a dict with steps, elapsed seconds and the last logged values."""
    path = os.path.join(work, f'{name}.partial.pt')
    step, elapsed, rng = 0, 0.0, np.random.default_rng(1234)
    extra = extra or {}
    if os.path.exists(path):
        dev = next(iter(modules.values())).parameters().__next__().device
        ck = torch.load(path, weights_only=False, map_location=dev)
        for k, m in list(modules.items()) + list(extra.items()):
            m.load_state_dict(ck['modules'][k])
        opt.load_state_dict(ck['opt'])
        step, elapsed = ck['step'], ck['elapsed']
        rng.bit_generator.state = ck['rng']
        torch.set_rng_state(ck['torch_rng'])
        log(f'{name}: resumed at step {step} ({elapsed:.0f} s)')
    base = [g['lr'] for g in opt.param_groups]
    if os.path.exists(path):
        base = ck['base_lr']
    steps, seconds = budget['steps'], budget['seconds']
    t_start, last_ck, acc, n_acc, hist = time.time() - elapsed, time.time(), {}, {}, {}

    def save():
        sd = {k: m.state_dict() for k, m in list(modules.items()) + list(extra.items())}
        torch.save(dict(modules=sd, opt=opt.state_dict(), step=step, elapsed=elapsed,
                        base_lr=base, rng=rng.bit_generator.state, torch_rng=torch.get_rng_state()),
                   path + '.tmp')
        os.replace(path + '.tmp', path)

    for m in modules.values():
        m.train()
    while step < steps and elapsed < seconds:
        f = lr_factor(step, max(step / steps, elapsed / seconds))
        for g, b in zip(opt.param_groups, base):
            g['lr'] = b * f
        loss, vals = loss_fn(step, rng)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        params = [p for g in opt.param_groups for p in g['params']]
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        elapsed = time.time() - t_start
        for k, v in vals.items():       # mean of each value over the steps that reported it
            n = n_acc.get(k, 0)
            acc[k], n_acc[k] = acc.get(k, 0.0) + v, n + 1
        if step % log_every == 0 or step == steps:
            hist = {k: v / n_acc[k] for k, v in acc.items()}
            msg = ' '.join(f'{k} {v:.4g}' for k, v in hist.items())
            log(f'{name} step {step} {elapsed:.0f}s lr {b * f:.2e} {msg}')
            acc, n_acc = {}, {}
        if time.time() - last_ck > ckpt_every_s:
            save()
            last_ck = time.time()
    for g, b in zip(opt.param_groups, base):
        g['lr'] = b
    save()
    for m in modules.values():
        m.eval()
    return dict(steps=step, seconds=round(elapsed), last=hist)
