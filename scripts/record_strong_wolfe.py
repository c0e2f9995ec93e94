"""Records the points torch's L-BFGS with `line_search_fn="strong_wolfe"` evaluates on 1-D
problems whose line search takes branches no recorded trajectory takes. Prints the arrays that
`tests/torch_more.rs::strong_wolfe_trial_points_match_torch` holds, after checking that each
point moves by less than 1e-12 relative when every evaluation's loss and gradient are changed
by 1e-15 relative (alternating in sign): a point that a rounding moves is no reference; and that
`maximize=True` on the negated loss evaluates the very same points.

    python scripts/record_strong_wolfe.py   # torch 2.15.0, float64
"""
import torch

torch.set_default_dtype(torch.float64)

PROBLEMS = {
    # -x + 1.5x^2 - x^3 + 0.02x^4 from 0: at t = 1 the cubic through (0, 1) has no real
    # minimizer, so t = (min_step + max_step) / 2 = 5.505; then the 1% lower bound
    # t + 0.01 (t - t_prev) holds t. max_eval 5 stops it there: the next trial comes from a
    # cubic through two points 4.5e-6 apart, which a change of the loss in its last bit moves.
    "quartic": (lambda x: -x + 1.5 * x**2 - x**3 + 0.02 * x**4, 0.0, 5, 1e-9),
    # x - 0.1x^3 + 0.5 sin(2x) from 1: the zoom moves to max(bracket) - eps once.
    "sine": (lambda x: x - 0.1 * x**3 + 0.5 * torch.sin(2 * x), 1.0, 100, 1e-9),
    # x + 2x^2 - 0.1x^3 + sin(5x) from 0.5: the zoom moves to min(bracket) + eps twice.
    "sine5": (lambda x: x + 2 * x**2 - 0.1 * x**3 + torch.sin(5 * x), 0.5, 100, 1e-9),
    # -2x - 0.5x^2 + 0.1x^3 + 0.5 sin(2x) from 0: the zoom interpolates over a bracket whose
    # first point is the larger and whose second is not 0 (the `x1 > x2` branch of
    # _cubic_interpolate, where `x1 - x2` matters).
    "reversed": (lambda x: -2 * x - 0.5 * x**2 + 0.1 * x**3 + 0.5 * torch.sin(2 * x), 0.0, 100, 1e-9),
    # 2x - 0.1x^2 - 0.1x^3 + sin(15x) from 0.5: the second extrapolation trial's loss is not
    # below the first's while the slope there is still steep and negative; that brackets only
    # from the third trial on (`ls_iter > 1`), so the search extrapolates once more.
    "rises": (lambda x: 2 * x - 0.1 * x**2 - 0.1 * x**3 + torch.sin(15 * x), 0.5, 100, 1e-9),
    # 10x + 10x^2 from 0 with tolerance_change 2: the first trial brackets [0, 0.1] (in t) along
    # d = -10; torch's step passes the line search no tolerance_change (it keeps _strong_wolfe's
    # 1e-9), so the zoom goes on though the bracket's width times max|d|, 1, is below 2.
    "wide": (lambda x: 10 * x + 10 * x**2, 0.0, 100, 2.0),
    # -2x + 0.5x^3 + 2 sin(5x) from 1: the first trial rises above the Armijo line while the
    # slope there is still negative: it brackets at once (`f_new > f + c1 t gtd`).
    "armijo": (lambda x: -2 * x + 0.5 * x**3 + 2 * torch.sin(5 * x), 1.0, 100, 1e-9),
    # -3x + 0.2x^2 + 0.2x^3 + sin(8x) from 1: the zoom's first trial is above the Armijo line's
    # test but not below the bracket's low end (`f_new >= bracket_f[low_pos]` alone), so it
    # becomes the bracket's high end.
    "not_lower": (lambda x: -3 * x + 0.2 * x**2 + 0.2 * x**3 + torch.sin(8 * x), 1.0, 100, 1e-9),
    # a x + b x^2 + c x^3 + sin(2x) from 1 (coefficients from a random search): the zoom moves a
    # trial near the end of a bracket whose lower end is not 0, so the distance to that end is
    # not t itself.
    "offset": (lambda x: 0.09267498312483102 * x + 0.6360798375510375 * x**2 - 0.07730046849569397 * x**3
               + torch.sin(2 * x), 1.0, 100, 1e-9),
    # a x + b x^2 + c x^3 + sin(2x) from 0.5 (a random search): the zoom's insufficient-progress
    # move picks the nearer end of a bracket narrower than its upper end's value.
    "nearer_end": (lambda x: -1.270456204114326 * x - 0.8462233423735723 * x**2 + 0.13881488740118814 * x**3
                   + torch.sin(2 * x), 0.5, 100, 1e-9),
}



def trial_points(f, x0, max_eval, tolerance_change, change=0.0, max_iter=3, maximize=False):
    x = torch.tensor([x0], requires_grad=True)
    opt = torch.optim.LBFGS([x], lr=1, max_iter=max_iter, max_eval=max_eval, line_search_fn="strong_wolfe",
                            tolerance_change=tolerance_change, maximize=maximize)
    seen = []

    def closure():
        opt.zero_grad()
        seen.append(x.item())
        loss = f(x).sum()
        loss.backward()
        c = change if len(seen) % 2 else -change
        x.grad.mul_(1 + c)
        return loss * (1 + c)

    opt.step(closure)
    return seen


def rel(a, b):
    return abs(a - b) / max(abs(a), abs(b), 1e-3)


if __name__ == "__main__":
    print("torch", torch.__version__)
    for name, (f, x0, max_eval, tolerance_change) in PROBLEMS.items():
        points = trial_points(f, x0, max_eval, tolerance_change)
        for change in (1e-15, -1e-15):
            moved = trial_points(f, x0, max_eval, tolerance_change, change)
            assert len(moved) == len(points), (name, change, moved)
            worst = max(rel(a, b) for a, b in zip(points, moved))
            assert worst < 1e-12, (name, change, worst)
        print(name, "[" + ", ".join(repr(v) for v in points) + "]")
        # maximize=True on the negated loss evaluates the very same points
        negated = trial_points(lambda x, f=f: -f(x), x0, max_eval, tolerance_change, maximize=True)
        assert negated == points, (name, negated)
