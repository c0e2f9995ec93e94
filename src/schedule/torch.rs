//! The schedules of `torch.optim.lr_scheduler`, with PyTorch's (recursive) formulas.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::f64::consts::PI;

use num_traits::Float;

use crate::kernel::{self, cast, to_f64};
use crate::schedule::boxed::all_or_nothing;
use crate::schedule::{AnnealStrategy, DynSchedule, Schedule};
use crate::{Error, Optimizer};

/// Where a torch-style schedule stands: each parameter group's base rate (torch's
/// `initial_lr`) and PyTorch's `last_epoch` counter.
#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(super) struct Clock {
    pub(super) bases: Vec<f64>,
    pub(super) last_epoch: u64,
}

impl Clock {
    /// Records every group's base rate (once) from the optimizer.
    pub(super) fn attach<T: Float>(&mut self, opt: &dyn Optimizer<T>) {
        if self.bases.is_empty() {
            self.bases = (0..opt.groups()).map(|g| lr(opt, g)).collect();
        }
    }

    /// The recorded base rates are rates: finite and non-negative.
    pub(super) fn check(&self) -> Result<(), Error> {
        check_bases(&self.bases)
    }

    /// The recorded base rates, if any, are one per group of `opt`.
    pub(super) fn check_groups<T: Float>(&self, opt: &dyn Optimizer<T>) -> Result<(), Error> {
        check_bases_for(&self.bases, opt)
    }
}

/// Base rates (torch's `initial_lr`) are finite and non-negative.
pub(super) fn check_bases(bases: &[f64]) -> Result<(), Error> {
    match bases.iter().find(|b| !(b.is_finite() && **b >= 0.0)) {
        Some(&b) => Err(Error::CorruptValue { field: "bases", value: b, expected: "every base rate finite and >= 0" }),
        None => Ok(()),
    }
}

/// Recorded base rates (none yet is fine) are one per parameter group of `opt`.
pub(super) fn check_bases_for<T: Float>(bases: &[f64], opt: &dyn Optimizer<T>) -> Result<(), Error> {
    if bases.is_empty() || bases.len() == opt.groups() {
        Ok(())
    } else {
        Err(Error::CorruptValue {
            field: "bases",
            value: bases.len() as f64,
            expected: "one base rate per parameter group of the optimizer",
        })
    }
}

/// The learning rate of group `g`.
pub(super) fn lr<T: Float>(opt: &dyn Optimizer<T>, g: usize) -> f64 {
    opt.group_learning_rate(g).map_or(0.0, to_f64)
}

pub(super) fn set_lr<T: Float>(opt: &mut dyn Optimizer<T>, g: usize, lr: f64) {
    opt.set_group_learning_rate(g, cast(lr));
}

/// Implements `Schedule` for a torch-style schedule from two functions of the schedule:
/// `initial(&self, base, current) -> lr at step 0` and `next(&self, base, current) -> lr`
/// (called with `last_epoch` already advanced, once per parameter group), a validation, and
/// optionally `advance(&mut self)`, called once per step before `next`.
macro_rules! torch_schedule {
    ($ty:ty) => {
        torch_schedule!($ty, |_s: &mut $ty| {});
    };
    ($ty:ty, $advance:expr) => {
        impl<T: Float> Schedule<T> for $ty {
            fn start(&mut self, optimizer: &mut dyn Optimizer<T>) -> Result<(), Error> {
                Schedule::<T>::validate(self)?;
                self.clock.check_groups(&*optimizer)?;
                if !self.clock.bases.is_empty() {
                    return Ok(()); // already attached (e.g. a resumed run)
                }
                self.clock.attach(&*optimizer);
                for (g, &base) in self.clock.bases.iter().enumerate() {
                    let current = lr(&*optimizer, g);
                    set_lr(optimizer, g, self.initial(g, base, current));
                }
                Ok(())
            }

            fn step(&mut self, optimizer: &mut dyn Optimizer<T>, _metric: Option<T>) -> Result<(), Error> {
                Schedule::<T>::validate(self)?;
                self.clock.check_groups(&*optimizer)?;
                self.clock.attach(&*optimizer);
                self.clock.last_epoch += 1;
                ($advance)(self);
                for (g, &base) in self.clock.bases.iter().enumerate() {
                    let current = lr(&*optimizer, g);
                    set_lr(optimizer, g, self.next(g, base, current));
                }
                Ok(())
            }

            fn rebase(&mut self, bases: &[f64]) {
                self.clock.bases = bases.to_vec();
            }

            fn validate(&self) -> Result<(), Error> {
                <$ty>::validate(self)?;
                self.clock.check()
            }
        }
    };
}
pub(super) use torch_schedule;

/// Multiplies the rate by `gamma` every `step_size` steps: `torch.optim.lr_scheduler.StepLR`.
///
/// `lr_t = lr_{t-1} * (t % step_size == 0 ? gamma : 1)`, i.e. `base * gamma^floor(t / step_size)`.
///
/// ```
/// use gradus::{Optimizer, Schedule, Sgd, StepLr};
/// let mut opt = Sgd::new(1.0_f64);
/// let mut s = StepLr::new(2, 0.5);
/// s.start(&mut opt)?;
/// let lrs: Vec<f64> = (0..5).map(|_| { let l = opt.learning_rate(); s.step(&mut opt, None).unwrap(); l }).collect();
/// assert_eq!(lrs, [1.0, 1.0, 0.5, 0.5, 0.25]);
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct StepLr {
    step_size: u64,
    gamma: f64,
    clock: Clock,
}

