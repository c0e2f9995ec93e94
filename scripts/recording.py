"""What the recorders in this directory share: the one-ulp perturbations and the cut of a case at
its first row that moves by more than 1e-12 under them, as `../shared/recorded/README.md`
("Sensitivity truncation") describes for the shared recordings."""
import jax.numpy as jnp
import numpy as np

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
