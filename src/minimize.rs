//! Full-batch minimization of a function that returns its value and writes its gradient.

use alloc::vec;

use num_traits::Float;

use crate::kernel::{sqrt, sum_sq, to_f64};
use crate::{Error, Norm, Optimizer, Schedule};

/// Options of [`minimize`]: stopping rules, gradient clipping and a schedule.
///
/// ```
/// let opts = gradus::MinimizeOptions::<f64>::new(10_000).loss_tol(1e-12).grad_tol(1e-10);
/// # let _ = opts;
/// ```
pub struct MinimizeOptions<'a, T = f64> {
    max_iters: usize,
    loss_tol: Option<f64>,
    grad_tol: Option<f64>,
    clip_norm: Option<T>,
    schedule: Option<&'a mut dyn Schedule<T>>,
}

impl<'a, T: Float> MinimizeOptions<'a, T> {
    /// At most `max_iters` optimizer steps; no other stopping rule.
    ///
    /// ```
    /// let opts = gradus::MinimizeOptions::<f64>::new(100);
    /// # let _ = opts;
    /// ```
    pub fn new(max_iters: usize) -> Self {
        MinimizeOptions { max_iters, loss_tol: None, grad_tol: None, clip_norm: None, schedule: None }
    }

    /// Stop once the function value is `<= tol`.
    ///
    /// ```
    /// let opts = gradus::MinimizeOptions::<f64>::new(100).loss_tol(1e-6);
    /// # let _ = opts;
    /// ```
    pub fn loss_tol(mut self, tol: f64) -> Self {
        self.loss_tol = Some(tol);
        self
    }

    /// Stop once the gradient's L2 norm is `<= tol`.
    ///
    /// ```
    /// let opts = gradus::MinimizeOptions::<f64>::new(100).grad_tol(1e-8);
    /// # let _ = opts;
    /// ```
    pub fn grad_tol(mut self, tol: f64) -> Self {
        self.grad_tol = Some(tol);
        self
    }

    /// Clips each step's gradient to L2 norm `max_norm` ([`clip_grad_norm`](crate::clip_grad_norm))
    /// before the step (the reported `grad_norm` is the norm before clipping).
    ///
    /// ```
    /// let opts = gradus::MinimizeOptions::<f64>::new(100).clip_norm(1.0);
    /// # let _ = opts;
    /// ```
    pub fn clip_norm(mut self, max_norm: T) -> Self {
        self.clip_norm = Some(max_norm);
        self
    }

    /// Steps `schedule` after every optimizer step, fed the loss before it (attached to the
    /// optimizer with [`Schedule::start`] when `minimize` begins).
    ///
    /// ```
    /// let mut cosine = gradus::CosineAnnealingLr::new(1000, 0.0);
    /// let opts = gradus::MinimizeOptions::<f64>::new(1000).schedule(&mut cosine);
    /// # let _ = opts;
    /// ```
    pub fn schedule(mut self, schedule: &'a mut dyn Schedule<T>) -> Self {
        self.schedule = Some(schedule);
        self
    }
}

/// What [`minimize`] did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MinimizeReport<T> {
    /// Optimizer steps taken.
    pub iterations: usize,
    /// Function value at the final parameters.
    pub loss: T,
    /// L2 norm of the gradient at the final parameters.
    pub grad_norm: f64,
    /// Whether a tolerance was met (rather than the iteration limit).
    pub converged: bool,
}

/// Minimizes `f` from `x` (updated in place) with `optimizer`: `f(x, grad)` returns the value at
/// `x` and writes the gradient into `grad`. Each iteration evaluates `f`, checks the stopping
/// rules, then takes one step.
///
/// ```
/// use gradus::{minimize, Adam, MinimizeOptions};
/// // Rosenbrock, minimum at (1, 1)
/// let mut x = [-1.0_f64, 1.0];
/// let rosen = |x: &[f64], g: &mut [f64]| {
///     let t = x[1] - x[0] * x[0];
///     g[0] = -2.0 * (1.0 - x[0]) - 400.0 * x[0] * t;
///     g[1] = 200.0 * t;
///     (1.0 - x[0]).powi(2) + 100.0 * t * t
/// };
/// let r = minimize(rosen, &mut x, &mut Adam::new(0.02), MinimizeOptions::new(20_000).loss_tol(1e-10))?;
/// assert!(r.converged && (x[0] - 1.0).abs() < 1e-3);
/// # Ok::<(), gradus::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::EmptyData`] for an empty `x`; [`Error::Diverged`] (with `epoch` = the iteration,
/// `sample` = 0, `restored` = the iteration before it) when `f` returns NaN or infinity, with `x`
/// left at the last finite point;
/// any error of the optimizer's step.
pub fn minimize<T, F, O>(
    mut f: F,
    x: &mut [T],
    optimizer: &mut O,
    mut options: MinimizeOptions<'_, T>,
) -> Result<MinimizeReport<T>, Error>
where
    T: Float,
    F: FnMut(&[T], &mut [T]) -> T,
    O: Optimizer<T> + ?Sized,
{
    if x.is_empty() {
        return Err(Error::EmptyData { what: "x" });
    }
    if let Some(s) = options.schedule.as_mut() {
        s.start(&mut &mut *optimizer)?;
    }
    let mut grad = vec![T::zero(); x.len()];
    let mut previous = x.to_vec();
    let mut iterations = 0;
    loop {
        let loss = f(x, &mut grad);
        if !loss.is_finite() {
            x.copy_from_slice(&previous);
            return Err(Error::Diverged { epoch: iterations, sample: 0, restored: iterations.checked_sub(1) });
        }
        let grad_norm = sqrt(sum_sq(&grad));
        let converged =
            options.loss_tol.is_some_and(|t| to_f64(loss) <= t) || options.grad_tol.is_some_and(|t| grad_norm <= t);
        if converged || iterations >= options.max_iters {
            return Ok(MinimizeReport { iterations, loss, grad_norm, converged });
        }
        previous.copy_from_slice(x);
        if let Some(max) = options.clip_norm {
            crate::clip_grad_norm(&mut grad, max, Norm::L2)?;
        }
        optimizer.step(x, &grad)?;
        if let Some(s) = options.schedule.as_mut() {
            s.step(&mut &mut *optimizer, Some(loss))?;
        }
        iterations += 1;
    }
}
