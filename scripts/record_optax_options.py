"""Records optax rules with options the shared recordings leave at their defaults, on the
`quadratic` and `fixed_grads` problems, in the format of `tests/recorded/*.json`:
`optax.lars` with `nesterov=True` into `tests/recorded/optax_lars_nesterov.json`, `optax.rmsprop`
with `eps_in_sqrt=False` (and `bias_correction`, `nesterov`) into
`tests/recorded/optax_rmsprop_options.json`.

Usage (optax 0.2.8, jax 0.10.2, as the shared recordings):
    python3 -m venv venv && venv/bin/pip install optax==0.2.8 jax==0.10.2 jaxlib==0.10.2
    venv/bin/python scripts/record_optax_options.py
"""
import inspect
import json
import os

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from recording import PATTERNS, cut, grads_perturbed, update_perturbed  # noqa: E402

QUAD_A = np.array([1.0, 10.0, 100.0, 0.5, 3.0])
HERE = os.path.dirname(__file__)
FIXED = os.path.join(HERE, "..", "tests", "recorded", "optax_contrib_prodigy.json")
RULES = {
    "lars": ("optax_lars_nesterov.json", {
        "nesterov": dict(learning_rate=0.05, momentum=0.9, nesterov=True),
        "nesterov_decay": dict(learning_rate=0.05, momentum=0.8, nesterov=True, weight_decay=0.01, trust_coefficient=0.1),
    }),
    "rmsprop": ("optax_rmsprop_options.json", {
        "eps_outside": dict(learning_rate=0.01, eps_in_sqrt=False, eps=1e-3),
        "eps_outside_centered_bias": dict(learning_rate=0.01, eps_in_sqrt=False, centered=True, bias_correction=True),
        "eps_outside_nesterov": dict(learning_rate=0.001, eps_in_sqrt=False, momentum=0.9, nesterov=True),
    }),
}


def resolved(fn, hyper):
    sig = inspect.signature(getattr(optax, fn))
    out = {k: v.default for k, v in sig.parameters.items()}
    out.update(hyper)
    return out




def run(fn, hyper, problem, pattern=None):
    opt = getattr(optax, fn)(**hyper)
    if problem == "quadratic":
        init, grads, steps = [1.0, -2.0, 3.0, -4.0, 5.0], None, 50
    else:
        c = next(c for c in json.load(open(FIXED)) if c["problem"] == "fixed_grads")
        init, grads, steps = c["init"], c["grads"], len(c["grads"])
    x = jnp.array(init, dtype=jnp.float64)
    state = opt.init(x)
    traj = []
    with jax.disable_jit():
        for k in range(steps):
            g = jnp.array(QUAD_A) * x if grads is None else jnp.array(grads[k], dtype=jnp.float64)
            g = grads_perturbed(g, k, pattern)
            upd, state = opt.update(g, state, x)
            upd = update_perturbed(upd, k, pattern)
            x = optax.apply_updates(x, upd)
            traj.append([float(v) for v in np.asarray(x)])
    return init, grads, traj




for fn, (file, variants) in RULES.items():
    cases = []
    for name, hyper in variants.items():
        for problem in ["quadratic", "fixed_grads"]:
            init, grads, traj = run(fn, hyper, problem)
            others = [run(fn, hyper, problem, p)[2] for p in PATTERNS]
            keep, worst = cut(traj, others)
            cid = f"optax.{fn}-{name}-{problem}"
            print(cid, "keeps", keep, "of", len(traj), f"sensitivity {worst:.1e}")
            if keep < 10:
                continue
            case = dict(id=cid, optimizer=f"optax.{fn}", hyper=hyper, problem=problem,
                        hyper_resolved=resolved(fn, hyper), init=list(init), steps=keep, record_every=1,
                        grads_given=grads is not None, trajectory=traj[:keep], ulp_sensitivity=worst,
                        jax_mode="disable_jit")
            if grads is not None:
                case["grads"] = grads[:keep]
            cases.append(case)
    out = os.path.join(HERE, "..", "tests", "recorded", file)
    with open(out, "w") as f:
        json.dump(cases, f)
    print(f"{len(cases)} cases -> {out}")