impl StepLr {
    /// Decays by `gamma` every `step_size` (>= 1) steps.
    ///
    /// ```
    /// let s = gradus::StepLr::new(30, 0.1);
    /// # let _ = s;
    /// ```
    pub fn new(step_size: u64, gamma: f64) -> Self {
        StepLr { step_size, gamma, clock: Clock::default() }
    }
    fn validate(&self) -> Result<(), Error> {
        kernel::require(self.step_size >= 1, "step_size", self.step_size as f64, "at least 1")?;
        kernel::non_negative("gamma", self.gamma)
    }
    fn initial(&self, _g: usize, _base: f64, current: f64) -> f64 {
        current
    }
    fn next(&self, _g: usize, _base: f64, current: f64) -> f64 {
        if self.clock.last_epoch % self.step_size == 0 {
            current * self.gamma
        } else {
            current
        }
    }
}
torch_schedule!(StepLr);

/// Multiplies the rate by `gamma` at each milestone: `torch.optim.lr_scheduler.MultiStepLR`.
///
/// ```
/// use gradus::{MultiStepLr, Optimizer, Schedule, Sgd};
/// let mut opt = Sgd::new(1.0_f64);
/// let mut s = MultiStepLr::new(&[1, 3], 0.1);
/// for _ in 0..3 { s.step(&mut opt, None)?; }
/// assert!((opt.learning_rate() - 0.01).abs() < 1e-15);
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MultiStepLr {
    milestones: Vec<u64>,
    gamma: f64,
    clock: Clock,
}

impl MultiStepLr {
    /// Decays by `gamma` at each of `milestones` (a milestone listed `k` times decays by `gamma^k`).
    ///
    /// ```
    /// let s = gradus::MultiStepLr::new(&[30, 80], 0.1);
    /// # let _ = s;
    /// ```
    pub fn new(milestones: &[u64], gamma: f64) -> Self {
        MultiStepLr { milestones: milestones.to_vec(), gamma, clock: Clock::default() }
    }
    fn validate(&self) -> Result<(), Error> {
        kernel::non_negative("gamma", self.gamma)
    }
    fn initial(&self, _g: usize, _base: f64, current: f64) -> f64 {
        current
    }
    fn next(&self, _g: usize, _base: f64, current: f64) -> f64 {
        let hits = self.milestones.iter().filter(|&&m| m == self.clock.last_epoch).count();
        if hits == 0 {
            current
        } else {
            current * Float::powi(self.gamma, hits as i32)
        }
    }
}
torch_schedule!(MultiStepLr);

/// Multiplies the rate by `gamma` every step: `torch.optim.lr_scheduler.ExponentialLR`.
///
/// ```
/// use gradus::{ExponentialLr, Optimizer, Schedule, Sgd};
/// let mut opt = Sgd::new(1.0_f64);
/// let mut s = ExponentialLr::new(0.5);
/// s.step(&mut opt, None)?;
/// assert_eq!(opt.learning_rate(), 0.5);
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ExponentialLr {
    gamma: f64,
    clock: Clock,
}

impl ExponentialLr {
    /// Decays by `gamma` every step.
    ///
    /// ```
    /// let s = gradus::ExponentialLr::new(0.95);
    /// # let _ = s;
    /// ```
    pub fn new(gamma: f64) -> Self {
        ExponentialLr { gamma, clock: Clock::default() }
    }
    fn validate(&self) -> Result<(), Error> {
        kernel::non_negative("gamma", self.gamma)
    }
    fn initial(&self, _g: usize, _base: f64, current: f64) -> f64 {
        current
    }
    fn next(&self, _g: usize, _base: f64, current: f64) -> f64 {
        current * self.gamma
    }
}
torch_schedule!(ExponentialLr);

/// Cosine annealing from the base rate to `eta_min` over `t_max` steps (and back, periodically):
/// `torch.optim.lr_scheduler.CosineAnnealingLR`, in its recursive form.
///
/// Closed form: `eta_min + (base - eta_min)*(1 + cos(pi*t/t_max))/2`.
///
/// ```
/// use gradus::{CosineAnnealingLr, Optimizer, Schedule, Sgd};
/// let mut opt = Sgd::new(1.0_f64);
/// let mut s = CosineAnnealingLr::new(4, 0.0);
/// s.start(&mut opt)?;
/// for _ in 0..2 { s.step(&mut opt, None)?; }
/// assert!((opt.learning_rate() - 0.5).abs() < 1e-12);
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct CosineAnnealingLr {
    t_max: u64,
    eta_min: f64,
    clock: Clock,
}

