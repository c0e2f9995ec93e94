"""Records torch.optim rules with the options the shared recordings leave at their defaults
(`maximize`, `weight_decay`, `betas`, `eps`, `dampening`, `lr_decay`, `momentum_decay`,
`decoupled_weight_decay`, Rprop's `etas` and `step_sizes`, ASGD's `lambd`, `alpha` and `t0`,
Adafactor's `beta2_decay`, `eps` and `d`, Muon's `weight_decay`, `eps`, `ns_steps`,
`ns_coefficients` and `adjust_lr_fn="spectral_unclamped"`), in the format of
`../shared/golden/README.md`:

- the rules `tests/parity.rs` replays: `tests/data/torch_options.json`;
- Adafactor and Muon, which `tests/torch_more.rs` replays with their shapes:
  `tests/recorded/torch_Adafactor_options.json`, `tests/recorded/torch_Muon_options.json`;
- SparseAdam's `eps` and `maximize` on the shared `sparse_fixed` rows:
  `tests/recorded/torch_SparseAdam_options.json`.

Each case steps torch 2.15.0 in float64 with `foreach=False` on `quadratic` and `fixed_grads`
(vectors), on the 4x6 and 6x4 `matrix_fixed` problems of the shared recordings, or (Adafactor)
on a 2x3x4 tensor of fixed gradients, and is cut at
its first row that moves by more than 1e-12 when every gradient changes by one ulp.

Usage (in the venv of the optax recorders, with torch added):
    venv/bin/pip install torch==2.15.0
    venv/bin/python scripts/record_torch_options.py
"""
import inspect
import json
import os

import numpy as np
import torch
from recording import PATTERNS, RECORDED, cut, grads_perturbed, save, vector_problem

# float64 scalars in the optimizers' state too (NAdam's mu_product, ASGD's eta and mu are
# tensors of the default dtype), as in the shared recordings
torch.set_default_dtype(torch.float64)


def muon_in_float64():
    """torch's Muon casts the Newton-Schulz iteration to bfloat16; as for the shared
    `torch_Muon.json` (`../shared/recorded/README.md`, section 2), its module function is
    replaced by a verbatim copy whose only change is that cast, to float64."""
    import torch.optim._muon as muon

    src = inspect.getsource(muon._zeropower_via_newtonschulz)
    assert src.count("dtype=torch.bfloat16") == 1, "torch's Newton-Schulz changed"
    namespace = dict(vars(muon))
    exec(src.replace("dtype=torch.bfloat16", "dtype=torch.float64"), namespace)
    muon._zeropower_via_newtonschulz = namespace["_zeropower_via_newtonschulz"]


muon_in_float64()

DATA = os.path.join(os.path.dirname(__file__), "..", "tests", "data")
VECTORS = ["quadratic", "fixed_grads"]
MATRICES = ["matrix_fixed_4x6", "matrix_fixed_6x4"]
# a tensor of two 3x4 matrices: torch's Adafactor factors each (the shared recordings have none)
TENSORS = ["matrix_fixed_2x3x4"]

