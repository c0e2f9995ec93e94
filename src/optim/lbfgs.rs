//! L-BFGS: `torch.optim.LBFGS`, with its strong-Wolfe line search.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use num_traits::Float;

use crate::kernel::{self, cast, to_f64};
use crate::Error;

/// The line search of [`Lbfgs`]: torch's `line_search_fn`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum LineSearch {
    /// `"strong_wolfe"`: bracketing with cubic interpolation, then zoom, until the strong Wolfe
    /// conditions hold (`c1 = 1e-4`, `c2 = 0.9`), as `torch/optim/lbfgs.py::_strong_wolfe`.
    StrongWolfe,
}

/// What L-BFGS keeps between steps (torch's `state`).
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct State<T> {
    d: Vec<T>,
    t: f64,
    old_dirs: VecDeque<Vec<T>>,
    old_stps: VecDeque<Vec<T>>,
    ro: VecDeque<f64>,
    h_diag: f64,
    prev_flat_grad: Vec<T>,
    prev_loss: f64,
    func_evals: u64,
    n_iter: u64,
    len: Option<usize>,
}

impl<T> Default for State<T> {
    fn default() -> Self {
        State {
            d: Vec::new(),
            t: 0.0,
            old_dirs: VecDeque::new(),
            old_stps: VecDeque::new(),
            ro: VecDeque::new(),
            h_diag: 1.0,
            prev_flat_grad: Vec::new(),
            prev_loss: 0.0,
            func_evals: 0,
            n_iter: 0,
            len: None,
        }
    }
}

/// L-BFGS: `torch.optim.LBFGS`, a quasi-Newton method for full-batch problems. Each
/// [`step`](Lbfgs::step) runs up to `max_iter` inner iterations, calling `closure` to evaluate
/// the loss and its gradient as often as they need (at most `max_eval` times).
///
/// Per inner iteration, as torch (`state` persists across `step` calls: history, direction,
/// step length, the previous gradient and loss, and the global iteration count):
///
/// ```text
/// first iteration ever: d = -g, no history, H = 1
/// otherwise:  y = g - g_prev;  s = d*t;  if y.s > 1e-10: push (y, s, 1/y.s) (history_size at most); H = y.s / y.y
///             d = two-loop recursion of -g over the history, scaled by H
/// t = first iteration ever ? min(1, 1/sum|g|) * lr : lr
/// stop if g.d > -tolerance_change
/// strong Wolfe: t, loss, g = line search along d (max_eval - evals so far, tolerance 1e-9); p = p + t*d
/// none:         p = p + t*d; re-evaluate (not after the last iteration)
/// stop on max_iter, max_eval, max|g| <= tolerance_grad, max|d*t| <= tolerance_change,
///         |loss - prev_loss| < tolerance_change
/// ```
///
/// Defaults (torch's): lr 1, `max_iter` 20, `max_eval` `max_iter*5/4`, `tolerance_grad`
/// 1e-7, `tolerance_change` 1e-9, `history_size` 100, no line search. Scalars (the loss, step
/// lengths, dot products) are `f64`. The history grows to `history_size` pairs; once it is
/// full, a step allocates nothing (its buffers, and the ones of the pairs it drops, are reused).
///
/// ```
/// use gradus::{Lbfgs, LineSearch};
/// // Rosenbrock from (-1.2, 1)
/// let f = |p: &[f64], g: &mut [f64]| {
///     let (x, y) = (p[0], p[1]);
///     g[0] = -2.0 * (1.0 - x) - 400.0 * x * (y - x * x);
///     g[1] = 200.0 * (y - x * x);
///     (1.0 - x).powi(2) + 100.0 * (y - x * x).powi(2)
/// };
/// let mut p = [-1.2, 1.0];
/// let mut opt = Lbfgs::new(1.0).line_search_fn(Some(LineSearch::StrongWolfe));
/// for _ in 0..3 {
///     opt.step(&mut p, f)?;
/// }
/// // as torch's, the line search then returns t = 0: the point no longer moves
/// assert!((p[0] - 1.0).abs() < 1e-4 && (p[1] - 1.0).abs() < 1e-4);
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Lbfgs<T> {
    lr: f64,
    max_iter: usize,
    max_eval: Option<usize>,
    tolerance_grad: f64,
    tolerance_change: f64,
    history_size: usize,
    line_search_fn: Option<LineSearch>,
    maximize: bool,
    state: State<T>,
    #[cfg_attr(feature = "serde", serde(skip))]
    work: Work<T>,
}

