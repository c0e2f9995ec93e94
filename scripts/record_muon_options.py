"""Records `optax.contrib.muon` with options the shared recordings leave at their defaults
(`consistent_rms`, weight decay without Nesterov, the spectral and Schatten preconditionings,
`adaptive`, `ns_steps` with `ns_coeffs` and `eps`),
on the shared `matrix_fixed` problems, in the format of `tests/recorded/*.json`, into
`tests/recorded/optax_contrib_muon_options.json`.

Usage (optax 0.2.8, jax 0.10.2, as the shared recordings):
    python3 -m venv venv && venv/bin/pip install optax==0.2.8 jax==0.10.2 jaxlib==0.10.2
    venv/bin/python scripts/record_muon_options.py
"""
import copy
import json
import os

import jax.numpy as jnp
import optax
from recording import PATTERNS, RECORDED, cut, save, trajectory

SHARED = json.load(open(os.path.join(RECORDED, "optax_contrib_muon.json")))
VARIANTS = {
    "consistent_rms": dict(learning_rate=0.02, consistent_rms=0.2),
    "decay_no_nesterov": dict(learning_rate=0.02, weight_decay=0.01, nesterov=False, beta=0.9),
    "spectral": dict(learning_rate=0.02, preconditioning="spectral"),
    "schatten": dict(learning_rate=0.02, preconditioning="schatten"),
    "adaptive": dict(learning_rate=0.02, adaptive=True),
    "ns": dict(learning_rate=0.02, ns_steps=3, ns_coeffs=(3.0, -3.2, 1.2), eps=1e-3),
}


cases = []
for name, hyper in VARIANTS.items():
    for base in [c for c in SHARED if c["id"].startswith("optax.contrib.muon-defaults_lr-")]:
        shape = tuple(base["shape"])
        x = jnp.array(base["init"]).reshape(shape)

        def grad(k, x, base=base, shape=shape):
            return jnp.array(base["grads"][k]).reshape(shape)

        steps = len(base["grads"])
        traj = trajectory(optax.contrib.muon(**hyper), x, grad, steps)
        keep, worst = cut(traj, [trajectory(optax.contrib.muon(**hyper), x, grad, steps, p) for p in PATTERNS])
        cid = base["id"].replace("defaults_lr", name)
        print(cid, "keeps", keep, "of", len(traj), f"sensitivity {worst:.1e}")
        if keep < 10:
            continue
        case = copy.deepcopy({k: base[k] for k in ["optimizer", "problem", "shape", "init", "record_every", "grads_given"]})
        resolved = dict(base["hyper_resolved"])
        resolved.update(hyper)
        case.update(id=cid, hyper=hyper, hyper_resolved=resolved, steps=keep, grads=base["grads"][:keep],
                    trajectory=traj[:keep], ulp_sensitivity=worst, jax_mode="disable_jit")
        cases.append(case)
save(cases, "optax_contrib_muon_options.json")
