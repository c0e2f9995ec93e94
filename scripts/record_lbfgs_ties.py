"""Records torch's L-BFGS on scripted 1-D closures built so that one of its comparisons meets an
exact tie: the two sides are the same float, computed by the same operations in torch and in
gradus (sums and products of values chosen exactly), so `>` and `>=` (or `<` and `<=`) part
ways there. Prints the points each closure is called at, which
`tests/torch_more.rs::lbfgs_ties_resolve_as_torch` holds, and checks that the comparison turned
the other way (torch's source patched) calls the closure at other points.

    python scripts/record_lbfgs_ties.py   # torch 2.15.0, float64
"""
import inspect

import torch
import torch.optim.lbfgs as L

torch.set_default_dtype(torch.float64)

C1 = 1e-4


def armijo_line(x):
    """f + c1 t gtd from f = 1, gtd = -1 at x = -t: the Armijo test's right side, as torch forms it."""
    return 1.0 + C1 * -x * -1.0


CASES = {
    # (beside the ties) the zoom's stop on a narrow bracket whose ends are both nonzero: lr 1e-9,
    # the first trial t = 1e-9 is below the Armijo line with a steep slope, so the search
    # extrapolates; above 1.1e-9 every trial fails the Armijo test, so the next trial brackets
    # [1e-9, t] and the zoom stops at once: the width times max|d| is below 1e-9 (torch's
    # `abs(bracket[1] - bracket[0]) * d_norm`; the sum of the ends, or the width plus max|d|, is not).
    "narrow": (dict(lr=1e-9, max_iter=1, max_eval=40, line_search_fn="strong_wolfe"),
               lambda x, n: (0.0, 1.0) if n == 0 else (-2.0 * -x, 1.0) if -x <= 1.1e-9 else (1.0, 1.0),
               "if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:",
               "if abs(bracket[1] + bracket[0]) * d_norm < tolerance_change:"),
    # (beside the ties) the extrapolation's Armijo test on a first trial above the line but below
    # f (f_new = f - 0.5 c1 t), with a flat slope: torch brackets; with `f - c1 t gtd` for the
    # line the search would end there.
    "band_extrapolation": (dict(lr=1.0, max_iter=1, max_eval=20, line_search_fn="strong_wolfe"),
                           lambda x, n: (1.0, 1.0) if n == 0 else (1.0 - 0.5 * C1 * -x, 0.5),
                           "if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):",
                           "if f_new > (f - c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):"),
    # (beside the ties) the extrapolation's `ls_iter > 1 and f_new >= f_prev`: the third trial is
    # below the Armijo line but above the second, with the slope still steep: torch brackets.
    "rise_late": (dict(lr=1.0, max_iter=1, max_eval=20, line_search_fn="strong_wolfe"),
                  lambda x, n: [(0.0, 1.0), (-1.0, 1.0), (-2.0, 1.0), (-1.5, 1.0)][n] if n < 4 else (-1.6, 0.0),
                  "if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):",
                  "if f_new > (f + c1 * t * gtd) or (ls_iter < 1 and f_new >= f_prev):"),
    # (beside the ties) the zoom's Armijo test on a trial above the line at t but below the
    # bracket's low end (f_new = f - 0.5 c1 t): torch makes it the high end; with
    # `f - c1 t gtd` for the line it would end the search there.
    "armijo_band": (dict(lr=1.0, max_iter=1, max_eval=20, line_search_fn="strong_wolfe"),
                    lambda x, n: (1.0, 1.0) if n == 0 else (3.0, 1.0) if n == 1 else (1.0 - 0.5 * C1 * -x, 0.5),
                    "if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:",
                    "if f_new > (f - c1 * t * gtd) or f_new >= bracket_f[low_pos]:"),
    # no line search, lr = 1e-10 * 2^30: the first step is s = -lr, then y = (1 - 2^-30) - 1 =
    # -2^-30, so ys = 1e-10 exactly, and torch's `ys > 1e-10` keeps no curvature pair.
    "curvature": (dict(lr=1e-10 * 2.0**30, max_iter=3),
                  lambda x, n: [(1.0, 1.0), (0.5, 1.0 - 2.0**-30), (0.25, 0.5), (0.125, 0.25)][n],
                  "if ys > 1e-10:"),
    # no line search, g = 1, tolerance_change 1: the first direction's gtd = -1, and torch's
    # `gtd > -tolerance_change` is false: it steps (and then stops on max|d t| <= 1).
    "descent": (dict(lr=1.0, max_iter=3, tolerance_change=1.0),
                lambda x, n: (1.0 - n, 1.0),
                "if gtd > -tolerance_change:"),
    # strong Wolfe, the first trial (t = 1) lands on the Armijo line with a flat enough slope:
    # torch's `f_new > f + c1 t gtd` is false, and the search ends there.
    "armijo_extrapolation": (dict(lr=1.0, max_iter=1, max_eval=20, line_search_fn="strong_wolfe"),
                             lambda x, n: (1.0, 1.0) if n == 0 else (armijo_line(x), -0.5) if n == 1 else (2.0, 1.0),
                             "if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):"),
    # strong Wolfe, lr 1e-9, g = 2 at 0: t = lr / 2, the first trial brackets [0, t], and the
    # bracket's width times max|d| is lr / 2 * 2 = 1e-9, the search's own tolerance (its default:
    # torch's step passes none), so `< tolerance_change` is false and the zoom goes on.
    "width": (dict(lr=1e-9, max_iter=1, max_eval=20, line_search_fn="strong_wolfe"),
              lambda x, n: (0.0, 2.0) if n == 0 else (5.0 + x, 2.0 + x),
              "if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:"),
    # strong Wolfe, the first trial (t = 1) brackets [0, 1]; the zoom's trial lands on the Armijo
    # line, below the bracket's low end, with a flat enough slope: torch stops there.
    "armijo_zoom": (dict(lr=1.0, max_iter=1, max_eval=20, line_search_fn="strong_wolfe"),
                    lambda x, n: (1.0, 1.0) if n == 0 else (3.0, 1.0) if n == 1 else (armijo_line(x), 0.5) if n == 2 else (2.0, 1.0),
                    "if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:"),
}