impl<T: Float> Lbfgs<T> {
    /// L-BFGS with learning rate `lr` (torch's default is 1) and torch's other defaults.
    ///
    /// ```
    /// let opt = gradus::Lbfgs::<f64>::new(1.0);
    /// assert_eq!(opt.get_max_eval(), 25);
    /// ```
    pub fn new(lr: T) -> Self {
        Lbfgs {
            lr: to_f64(lr),
            max_iter: 20,
            max_eval: None,
            tolerance_grad: 1e-7,
            tolerance_change: 1e-9,
            history_size: 100,
            line_search_fn: None,
            maximize: false,
            state: State::default(),
            work: Work::default(),
        }
    }

    /// Inner iterations per step, `>= 1` (default 20).
    ///
    /// ```
    /// let opt = gradus::Lbfgs::<f64>::new(1.0).max_iter(5);
    /// assert_eq!((opt.get_max_iter(), opt.get_max_eval()), (5, 6)); // max_eval follows: 5*5/4
    /// ```
    pub fn max_iter(mut self, max_iter: usize) -> Self {
        self.max_iter = max_iter;
        self
    }

    /// Closure evaluations per step, `>= 1` (default `max_iter * 5 / 4`).
    ///
    /// ```
    /// let opt = gradus::Lbfgs::<f64>::new(1.0).max_eval(4);
    /// assert_eq!(opt.get_max_eval(), 4);
    /// ```
    pub fn max_eval(mut self, max_eval: usize) -> Self {
        self.max_eval = Some(max_eval);
        self
    }

    /// Stop once `max|g| <= tolerance_grad` (default 1e-7).
    ///
    /// ```
    /// let opt = gradus::Lbfgs::<f64>::new(1.0).tolerance_grad(1e-10);
    /// assert_eq!(opt.get_tolerance_grad(), 1e-10);
    /// ```
    pub fn tolerance_grad(mut self, tolerance: T) -> Self {
        self.tolerance_grad = to_f64(tolerance);
        self
    }

    /// Stop when the loss or the parameters change by less (default 1e-9); the line search keeps 1e-9, as torch.
    ///
    /// ```
    /// let opt = gradus::Lbfgs::<f64>::new(1.0).tolerance_change(1e-12);
    /// assert_eq!(opt.get_tolerance_change(), 1e-12);
    /// ```
    pub fn tolerance_change(mut self, tolerance: T) -> Self {
        self.tolerance_change = to_f64(tolerance);
        self
    }

    /// Correction pairs kept, `>= 1` (default 100).
    ///
    /// ```
    /// let opt = gradus::Lbfgs::<f64>::new(1.0).history_size(10);
    /// assert_eq!(opt.get_history_size(), 10);
    /// ```
    pub fn history_size(mut self, history_size: usize) -> Self {
        self.history_size = history_size;
        self
    }

    /// The line search, or `None` for fixed steps of length `lr` (the default).
    ///
    /// ```
    /// use gradus::{Lbfgs, LineSearch};
    /// let opt = Lbfgs::<f64>::new(1.0).line_search_fn(Some(LineSearch::StrongWolfe));
    /// assert_eq!(opt.get_line_search_fn(), Some(LineSearch::StrongWolfe));
    /// ```
    pub fn line_search_fn(mut self, line_search: Option<LineSearch>) -> Self {
        self.line_search_fn = line_search;
        self
    }

