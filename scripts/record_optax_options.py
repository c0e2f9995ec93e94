"""Records optax rules with options the shared recordings leave at their defaults, on the
`quadratic` and `fixed_grads` problems (`../shared/golden/README.md`), in the format of
`tests/recorded/*.json`:

- `optax.contrib.prodigy` with a learning rate other than 1, weight decay, `safeguard_warmup`
  and `beta3`: `tests/recorded/optax_contrib_prodigy_options.json`;
- `optax.lars` with `nesterov=True`: `tests/recorded/optax_lars_nesterov.json`;
- `optax.rmsprop` with `eps_in_sqrt=False` (and `bias_correction`, `nesterov`):
  `tests/recorded/optax_rmsprop_options.json`;
- `optax.adabelief` with `eps_root` large enough to matter and `nesterov=True`:
  `tests/recorded/optax_adabelief_options.json`.

Usage (optax 0.2.8, jax 0.10.2, as the shared recordings):
    python3 -m venv venv && venv/bin/pip install optax==0.2.8 jax==0.10.2 jaxlib==0.10.2
    venv/bin/python scripts/record_optax_options.py
"""
import inspect

import jax.numpy as jnp
import optax
from recording import PATTERNS, cut, save, trajectory, vector_problem

RULES = {
    "contrib.prodigy": ("optax_contrib_prodigy_options.json", {
        "lr": dict(learning_rate=0.25),
        "decay": dict(learning_rate=0.5, weight_decay=0.1),
        "warmup": dict(safeguard_warmup=True, estim_lr0=1e-3),
        "all": dict(learning_rate=2.0, weight_decay=0.05, beta3=0.95, safeguard_warmup=True,
                    betas=(0.8, 0.99), eps=1e-6, estim_lr0=1e-4, estim_lr_coef=2.0),
    }),
    "lars": ("optax_lars_nesterov.json", {
        "nesterov": dict(learning_rate=0.05, momentum=0.9, nesterov=True),
        "nesterov_decay": dict(learning_rate=0.05, momentum=0.8, nesterov=True, weight_decay=0.01, trust_coefficient=0.1),
    }),
    "rmsprop": ("optax_rmsprop_options.json", {
        "eps_outside": dict(learning_rate=0.01, eps_in_sqrt=False, eps=1e-3),
        "eps_outside_centered_bias": dict(learning_rate=0.01, eps_in_sqrt=False, centered=True, bias_correction=True),
        "eps_outside_nesterov": dict(learning_rate=0.001, eps_in_sqrt=False, momentum=0.9, nesterov=True),
    }),
    "adabelief": ("optax_adabelief_options.json", {
        "eps_root": dict(learning_rate=0.05, eps_root=1e-3),
        "nesterov": dict(learning_rate=0.05, nesterov=True),
        "all": dict(learning_rate=0.02, b1=0.8, b2=0.99, eps=1e-8, eps_root=1e-4, nesterov=True),
    }),
}


def function(name):
    """`optax.<name>`, e.g. `contrib.prodigy`."""
    f = optax
    for part in name.split("."):
        f = getattr(f, part)
    return f


for name, (file, variants) in RULES.items():
    fn = function(name)
    defaults = {k: v.default for k, v in inspect.signature(fn).parameters.items()}
    cases = []
    for variant, hyper in variants.items():
        for problem in ["quadratic", "fixed_grads"]:
            init, grads, grad, steps = vector_problem(problem)
            x = jnp.array(init, dtype=jnp.float64)
            traj = trajectory(fn(**hyper), x, grad, steps)
            keep, worst = cut(traj, [trajectory(fn(**hyper), x, grad, steps, p) for p in PATTERNS])
            cid = f"optax.{name}-{variant}-{problem}"
            print(cid, "keeps", keep, "of", len(traj), f"sensitivity {worst:.1e}")
            if keep < 10:
                continue
            case = dict(id=cid, optimizer=f"optax.{name}", hyper=hyper, problem=problem,
                        hyper_resolved=dict(defaults, **hyper), init=list(init), steps=keep, record_every=1,
                        grads_given=grads is not None, trajectory=traj[:keep], ulp_sensitivity=worst,
                        jax_mode="disable_jit")
            if grads is not None:
                case["grads"] = grads[:keep]
            cases.append(case)
    save(cases, file)