impl CosineAnnealingLr {
    /// Anneals over `t_max` (>= 1) steps down to `eta_min`.
    ///
    /// ```
    /// let s = gradus::CosineAnnealingLr::new(100, 0.0);
    /// # let _ = s;
    /// ```
    pub fn new(t_max: u64, eta_min: f64) -> Self {
        CosineAnnealingLr { t_max, eta_min, clock: Clock::default() }
    }
    fn validate(&self) -> Result<(), Error> {
        kernel::require(self.t_max >= 1, "t_max", self.t_max as f64, "at least 1")?;
        kernel::non_negative("eta_min", self.eta_min)
    }
    fn initial(&self, _g: usize, _base: f64, current: f64) -> f64 {
        current
    }
    fn next(&self, _g: usize, base: f64, current: f64) -> f64 {
        let (t, tm, e) = (self.clock.last_epoch as f64, self.t_max as f64, self.eta_min);
        if (self.clock.last_epoch as i128 - 1 - self.t_max as i128).rem_euclid(2 * self.t_max as i128) == 0 {
            current + (base - e) * (1.0 - Float::cos(PI / tm)) / 2.0
        } else {
            (1.0 + Float::cos(PI * t / tm)) / (1.0 + Float::cos(PI * (t - 1.0) / tm)) * (current - e) + e
        }
    }
}
torch_schedule!(CosineAnnealingLr);

/// Cosine annealing with warm restarts (SGDR): `torch.optim.lr_scheduler.CosineAnnealingWarmRestarts`.
///
/// `lr = eta_min + (base - eta_min)*(1 + cos(pi*t_cur/t_i))/2`; after `t_i` steps `t_cur`
/// restarts at 0 and `t_i` is multiplied by `t_mult`.
///
/// ```
/// use gradus::{CosineAnnealingWarmRestarts, Optimizer, Schedule, Sgd};
/// let mut opt = Sgd::new(1.0_f64);
/// let mut s = CosineAnnealingWarmRestarts::new(2, 1, 0.0);
/// for _ in 0..2 { s.step(&mut opt, None)?; }
/// assert_eq!(opt.learning_rate(), 1.0); // restarted
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct CosineAnnealingWarmRestarts {
    t_0: u64,
    t_mult: u64,
    eta_min: f64,
    t_i: u64,
    t_cur: u64,
    clock: Clock,
}

impl CosineAnnealingWarmRestarts {
    /// First period `t_0` (>= 1) steps, each next period `t_mult` (>= 1) times longer, floor `eta_min`.
    ///
    /// ```
    /// let s = gradus::CosineAnnealingWarmRestarts::new(10, 2, 0.0);
    /// # let _ = s;
    /// ```
    pub fn new(t_0: u64, t_mult: u64, eta_min: f64) -> Self {
        CosineAnnealingWarmRestarts { t_0, t_mult, eta_min, t_i: t_0, t_cur: 0, clock: Clock::default() }
    }
    fn validate(&self) -> Result<(), Error> {
        kernel::require(self.t_0 >= 1, "t_0", self.t_0 as f64, "at least 1")?;
        kernel::require(self.t_mult >= 1, "t_mult", self.t_mult as f64, "at least 1")?;
        kernel::non_negative("eta_min", self.eta_min)?;
        if self.t_i < self.t_0 {
            return Err(Error::CorruptValue {
                field: "t_i",
                value: self.t_i as f64,
                expected: "a period at least t_0 long",
            });
        }
        if self.t_cur >= self.t_i {
            return Err(Error::CorruptValue {
                field: "t_cur",
                value: self.t_cur as f64,
                expected: "a position inside the period t_i",
            });
        }
        Ok(())
    }
    fn initial(&self, _g: usize, base: f64, _current: f64) -> f64 {
        self.at(base)
    }
    fn at(&self, base: f64) -> f64 {
        self.eta_min + (base - self.eta_min) * (1.0 + Float::cos(PI * self.t_cur as f64 / self.t_i as f64)) / 2.0
    }
    fn advance(&mut self) {
        self.t_cur += 1;
        if self.t_cur >= self.t_i {
            self.t_cur -= self.t_i;
            self.t_i = self.t_i.saturating_mul(self.t_mult);
        }
    }
    fn next(&self, _g: usize, base: f64, _current: f64) -> f64 {
        self.at(base)
    }
}
torch_schedule!(CosineAnnealingWarmRestarts, CosineAnnealingWarmRestarts::advance);

/// Linear warm-up (or decay) of a factor from `start_factor` to `end_factor` over `total_iters`
/// steps: `torch.optim.lr_scheduler.LinearLR`. PyTorch's defaults are `(1/3, 1.0, 5)`.
///
/// ```
/// use gradus::{LinearLr, Optimizer, Schedule, Sgd};
/// let mut opt = Sgd::new(1.0_f64);
/// let mut s = LinearLr::new(0.5, 1.0, 2);
/// s.start(&mut opt)?;
/// assert_eq!(opt.learning_rate(), 0.5);
/// s.step(&mut opt, None)?;
/// s.step(&mut opt, None)?;
/// assert_eq!(opt.learning_rate(), 1.0);
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LinearLr {
    start_factor: f64,
    end_factor: f64,
    total_iters: u64,
    clock: Clock,
}

