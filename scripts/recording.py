"""What the recorders in this directory share: float64 jax, the `quadratic` and `fixed_grads`
problems, an optax trajectory, the one-ulp perturbations and the cut of a case at its first row
that moves by more than 1e-12 under them (as `../shared/recorded/README.md`, "Sensitivity
truncation", describes for the shared recordings), and where the cases are written."""
import json
import os

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

RECORDED = os.path.join(os.path.dirname(__file__), "..", "tests", "recorded")
# the `quadratic` problem of ../shared/golden/README.md: g = a * x
QUAD_A = np.array([1.0, 10.0, 100.0, 0.5, 3.0])

# gradients or updates times (1 +- 2^-52): alternating in sign over (element + step), or all up
PATTERNS = ["grad_alt", "grad_pos", "update_alt", "update_pos"]


def perturb(v, k, alternate):
    """`v` (any shape) times (1 + s * 2^-52), `s` = (-1)^(element + k) if `alternate`, else 1."""
    flat = np.asarray(v).reshape(-1)
    s = np.array([(-1.0) ** (i + k) if alternate else 1.0 for i in range(flat.size)])
    return jnp.array((flat * (1.0 + s * 2.0**-52)).reshape(np.shape(v)))


def grads_perturbed(g, k, pattern):
    return perturb(g, k, pattern == "grad_alt") if pattern in ("grad_alt", "grad_pos") else g


def update_perturbed(u, k, pattern):
    return perturb(u, k, pattern == "update_alt") if pattern in ("update_alt", "update_pos") else u


def rel(a, b):
    """The README's metric; infinite where a row is not finite (the case is cut there)."""
    a, b = np.array(a), np.array(b)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return float("inf")
    return float(np.max(np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-3)))


def cut(traj, perturbed):
    """(rows to keep, worst sensitivity of those): rows up to the first that a perturbed run
    `perturbed[p]` moves by more than 1e-12."""
    worst = 0.0
    for j, row in enumerate(traj):
        s = max(rel(row, o[j]) for o in perturbed)
        if s > 1e-12:
            return j, worst
        worst = max(worst, s)
    return len(traj), worst


def cut_pair(pair, perturbed):
    """`cut` of two trajectories recorded together (train and evaluation points, fast and slow
    weights): a row moves when either of its halves does. `pair` and each of `perturbed` are
    `(first, second)` lists of rows."""
    def join(p):
        return [a + b for a, b in zip(*p)]
    return cut(join(pair), [join(p) for p in perturbed])


def vector_problem(problem):
    """(init, the recorded gradients or None, grad(k, x), steps) of `quadratic` or `fixed_grads`
    (whose gradients come from the shared Prodigy recording)."""
    if problem == "quadratic":
        return [1.0, -2.0, 3.0, -4.0, 5.0], None, lambda k, x: jnp.array(QUAD_A) * x, 50
    c = next(c for c in json.load(open(os.path.join(RECORDED, "optax_contrib_prodigy.json")))
             if c["problem"] == "fixed_grads")
    grads = c["grads"]
    return c["init"], grads, lambda k, x: jnp.array(grads[k], dtype=jnp.float64), len(grads)


def trajectory(opt, x, grad, steps, pattern=None, value=None):
    """The parameters (flattened) after each of `steps` steps of the optax transformation `opt`
    from `x`, step `k` given `grad(k, x)` (and `value=value(k, x)`, the loss, when given);
    `pattern` perturbs the gradients or the updates."""
    state = opt.init(x)
    traj = []
    with jax.disable_jit():
        for k in range(steps):
            g = grads_perturbed(grad(k, x), k, pattern)
            extra = {} if value is None else {"value": value(k, x)}
            upd, state = opt.update(g, state, x, **extra)
            x = optax.apply_updates(x, update_perturbed(upd, k, pattern))
            traj.append([float(v) for v in np.asarray(x).reshape(-1)])
    return traj


def quadratic_loss(k, x):
    """The `quadratic` problem's loss `0.5 * sum((a_i * x_i) * x_i)`, summed in index order (the
    order `tests/optax.rs::polyak_loss` sums in)."""
    s = 0.0
    for a, v in zip(QUAD_A, np.asarray(x)):
        s += (float(a) * float(v)) * float(v)
    return 0.5 * s


def save(cases, name):
    out = os.path.join(RECORDED, name)
    with open(out, "w") as f:
        json.dump(cases, f)
    print(f"{len(cases)} cases -> {out}")
