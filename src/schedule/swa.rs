//! The learning rate of stochastic weight averaging: `torch.optim.swa_utils.SWALR`.

use alloc::vec::Vec;

use num_traits::Float;

use super::torch::{lr, set_lr};
use crate::kernel;
use crate::schedule::{AnnealStrategy, Schedule};
use crate::{Error, Optimizer};

/// Anneals every group's rate to `swa_lr` over `anneal_epochs` steps, then holds it:
/// `torch.optim.swa_utils.SWALR`, for the late phase of training whose iterates are averaged
/// (stochastic weight averaging).
///
/// At step `k` (0 when started; `k = max(1, k)` when `anneal_epochs` is 0), with
/// `f(t) = t` (linear) or `(1 - cos(pi*t))/2` (cos, the default):
///
/// ```text
/// prev  = f(clamp((k - 1)/max(1, anneal_epochs), 0, 1))
/// start = prev == 1 ? swa_lr : (lr - prev*swa_lr) / (1 - prev)   // the rate annealing began from
/// a     = f(clamp(k/max(1, anneal_epochs), 0, 1))
/// lr    = swa_lr*a + start*(1 - a)
/// ```
///
/// ```
/// use gradus::{Optimizer, Schedule, Sgd, SwaLr};
/// let mut opt = Sgd::new(0.1_f64);
/// let mut s = SwaLr::new(0.05, 4);
/// s.start(&mut opt)?;
/// for _ in 0..4 { s.step(&mut opt, None)?; }
/// assert!((opt.learning_rate() - 0.05).abs() < 1e-15);
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SwaLr {
    swa_lrs: Vec<f64>,
    anneal_epochs: u64,
    anneal_strategy: AnnealStrategy,
    step: Option<u64>,
}

impl SwaLr {
    /// Anneal to `swa_lr` over `anneal_epochs` steps (torch's default 10), cosine.
    ///
    /// ```
    /// let s = gradus::SwaLr::new(0.05, 10);
    /// # let _ = s;
    /// ```
    pub fn new(swa_lr: f64, anneal_epochs: u64) -> Self {
        SwaLr::with_swa_lrs(&[swa_lr], anneal_epochs)
    }

    /// One `swa_lr` per parameter group (torch's list); a single value applies to every group.
    ///
    /// ```
    /// let s = gradus::SwaLr::with_swa_lrs(&[0.05, 0.01], 10);
    /// # let _ = s;
    /// ```
    pub fn with_swa_lrs(swa_lrs: &[f64], anneal_epochs: u64) -> Self {
        SwaLr { swa_lrs: swa_lrs.to_vec(), anneal_epochs, anneal_strategy: AnnealStrategy::Cos, step: None }
    }

    /// The annealing curve (default [`AnnealStrategy::Cos`]).
    ///
    /// ```
    /// let s = gradus::SwaLr::new(0.05, 10).anneal_strategy(gradus::AnnealStrategy::Linear);
    /// # let _ = s;
    /// ```
    pub fn anneal_strategy(mut self, strategy: AnnealStrategy) -> Self {
        self.anneal_strategy = strategy;
        self
    }

    fn validate(&self) -> Result<(), Error> {
        kernel::require(!self.swa_lrs.is_empty(), "swa_lrs", 0.0, "at least one swa_lr")?;
        self.swa_lrs.iter().try_for_each(|&l| kernel::non_negative("swa_lr", l))
    }

    fn f(&self, t: f64) -> f64 {
        match self.anneal_strategy {
            AnnealStrategy::Linear => t,
            AnnealStrategy::Cos => (1.0 - Float::cos(core::f64::consts::PI * t)) / 2.0,
        }
    }

    fn apply<T: Float>(&self, optimizer: &mut dyn Optimizer<T>, step: u64) -> Result<(), Error> {
        let groups = optimizer.groups();
        if self.swa_lrs.len() != 1 && self.swa_lrs.len() != groups {
            return Err(Error::InvalidHyperparameter {
                name: "swa_lrs",
                value: self.swa_lrs.len() as f64,
                expected: "one swa_lr per parameter group of the optimizer (or one for all)",
            });
        }
        let step = if self.anneal_epochs == 0 { step.max(1) } else { step } as f64;
        let epochs = self.anneal_epochs.max(1) as f64;
        let prev = self.f(((step - 1.0) / epochs).clamp(0.0, 1.0));
        let alpha = self.f((step / epochs).clamp(0.0, 1.0));
        for g in 0..groups {
            let swa = self.swa_lrs[if self.swa_lrs.len() == 1 { 0 } else { g }];
            let current = lr(&*optimizer, g);
            let start = if prev == 1.0 { swa } else { (current - prev * swa) / (1.0 - prev) };
            set_lr(optimizer, g, swa * alpha + start * (1.0 - alpha));
        }
        Ok(())
    }
}

impl<T: Float> Schedule<T> for SwaLr {
    fn start(&mut self, optimizer: &mut dyn Optimizer<T>) -> Result<(), Error> {
        self.validate()?;
        if self.step.is_some() {
            return Ok(());
        }
        self.apply(optimizer, 0)?;
        self.step = Some(0);
        Ok(())
    }

    fn step(&mut self, optimizer: &mut dyn Optimizer<T>, _metric: Option<T>) -> Result<(), Error> {
        self.validate()?;
        let step = self.step.map_or(0, |s| s + 1);
        self.apply(optimizer, step)?;
        self.step = Some(step);
        Ok(())
    }

    fn validate(&self) -> Result<(), Error> {
        SwaLr::validate(self)
    }
}
