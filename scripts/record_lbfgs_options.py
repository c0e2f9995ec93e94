"""Records torch 2.15's L-BFGS with the options the shared `torch_LBFGS.json` leaves at their
defaults (`history_size` with a few iterations a step, `tolerance_grad`, `tolerance_change`, `lr`, `max_eval`, and the
one- and two-iteration steps with the strong-Wolfe search), in its format and protocol
(`../shared/recorded/README.md`, section 3), into `tests/recorded/torch_LBFGS_options.json`.

The closure computes the loss and gradient of `quadratic` or `rosenbrock2` in the README's
operation order and returns the loss as a Python float; `step` is called up to 20 times, stopping
after a step that leaves the parameters bit-identical. A case is cut at its first step whose
parameters or loss move by more than 1e-12, or whose counts change, when every evaluation's loss
and gradient are multiplied by `1 + s 2^-52` (`s` alternating with the evaluation, both
phases), and kept when what is left covers at least 10 evaluations.

    venv/bin/python scripts/record_lbfgs_options.py   # torch 2.15.0
"""
import torch
from recording import rel, save

torch.set_default_dtype(torch.float64)

A = [1.0, 10.0, 100.0, 0.5, 3.0]
INIT = {"quadratic": [1.0, -2.0, 3.0, -4.0, 5.0], "rosenbrock2": [-1.2, 1.0]}
SW = dict(line_search_fn="strong_wolfe")
VARIANTS = {
    "opt_history2": dict(history_size=2, max_iter=4),
    "opt_history2_sw": dict(history_size=2, max_iter=4, **SW),
    "opt_lr": dict(lr=0.5),
    "opt_lr_max_eval_sw": dict(lr=0.5, max_eval=10, **SW),
    "opt_tol_grad_sw": dict(tolerance_grad=1e-3, **SW),
    "opt_tol_change": dict(tolerance_change=1e-4),
    "opt_tol_change_sw": dict(tolerance_change=1e-4, **SW),
    "opt_max_iter1_sw": dict(max_iter=1, **SW),
    "opt_max_iter2_sw": dict(max_iter=2, **SW),
    "opt_max_iter1_max_eval4_sw": dict(max_iter=1, max_eval=4, **SW),
}


def objective(problem, x):
    """(loss, gradient) in the README's operation order."""
    if problem == "quadratic":
        s = 0.0
        for a, v in zip(A, x):
            s += (a * v) * v
        return 0.5 * s, [a * v for a, v in zip(A, x)]
    u, t = 1.0 - x[0], x[1] - x[0] * x[0]
    return u * u + (100.0 * t) * t, [(-2.0 * (1.0 - x[0])) - ((400.0 * x[0]) * t), 200.0 * t]


def run(hyper, problem, phase=None):
    """(trajectory, losses, func_evals, n_iters, stopped_unchanged); `phase` 0 or 1 perturbs."""
    p = torch.nn.Parameter(torch.tensor(INIT[problem]))
    opt = torch.optim.LBFGS([p], **hyper)
    calls = [0]

    def closure():
        loss, g = objective(problem, p.detach().tolist())
        if phase is not None:
            s = 1.0 + (1.0 if calls[0] % 2 == phase else -1.0) * 2.0**-52
            loss, g = loss * s, [v * s for v in g]
        calls[0] += 1
        p.grad = torch.tensor(g)
        return loss

    traj, losses, evals, iters, stopped = [], [], [], [], False
    for _ in range(20):
        before = p.detach().clone()
        losses.append(float(opt.step(closure)))
        traj.append(p.detach().tolist())
        evals.append(opt.state[p]["func_evals"])
        iters.append(opt.state[p]["n_iter"])
        if torch.equal(before, p.detach()):
            stopped = True
            break
    return traj, losses, evals, iters, stopped


def main():
    cases = []
    for variant, hyper in VARIANTS.items():
        for problem in INIT:
            traj, losses, evals, iters, stopped = run(hyper, problem)
            keep, worst = len(traj), 0.0
            for phase in (0, 1):
                t2, l2, e2, i2, _ = run(hyper, problem, phase)
                for j in range(keep):
                    if j >= len(t2) or (e2[j], i2[j]) != (evals[j], iters[j]):
                        keep = j
                        break
                    s = max(rel(traj[j], t2[j]), rel([losses[j]], [l2[j]]))
                    if s > 1e-12:
                        keep = j
                        break
                    worst = max(worst, s)
            covered = evals[keep - 1] if keep else 0
            cid = f"LBFGS-{variant}-{problem}"
            print(cid, "keeps", keep, "of", len(traj), "steps,", covered, "evaluations", f"sensitivity {worst:.1e}")
            if covered < 10 and keep < len(traj):
                continue
            opt = torch.optim.LBFGS([torch.nn.Parameter(torch.zeros(1))], **hyper)
            resolved = {k: v for k, v in opt.param_groups[0].items() if k != "params"}
            cases.append(dict(id=cid, optimizer="LBFGS", hyper=hyper, hyper_resolved=resolved, problem=problem,
                              init=INIT[problem], steps=keep, record_every=1, grads_given=False,
                              stopped_unchanged=stopped and keep == len(traj), trajectory=traj[:keep],
                              losses=losses[:keep], func_evals=evals[:keep], n_iters=iters[:keep],
                              ulp_sensitivity=worst))
    save(cases, "torch_LBFGS_options.json")


if __name__ == "__main__":
    main()