impl LinearLr {
    /// From `start_factor * base` (0 < start_factor <= 1) to `end_factor * base`
    /// (0 <= end_factor <= 1) in `total_iters` steps.
    ///
    /// ```
    /// let s = gradus::LinearLr::new(1.0 / 3.0, 1.0, 5);
    /// # let _ = s;
    /// ```
    pub fn new(start_factor: f64, end_factor: f64, total_iters: u64) -> Self {
        LinearLr { start_factor, end_factor, total_iters, clock: Clock::default() }
    }
    fn validate(&self) -> Result<(), Error> {
        kernel::require(
            self.start_factor > 0.0 && self.start_factor <= 1.0,
            "start_factor",
            self.start_factor,
            "a value in (0, 1]",
        )?;
        kernel::unit_closed("end_factor", self.end_factor)
    }
    fn initial(&self, _g: usize, _base: f64, current: f64) -> f64 {
        current * self.start_factor
    }
    fn next(&self, _g: usize, _base: f64, current: f64) -> f64 {
        let t = self.clock.last_epoch;
        if t > self.total_iters {
            return current;
        }
        let (s, e) = (self.start_factor, self.end_factor);
        current * (1.0 + (e - s) / (self.total_iters as f64 * s + (t - 1) as f64 * (e - s)))
    }
}
torch_schedule!(LinearLr);

/// The one-cycle policy: `torch.optim.lr_scheduler.OneCycleLR` (two phases, cosine annealing,
/// momentum cycling on by default).
///
/// The rate rises from `max_lr/div_factor` to `max_lr` over the first `pct_start` of
/// `total_steps`, then falls to `max_lr/(div_factor*final_div_factor)`; the momentum (SGD's
/// `momentum`, Adam's `beta1`) moves the opposite way between `max_momentum` and
/// `base_momentum`. Defaults: `pct_start` 0.3, `div_factor` 25, `final_div_factor` 1e4,
/// momenta (0.85, 0.95).
///
/// ```
/// use gradus::{OneCycleLr, Optimizer, Schedule, Sgd};
/// let mut opt = Sgd::new(0.1_f64).momentum(0.9);
/// let mut s = OneCycleLr::new(0.1, 100);
/// s.start(&mut opt)?;
/// assert!((opt.learning_rate() - 0.004).abs() < 1e-15);
/// assert_eq!(Optimizer::momentum(&opt), Some(0.95));
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct OneCycleLr {
    max_lrs: Vec<f64>,
    total_steps: u64,
    pct_start: f64,
    div_factor: f64,
    final_div_factor: f64,
    cycle_momentum: bool,
    momenta: (f64, f64),
    anneal_strategy: AnnealStrategy,
    three_phase: bool,
    #[cfg_attr(feature = "serde", serde(default))]
    group_momenta: Vec<(f64, f64)>,
    last_epoch: u64,
    started: bool,
}

impl OneCycleLr {
    /// A cycle peaking at `max_lr` over `total_steps` (>= 2) steps, with PyTorch's defaults.
    ///
    /// ```
    /// let s = gradus::OneCycleLr::new(0.1, 1000);
    /// # let _ = s;
    /// ```
    pub fn new(max_lr: f64, total_steps: u64) -> Self {
        OneCycleLr::with_max_lrs(&[max_lr], total_steps)
    }

    /// A cycle over several parameter groups (a [`Groups`](crate::Groups)), group `g` peaking
    /// at `max_lrs[g]`: torch's `OneCycleLR(max_lr=[...])`. A single value applies to every
    /// group; otherwise the count must equal the optimizer's [`groups`](Optimizer::groups).
    ///
    /// ```
    /// use gradus::{Groups, Layout, OneCycleLr, Schedule, Sgd};
    /// let mut opt = Groups::new(Layout::new().tensor("w", &[2]).tensor("b", &[1]))
    ///     .group(&["w"], Sgd::new(0.1_f64).momentum(0.9))
    ///     .group(&["b"], Sgd::new(0.1).momentum(0.9));
    /// let mut s = OneCycleLr::with_max_lrs(&[0.1, 1.0], 100);
    /// s.start(&mut opt)?;
    /// // each group starts at its own max_lr / div_factor (25)
    /// assert!((opt.group_lr(0).unwrap() - 0.004).abs() < 1e-15);
    /// assert!((opt.group_lr(1).unwrap() - 0.04).abs() < 1e-15);
    /// # Ok::<(), gradus::Error>(())
    /// ```
    pub fn with_max_lrs(max_lrs: &[f64], total_steps: u64) -> Self {
        OneCycleLr {
            max_lrs: max_lrs.to_vec(),
            total_steps,
            pct_start: 0.3,
            div_factor: 25.0,
            final_div_factor: 1e4,
            cycle_momentum: true,
            momenta: (0.85, 0.95),
            anneal_strategy: AnnealStrategy::Cos,
            three_phase: false,
            group_momenta: Vec::new(),
            last_epoch: 0,
            started: false,
        }
    }

    /// Fraction of the cycle spent increasing the rate, in `(0, 1)` (default 0.3).
    ///
    /// ```
    /// let s = gradus::OneCycleLr::new(0.1, 1000).pct_start(0.25);
    /// # let _ = s;
    /// ```
    pub fn pct_start(mut self, pct_start: f64) -> Self {
        self.pct_start = pct_start;
        self
    }

