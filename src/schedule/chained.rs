//! Several schedules stepped together: `torch.optim.lr_scheduler.ChainedScheduler`.

use alloc::boxed::Box;
use alloc::vec::Vec;

use num_traits::Float;

use super::torch::lr;
use crate::kernel;
use crate::schedule::boxed::all_or_nothing;
use crate::schedule::{DynSchedule, Schedule};
use crate::{Error, Optimizer};

/// Steps every schedule of a list, in order, at each step: `ChainedScheduler`. Their effects
/// compose (a warm-up factor times a decay, say), each schedule reading the rate the one before
/// it left.
///
/// Starting starts each schedule in order, as constructing torch's schedulers one after the
/// other on the same optimizer does, and then gives each the rates in effect before the first
/// (torch's `initial_lr`) as its base rates ([`Schedule::rebase`]).
///
/// Like [`Sequential`](crate::Sequential), it holds [`DynSchedule`]s: `Clone`, `Debug`,
/// `Send + Sync`, and serializable when every schedule in it is.
///
/// ```
/// use gradus::{Chained, ExponentialLr, Optimizer, Schedule, Sgd, StepLr};
/// let mut opt = Sgd::new(1.0_f64);
/// let mut s = Chained::new(vec![Box::new(ExponentialLr::new(0.5)), Box::new(StepLr::new(2, 0.1))]);
/// s.start(&mut opt)?;
/// s.step(&mut opt, None)?;
/// s.step(&mut opt, None)?;
/// assert!((opt.learning_rate() - 0.025).abs() < 1e-15); // 0.5 * 0.5 * 0.1
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(bound = "T: Float + 'static"))]
pub struct Chained<T: Float> {
    schedules: Vec<Box<dyn DynSchedule<T>>>,
    started: bool,
}

impl<T: Float> Chained<T> {
    /// Chains `schedules` (at least one), stepped in this order.
    ///
    /// ```
    /// use gradus::{Chained, ConstantLr, ExponentialLr};
    /// let s = Chained::<f64>::new(vec![Box::new(ConstantLr::new(0.5, 10)), Box::new(ExponentialLr::new(0.98))]);
    /// # let _ = s;
    /// ```
    pub fn new(schedules: Vec<Box<dyn DynSchedule<T>>>) -> Self {
        Chained { schedules, started: false }
    }

    fn check(&self) -> Result<(), Error> {
        kernel::require(!self.schedules.is_empty(), "schedules", 0.0, "at least one schedule")?;
        self.schedules.iter().try_for_each(|s| s.validate())
    }
}

impl<T: Float> Schedule<T> for Chained<T> {
    fn start(&mut self, optimizer: &mut dyn Optimizer<T>) -> Result<(), Error> {
        self.check()?;
        if self.started {
            return Ok(());
        }
        all_or_nothing(self, optimizer, |this, optimizer| {
            let bases: Vec<f64> = (0..optimizer.groups()).map(|g| lr(&*optimizer, g)).collect();
            for s in &mut this.schedules {
                s.start(optimizer)?;
                s.rebase(&bases);
            }
            this.started = true;
            Ok(())
        })
    }

    fn step(&mut self, optimizer: &mut dyn Optimizer<T>, metric: Option<T>) -> Result<(), Error> {
        self.check()?;
        all_or_nothing(self, optimizer, |this, optimizer| {
            this.started = true;
            this.schedules.iter_mut().try_for_each(|s| s.step(optimizer, metric))
        })
    }

    fn validate(&self) -> Result<(), Error> {
        self.check()
    }

    fn rebase(&mut self, bases: &[f64]) {
        for s in &mut self.schedules {
            s.rebase(bases);
        }
    }
}
