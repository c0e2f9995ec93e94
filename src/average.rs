//! [`WeightAverage`]: a running average of the parameters, `torch.optim.swa_utils.AveragedModel`.

use alloc::vec::Vec;

use num_traits::Float;

use crate::kernel::{self, cast, to_f64, Lerp};
use crate::Error;

/// How [`WeightAverage`] averages.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
enum Averaging {
    /// The equal average of every update (SWA).
    Swa,
    /// An exponential moving average with this decay.
    Ema(f64),
}

/// A running average of the parameters over training: `torch.optim.swa_utils.AveragedModel`
/// with its default equal average (SWA, [`swa`](WeightAverage::swa)) or
/// `multi_avg_fn=get_ema_multi_avg_fn(decay)` ([`ema`](WeightAverage::ema)).
///
/// Call [`update`](WeightAverage::update) after the optimizer steps you want to average (from
/// some epoch on, say); evaluate or save [`averaged`](WeightAverage::averaged). The first update
/// copies the parameters; each later one, with `n` the updates so far:
///
/// ```text
/// swa: avg = avg + (p - avg) / (n + 1)        // torch's get_swa_avg_fn
/// ema: avg = lerp(avg, p, 1 - decay)          // ATen lerp, weight 1 - decay in f64
/// ```
///
/// ```
/// use gradus::{Optimizer, Sgd, WeightAverage};
/// let mut x = [4.0_f64];
/// let mut opt = Sgd::new(0.25);
/// let mut swa = WeightAverage::swa();
/// for _ in 0..3 {
///     let g = [2.0 * x[0]];
///     opt.step(&mut x, &g)?; // x halves each step: 2, 1, 0.5
///     swa.update(&x)?;
/// }
/// assert_eq!(swa.averaged(), &[3.5 / 3.0]);
/// assert_eq!(swa.count(), 3);
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct WeightAverage<T> {
    averaging: Averaging,
    averaged: Vec<T>,
    count: u64,
}

impl<T: Float> WeightAverage<T> {
    /// The equal average of all updates (stochastic weight averaging).
    ///
    /// ```
    /// let avg = gradus::WeightAverage::<f32>::swa();
    /// assert_eq!(avg.count(), 0);
    /// ```
    pub fn swa() -> Self {
        WeightAverage { averaging: Averaging::Swa, averaged: Vec::new(), count: 0 }
    }

    /// An exponential moving average, `decay` in `[0, 1]` (0.999 is common).
    ///
    /// ```
    /// let avg = gradus::WeightAverage::<f32>::ema(0.999);
    /// # let _ = avg;
    /// ```
    pub fn ema(decay: T) -> Self {
        WeightAverage { averaging: Averaging::Ema(to_f64(decay)), averaged: Vec::new(), count: 0 }
    }

    /// Folds `params` into the average.
    ///
    /// # Errors
    ///
    /// Before anything changes: [`Error::InvalidHyperparameter`] for a decay outside `[0, 1]`,
    /// [`Error::StateMismatch`] if `params` has another length than the first update's (call
    /// [`reset`](WeightAverage::reset) to start over), [`Error::NonFiniteData`] for a NaN or
    /// infinite parameter.
    ///
    /// ```
    /// let mut avg = gradus::WeightAverage::ema(0.5_f64);
    /// avg.update(&[2.0])?;
    /// avg.update(&[4.0])?;
    /// assert_eq!(avg.averaged(), &[3.0]);
    /// assert!(avg.update(&[1.0, 2.0]).is_err());
    /// # Ok::<(), gradus::Error>(())
    /// ```
    pub fn update(&mut self, params: &[T]) -> Result<(), Error> {
        self.validate()?;
        if self.count > 0 && self.averaged.len() != params.len() {
            return Err(Error::StateMismatch { expected: self.averaged.len(), found: params.len() });
        }
        if let Some(index) = params.iter().position(|p| !p.is_finite()) {
            return Err(Error::NonFiniteData { what: "params", index, value: to_f64(params[index]) });
        }
        if self.count == 0 {
            self.averaged.clear();
            self.averaged.extend_from_slice(params);
        } else {
            match self.averaging {
                Averaging::Swa => {
                    let n: T = cast(self.count as f64 + 1.0);
                    for (a, &p) in self.averaged.iter_mut().zip(params) {
                        *a = *a + (p - *a) / n;
                    }
                }
                Averaging::Ema(decay) => {
                    let lerp = Lerp::<T>::new(1.0 - decay);
                    for (a, &p) in self.averaged.iter_mut().zip(params) {
                        *a = lerp.at::<false>(*a, p);
                    }
                }
            }
        }
        self.count += 1;
        Ok(())
    }

    /// The averaged parameters (empty before the first update).
    ///
    /// ```
    /// let mut avg = gradus::WeightAverage::swa();
    /// avg.update(&[1.0_f64, 3.0])?;
    /// assert_eq!(avg.averaged(), &[1.0, 3.0]);
    /// # Ok::<(), gradus::Error>(())
    /// ```
    pub fn averaged(&self) -> &[T] {
        &self.averaged
    }

    /// Updates so far (torch's `n_averaged`).
    ///
    /// ```
    /// let mut avg = gradus::WeightAverage::swa();
    /// avg.update(&[1.0_f64])?;
    /// assert_eq!(avg.count(), 1);
    /// # Ok::<(), gradus::Error>(())
    /// ```
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Forgets the average (the next update copies the parameters again).
    ///
    /// ```
    /// let mut avg = gradus::WeightAverage::swa();
    /// avg.update(&[1.0_f64])?;
    /// avg.reset();
    /// assert_eq!(avg.count(), 0);
    /// # Ok::<(), gradus::Error>(())
    /// ```
    pub fn reset(&mut self) {
        self.averaged.clear();
        self.count = 0;
    }

    /// What the next [`update`](WeightAverage::update) would reject about the configuration.
    ///
    /// ```
    /// assert!(gradus::WeightAverage::ema(1.5_f64).validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<(), Error> {
        match self.averaging {
            Averaging::Swa => Ok(()),
            Averaging::Ema(decay) => kernel::unit_closed("decay", decay),
        }
    }
}
