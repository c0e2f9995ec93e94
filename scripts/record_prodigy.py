"""Records `optax.contrib.prodigy` with the options the shared recordings leave at their defaults
(a learning rate other than 1, weight decay, `safeguard_warmup`, `beta3`), in the format of
`tests/recorded/*.json` (see `../shared/golden/README.md`), into
`tests/recorded/optax_contrib_prodigy_options.json`.

Usage (optax 0.2.8, jax 0.10.2, as the shared recordings):
    python3 -m venv venv && venv/bin/pip install optax==0.2.8 jax==0.10.2 jaxlib==0.10.2
    venv/bin/python scripts/record_prodigy.py
"""
import json
import os

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from recording import PATTERNS, cut, grads_perturbed, update_perturbed  # noqa: E402

QUAD_A = np.array([1.0, 10.0, 100.0, 0.5, 3.0])
NOTEBOOK = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "notebook.json")
FIXED = os.path.join(os.path.dirname(__file__), "..", "tests", "recorded", "optax_contrib_prodigy.json")

DEFAULTS = dict(learning_rate=1.0, betas=[0.9, 0.999], beta3=None, eps=1e-8, estim_lr0=1e-6,
                estim_lr_coef=1.0, weight_decay=0.0, safeguard_warmup=False)

VARIANTS = {
    "lr": dict(learning_rate=0.25),
    "decay": dict(learning_rate=0.5, weight_decay=0.1),
    "warmup": dict(safeguard_warmup=True, estim_lr0=1e-3),
    "all": dict(learning_rate=2.0, weight_decay=0.05, beta3=0.95, safeguard_warmup=True,
                betas=[0.8, 0.99], eps=1e-6, estim_lr0=1e-4, estim_lr_coef=2.0),
}


def hyper_name(hyper):
    return next(n for n, h in VARIANTS.items() if h is hyper)


def fixed_case():
    cases = json.load(open(FIXED))
    c = next(c for c in cases if c["problem"] == "fixed_grads")
    return c["init"], c["grads"]


def notebook():
    nb = json.load(open(NOTEBOOK))
    return nb


def run(hyper, problem, pattern=None):
    resolved = dict(DEFAULTS, **hyper)
    kw = dict(resolved)
    kw["betas"] = tuple(kw["betas"])
    opt = optax.contrib.prodigy(**kw)
    grads_given = None
    if problem == "quadratic":
        init, steps, every = [1.0, -2.0, 3.0, -4.0, 5.0], 50, 1
    elif problem == "fixed_grads":
        init, grads_given = fixed_case()
        steps, every = len(grads_given), 1
    else:
        raise ValueError(problem)
    x = jnp.array(init, dtype=jnp.float64)
    state = opt.init(x)
    traj = []
    with jax.disable_jit():
        for k in range(steps):
            if problem == "quadratic":
                g = jnp.array(QUAD_A) * x
            else:
                g = jnp.array(grads_given[k], dtype=jnp.float64)
            g = grads_perturbed(g, k, pattern)
            upd, state = opt.update(g, state, x)
            upd = update_perturbed(upd, k, pattern)
            x = optax.apply_updates(x, upd)
            if (k + 1) % every == 0:
                traj.append([float(v) for v in np.asarray(x)])
    case = dict(
        id=f"optax.contrib.prodigy-{hyper_name(hyper)}-{problem}",
        optimizer="optax.contrib.prodigy",
        hyper=hyper,
        problem=problem,
        hyper_resolved=resolved,
        init=list(init),
        steps=steps,
        record_every=every,
        grads_given=grads_given is not None,
        trajectory=traj,
        jax_mode="disable_jit",
    )
    if grads_given is not None:
        case["grads"] = grads_given
    return case






cases = []
for name, hyper in VARIANTS.items():
    for problem in ["quadratic", "fixed_grads"]:
        case = run(hyper, problem)
        others = [run(hyper, problem, p)["trajectory"] for p in PATTERNS]
        keep, worst = cut(case["trajectory"], others)
        print(case["id"], "keeps", keep, "of", len(case["trajectory"]), f"sensitivity {worst:.1e}")
        case["trajectory"] = case["trajectory"][:keep]
        case["steps"] = keep * case["record_every"]
        if case["grads_given"]:
            case["grads"] = case["grads"][: case["steps"]]
        case["ulp_sensitivity"] = worst
        if keep >= 10:
            cases.append(case)
out = os.path.join(os.path.dirname(__file__), "..", "tests", "recorded", "optax_contrib_prodigy_options.json")
with open(out, "w") as f:
    json.dump(cases, f)
print(f"{len(cases)} cases -> {out}")