    /// Maximize the objective (default `false`): L-BFGS minimizes the negated loss, with the
    /// negated gradient; [`step`](Lbfgs::step) still returns the closure's own loss.
    ///
    /// ```
    /// let mut opt = gradus::Lbfgs::new(1.0_f64).maximize(true);
    /// let mut p = [0.0];
    /// for _ in 0..3 {
    ///     opt.step(&mut p, |p, g| { g[0] = -2.0 * (p[0] - 3.0); -(p[0] - 3.0).powi(2) })?;
    /// }
    /// assert!((p[0] - 3.0).abs() < 1e-9);
    /// # Ok::<(), gradus::Error>(())
    /// ```
    pub fn maximize(mut self, maximize: bool) -> Self {
        self.maximize = maximize;
        self
    }

    /// The value set by [`maximize`](Lbfgs::maximize).
    ///
    /// ```
    /// assert!(!gradus::Lbfgs::<f64>::new(1.0).get_maximize());
    /// ```
    pub fn get_maximize(&self) -> bool {
        self.maximize
    }

    /// The learning rate.
    ///
    /// ```
    /// assert_eq!(gradus::Lbfgs::new(0.5_f64).get_lr(), 0.5);
    /// ```
    pub fn get_lr(&self) -> T {
        cast(self.lr)
    }

    /// The value set by [`max_iter`](Lbfgs::max_iter).
    ///
    /// ```
    /// assert_eq!(gradus::Lbfgs::<f64>::new(1.0).get_max_iter(), 20);
    /// ```
    pub fn get_max_iter(&self) -> usize {
        self.max_iter
    }

    /// The value set by [`max_eval`](Lbfgs::max_eval), or its default `max_iter * 5 / 4`.
    ///
    /// ```
    /// assert_eq!(gradus::Lbfgs::<f64>::new(1.0).max_iter(1).get_max_eval(), 1);
    /// ```
    pub fn get_max_eval(&self) -> usize {
        self.max_eval.unwrap_or(self.max_iter * 5 / 4)
    }

    /// The value set by [`tolerance_grad`](Lbfgs::tolerance_grad).
    ///
    /// ```
    /// assert_eq!(gradus::Lbfgs::<f64>::new(1.0).get_tolerance_grad(), 1e-7);
    /// ```
    pub fn get_tolerance_grad(&self) -> T {
        cast(self.tolerance_grad)
    }

    /// The value set by [`tolerance_change`](Lbfgs::tolerance_change).
    ///
    /// ```
    /// assert_eq!(gradus::Lbfgs::<f64>::new(1.0).get_tolerance_change(), 1e-9);
    /// ```
    pub fn get_tolerance_change(&self) -> T {
        cast(self.tolerance_change)
    }

    /// The value set by [`history_size`](Lbfgs::history_size).
    ///
    /// ```
    /// assert_eq!(gradus::Lbfgs::<f64>::new(1.0).get_history_size(), 100);
    /// ```
    pub fn get_history_size(&self) -> usize {
        self.history_size
    }

    /// The value set by [`line_search_fn`](Lbfgs::line_search_fn).
    ///
    /// ```
    /// assert_eq!(gradus::Lbfgs::<f64>::new(1.0).get_line_search_fn(), None);
    /// ```
    pub fn get_line_search_fn(&self) -> Option<LineSearch> {
        self.line_search_fn
    }

    /// Closure evaluations so far, over all steps (torch's `state["func_evals"]`).
    ///
    /// ```
    /// let mut opt = gradus::Lbfgs::new(0.1_f64).max_iter(4); // max_eval 5
    /// opt.step(&mut [1.0], |p, g| { g[0] = 2.0 * p[0]; p[0] * p[0] })?;
    /// assert_eq!((opt.func_evals(), opt.n_iters()), (4, 4)); // no evaluation after the last iteration
    /// # Ok::<(), gradus::Error>(())
    /// ```
    pub fn func_evals(&self) -> u64 {
        self.state.func_evals
    }

    /// Inner iterations so far, over all steps (torch's `state["n_iter"]`).
    ///
    /// ```
    /// assert_eq!(gradus::Lbfgs::<f64>::new(1.0).n_iters(), 0);
    /// ```
    pub fn n_iters(&self) -> u64 {
        self.state.n_iter
    }

