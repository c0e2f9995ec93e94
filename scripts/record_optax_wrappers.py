"""Records optax's wrappers with the keywords the shared recordings leave at their defaults:
`optax.MultiSteps(use_grad_mean=False)` (with a float64 accumulator, as the shared cases) and `optax.lookahead(reset_state=True)`, on `quadratic`
and `fixed_grads`, cut at ulp sensitivity 1e-12, into `tests/recorded/optax_MultiSteps_options.json`
and `tests/recorded/optax_lookahead_options.json`.

    venv/bin/python scripts/record_optax_wrappers.py   # optax 0.2.8, jax 0.10.2
"""
import inspect

import jax
import jax.numpy as jnp
import numpy as np
import optax
from recording import PATTERNS, cut, cut_pair, grads_perturbed, save, trajectory, update_perturbed, vector_problem

INNER = {"optax.adam": dict(learning_rate=0.05), "optax.sgd": dict(learning_rate=0.009, momentum=0.9)}


def inner(name):
    fn = getattr(optax, name.split(".")[1])
    hyper = INNER[name]
    resolved = {k: v.default for k, v in inspect.signature(fn).parameters.items()}
    resolved.update(hyper)
    return fn(**hyper), hyper, resolved


def lookahead_trajectories(opt, x, grad, steps, pattern=None):
    """(fast, slow) parameters after each step of `opt` (an optax.lookahead) from `x`."""
    params = optax.LookaheadParams.init_synced(x)
    state = opt.init(params)
    fast, slow = [], []
    with jax.disable_jit():
        for k in range(steps):
            g = grads_perturbed(grad(k, params.fast), k, pattern)
            upd, state = opt.update(g, state, params)
            upd = optax.LookaheadParams(update_perturbed(upd.fast, k, pattern), update_perturbed(upd.slow, k, pattern))
            params = optax.apply_updates(params, upd)
            fast.append([float(v) for v in np.asarray(params.fast)])
            slow.append([float(v) for v in np.asarray(params.slow)])
    return fast, slow


def main():
    multi, look = [], []
    for problem in ["quadratic", "fixed_grads"]:
        init, grads, grad, steps = vector_problem(problem)
        x = jnp.array(init, dtype=jnp.float64)
        # MultiSteps summing the gradients
        opt_inner, hyper, resolved = inner("optax.adam")
        make = lambda: optax.MultiSteps(inner("optax.adam")[0], every_k_schedule=3, use_grad_mean=False,
                                        accumulator_dtype=jnp.float64)
        traj = trajectory(make(), x, grad, steps)
        keep, worst = cut(traj, [trajectory(make(), x, grad, steps, p) for p in PATTERNS])
        cid = f"optax.MultiSteps-adam_k3_sum-{problem}"
        print(cid, "keeps", keep, "of", steps, f"sensitivity {worst:.1e}")
        if keep >= 10:
            case = dict(id=cid, optimizer="optax.MultiSteps",
                        hyper=dict(opt="optax.adam", opt_hyper=hyper, every_k_schedule=3, use_grad_mean=False,
                                   accumulator_dtype="float64"),
                        problem=problem,
                        hyper_resolved=dict(use_grad_mean=False, should_skip_update_fn=None, accumulator_dtype="float64",
                                            opt="optax.adam", every_k_schedule=3, opt_hyper_resolved=resolved),
                        init=list(init), steps=keep, record_every=1, grads_given=grads is not None,
                        trajectory=traj[:keep], ulp_sensitivity=worst, jax_mode="disable_jit")
            if grads is not None:
                case["grads"] = grads[:keep]
            multi.append(case)
        # lookahead resetting the fast optimizer's state at each synchronization
        for fast_name in ["optax.adam", "optax.sgd"]:
            _, hyper, resolved = inner(fast_name)
            make = lambda: optax.lookahead(inner(fast_name)[0], sync_period=5, slow_step_size=0.5, reset_state=True)
            fast, slow = lookahead_trajectories(make(), x, grad, steps)
            moved = [lookahead_trajectories(make(), x, grad, steps, p) for p in PATTERNS]
            keep, worst = cut_pair((fast, slow), moved)
            cid = f"optax.lookahead-{fast_name.split('.')[1]}_k5_reset-{problem}"
            print(cid, "keeps", keep, "of", steps, f"sensitivity {worst:.1e}")
            if keep < 10:
                continue
            case = dict(id=cid, optimizer="optax.lookahead",
                        hyper=dict(fast_optimizer=fast_name, fast_optimizer_hyper=hyper, sync_period=5,
                                   slow_step_size=0.5, reset_state=True),
                        problem=problem,
                        hyper_resolved=dict(reset_state=True, fast_optimizer=fast_name, sync_period=5,
                                            slow_step_size=0.5, fast_optimizer_hyper_resolved=resolved),
                        init=list(init), steps=keep, record_every=1, grads_given=grads is not None,
                        trajectory=fast[:keep], slow_trajectory=slow[:keep], ulp_sensitivity=worst,
                        jax_mode="disable_jit")
            if grads is not None:
                case["grads"] = grads[:keep]
            look.append(case)
    save(multi, "optax_MultiSteps_options.json")
    save(look, "optax_lookahead_options.json")


if __name__ == "__main__":
    main()
