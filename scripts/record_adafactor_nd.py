"""Records `optax.adafactor` factored over tensors of more than two dimensions (the shared
recordings have matrices only), in the format of `tests/recorded/*.json`, into
`tests/recorded/optax_adafactor_nd.json`.

Usage (optax 0.2.8, jax 0.10.2, as the shared recordings):
    python3 -m venv venv && venv/bin/pip install optax==0.2.8 jax==0.10.2 jaxlib==0.10.2
    venv/bin/python scripts/record_adafactor_nd.py
"""
import inspect
import json
import os

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

STEPS = 30
SHAPES = [[2, 3, 4], [3, 4, 2], [2, 2, 3, 5]]
VARIANTS = {
    "factored": dict(learning_rate=0.05, min_dim_size_to_factor=2),
    "decay": dict(learning_rate=0.05, min_dim_size_to_factor=2, weight_decay_rate=0.01, clipping_threshold=0.5),
}


def resolved(hyper):
    sig = inspect.signature(optax.adafactor)
    out = {k: (None if v.default is inspect.Parameter.empty else v.default) for k, v in sig.parameters.items()}
    out.update(hyper)
    out["dtype_momentum"] = "float32"
    return out


def perturb(v, k, alternate):
    e = 2.0**-52
    flat = np.asarray(v).reshape(-1)
    s = np.array([(-1.0) ** (i + k) if alternate else 1.0 for i in range(flat.size)])
    return jnp.array((flat * (1.0 + s * e)).reshape(np.shape(v)))


def run(hyper, init, grads, pattern=None):
    opt = optax.adafactor(**hyper)
    x = jnp.array(init)
    state = opt.init(x)
    traj = []
    with jax.disable_jit():
        for k in range(len(grads)):
            g = jnp.array(grads[k])
            if pattern in ("grad_alt", "grad_pos"):
                g = perturb(g, k, pattern == "grad_alt")
            upd, state = opt.update(g, state, x)
            if pattern in ("update_alt", "update_pos"):
                upd = perturb(upd, k, pattern == "update_alt")
            x = optax.apply_updates(x, upd)
            traj.append([float(v) for v in np.asarray(x).reshape(-1)])
    return traj


def rel(a, b):
    """The README's metric; infinite where a row is not finite (the case is cut there)."""
    a, b = np.array(a), np.array(b)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return float("inf")
    return float(np.max(np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-3)))


cases = []
for name, hyper in VARIANTS.items():
    for shape in SHAPES:
        rng = np.random.default_rng(4000 + sum(shape))
        init = rng.standard_normal(shape)
        scale = np.array([10.0 ** ((i % 3) - 1) for i in range(int(np.prod(shape)))]).reshape(shape)
        grads = rng.standard_normal((STEPS,) + tuple(shape)) * scale
        traj = run(hyper, init, grads)
        others = [run(hyper, init, grads, p) for p in ["grad_alt", "grad_pos", "update_alt", "update_pos"]]
        keep, worst = len(traj), 0.0
        for j, row in enumerate(traj):
            s = max(rel(row, o[j]) for o in others)
            if s > 1e-12:
                keep = j
                break
            worst = max(worst, s)
        label = "x".join(map(str, shape))
        print(f"optax.adafactor-{name}-matrix_fixed-{label} keeps {keep} of {len(traj)}, sensitivity {worst:.1e}")
        if keep < 10:
            continue
        cases.append(dict(
            id=f"optax.adafactor-{name}-matrix_fixed-{label}",
            optimizer="optax.adafactor",
            hyper=hyper,
            problem="matrix_fixed",
            hyper_resolved=resolved(hyper),
            shape=shape,
            init=[float(v) for v in init.reshape(-1)],
            steps=keep,
            record_every=1,
            grads_given=True,
            grads=[[float(v) for v in g.reshape(-1)] for g in grads[:keep]],
            trajectory=traj[:keep],
            ulp_sensitivity=worst,
            jax_mode="disable_jit",
        ))
out = os.path.join(os.path.dirname(__file__), "..", "tests", "recorded", "optax_adafactor_nd.json")
with open(out, "w") as f:
    json.dump(cases, f)
print(f"{len(cases)} cases -> {out}")