    /// Forgets the history and the counts (keeps the settings).
    ///
    /// ```
    /// let mut opt = gradus::Lbfgs::new(0.1_f64);
    /// opt.step(&mut [1.0], |p, g| { g[0] = 2.0 * p[0]; p[0] * p[0] })?;
    /// opt.reset();
    /// assert_eq!(opt.func_evals(), 0);
    /// # Ok::<(), gradus::Error>(())
    /// ```
    pub fn reset(&mut self) {
        self.state = State::default();
        self.work = Work::default();
    }

    /// What the next [`step`](Lbfgs::step) would reject about the settings.
    ///
    /// ```
    /// assert!(gradus::Lbfgs::<f64>::new(1.0).max_iter(0).validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<(), Error> {
        kernel::non_negative("lr", self.lr)?;
        kernel::require(self.max_iter >= 1, "max_iter", self.max_iter as f64, "at least 1")?;
        kernel::require(self.get_max_eval() >= 1, "max_eval", self.get_max_eval() as f64, "at least 1")?;
        kernel::non_negative("tolerance_grad", self.tolerance_grad)?;
        kernel::non_negative("tolerance_change", self.tolerance_change)?;
        kernel::require(self.history_size >= 1, "history_size", self.history_size as f64, "at least 1")
    }

    /// One L-BFGS step: `closure(params, grad)` must write the gradient at `params` into `grad`
    /// and return the loss. Returns the loss of the first evaluation (at the parameters before
    /// the step), as torch's `step` does.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHyperparameter`], [`Error::EmptyData`] for no parameters,
    /// [`Error::StateMismatch`] for another length than the first step's, before anything is
    /// called; [`Error::NonFiniteClosure`] if the closure returns a NaN or infinite loss or
    /// gradient, after which the parameters and the state are as they were before the step.
    pub fn step(&mut self, params: &mut [T], mut closure: impl FnMut(&[T], &mut [T]) -> T) -> Result<T, Error> {
        self.validate()?;
        if params.is_empty() {
            return Err(Error::EmptyData { what: "params" });
        }
        if let Some(expected) = self.state.len {
            if expected != params.len() {
                return Err(Error::StateMismatch { expected, found: params.len() });
            }
        }
        let maximize = self.maximize;
        let mut eval = |p: &[T], g: &mut [T]| -> Result<f64, Error> {
            let loss = closure(p, g);
            if !loss.is_finite() {
                return Err(Error::NonFiniteClosure { what: "loss", index: 0, value: to_f64(loss) });
            }
            if let Some(index) = g.iter().position(|v| !v.is_finite()) {
                return Err(Error::NonFiniteClosure { what: "gradient", index, value: to_f64(g[index]) });
            }
            if maximize {
                g.iter_mut().for_each(|v| *v = -*v);
                return Ok(-to_f64(loss));
            }
            Ok(to_f64(loss))
        };
        // what an error must undo: the parameters, the direction, the previous gradient and the
        // scalars are copied into kept buffers; history changes are undone pair by pair
        let n = params.len();
        let w = &mut self.work;
        let st = &self.state;
        copy_into(&mut w.start, params);
        copy_into(&mut w.d_backup, &st.d);
        copy_into(&mut w.prev_backup, &st.prev_flat_grad);
        let scalars = (st.t, st.h_diag, st.prev_loss, st.func_evals, st.n_iter, st.len);
        w.pushed = 0;
        w.popped.clear();
        self.state.len = Some(n);
        let result = self.run(params, &mut eval);
        let (st, w) = (&mut self.state, &mut self.work);
        match result {
            Ok(loss) => {
                // the dropped pairs' buffers serve the next pairs
                for (y, s, _) in w.popped.drain(..) {
                    w.spare.push(y);
                    w.spare.push(s);
                }
                Ok(cast(if maximize { -loss } else { loss }))
            }
            Err(e) => {
                params.copy_from_slice(&w.start);
                for _ in 0..w.pushed {
                    if let (Some(y), Some(s)) = (st.old_dirs.pop_back(), st.old_stps.pop_back()) {
                        st.ro.pop_back();
                        w.spare.push(y);
                        w.spare.push(s);
                    }
                }
                while let Some((y, s, ro)) = w.popped.pop() {
                    st.old_dirs.push_front(y);
                    st.old_stps.push_front(s);
                    st.ro.push_front(ro);
                }
                copy_into(&mut st.d, &w.d_backup);
                copy_into(&mut st.prev_flat_grad, &w.prev_backup);
                (st.t, st.h_diag, st.prev_loss, st.func_evals, st.n_iter, st.len) = scalars;
                Err(e)
            }
        }
    }

    fn run(&mut self, params: &mut [T], eval: &mut Objective<'_, T>) -> Result<f64, Error> {
        let n = params.len();
        let (lr, max_iter, max_eval) = (self.lr, self.max_iter, self.get_max_eval());
        let (tol_grad, tol_change, history_size) = (self.tolerance_grad, self.tolerance_change, self.history_size);
        let (st, w) = (&mut self.state, &mut self.work);
        w.g.resize(n, T::zero());
        w.q.resize(n, T::zero());
        w.al.resize(history_size, 0.0);
        let orig_loss = eval(params, &mut w.g)?;
        let mut loss = orig_loss;
        let mut current_evals: usize = 1;
        st.func_evals += 1;
        if max_abs(&w.g) <= tol_grad {
            return Ok(orig_loss);
        }
        let mut opt_cond = false;
        let mut n_iter = 0;
        while n_iter < max_iter {
            n_iter += 1;
            st.n_iter += 1;
            if st.n_iter == 1 {
                st.d.clear();
                st.d.extend(w.g.iter().map(|&v| -v));
                while let (Some(y), Some(s)) = (st.old_dirs.pop_front(), st.old_stps.pop_front()) {
                    w.spare.push(y);
                    w.spare.push(s);
                }
                st.ro.clear();
                st.h_diag = 1.0;
            } else {
                let mut y = w.spare.pop().unwrap_or_default();
                let mut s = w.spare.pop().unwrap_or_default();
                y.clear();
                y.extend(w.g.iter().zip(&st.prev_flat_grad).map(|(&a, &b)| a - b));
                let t: T = cast(st.t);
                s.clear();
                s.extend(st.d.iter().map(|&v| v * t));
                let ys = dot(&y, &s);
                if ys > 1e-10 {
                    if st.old_dirs.len() == history_size {
                        if let (Some(y0), Some(s0), Some(r0)) =
                            (st.old_dirs.pop_front(), st.old_stps.pop_front(), st.ro.pop_front())
                        {
                            w.popped.push((y0, s0, r0));
                        }
                    }
                    st.h_diag = ys / dot(&y, &y);
                    st.old_dirs.push_back(y);
                    st.old_stps.push_back(s);
                    st.ro.push_back(1.0 / ys);
                    w.pushed += 1;
                } else {
                    w.spare.push(y);
                    w.spare.push(s);
                }
                let num_old = st.old_dirs.len();
                for (q, &g) in w.q.iter_mut().zip(&w.g) {
                    *q = -g;
                }
                for i in (0..num_old).rev() {
                    w.al[i] = dot(&st.old_stps[i], &w.q) * st.ro[i];
                    add_scaled(&mut w.q, -w.al[i], &st.old_dirs[i]);
                }
                let h: T = cast(st.h_diag);
                w.q.iter_mut().for_each(|v| *v = *v * h);
                for (i, &al_i) in w.al.iter().enumerate().take(num_old) {
                    let be_i = dot(&st.old_dirs[i], &w.q) * st.ro[i];
                    add_scaled(&mut w.q, al_i - be_i, &st.old_stps[i]);
                }
                copy_into(&mut st.d, &w.q);
            }
            copy_into(&mut st.prev_flat_grad, &w.g);
            st.prev_loss = loss;
            st.t = if st.n_iter == 1 { f64::min(1.0, 1.0 / abs_sum(&w.g)) * lr } else { lr };
            let gtd = dot(&w.g, &st.d);
            if gtd > -tol_change {
                break;
            }
            let mut ls_evals = 0;
            match self.line_search_fn {
                Some(LineSearch::StrongWolfe) => {
                    copy_into(&mut w.x_init, params);
                    let max_ls = max_eval as i64 - current_evals as i64;
                    let search = Search { x: &w.x_init, d: &st.d, f: loss, gtd, tolerance_change: 1e-9, max_ls };
                    let (f_new, t, evals) = strong_wolfe(eval, params, &search, st.t, &mut w.g, &mut w.ls)?;
                    loss = f_new;
                    st.t = t;
                    ls_evals = evals;
                    add_scaled(params, st.t, &st.d);
                    opt_cond = max_abs(&w.g) <= tol_grad;
                }
                None => {
                    add_scaled(params, st.t, &st.d);
                    if n_iter != max_iter {
                        loss = eval(params, &mut w.g)?;
                        opt_cond = max_abs(&w.g) <= tol_grad;
                        ls_evals = 1;
                    }
                }
            }
            current_evals += ls_evals as usize;
            st.func_evals += ls_evals;
            if n_iter == max_iter || current_evals >= max_eval || opt_cond {
                break;
            }
            let t: T = cast(st.t);
            if st.d.iter().fold(0.0, |m: f64, &v| m.max(to_f64(v * t).abs())) <= tol_change {
                break;
            }
            if (loss - st.prev_loss).abs() < tol_change {
                break;
            }
        }
        Ok(orig_loss)
    }
}

