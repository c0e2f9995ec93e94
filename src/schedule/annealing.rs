//! The fast.ai notebook's gradient-spike annealing.

use num_traits::Float;

use crate::kernel::{cast, sqrt, to_f64};
use crate::schedule::Schedule;
use crate::{Error, Optimizer};

/// Anneals the learning rate when the optimizer's second-moment estimate spikes: the rule of the
/// fast.ai lesson-5 notebook ("Adam with annealing").
///
/// At each call, with `v` the optimizer's second-moment estimate
/// ([`Optimizer::second_moment`]):
///
/// ```text
/// a = sum_i sqrt(v_i)                    // in f64, in index order
/// if a / a_ref > threshold: lr = lr / factor
/// if a < a_ref:             a_ref = a
/// ```
///
/// The notebook uses threshold 2, factor 4 and `a_ref` starting at 5500
/// ([`SpikeAnnealing::notebook`]), stepped once per epoch. It works with every rule that keeps a
/// second moment (Adam, AdamW, RMSprop, Adagrad, Adadelta, NAdam, RAdam, AdaBelief, Yogi, Lamb)
/// and returns [`Error::NoSecondMoment`] for the others.
///
/// ```
/// use gradus::{Adam, Optimizer, Schedule, SpikeAnnealing};
/// let mut opt = Adam::new(1.0_f64).betas(0.9, 0.95).eps(0.0)
///     .bias_correction(false).initial_moments(1.0, 1.0);
/// let mut anneal = SpikeAnnealing::new(2.0, 4.0, 0.1);
/// opt.step(&mut [1.0], &[10.0])?;              // v = 0.95 + 0.05*100 = 5.95
/// anneal.step(&mut opt, None)?;                // sqrt(5.95) / 0.1 > 2: lr /= 4
/// assert_eq!(opt.learning_rate(), 0.25);
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SpikeAnnealing {
    threshold: f64,
    factor: f64,
    reference: f64,
}

impl SpikeAnnealing {
    /// Divides the learning rate by `factor` whenever `a / a_ref > threshold`; `a_ref` starts at
    /// `reference` and follows the running minimum of `a`.
    ///
    /// ```
    /// let s = gradus::SpikeAnnealing::new(2.0, 4.0, 5500.0);
    /// assert_eq!(s.reference(), 5500.0);
    /// ```
    pub fn new(threshold: f64, factor: f64, reference: f64) -> Self {
        SpikeAnnealing { threshold, factor, reference }
    }

    /// The notebook's settings: threshold 2, factor 4, `a_ref` 5500.
    ///
    /// ```
    /// assert_eq!(gradus::SpikeAnnealing::notebook(), gradus::SpikeAnnealing::new(2.0, 4.0, 5500.0));
    /// ```
    pub fn notebook() -> Self {
        SpikeAnnealing::new(2.0, 4.0, 5500.0)
    }

    /// The current reference `a_ref` (the smallest `a` seen, or the initial value).
    ///
    /// ```
    /// assert_eq!(gradus::SpikeAnnealing::notebook().reference(), 5500.0);
    /// ```
    pub fn reference(&self) -> f64 {
        self.reference
    }
}

impl<T: Float> Schedule<T> for SpikeAnnealing {
    fn validate(&self) -> Result<(), Error> {
        crate::kernel::positive("threshold", self.threshold)?;
        crate::kernel::positive("factor", self.factor)?;
        crate::kernel::positive("reference", self.reference)
    }

    fn step(&mut self, optimizer: &mut dyn Optimizer<T>, _metric: Option<T>) -> Result<(), Error> {
        Schedule::<T>::validate(self)?;
        let v = optimizer.second_moment().ok_or(Error::NoSecondMoment)?;
        let a = v.iter().fold(0.0, |acc, &v| acc + sqrt(to_f64(v)));
        if a / self.reference > self.threshold {
            let lr = to_f64(optimizer.learning_rate()) / self.factor;
            optimizer.set_learning_rate(cast(lr));
        }
        if a < self.reference {
            self.reference = a;
        }
        Ok(())
    }
}