    /// Initial rate `max_lr/div_factor` and final rate `initial/final_div_factor` (default 25, 1e4).
    ///
    /// ```
    /// let s = gradus::OneCycleLr::new(0.1, 1000).div_factors(10.0, 100.0);
    /// # let _ = s;
    /// ```
    pub fn div_factors(mut self, div_factor: f64, final_div_factor: f64) -> Self {
        self.div_factor = div_factor;
        self.final_div_factor = final_div_factor;
        self
    }

    /// Cycle the momentum between `base` and `max` (default on, 0.85 and 0.95); `None` turns the
    /// cycling off.
    ///
    /// ```
    /// let s = gradus::OneCycleLr::new(0.1, 1000).cycle_momentum(Some((0.8, 0.9)));
    /// # let _ = s;
    /// ```
    pub fn cycle_momentum(mut self, momenta: Option<(f64, f64)>) -> Self {
        self.cycle_momentum = momenta.is_some();
        if let Some(m) = momenta {
            self.momenta = m;
        }
        self
    }

    fn validate(&self) -> Result<(), Error> {
        kernel::require(!self.max_lrs.is_empty(), "max_lrs", 0.0, "at least one max_lr")?;
        for &m in &self.max_lrs {
            kernel::positive("max_lr", m)?;
        }
        kernel::require(self.total_steps >= 2, "total_steps", self.total_steps as f64, "at least 2")?;
        kernel::require(
            self.pct_start > 0.0 && self.pct_start < 1.0,
            "pct_start",
            self.pct_start,
            "a value in (0, 1)",
        )?;
        kernel::positive("div_factor", self.div_factor)?;
        kernel::positive("final_div_factor", self.final_div_factor)?;
        for &(b, m) in core::iter::once(&self.momenta).chain(&self.group_momenta) {
            kernel::unit("base_momentum", b)?;
            kernel::unit("max_momentum", m)?;
        }
        Ok(())
    }

    /// How the rate moves within a phase (default [`AnnealStrategy::Cos`]): torch's
    /// `anneal_strategy`.
    ///
    /// ```
    /// use gradus::{AnnealStrategy, OneCycleLr};
    /// let s = OneCycleLr::new(0.1, 1000).anneal_strategy(AnnealStrategy::Linear);
    /// # let _ = s;
    /// ```
    pub fn anneal_strategy(mut self, strategy: AnnealStrategy) -> Self {
        self.anneal_strategy = strategy;
        self
    }

    /// torch's `three_phase`: up to `max_lr` over `pct_start` of the steps, back down to the
    /// initial rate over as many, then to the final rate (default `false`: two phases, the
    /// second ending at the final rate).
    ///
    /// ```
    /// let s = gradus::OneCycleLr::new(0.1, 1000).three_phase(true);
    /// # let _ = s;
    /// ```
    pub fn three_phase(mut self, three_phase: bool) -> Self {
        self.three_phase = three_phase;
        self
    }

    fn anneal(&self, start: f64, end: f64, pct: f64) -> f64 {
        match self.anneal_strategy {
            AnnealStrategy::Cos => {
                let cos_out = Float::cos(PI * pct) + 1.0;
                end + (start - end) / 2.0 * cos_out
            }
            AnnealStrategy::Linear => (end - start) * pct + start,
        }
    }

    /// One `(base_momentum, max_momentum)` pair per parameter group (torch's lists), cycling
    /// on; the count must equal the optimizer's groups.
    ///
    /// ```
    /// let s = gradus::OneCycleLr::with_max_lrs(&[0.1, 0.01], 100).momenta_per_group(&[(0.85, 0.95), (0.8, 0.9)]);
    /// # let _ = s;
    /// ```
    pub fn momenta_per_group(mut self, momenta: &[(f64, f64)]) -> Self {
        self.cycle_momentum = true;
        self.group_momenta = momenta.to_vec();
        self
    }

    /// `(lr, momentum)` at step `t` for a group peaking at `max_lr` with `momenta`: torch's phases.
    fn at(&self, t: u64, max_lr: f64, momenta: (f64, f64)) -> (f64, f64) {
        let initial = max_lr / self.div_factor;
        let min_lr = initial / self.final_div_factor;
        let (base_m, max_m) = momenta;
        let total = self.total_steps as f64;
        // (end step, start lr, end lr, start momentum, end momentum)
        let two = [
            (self.pct_start * total - 1.0, initial, max_lr, max_m, base_m),
            (total - 1.0, max_lr, min_lr, base_m, max_m),
        ];
        let three = [
            (self.pct_start * total - 1.0, initial, max_lr, max_m, base_m),
            (2.0 * self.pct_start * total - 2.0, max_lr, initial, base_m, max_m),
            (total - 1.0, initial, min_lr, max_m, max_m),
        ];
        let phases: &[(f64, f64, f64, f64, f64)] = if self.three_phase { &three } else { &two };
        let t = t as f64;
        let mut start_step = 0.0;
        for (i, &(end, lr0, lr1, m0, m1)) in phases.iter().enumerate() {
            if t <= end || i == phases.len() - 1 {
                let pct = (t - start_step) / (end - start_step);
                return (self.anneal(lr0, lr1, pct), self.anneal(m0, m1, pct));
            }
            start_step = end;
        }
        unreachable!("the last phase always matches")
    }