/// `dst = src`, reusing `dst`'s memory.
fn copy_into<T: Copy>(dst: &mut Vec<T>, src: &[T]) {
    dst.clear();
    dst.extend_from_slice(src);
}

/// Buffers a step works in, kept between steps so that a step allocates nothing once the
/// history is full. They hold nothing between steps: not saved, not compared, not printed.
#[derive(Clone)]
struct Work<T> {
    g: Vec<T>,
    q: Vec<T>,
    al: Vec<f64>,
    x_init: Vec<T>,
    start: Vec<T>,
    d_backup: Vec<T>,
    prev_backup: Vec<T>,
    /// Pairs dropped from the history this step (restored on an error).
    popped: Vec<(Vec<T>, Vec<T>, f64)>,
    /// Pairs pushed this step (removed on an error).
    pushed: usize,
    /// Buffers of dropped pairs, for the next pairs.
    spare: Vec<Vec<T>>,
    ls: LineSearchWork<T>,
}

impl<T> PartialEq for Work<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<T> core::fmt::Debug for Work<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Work(..)")
    }
}

impl<T> Default for Work<T> {
    fn default() -> Self {
        Work {
            g: Vec::new(),
            q: Vec::new(),
            al: Vec::new(),
            x_init: Vec::new(),
            start: Vec::new(),
            d_backup: Vec::new(),
            prev_backup: Vec::new(),
            popped: Vec::new(),
            pushed: 0,
            spare: Vec::new(),
            ls: LineSearchWork::default(),
        }
    }
}

