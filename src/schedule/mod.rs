//! Learning-rate schedules.
//!
//! A [`Schedule`] is stepped after an optimizer step (or after an epoch, as the caller chooses)
//! and sets the optimizer's learning rate for what follows, as `torch.optim.lr_scheduler` does.

use num_traits::Float;

use crate::{Error, Optimizer};

mod annealing;
mod torch;

pub use annealing::SpikeAnnealing;
pub use torch::{
    CosineAnnealingLr, CosineAnnealingWarmRestarts, ExponentialLr, LinearLr, MultiStepLr, OneCycleLr, PlateauMode,
    ReduceLrOnPlateau, Sequential, StepLr,
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