    /// What `apply` would refuse about this optimizer, checked before anything is written.
    fn check<T: Float>(&self, optimizer: &dyn Optimizer<T>) -> Result<(), Error> {
        let groups = optimizer.groups();
        if self.max_lrs.len() != 1 && self.max_lrs.len() != groups {
            return Err(Error::InvalidHyperparameter {
                name: "max_lrs",
                value: self.max_lrs.len() as f64,
                expected: "one max_lr per parameter group of the optimizer (or one for all)",
            });
        }
        if !self.group_momenta.is_empty() && self.group_momenta.len() != groups {
            return Err(Error::InvalidHyperparameter {
                name: "momenta_per_group",
                value: self.group_momenta.len() as f64,
                expected: "one (base, max) momentum pair per parameter group of the optimizer",
            });
        }
        if self.cycle_momentum {
            if let Some(g) = (0..groups).find(|&g| optimizer.group_momentum(g).is_none()) {
                return Err(Error::InvalidHyperparameter {
                    name: "cycle_momentum",
                    value: g as f64,
                    expected: "an optimizer with a momentum (or beta1) in every group; turn cycling off with cycle_momentum(None)",
                });
            }
        }
        Ok(())
    }

    /// Sets every group's rate (and momentum) for `last_epoch`; `check` has passed.
    fn apply<T: Float>(&self, optimizer: &mut dyn Optimizer<T>) {
        for g in 0..optimizer.groups() {
            let max_lr = self.max_lrs[if self.max_lrs.len() == 1 { 0 } else { g }];
            let momenta = if self.group_momenta.is_empty() { self.momenta } else { self.group_momenta[g] };
            let (lr, m) = self.at(self.last_epoch, max_lr, momenta);
            set_lr(optimizer, g, lr);
            if self.cycle_momentum {
                let set = optimizer.set_group_momentum(g, cast(m));
                debug_assert!(set, "check found a momentum");
            }
        }
    }
}

impl<T: Float> Schedule<T> for OneCycleLr {
    fn validate(&self) -> Result<(), Error> {
        OneCycleLr::validate(self)
    }

    fn start(&mut self, optimizer: &mut dyn Optimizer<T>) -> Result<(), Error> {
        self.validate()?;
        if self.started {
            return Ok(()); // already attached (e.g. a resumed run)
        }
        self.check(&*optimizer)?;
        self.started = true;
        self.apply(optimizer);
        Ok(())
    }

    fn step(&mut self, optimizer: &mut dyn Optimizer<T>, _metric: Option<T>) -> Result<(), Error> {
        self.validate()?;
        if self.last_epoch >= self.total_steps {
            // torch raises "Tried to step {n} times" here too
            return Err(Error::ScheduleFinished { steps: self.last_epoch + 1, total_steps: self.total_steps });
        }
        self.check(&*optimizer)?;
        self.started = true;
        self.last_epoch += 1;
        self.apply(optimizer);
        Ok(())
    }
}

/// Whether a smaller or a larger metric is better for [`ReduceLrOnPlateau`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum PlateauMode {
    /// Lower is better (a loss).
    Min,
    /// Higher is better (an accuracy).
    Max,
}

/// How [`ReduceLrOnPlateau`] measures an improvement: torch's `threshold_mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum ThresholdMode {
    /// Better than `best * (1 - threshold)` (`Min`) or `best * (1 + threshold)` (`Max`): the default.
    Rel,
    /// Better than `best - threshold` (`Min`) or `best + threshold` (`Max`).
    Abs,
}

/// Reduces the rate by `factor` when the metric stops improving for `patience` steps:
/// `torch.optim.lr_scheduler.ReduceLROnPlateau` (relative threshold 1e-4, cooldown 0,
/// `min_lr` 0, eps 1e-8 by default).
///
/// `step` needs the metric (`fit` passes the loss); without one it returns
/// [`Error::InvalidHyperparameter`] for `metric`.
///
/// ```
/// use gradus::{Optimizer, PlateauMode, ReduceLrOnPlateau, Schedule, Sgd};
/// let mut opt = Sgd::new(1.0_f64);
/// let mut s = ReduceLrOnPlateau::new(PlateauMode::Min, 0.5, 1);
/// for loss in [3.0, 2.0, 2.0, 2.0] {
///     s.step(&mut opt, Some(loss))?;
/// }
/// assert_eq!(opt.learning_rate(), 0.5);
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ReduceLrOnPlateau {
    mode: PlateauMode,
    factor: f64,
    patience: u64,
    threshold: f64,
    threshold_mode: ThresholdMode,
    cooldown: u64,
    min_lrs: Vec<f64>,
    eps: f64,
    best: Option<f64>,
    num_bad: u64,
    cooldown_counter: u64,
}

impl ReduceLrOnPlateau {
    /// Multiplies the rate by `factor` (in `[0, 1)`) after more than `patience` steps without
    /// improvement.
    ///
    /// ```
    /// use gradus::{PlateauMode, ReduceLrOnPlateau};
    /// let s = ReduceLrOnPlateau::new(PlateauMode::Min, 0.1, 10);
    /// # let _ = s;
    /// ```
    pub fn new(mode: PlateauMode, factor: f64, patience: u64) -> Self {
        ReduceLrOnPlateau {
            mode,
            factor,
            patience,
            threshold: 1e-4,
            threshold_mode: ThresholdMode::Rel,
            cooldown: 0,
            min_lrs: alloc::vec![0.0],
            eps: 1e-8,
            best: None,
            num_bad: 0,
            cooldown_counter: 0,
        }
    }