/// The gradients the line search keeps.
#[derive(Clone)]
struct LineSearchWork<T> {
    g0: Vec<T>,
    g_new: Vec<T>,
    g_prev: Vec<T>,
    bracket_g: [Vec<T>; 2],
}

impl<T> Default for LineSearchWork<T> {
    fn default() -> Self {
        LineSearchWork { g0: Vec::new(), g_new: Vec::new(), g_prev: Vec::new(), bracket_g: [Vec::new(), Vec::new()] }
    }
}

/// What the line search searches along: from `x` along `d`, with the loss `f` and directional
/// derivative `gtd` there; `tolerance_change` is torch's `_strong_wolfe` default, which its step never sets.
struct Search<'a, T> {
    x: &'a [T],
    d: &'a [T],
    f: f64,
    gtd: f64,
    tolerance_change: f64,
    max_ls: i64,
}

/// The closure, checked: the loss (negated with `maximize`), the gradient written.
type Objective<'a, T> = dyn FnMut(&[T], &mut [T]) -> Result<f64, Error> + 'a;

fn dot<T: Float>(a: &[T], b: &[T]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| to_f64(x * y)).sum()
}

fn abs_sum<T: Float>(a: &[T]) -> f64 {
    a.iter().map(|&x| to_f64(x.abs())).sum()
}

