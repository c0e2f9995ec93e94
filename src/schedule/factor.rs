//! Schedules that multiply the rate by a factor: `ConstantLR`, `PolynomialLR`,
//! `MultiplicativeLR` and `LambdaLR` of `torch.optim.lr_scheduler`, in torch's recursive
//! (chainable) forms.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

use num_traits::Float;

use super::torch::{lr, set_lr, torch_schedule, Clock};
use crate::kernel;
use crate::schedule::Schedule;
use crate::{Error, Optimizer};

/// Multiplies the rate by `factor` for the first `total_iters` steps, then restores it:
/// `torch.optim.lr_scheduler.ConstantLR`.
///
/// `lr_0 = lr*factor`; at step `total_iters` `lr = lr * (1/factor)`; otherwise unchanged
/// (torch's recursive form; defaults factor 1/3, total_iters 5).
///
/// ```
/// use gradus::{ConstantLr, Optimizer, Schedule, Sgd};
/// let mut opt = Sgd::new(0.1_f64);
/// let mut s = ConstantLr::new(0.5, 2);
/// s.start(&mut opt)?;
/// let lrs: Vec<f64> = (0..4).map(|_| { let l = opt.learning_rate(); s.step(&mut opt, None).unwrap(); l }).collect();
/// assert_eq!(lrs, [0.05, 0.05, 0.1, 0.1]);
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ConstantLr {
    factor: f64,
    total_iters: u64,
    clock: Clock,
}

impl ConstantLr {
    /// `factor` in `[0, 1]` for the first `total_iters` steps.
    ///
    /// ```
    /// let s = gradus::ConstantLr::new(1.0 / 3.0, 5);
    /// # let _ = s;
    /// ```
    pub fn new(factor: f64, total_iters: u64) -> Self {
        ConstantLr { factor, total_iters, clock: Clock::default() }
    }
    fn validate(&self) -> Result<(), Error> {
        kernel::unit_closed("factor", self.factor)
    }
    fn initial(&self, _g: usize, _base: f64, current: f64) -> f64 {
        current * self.factor
    }
    fn next(&self, _g: usize, _base: f64, current: f64) -> f64 {
        if self.clock.last_epoch != self.total_iters {
            current
        } else {
            current * (1.0 / self.factor)
        }
    }
}
torch_schedule!(ConstantLr);

/// Decays the rate to 0 over `total_iters` steps as a polynomial of degree `power`:
/// `torch.optim.lr_scheduler.PolynomialLR`.
///
/// `lr_t = lr_{t-1} * ((1 - t/T) / (1 - (t-1)/T))^power` for `t <= T = total_iters`, then
/// unchanged (torch's recursive form; defaults total_iters 5, power 1).
///
/// ```
/// use gradus::{Optimizer, PolynomialLr, Schedule, Sgd};
/// let mut opt = Sgd::new(1.0_f64);
/// let mut s = PolynomialLr::new(4, 1.0);
/// s.start(&mut opt)?;
/// for _ in 0..2 { s.step(&mut opt, None)?; }
/// assert!((opt.learning_rate() - 0.5).abs() < 1e-15);
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PolynomialLr {
    total_iters: u64,
    power: f64,
    clock: Clock,
}

impl PolynomialLr {
    /// Decay to 0 over `total_iters` (>= 1) steps with exponent `power`.
    ///
    /// ```
    /// let s = gradus::PolynomialLr::new(50, 2.0);
    /// # let _ = s;
    /// ```
    pub fn new(total_iters: u64, power: f64) -> Self {
        PolynomialLr { total_iters, power, clock: Clock::default() }
    }
    fn validate(&self) -> Result<(), Error> {
        kernel::require(self.total_iters >= 1, "total_iters", self.total_iters as f64, "at least 1")?;
        kernel::finite("power", self.power)
    }
    fn initial(&self, _g: usize, _base: f64, current: f64) -> f64 {
        current
    }
    fn next(&self, _g: usize, _base: f64, current: f64) -> f64 {
        let (t, total) = (self.clock.last_epoch, self.total_iters);
        if t > total {
            return current;
        }
        let (t, total) = (t as f64, total as f64);
        let decay = Float::powf((1.0 - t / total) / (1.0 - (t - 1.0) / total), self.power);
        current * decay
    }
}
torch_schedule!(PolynomialLr);

/// A learning-rate function of the step: `Fn(u64) -> f64`, shared so that a schedule holding one
/// can be cloned and sent to another thread.
type Factor = Arc<dyn Fn(u64) -> f64 + Send + Sync>;

/// Multiplies the rate by `f(t)` at every step `t >= 1`: `torch.optim.lr_scheduler.MultiplicativeLR`.
///
/// `lr_0` unchanged; `lr_t = lr_{t-1} * f(t)`. The function is not saved in a checkpoint (as
/// torch does not save a lambda): the type is not serializable.
///
/// ```
/// use gradus::{MultiplicativeLr, Optimizer, Schedule, Sgd};
/// let mut opt = Sgd::new(1.0_f64);
/// let mut s = MultiplicativeLr::new(|_| 0.5);
/// s.start(&mut opt)?;
/// s.step(&mut opt, None)?;
/// s.step(&mut opt, None)?;
/// assert_eq!(opt.learning_rate(), 0.25);
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone)]
pub struct MultiplicativeLr {
    f: Vec<Factor>,
    clock: Clock,
}