def points(options, script, x0=0.0):
    x = torch.tensor([x0], requires_grad=True)
    opt = torch.optim.LBFGS([x], tolerance_grad=0.0, **options)
    seen = []

    def closure():
        n = len(seen)
        seen.append(x.item())
        f, g = script(x.item(), n)
        x.grad = torch.tensor([g])
        return torch.tensor(f)

    opt.step(closure)
    return seen + [x.item()]


def turned(line, flip=None):
    """torch's L-BFGS with the comparison on `line` taken the other way at a tie (or `line`
    replaced by `flip`)."""
    if flip is None:
        flip = line.replace(" > ", " >= ", 1) if " > " in line else line.replace(" < ", " <= ", 1)
    ns = dict(vars(L))
    src = inspect.getsource(L._strong_wolfe)
    step = inspect.getsource(L.LBFGS.step)
    assert line in src or line in step, line
    exec(src.replace(line, flip), ns)
    return ns["_strong_wolfe"], step.replace(line, flip)


if __name__ == "__main__":
    print("torch", torch.__version__)
    for name, (options, script, line, *flip) in CASES.items():
        got = points(options, script)
        wolfe, step = turned(line, *flip)
        saved = (L._strong_wolfe, L.LBFGS.step)
        ns = dict(vars(L), _strong_wolfe=wolfe)
        exec(inspect.cleandoc("\n" + step).replace("@_use_grad_for_differentiable", ""), ns)
        L._strong_wolfe, L.LBFGS.step = wolfe, torch.no_grad()(ns["step"])
        try:
            other = points(options, script)
        finally:
            L._strong_wolfe, L.LBFGS.step = saved
        assert other != got, (name, got)
        print(name, "[" + ", ".join(repr(v) for v in got) + "]", "  turned:", other)
