"""Records `optax.adafactor` factored over tensors of more than two dimensions (the shared
recordings have matrices only), with weight decay, with momentum (kept in float64, the dtype
gradus keeps it in), `decay_rate`, without the parameter scale, with `eps`,
and unfactored, in the format of `tests/recorded/*.json`, into
`tests/recorded/optax_adafactor_nd.json`.

Usage (optax 0.2.8, jax 0.10.2, as the shared recordings):
    python3 -m venv venv && venv/bin/pip install optax==0.2.8 jax==0.10.2 jaxlib==0.10.2
    venv/bin/python scripts/record_adafactor_nd.py
"""
import inspect
import jax.numpy as jnp
import numpy as np
import optax
from recording import PATTERNS, cut, save, trajectory

STEPS = 30
SHAPES = [[2, 3, 4], [3, 4, 2], [2, 2, 3, 5]]
VARIANTS = {
    "factored": dict(learning_rate=0.05, min_dim_size_to_factor=2),
    "decay": dict(learning_rate=0.05, min_dim_size_to_factor=2, weight_decay_rate=0.01, clipping_threshold=0.5),
    "momentum": dict(learning_rate=0.05, min_dim_size_to_factor=2, momentum=0.9, dtype_momentum="float64"),
    "decay_rate": dict(learning_rate=0.05, min_dim_size_to_factor=2, decay_rate=0.5),
    "no_parameter_scale": dict(learning_rate=0.05, min_dim_size_to_factor=2, multiply_by_parameter_scale=False),
    "eps": dict(learning_rate=0.05, min_dim_size_to_factor=2, eps=1e-3),
    "unfactored": dict(learning_rate=0.05, factored=False),
    # factored=False where factoring would apply (min_dim_size_to_factor 2): the second moment
    # stays whole
    "unfactored_small": dict(learning_rate=0.05, factored=False, min_dim_size_to_factor=2),
    # unfactored with an eps that shows against g^2 (the default 1e-30 does not)
    "unfactored_eps": dict(learning_rate=0.05, factored=False, eps=1e-2),
}


def adafactor(hyper):
    """`optax.adafactor(**hyper)`, a `dtype_momentum` name made a jax dtype."""
    kw = dict(hyper)
    if "dtype_momentum" in kw:
        kw["dtype_momentum"] = getattr(jnp, kw["dtype_momentum"])
    return optax.adafactor(**kw)


def resolved(hyper):
    sig = inspect.signature(optax.adafactor)
    out = {k: (None if v.default is inspect.Parameter.empty else v.default) for k, v in sig.parameters.items()}
    out["dtype_momentum"] = "float32"
    out.update(hyper)
    return out


cases = []
for name, hyper in VARIANTS.items():
    for shape in SHAPES:
        rng = np.random.default_rng(4000 + sum(shape))
        init = rng.standard_normal(shape)
        scale = np.array([10.0 ** ((i % 3) - 1) for i in range(int(np.prod(shape)))]).reshape(shape)
        grads = rng.standard_normal((STEPS,) + tuple(shape)) * scale
        def grad(k, x):
            return jnp.array(grads[k])

        traj = trajectory(adafactor(hyper), jnp.array(init), grad, STEPS)
        keep, worst = cut(traj, [trajectory(adafactor(hyper), jnp.array(init), grad, STEPS, p) for p in PATTERNS])
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
save(cases, "optax_adafactor_nd.json")