impl MultiplicativeLr {
    /// Multiplies by `f(step)` after every step.
    ///
    /// ```
    /// let s = gradus::MultiplicativeLr::new(|step| if step % 10 == 0 { 0.5 } else { 1.0 });
    /// # let _ = s;
    /// ```
    pub fn new(f: impl Fn(u64) -> f64 + Send + Sync + 'static) -> Self {
        MultiplicativeLr { f: alloc::vec![Arc::new(f)], clock: Clock::default() }
    }

    /// One function per parameter group (torch's list of `lr_lambda`); the count must equal the
    /// optimizer's groups.
    ///
    /// ```
    /// let s = gradus::MultiplicativeLr::per_group(vec![Box::new(|_| 0.9), Box::new(|_| 0.99)]);
    /// # let _ = s;
    /// ```
    pub fn per_group(fns: Vec<Box<dyn Fn(u64) -> f64 + Send + Sync>>) -> Self {
        MultiplicativeLr { f: fns.into_iter().map(Arc::from).collect(), clock: Clock::default() }
    }
    fn validate(&self) -> Result<(), Error> {
        kernel::require(!self.f.is_empty(), "lr_lambda", 0.0, "at least one function")?;
        check_groups(self.f.len(), &self.clock)
    }
    fn initial(&self, _g: usize, _base: f64, current: f64) -> f64 {
        current
    }
    fn next(&self, g: usize, _base: f64, current: f64) -> f64 {
        current * (self.f[if self.f.len() == 1 { 0 } else { g }])(self.clock.last_epoch)
    }
}
torch_schedule!(MultiplicativeLr);

/// Sets the rate to the base rate times `f(t)`: `torch.optim.lr_scheduler.LambdaLR`.
///
/// `lr_t = base * f(t)` for every step `t >= 0`, `base` each group's own base rate. Not
/// serializable (the function is not saved, as in torch).
///
/// ```
/// use gradus::{LambdaLr, Optimizer, Schedule, Sgd};
/// let mut opt = Sgd::new(1.0_f64);
/// // linear warm-up over 10 steps
/// let mut s = LambdaLr::new(|step| f64::min(1.0, (step + 1) as f64 / 10.0));
/// s.start(&mut opt)?;
/// assert_eq!(opt.learning_rate(), 0.1);
/// for _ in 0..20 { s.step(&mut opt, None)?; }
/// assert_eq!(opt.learning_rate(), 1.0);
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone)]
pub struct LambdaLr {
    f: Vec<Factor>,
    clock: Clock,
}

impl LambdaLr {
    /// The rate `base * f(step)`.
    ///
    /// ```
    /// let s = gradus::LambdaLr::new(|step| 0.5_f64.powi((step / 20) as i32));
    /// # let _ = s;
    /// ```
    pub fn new(f: impl Fn(u64) -> f64 + Send + Sync + 'static) -> Self {
        LambdaLr { f: alloc::vec![Arc::new(f)], clock: Clock::default() }
    }

    /// One function per parameter group (torch's list of `lr_lambda`); the count must equal the
    /// optimizer's groups.
    ///
    /// ```
    /// use gradus::{Groups, LambdaLr, Layout, Schedule, Sgd};
    /// let mut opt = Groups::new(Layout::new().tensor("w", &[2]).tensor("b", &[1]))
    ///     .group(&["w"], Sgd::new(1.0_f64)).group(&["b"], Sgd::new(1.0));
    /// let mut s = LambdaLr::per_group(vec![Box::new(|_| 0.5), Box::new(|t| 1.0 / (t + 1) as f64)]);
    /// s.start(&mut opt)?;
    /// assert_eq!((opt.group_lr(0), opt.group_lr(1)), (Some(0.5), Some(1.0)));
    /// # Ok::<(), gradus::Error>(())
    /// ```
    pub fn per_group(fns: Vec<Box<dyn Fn(u64) -> f64 + Send + Sync>>) -> Self {
        LambdaLr { f: fns.into_iter().map(Arc::from).collect(), clock: Clock::default() }
    }
    fn validate(&self) -> Result<(), Error> {
        kernel::require(!self.f.is_empty(), "lr_lambda", 0.0, "at least one function")?;
        check_groups(self.f.len(), &self.clock)
    }
    fn initial(&self, g: usize, base: f64, _current: f64) -> f64 {
        base * (self.f[if self.f.len() == 1 { 0 } else { g }])(0)
    }
    fn next(&self, g: usize, base: f64, _current: f64) -> f64 {
        base * (self.f[if self.f.len() == 1 { 0 } else { g }])(self.clock.last_epoch)
    }
}
torch_schedule!(LambdaLr);

/// A list of per-group functions must have one per group of the attached optimizer.
fn check_groups(fns: usize, clock: &Clock) -> Result<(), Error> {
    let groups = clock.bases.len();
    kernel::require(
        fns == 1 || groups == 0 || fns == groups,
        "lr_lambda",
        fns as f64,
        "one function per parameter group of the optimizer (or one for all)",
    )
}

macro_rules! debug_without_f {
    ($($ty:ident),*) => {$(
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($ty)).field("clock", &self.clock).finish_non_exhaustive()
            }
        }
    )*};
}
debug_without_f!(MultiplicativeLr, LambdaLr);