    /// Relative improvement needed to count as better (default 1e-4).
    ///
    /// ```
    /// let s = gradus::ReduceLrOnPlateau::new(gradus::PlateauMode::Min, 0.1, 10).threshold(1e-3);
    /// # let _ = s;
    /// ```
    pub fn threshold(mut self, threshold: f64) -> Self {
        self.threshold = threshold;
        self
    }

    /// Steps to wait after a reduction before counting again (default 0).
    ///
    /// ```
    /// let s = gradus::ReduceLrOnPlateau::new(gradus::PlateauMode::Min, 0.1, 10).cooldown(5);
    /// # let _ = s;
    /// ```
    pub fn cooldown(mut self, cooldown: u64) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// Lower bound of the rate (default 0).
    ///
    /// ```
    /// let s = gradus::ReduceLrOnPlateau::new(gradus::PlateauMode::Min, 0.1, 10).min_lr(1e-6);
    /// # let _ = s;
    /// ```
    pub fn min_lr(mut self, min_lr: f64) -> Self {
        self.min_lrs = alloc::vec![min_lr];
        self
    }

    /// One lower bound per parameter group (torch's `min_lr` as a list); the count must equal
    /// the optimizer's [`groups`](Optimizer::groups).
    ///
    /// ```
    /// let s = gradus::ReduceLrOnPlateau::new(gradus::PlateauMode::Min, 0.1, 10).min_lrs(&[1e-6, 0.0]);
    /// # let _ = s;
    /// ```
    pub fn min_lrs(mut self, min_lrs: &[f64]) -> Self {
        self.min_lrs = min_lrs.to_vec();
        self
    }

    /// Whether `threshold` is relative or absolute (default [`ThresholdMode::Rel`]).
    ///
    /// ```
    /// use gradus::{PlateauMode, ReduceLrOnPlateau, ThresholdMode};
    /// let s = ReduceLrOnPlateau::new(PlateauMode::Min, 0.1, 10).threshold_mode(ThresholdMode::Abs);
    /// # let _ = s;
    /// ```
    pub fn threshold_mode(mut self, mode: ThresholdMode) -> Self {
        self.threshold_mode = mode;
        self
    }

    /// Smallest change of the rate that is applied (default 1e-8): a reduction by less is
    /// skipped.
    ///
    /// ```
    /// let s = gradus::ReduceLrOnPlateau::new(gradus::PlateauMode::Min, 0.1, 10).eps(0.0);
    /// # let _ = s;
    /// ```
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// torch's `_is_better`, with `best` starting at the worst value of the mode.
    fn is_better(&self, a: f64) -> bool {
        let best = self.best.unwrap_or(match self.mode {
            PlateauMode::Min => f64::INFINITY,
            PlateauMode::Max => f64::NEG_INFINITY,
        });
        match (self.mode, self.threshold_mode) {
            (PlateauMode::Min, ThresholdMode::Rel) => a < best * (1.0 - self.threshold),
            (PlateauMode::Min, ThresholdMode::Abs) => a < best - self.threshold,
            (PlateauMode::Max, ThresholdMode::Rel) => a > best * (self.threshold + 1.0),
            (PlateauMode::Max, ThresholdMode::Abs) => a > best + self.threshold,
        }
    }

    fn validate(&self) -> Result<(), Error> {
        kernel::unit("factor", self.factor)?;
        kernel::non_negative("threshold", self.threshold)?;
        kernel::non_negative("eps", self.eps)?;
        kernel::require(!self.min_lrs.is_empty(), "min_lrs", 0.0, "at least one min_lr")?;
        for &m in &self.min_lrs {
            kernel::non_negative("min_lr", m)?;
        }
        if self.best.is_some_and(|b| !b.is_finite()) {
            return Err(Error::CorruptValue {
                field: "best",
                value: self.best.unwrap_or_default(),
                expected: "a finite best metric (or none yet)",
            });
        }
        if self.num_bad > self.patience {
            return Err(Error::CorruptValue {
                field: "num_bad",
                value: self.num_bad as f64,
                expected: "at most patience bad steps (more reduce the rate and restart the count)",
            });
        }
        if self.cooldown_counter > self.cooldown {
            return Err(Error::CorruptValue {
                field: "cooldown_counter",
                value: self.cooldown_counter as f64,
                expected: "at most cooldown steps left to cool down",
            });
        }
        Ok(())
    }
}

impl<T: Float> Schedule<T> for ReduceLrOnPlateau {
    fn validate(&self) -> Result<(), Error> {
        ReduceLrOnPlateau::validate(self)
    }