fn max_abs<T: Float>(a: &[T]) -> f64 {
    a.iter().fold(0.0, |m: f64, &x| m.max(to_f64(x.abs())))
}

/// `a = a + alpha*b` (torch's `add_(b, alpha=alpha)`).
fn add_scaled<T: Float>(a: &mut [T], alpha: f64, b: &[T]) {
    let alpha: T = cast(alpha);
    for (a, &b) in a.iter_mut().zip(b) {
        *a = *a + alpha * b;
    }
}

/// torch's `_cubic_interpolate`: the minimizer of the cubic through two points with their
/// values and derivatives, clamped to `bounds` (the points' interval by default).
fn cubic_interpolate(x1: f64, f1: f64, g1: f64, x2: f64, f2: f64, g2: f64, bounds: Option<(f64, f64)>) -> f64 {
    let (lo, hi) = bounds.unwrap_or(if x1 <= x2 { (x1, x2) } else { (x2, x1) });
    let d1 = g1 + g2 - 3.0 * (f1 - f2) / (x1 - x2);
    let d2_square = d1 * d1 - g1 * g2;
    if d2_square >= 0.0 {
        let d2 = d2_square.sqrt();
        let min_pos = if x1 <= x2 {
            x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2.0 * d2))
        } else {
            x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2.0 * d2))
        };
        f64::min(f64::max(min_pos, lo), hi)
    } else {
        (lo + hi) / 2.0
    }
}

