"""Records Meta's schedulefree 1.4.1 with the options the shared recordings leave at their
defaults (weight decay, betas and eps, momentum, r, weight_lr_power, warm-up with r and decay,
AdamWScheduleFreeReference's decay_at_z), on `quadratic` and `fixed_grads`, into
`tests/recorded/schedulefree_options.json`, with the protocol of `../shared/recorded/README.md`
section 8: `train()`, then per step the gradient at `p` (= y), `step()`, record `p`
(`trajectory`), `eval()`, record `p` (`eval_trajectory`, = x), `train()`. A case is cut at its
first row (of either trajectory) that moves by more than 1e-12 when the gradients change by one
ulp.

Usage (the optax recorders' venv, with torch 2.15.0 and schedulefree 1.4.1 added):
    venv/bin/pip install torch==2.15.0 schedulefree==1.4.1
    venv/bin/python scripts/record_schedulefree_options.py
"""
import contextlib
import io

import numpy as np
import schedulefree
import torch
from recording import PATTERNS, cut_pair, grads_perturbed, save, vector_problem

torch.set_default_dtype(torch.float64)

LR = {"AdamW": {"quadratic": 0.1, "fixed_grads": 0.01}, "SGD": {"quadratic": 0.01, "fixed_grads": 0.1}}
VARIANTS = {
    "AdamW": {
        "opt_wd": dict(weight_decay=0.05),
        "opt_betas": dict(betas=(0.8, 0.99), eps=1e-6),
        "opt_r": dict(r=0.5),
        "opt_weight_lr_power": dict(weight_lr_power=1.0, warmup_steps=5),
        "opt_warmup_r_wd": dict(warmup_steps=5, r=1.0, weight_decay=0.02),
    },
    "SGD": {
        "opt_wd": dict(weight_decay=0.05),
        "opt_momentum": dict(momentum=0.7),
        "opt_r": dict(r=0.5),
        "opt_weight_lr_power": dict(weight_lr_power=1.0, warmup_steps=5),
        "opt_warmup_r_wd": dict(warmup_steps=5, r=1.0, weight_decay=0.02),
    },
}
# the Reference classes also take decay_at_z (AdamW only)
REFERENCE_ONLY = {"AdamW": {"opt_decay_at_z": dict(weight_decay=0.05, decay_at_z=True)}, "SGD": {}}
RESOLVED = ["lr", "betas", "eps", "momentum", "r", "warmup_steps", "weight_lr_power", "weight_decay", "decay_at_z"]


def trajectories(cls, hyper, init, grad, steps, pattern=None):
    p = torch.nn.Parameter(torch.tensor(init))
    with contextlib.redirect_stdout(io.StringIO()):  # the Reference classes print mode switches
        opt = cls([p], foreach=False, **hyper)
        opt.train()
        ys, xs = [], []
        for k in range(steps):
            g = np.asarray(grads_perturbed(grad(k, p.detach().numpy().copy()), k, pattern))
            p.grad = torch.tensor(g)
            opt.step()
            ys.append([float(v) for v in p.detach()])
            opt.eval()
            xs.append([float(v) for v in p.detach()])
            opt.train()
    group = opt.param_groups[0]
    resolved = {k: (list(group[k]) if isinstance(group[k], tuple) else group[k]) for k in RESOLVED if k in group}
    return ys, xs, resolved


def main():
    cases = []
    for family, variants in VARIANTS.items():
        for suffix in ["", "Reference"]:
            name = f"{family}ScheduleFree{suffix}"
            cls = getattr(schedulefree, name)
            all_variants = dict(variants, **(REFERENCE_ONLY[family] if suffix else {}))
            for variant, hyper in all_variants.items():
                for problem in ["quadratic", "fixed_grads"]:
                    init, grads, grad, steps = vector_problem(problem)
                    hyper = dict(hyper, lr=LR[family][problem])
                    ys, xs, resolved = trajectories(cls, hyper, init, grad, steps)
                    moved = [trajectories(cls, hyper, init, grad, steps, p)[:2] for p in PATTERNS if p.startswith("grad")]
                    keep, worst = cut_pair((ys, xs), moved)
                    cid = f"{name}-{variant}-{problem}"
                    print(cid, "keeps", keep, "of", steps, f"sensitivity {worst:.1e}")
                    if keep < 10:
                        continue
                    case = dict(id=cid, optimizer=f"schedulefree.{name}",
                                hyper={k: (list(v) if isinstance(v, tuple) else v) for k, v in hyper.items()},
                                hyper_resolved=resolved, problem=problem, init=list(init), steps=keep,
                                record_every=1, grads_given=grads is not None, trajectory=ys[:keep],
                                eval_trajectory=xs[:keep], ulp_sensitivity=worst)
                    if grads is not None:
                        case["grads"] = grads[:keep]
                    cases.append(case)
    save(cases, "schedulefree_options.json")


if __name__ == "__main__":
    main()
