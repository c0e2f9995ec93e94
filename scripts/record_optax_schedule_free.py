"""Records `optax.contrib.schedule_free_adamw` and `schedule_free_sgd` with the keywords the
shared recordings leave at their defaults (betas and eps, `weight_lr_power` with warm-up, SGD's
`b1` and weight decay), on `quadratic` and `fixed_grads`: the parameters after each step
(`trajectory`, y) and `schedule_free_eval_params` of them (`eval_trajectory`, x), cut at the
first row of either that moves by more than 1e-12 under the one-ulp perturbations; into
`tests/recorded/optax_contrib_schedule_free_options.json`.

    venv/bin/python scripts/record_optax_schedule_free.py   # optax 0.2.8, jax 0.10.2
"""
import inspect

import jax
import jax.numpy as jnp
import numpy as np
import optax
from recording import PATTERNS, cut_pair, grads_perturbed, save, update_perturbed, vector_problem

RULES = {
    "schedule_free_adamw": ({"quadratic": 0.05, "fixed_grads": 0.01}, {
        "betas_eps": dict(b1=0.8, b2=0.99, eps=1e-6),
        "weight_lr_power": dict(weight_lr_power=1.0, warmup_steps=5),
    }),
    "schedule_free_sgd": ({"quadratic": 0.009, "fixed_grads": 0.1}, {
        "b1": dict(b1=0.7),
        "wd": dict(weight_decay=0.01),
        "weight_lr_power": dict(weight_lr_power=1.0, warmup_steps=5),
    }),
}


def trajectories(opt, x, grad, steps, pattern=None):
    state = opt.init(x)
    ys, xs = [], []
    with jax.disable_jit():
        for k in range(steps):
            g = grads_perturbed(grad(k, x), k, pattern)
            upd, state = opt.update(g, state, x)
            x = optax.apply_updates(x, update_perturbed(upd, k, pattern))
            ys.append([float(v) for v in np.asarray(x)])
            xs.append([float(v) for v in np.asarray(optax.contrib.schedule_free_eval_params(state, x))])
    return ys, xs


def main():
    cases = []
    for name, (lrs, variants) in RULES.items():
        fn = getattr(optax.contrib, name)
        defaults = {k: v.default for k, v in inspect.signature(fn).parameters.items()}
        for variant, hyper in variants.items():
            for problem in ["quadratic", "fixed_grads"]:
                hyper = dict(hyper, learning_rate=lrs[problem])
                init, grads, grad, steps = vector_problem(problem)
                x = jnp.array(init, dtype=jnp.float64)
                ys, xs = trajectories(fn(**hyper), x, grad, steps)
                keep, worst = cut_pair((ys, xs), [trajectories(fn(**hyper), x, grad, steps, p) for p in PATTERNS])
                cid = f"optax.contrib.{name}-{variant}-{problem}"
                print(cid, "keeps", keep, "of", steps, f"sensitivity {worst:.1e}")
                if keep < 10:
                    continue
                case = dict(id=cid, optimizer=f"optax.contrib.{name}", hyper=hyper, problem=problem,
                            hyper_resolved=dict(defaults, **hyper), init=list(init), steps=keep, record_every=1,
                            grads_given=grads is not None, trajectory=ys[:keep], eval_trajectory=xs[:keep],
                            ulp_sensitivity=worst, jax_mode="disable_jit")
                if grads is not None:
                    case["grads"] = grads[:keep]
                cases.append(case)
    save(cases, "optax_contrib_schedule_free_options.json")


if __name__ == "__main__":
    main()