    fn step(&mut self, optimizer: &mut dyn Optimizer<T>, metric: Option<T>) -> Result<(), Error> {
        self.validate()?;
        let groups = optimizer.groups();
        if self.min_lrs.len() != 1 && self.min_lrs.len() != groups {
            return Err(Error::InvalidHyperparameter {
                name: "min_lrs",
                value: self.min_lrs.len() as f64,
                expected: "one min_lr per parameter group of the optimizer (or one for all)",
            });
        }
        let current = metric.map(to_f64).ok_or(Error::MissingMetric)?;
        if self.is_better(current) {
            self.best = Some(current);
            self.num_bad = 0;
        } else {
            self.num_bad += 1;
        }
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.num_bad = 0;
        }
        if self.num_bad > self.patience {
            for g in 0..groups {
                let old = lr(&*optimizer, g);
                let new = f64::max(old * self.factor, self.min_lrs[if self.min_lrs.len() == 1 { 0 } else { g }]);
                if old - new > self.eps {
                    set_lr(optimizer, g, new);
                }
            }
            self.cooldown_counter = self.cooldown;
            self.num_bad = 0;
        }
        Ok(())
    }
}

/// Runs schedules one after another, switching at the given steps (e.g. linear warm-up then
/// cosine annealing): `torch.optim.lr_scheduler.SequentialLR`.
///
/// At each milestone the optimizer's rate is reset to the base rate recorded at the start and
/// the next schedule is started from it.
///
/// It holds its schedules as [`DynSchedule`]s, so it is `Clone`, `Debug` and `Send + Sync`, and,
/// with `serde`, serializable when every schedule in it is one of the crate's without a closure
/// (serializing one of your own, or a `LambdaLr`, is an error naming its type).
///
/// ```
/// use gradus::{CosineAnnealingLr, LinearLr, Optimizer, Schedule, Sequential, Sgd};
/// let mut opt = Sgd::new(1.0_f64);
/// let mut s = Sequential::new(vec![Box::new(LinearLr::new(0.1, 1.0, 5)), Box::new(CosineAnnealingLr::new(10, 0.0))], &[5]);
/// s.start(&mut opt)?;
/// assert!((opt.learning_rate() - 0.1).abs() < 1e-15);
/// for _ in 0..5 { s.step(&mut opt, None)?; }
/// assert_eq!(opt.learning_rate(), 1.0); // warm-up done, cosine starts at the base rate
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(bound = "T: Float + 'static"))]
pub struct Sequential<T: Float> {
    schedules: Vec<Box<dyn DynSchedule<T>>>,
    milestones: Vec<u64>,
    bases: Vec<f64>,
    count: u64,
}

impl<T: Float> Sequential<T> {
    /// `schedules[i]` runs from `milestones[i-1]` (0 for the first) to `milestones[i]`; needs
    /// one milestone fewer than schedules, in increasing order.
    ///
    /// ```
    /// use gradus::{ExponentialLr, Sequential, StepLr};
    /// let s = Sequential::<f64>::new(vec![Box::new(StepLr::new(2, 0.5)), Box::new(ExponentialLr::new(0.9))], &[10]);
    /// # let _ = s;
    /// ```
    pub fn new(schedules: Vec<Box<dyn DynSchedule<T>>>, milestones: &[u64]) -> Self {
        Sequential { schedules, milestones: milestones.to_vec(), bases: Vec::new(), count: 0 }
    }

    fn validate(&self) -> Result<(), Error> {
        kernel::require(
            self.milestones.len() + 1 == self.schedules.len(),
            "milestones",
            self.milestones.len() as f64,
            "one milestone fewer than schedules",
        )?;
        kernel::require(
            self.milestones.windows(2).all(|w| w[0] < w[1]),
            "milestones",
            self.milestones.len() as f64,
            "strictly increasing milestones",
        )
    }

    /// Records every group's base rate (once).
    fn attach(&mut self, optimizer: &dyn Optimizer<T>) {
        if self.bases.is_empty() {
            self.bases = (0..optimizer.groups()).map(|g| lr(optimizer, g)).collect();
        }
    }

    fn current(&self) -> usize {
        self.milestones.iter().filter(|&&m| m <= self.count).count()
    }
}

impl<T: Float> Schedule<T> for Sequential<T> {
    fn validate(&self) -> Result<(), Error> {
        Sequential::validate(self)?;
        check_bases(&self.bases)?;
        self.schedules.iter().try_for_each(|s| s.validate())
    }

    fn rebase(&mut self, bases: &[f64]) {
        self.bases = bases.to_vec();
        for s in &mut self.schedules {
            s.rebase(bases);
        }
    }

    fn start(&mut self, optimizer: &mut dyn Optimizer<T>) -> Result<(), Error> {
        Schedule::validate(self)?;
        check_bases_for(&self.bases, &*optimizer)?;
        if !self.bases.is_empty() {
            return Ok(()); // already attached
        }
        all_or_nothing(self, optimizer, |this, optimizer| {
            this.attach(&*optimizer);
            this.schedules[0].start(optimizer)
        })
    }

    fn step(&mut self, optimizer: &mut dyn Optimizer<T>, metric: Option<T>) -> Result<(), Error> {
        Schedule::validate(self)?;
        check_bases_for(&self.bases, &*optimizer)?;
        all_or_nothing(self, optimizer, |this, optimizer| {
            this.attach(&*optimizer);
            this.count += 1;
            let i = this.current();
            if i > 0 && this.milestones[i - 1] == this.count {
                for (g, &base) in this.bases.iter().enumerate() {
                    set_lr(optimizer, g, base);
                }
                this.schedules[i].start(optimizer)
            } else {
                this.schedules[i].step(optimizer, metric)
            }
        })
    }
}