/// torch's `_strong_wolfe` (c1 = 1e-4, c2 = 0.9): returns the loss at the chosen step, the step
/// and the evaluations made; leaves the gradient there in `g` and `params` equal to `x`.
fn strong_wolfe<T: Float>(
    eval: &mut Objective<'_, T>,
    params: &mut [T],
    search: &Search<'_, T>,
    mut t: f64,
    g: &mut [T],
    w: &mut LineSearchWork<T>,
) -> Result<(f64, f64, u64), Error> {
    let (c1, c2) = (1e-4, 0.9);
    let Search { x, d, f, gtd, tolerance_change, max_ls } = *search;
    let d_norm = max_abs(d);
    // the objective along d: params = x + t*d for the evaluation, then x again
    let mut obj = |t: f64, out: &mut [T]| -> Result<(f64, f64), Error> {
        add_scaled(params, t, d);
        let loss = eval(params, out);
        params.copy_from_slice(x);
        let loss = loss?;
        Ok((loss, dot(out, d)))
    };
    copy_into(&mut w.g0, g);
    w.g_new.resize(g.len(), T::zero());
    copy_into(&mut w.g_prev, g);
    for b in &mut w.bracket_g {
        b.resize(g.len(), T::zero());
    }
    let (mut f_new, mut gtd_new) = obj(t, &mut w.g_new)?;
    let mut evals = 1_u64;
    let (mut t_prev, mut f_prev, mut gtd_prev) = (0.0, f, gtd);
    let mut done = false;
    let mut ls_iter: i64 = 0;
    // the bracket: its points, values and directional derivatives (one point when done)
    let (mut bracket, mut bracket_f, mut bracket_gtd) = ([0.0_f64; 2], [0.0_f64; 2], [0.0_f64; 2]);
    let mut points = 0;
    while ls_iter < max_ls {
        let two_points = |bracket: &mut [f64; 2], bracket_f: &mut [f64; 2], bracket_gtd: &mut [f64; 2]| {
            *bracket = [t_prev, t];
            *bracket_f = [f_prev, f_new];
            *bracket_gtd = [gtd_prev, gtd_new];
        };
        if f_new > f + c1 * t * gtd || (ls_iter > 1 && f_new >= f_prev) {
            two_points(&mut bracket, &mut bracket_f, &mut bracket_gtd);
            w.bracket_g[0].copy_from_slice(&w.g_prev);
            w.bracket_g[1].copy_from_slice(&w.g_new);
            points = 2;
            break;
        }
        if gtd_new.abs() <= -c2 * gtd {
            bracket[0] = t;
            bracket_f[0] = f_new;
            w.bracket_g[0].copy_from_slice(&w.g_new);
            points = 1;
            done = true;
            break;
        }
        if gtd_new >= 0.0 {
            two_points(&mut bracket, &mut bracket_f, &mut bracket_gtd);
            w.bracket_g[0].copy_from_slice(&w.g_prev);
            w.bracket_g[1].copy_from_slice(&w.g_new);
            points = 2;
            break;
        }
        let min_step = t + 0.01 * (t - t_prev);
        let max_step = t * 10.0;
        let tmp = t;
        t = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, Some((min_step, max_step)));
        t_prev = tmp;
        f_prev = f_new;
        w.g_prev.copy_from_slice(&w.g_new);
        gtd_prev = gtd_new;
        (f_new, gtd_new) = obj(t, &mut w.g_new)?;
        evals += 1;
        ls_iter += 1;
    }
    if points == 0 {
        // torch: `ls_iter == max_ls` (no bracket found in max_ls evaluations)
        bracket = [0.0, t];
        bracket_f = [f, f_new];
        w.bracket_g[0].copy_from_slice(&w.g0);
        w.bracket_g[1].copy_from_slice(&w.g_new);
        points = 2;
        // torch leaves bracket_gtd as it was: the zoom below cannot run (ls_iter == max_ls)
    }
    let mut insuf_progress = false;
    let (mut low, mut high) = if bracket_f[0] <= bracket_f[points - 1] { (0, 1) } else { (1, 0) };
    while !done && ls_iter < max_ls {
        if (bracket[1] - bracket[0]).abs() * d_norm < tolerance_change {
            break;
        }
        t = cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1], None);
        let (bmax, bmin) = (f64::max(bracket[0], bracket[1]), f64::min(bracket[0], bracket[1]));
        let eps = 0.1 * (bmax - bmin);
        if f64::min(bmax - t, t - bmin) < eps {
            if insuf_progress || t >= bmax || t <= bmin {
                t = if (t - bmax).abs() < (t - bmin).abs() { bmax - eps } else { bmin + eps };
                insuf_progress = false;
            } else {
                insuf_progress = true;
            }
        } else {
            insuf_progress = false;
        }
        (f_new, gtd_new) = obj(t, &mut w.g_new)?;
        evals += 1;
        ls_iter += 1;
        if f_new > f + c1 * t * gtd || f_new >= bracket_f[low] {
            bracket[high] = t;
            bracket_f[high] = f_new;
            w.bracket_g[high].copy_from_slice(&w.g_new);
            bracket_gtd[high] = gtd_new;
            (low, high) = if bracket_f[0] <= bracket_f[1] { (0, 1) } else { (1, 0) };
        } else {
            if gtd_new.abs() <= -c2 * gtd {
                done = true;
            } else if gtd_new * (bracket[high] - bracket[low]) >= 0.0 {
                bracket[high] = bracket[low];
                bracket_f[high] = bracket_f[low];
                let [b0, b1] = &mut w.bracket_g;
                if high == 0 {
                    b0.copy_from_slice(b1);
                } else {
                    b1.copy_from_slice(b0);
                }
                bracket_gtd[high] = bracket_gtd[low];
            }
            bracket[low] = t;
            bracket_f[low] = f_new;
            w.bracket_g[low].copy_from_slice(&w.g_new);
            bracket_gtd[low] = gtd_new;
        }
    }
    g.copy_from_slice(&w.bracket_g[low]);
    Ok((bracket_f[low], bracket[low], evals))
}
