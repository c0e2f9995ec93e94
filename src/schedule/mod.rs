//! Learning-rate schedules.
//!
//! A [`Schedule`] is stepped after an optimizer step (or after an epoch, as the caller chooses)
//! and sets the optimizer's learning rate for what follows, as `torch.optim.lr_scheduler` does.

use num_traits::Float;

use crate::{Error, Optimizer};

mod annealing;
mod boxed;
mod chained;
mod cyclic;
mod factor;
mod swa;
mod torch;

pub use annealing::SpikeAnnealing;
pub use boxed::DynSchedule;
pub use chained::Chained;
pub use cyclic::{CyclicLr, CyclicMode, ScaleMode};
pub use factor::{ConstantLr, LambdaLr, MultiplicativeLr, PolynomialLr};
pub use swa::SwaLr;
pub use torch::{
    CosineAnnealingLr, CosineAnnealingWarmRestarts, ExponentialLr, LinearLr, MultiStepLr, OneCycleLr, PlateauMode,
    ReduceLrOnPlateau, Sequential, StepLr, ThresholdMode,
};

/// A learning-rate schedule.
///
/// `step` is called after each optimizer step or each epoch (see [`Interval`]); it may read the
/// optimizer (its learning rate, its second-moment state) and a metric, and sets the learning
/// rate in effect for the next step. The trait is object safe.
///
/// ```
/// use gradus::{Error, Optimizer, Schedule, Sgd};
///
/// /// Halves the learning rate every call.
/// struct Halve;
/// impl Schedule<f64> for Halve {
///     fn step(&mut self, opt: &mut dyn Optimizer<f64>, _metric: Option<f64>) -> Result<(), Error> {
///         let lr = opt.learning_rate();
///         opt.set_learning_rate(lr / 2.0);
///         Ok(())
///     }
/// }
/// let mut opt = Sgd::new(1.0);
/// Halve.step(&mut opt, None)?;
/// assert_eq!(opt.learning_rate(), 0.5);
/// # Ok::<(), Error>(())
/// ```
pub trait Schedule<T: Float> {
    /// Attaches the schedule to an optimizer before its first step: records the optimizer's
    /// learning rate as the base rate and sets the rate for step 0 (e.g. `LinearLr`'s
    /// `start_factor * base`, `OneCycleLr`'s `max_lr / div_factor`), as constructing a PyTorch
    /// scheduler does. [`fit`](crate::fit) calls it; a schedule stepped without it starts at its
    /// first `step`, from the optimizer's rate at that time. Starting again is a no-op, so a
    /// schedule can be handed to several `fit` calls (or restored from a checkpoint) and
    /// continues where it was.
    ///
    /// ```
    /// use gradus::{LinearLr, Optimizer, Schedule, Sgd};
    /// let mut opt = Sgd::new(0.1_f64);
    /// let mut warmup = LinearLr::new(0.5, 1.0, 4);
    /// warmup.start(&mut opt)?;
    /// assert_eq!(opt.learning_rate(), 0.05);
    /// # Ok::<(), gradus::Error>(())
    /// ```
    fn start(&mut self, optimizer: &mut dyn Optimizer<T>) -> Result<(), Error> {
        let _ = optimizer;
        Ok(())
    }

    /// Advances the schedule by one unit and updates the optimizer's learning rate.
    ///
    /// `metric` is the value a metric-driven schedule (such as
    /// [`ReduceLrOnPlateau`](crate::ReduceLrOnPlateau)) reads; `fit` passes the epoch's mean loss
    /// at epoch ends and the step's loss after steps. Others ignore it.
    ///
    /// # Errors
    ///
    /// A schedule that needs something the optimizer or caller did not give returns an error
    /// (e.g. [`Error::NoSecondMoment`]) and leaves the learning rate unchanged.
    fn step(&mut self, optimizer: &mut dyn Optimizer<T>, metric: Option<T>) -> Result<(), Error>;

    /// Reports what the next `start` or `step` would reject about the schedule's own
    /// parameters, so a configuration can be checked when it is built or loaded.
    ///
    /// ```
    /// use gradus::{Error, Schedule, StepLr};
    /// assert!(Schedule::<f64>::validate(&StepLr::new(10, 0.5)).is_ok());
    /// assert!(matches!(Schedule::<f64>::validate(&StepLr::new(0, 0.5)), Err(Error::InvalidHyperparameter { name: "step_size", .. })));
    /// ```
    fn validate(&self) -> Result<(), Error> {
        Ok(())
    }

    /// Sets the base rate of every parameter group (torch's `initial_lr`) for a schedule that
    /// reads one; [`Chained`](crate::Chained) hands every schedule it chains the rates in effect
    /// before the first started, as torch's schedulers all read the group's `initial_lr`.
    /// Schedules that read no base rate ignore it.
    ///
    /// ```
    /// use gradus::{CosineAnnealingLr, Schedule, Sgd};
    /// let mut opt = Sgd::new(0.05_f64);
    /// let mut s = CosineAnnealingLr::new(10, 0.0);
    /// s.start(&mut opt)?;
    /// Schedule::<f64>::rebase(&mut s, &[0.1]);
    /// s.step(&mut opt, None)?; // the step's recursion now reads base 0.1
    /// # Ok::<(), gradus::Error>(())
    /// ```
    fn rebase(&mut self, bases: &[f64]) {
        let _ = bases;
    }
}

/// How a schedule moves between two rates over a phase: torch's `anneal_strategy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum AnnealStrategy {
    /// Half a cosine: `end + (start - end)/2 * (1 + cos(pi*pct))` (the default).
    #[default]
    Cos,
    /// A straight line: `(end - start)*pct + start`.
    Linear,
}

/// When a schedule is stepped inside [`fit`](crate::fit).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Interval {
    /// After every optimizer step.
    Step,
    /// After every epoch (the default).
    #[default]
    Epoch,
}