RULES = {
    "SGD": (VECTORS, {
        "opt_dampening": dict(lr=0.01, momentum=0.9, dampening=0.3),
        "opt_maximize": dict(lr=0.01, momentum=0.9, weight_decay=0.1, maximize=True),
    }),
    "Adam": (VECTORS, {
        "opt_betas_eps": dict(lr=0.05, betas=(0.8, 0.99), eps=1e-3),
        "opt_decoupled": dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True),
        "opt_maximize": dict(lr=0.05, weight_decay=0.1, maximize=True),
        "opt_amsgrad_maximize": dict(lr=0.05, amsgrad=True, maximize=True, betas=(0.5, 0.9)),
    }),
    "AdamW": (VECTORS, {
        "opt_betas_eps": dict(lr=0.05, betas=(0.8, 0.99), eps=1e-3),
        "opt_maximize": dict(lr=0.05, maximize=True),
    }),
    "RMSprop": (VECTORS, {
        "opt_alpha_eps": dict(lr=0.01, alpha=0.9, eps=1e-3),
        "opt_weight_decay": dict(lr=0.01, weight_decay=0.1),
        "opt_maximize": dict(lr=0.01, maximize=True, momentum=0.5),
        "opt_all": dict(lr=0.01, alpha=0.95, eps=1e-4, weight_decay=0.05, momentum=0.8, centered=True, maximize=True),
    }),
    "Adagrad": (VECTORS, {
        "opt_lr_decay": dict(lr=0.5, lr_decay=0.1),
        "opt_weight_decay_eps": dict(lr=0.5, weight_decay=0.1, eps=1e-3),
        "opt_maximize": dict(lr=0.1, maximize=True, lr_decay=0.01),
    }),
    "Adadelta": (VECTORS, {
        "opt_eps_weight_decay": dict(lr=1.0, eps=1e-3, weight_decay=0.1),
        "opt_maximize": dict(lr=1.0, maximize=True),
    }),
    "Adamax": (VECTORS, {
        "opt_betas_eps": dict(lr=0.05, betas=(0.8, 0.99), eps=1e-3),
        "opt_weight_decay": dict(lr=0.05, weight_decay=0.1),
        "opt_maximize": dict(lr=0.05, maximize=True),
    }),
    "NAdam": (VECTORS, {
        "opt_betas_eps": dict(lr=0.05, betas=(0.8, 0.99), eps=1e-3),
        "opt_momentum_decay": dict(lr=0.05, momentum_decay=0.01),
        "opt_weight_decay": dict(lr=0.05, weight_decay=0.1),
        "opt_decoupled": dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True),
        "opt_maximize": dict(lr=0.05, maximize=True),
    }),
    "RAdam": (VECTORS, {
        "opt_betas_eps": dict(lr=0.05, betas=(0.8, 0.99), eps=1e-3),
        "opt_weight_decay": dict(lr=0.05, weight_decay=0.1),
        "opt_decoupled": dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True),
        "opt_maximize": dict(lr=0.05, maximize=True),
    }),
    "Rprop": (VECTORS, {
        "opt_etas_step_sizes": dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-4, 0.2)),
        "opt_maximize": dict(lr=0.05, maximize=True),
    }),
    "ASGD": (VECTORS, {
        "opt_lambd_alpha_t0": dict(lr=0.05, lambd=0.01, alpha=0.5, t0=5),
        "opt_weight_decay": dict(lr=0.05, weight_decay=0.1),
        "opt_maximize": dict(lr=0.01, maximize=True),
    }),
    "Adafactor": (VECTORS + MATRICES + TENSORS, {
        "opt_lr": dict(lr=0.05),
        "opt_beta2_decay": dict(lr=0.05, beta2_decay=-0.5),
        "opt_eps": dict(lr=0.05, eps=(1e-3, 1e-2)),
        "opt_d": dict(lr=0.05, d=2.0),
        "opt_maximize": dict(lr=0.05, maximize=True, weight_decay=0.1),
        # lr above 1/sqrt(t) from step 5 on: torch's rho_t = min(lr, 1/sqrt(t)) takes the second
        "opt_lr_above_rho": dict(lr=0.5),
    }),
    "Muon": (MATRICES, {
        "opt_weight_decay": dict(lr=0.02, weight_decay=0.5),
        "opt_no_weight_decay": dict(lr=0.02, weight_decay=0.0),
        "opt_ns": dict(lr=0.02, ns_steps=3, ns_coefficients=(3.0, -3.2, 1.2), eps=1e-3),
        "opt_spectral_unclamped": dict(lr=0.02, adjust_lr_fn="spectral_unclamped"),
    }),
}


def matrix_problem(name):
    """(init, grads, shape) of a `matrix_fixed` problem of the shared Adafactor / Muon recordings."""
    source, shape = {"matrix_fixed_4x6": ("torch_Adafactor.json", [4, 6]),
                     "matrix_fixed_6x4": ("torch_Muon.json", [6, 4])}[name]
    c = next(c for c in json.load(open(os.path.join(RECORDED, source)))
             if c["problem"] == "matrix_fixed" and c["shape"] == shape)
    return c["init"], c["grads"], shape


def tensor_problem(shape, steps=30, seed=4024):
    """(init, grads) of a `matrix_fixed` tensor: standard normal, the gradients' elements scaled
    by 0.1, 1, 10 in turn."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    init = rng.standard_normal(n)
    scale = np.array([10.0 ** ((i % 3) - 1) for i in range(n)])
    grads = rng.standard_normal((steps, n)) * scale
    return [float(v) for v in init], [[float(v) for v in g] for g in grads]


def problem(name):
    """(init, grads or None, grad(k, x), steps, shape)."""
    if name in TENSORS:
        shape = [int(d) for d in name.rsplit("_", 1)[1].split("x")]
        init, grads = tensor_problem(shape)
        return init, grads, lambda k, x: np.array(grads[k]), len(grads), shape
    if name in MATRICES:
        init, grads, shape = matrix_problem(name)
        return init, grads, lambda k, x: np.array(grads[k]), len(grads), shape
    init, grads, grad, steps = vector_problem(name)
    return init, grads, lambda k, x: np.asarray(grad(k, x)), steps, [len(init)]


def trajectory(cls, hyper, init, grad, steps, shape, pattern=None):
    """The parameters after each step of `cls(**hyper)` (and its resolved hyperparameters)."""
    p = torch.nn.Parameter(torch.tensor(init, dtype=torch.float64).reshape(shape))
    kw = dict(hyper)
    if cls is not torch.optim.Muon:
        kw["foreach"] = False
    opt = cls([p], **kw)
    traj = []
    for k in range(steps):
        x = p.detach().numpy().reshape(-1).copy()
        g = np.asarray(grads_perturbed(grad(k, x), k, pattern), dtype=np.float64)
        p.grad = torch.tensor(g.reshape(shape))
        opt.step()
        traj.append([float(v) for v in p.detach().numpy().reshape(-1)])
    resolved = {k: v for k, v in opt.param_groups[0].items() if k != "params"}
    return traj, json.loads(json.dumps(resolved, default=list))


def main():
    vectors, matrices = [], {"Adafactor": [], "Muon": []}
    for name, (problems, variants) in RULES.items():
        cls = getattr(torch.optim, name)
        for variant, hyper in variants.items():
            for prob in problems:
                init, grads, grad, steps, shape = problem(prob)
                traj, resolved = trajectory(cls, hyper, init, grad, steps, shape)
                moved = [trajectory(cls, hyper, init, grad, steps, shape, p)[0]
                         for p in PATTERNS if p.startswith("grad")]
                keep, worst = cut(traj, moved)
                cid = f"{name}-{variant}-{prob}"
                print(cid, "keeps", keep, "of", len(traj), f"sensitivity {worst:.1e}")
                if keep < 10:
                    continue
                case = dict(id=cid, optimizer=name, hyper=json.loads(json.dumps(hyper)), hyper_resolved=resolved,
                            problem=prob.rsplit("_", 1)[0] if prob in MATRICES + TENSORS else prob, init=list(init),
                            steps=keep, record_every=1, grads_given=grads is not None,
                            trajectory=traj[:keep], ulp_sensitivity=worst)
                if name in matrices:
                    case["shape"] = shape
                if name == "Muon":
                    case["ns_dtype"] = "float64"
                if grads is not None:
                    case["grads"] = grads[:keep]
                (matrices[name] if name in matrices else vectors).append(case)
    out = os.path.join(DATA, "torch_options.json")
    with open(out, "w") as f:
        json.dump(vectors, f)
    print(f"{len(vectors)} cases -> {out}")
    for name, cases in matrices.items():
        save(cases, f"torch_{name}_options.json")


def sparse_adam():
    """SparseAdam on the shared `sparse_fixed` case's rows, all 30 steps (`ulp_sensitivity` not
    measured: null)."""
    base = json.load(open(os.path.join(RECORDED, "torch_SparseAdam.json")))[0]
    shape, cases = base["shape"], []
    for variant, hyper in {"opt_eps": dict(lr=0.01, eps=1e-2), "opt_maximize": dict(lr=0.01, maximize=True),
                           "opt_all": dict(lr=0.02, betas=(0.8, 0.99), eps=1e-3, maximize=True)}.items():
        p = torch.nn.Parameter(torch.tensor(base["init"]).reshape(shape))
        opt = torch.optim.SparseAdam([p], **hyper)
        traj = []
        for step in base["sparse_grads"]:
            rows = [r for r, _ in step]
            values = torch.tensor([v for _, v in step]).reshape(len(rows), shape[1])
            p.grad = torch.sparse_coo_tensor(torch.tensor([rows]), values, size=shape)
            opt.step()
            traj.append([float(v) for v in p.detach().reshape(-1)])
        resolved = {k: v for k, v in opt.param_groups[0].items() if k != "params"}
        cases.append(dict(base, id=f"SparseAdam-{variant}-sparse_fixed", hyper=json.loads(json.dumps(hyper)),
                          hyper_resolved=json.loads(json.dumps(resolved, default=list)), trajectory=traj,
                          final_state=None, ulp_sensitivity=None))
        print(cases[-1]["id"], len(traj), "steps")
    save(cases, "torch_SparseAdam_options.json")


if __name__ == "__main__":
    main()
    sparse_adam()
