//! Skipping non-finite steps: `optax.apply_if_finite`.

use num_traits::Float;

use crate::wrapper::forward_to_inner;
use crate::{Error, Optimizer};

/// Skips a step whose gradient holds a NaN or an infinity, counting it, instead of returning
/// an error: `optax.apply_if_finite(inner, max_consecutive_errors)`. The parameters and the
/// inner rule's state stay as they were on a skipped step. After more than
/// `max_consecutive_errors` skipped steps in a row, the next bad gradient is an error
/// ([`Error::NonFiniteGradient`], nothing written) — optax instead lets that update through
/// into the parameters.
///
/// ```
/// use gradus::{ApplyIfFinite, Optimizer, Sgd};
/// let mut opt = ApplyIfFinite::new(Sgd::new(0.5_f64), 2);
/// let mut p = [1.0];
/// opt.step(&mut p, &[f64::NAN])?; // skipped
/// assert_eq!((p, opt.notfinite_count(), opt.total_notfinite()), ([1.0], 1, 1));
/// opt.step(&mut p, &[1.0])?;
/// assert_eq!((p, opt.notfinite_count()), ([0.5], 0));
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ApplyIfFinite<O> {
    inner: O,
    max_consecutive_errors: u64,
    notfinite_count: u64,
    total_notfinite: u64,
    last_finite: bool,
    steps: u64,
}

impl<O> ApplyIfFinite<O> {
    /// Skips up to `max_consecutive_errors` non-finite steps in a row around `inner`.
    ///
    /// ```
    /// let opt = gradus::ApplyIfFinite::new(gradus::Adam::new(1e-3_f64), 5);
    /// # let _ = opt;
    /// ```
    pub fn new(inner: O, max_consecutive_errors: u64) -> Self {
        ApplyIfFinite {
            inner,
            max_consecutive_errors,
            notfinite_count: 0,
            total_notfinite: 0,
            last_finite: true,
            steps: 0,
        }
    }

    /// Non-finite steps skipped in a row, up to now (optax's `notfinite_count`).
    ///
    /// ```
    /// assert_eq!(gradus::ApplyIfFinite::new(gradus::Sgd::new(0.1_f64), 5).notfinite_count(), 0);
    /// ```
    pub fn notfinite_count(&self) -> u64 {
        self.notfinite_count
    }

    /// Non-finite steps skipped in all (optax's `total_notfinite`).
    ///
    /// ```
    /// assert_eq!(gradus::ApplyIfFinite::new(gradus::Sgd::new(0.1_f64), 5).total_notfinite(), 0);
    /// ```
    pub fn total_notfinite(&self) -> u64 {
        self.total_notfinite
    }

    /// Whether the last step's gradient was finite (optax's `last_finite`).
    ///
    /// ```
    /// assert!(gradus::ApplyIfFinite::new(gradus::Sgd::new(0.1_f64), 5).last_finite());
    /// ```
    pub fn last_finite(&self) -> bool {
        self.last_finite
    }

    /// The inner rule.
    ///
    /// ```
    /// use gradus::{ApplyIfFinite, Optimizer, Sgd};
    /// assert_eq!(ApplyIfFinite::new(Sgd::new(0.1_f64), 5).inner().steps(), 0);
    /// ```
    pub fn inner(&self) -> &O {
        &self.inner
    }
}

/// The first non-finite element of `grads`, as the error a step reports (the wrapper's own
/// scan: the inner rule may run with `check_finite(false)`).
fn non_finite<T: Float>(grads: &[T]) -> Option<Error> {
    let index = grads.iter().position(|g| !g.is_finite())?;
    Some(Error::NonFiniteGradient { index, value: grads[index].to_f64().unwrap_or(f64::NAN) })
}

impl<T: Float, O: Optimizer<T>> Optimizer<T> for ApplyIfFinite<O> {
    super::snapshot_wrapper!(ApplyIfFinite<()> { max_consecutive_errors, notfinite_count, total_notfinite, last_finite, steps });

    fn step(&mut self, params: &mut [T], grads: &[T]) -> Result<(), Error> {
        self.inner.validate()?;
        if params.len() != grads.len() {
            return Err(Error::LengthMismatch { params: params.len(), grads: grads.len() });
        }
        if let Some(e) = non_finite(grads) {
            if self.notfinite_count >= self.max_consecutive_errors {
                return Err(e);
            }
            self.notfinite_count += 1;
            self.total_notfinite += 1;
            self.last_finite = false;
            self.steps += 1;
            return Ok(());
        }
        self.inner.step(params, grads)?;
        self.notfinite_count = 0;
        self.last_finite = true;
        self.steps += 1;
        Ok(())
    }

    fn validate(&self) -> Result<(), Error> {
        self.inner.validate()
    }

    /// What [`step`](Optimizer::step) would reject: a non-finite gradient only once
    /// `max_consecutive_errors` were skipped in a row; otherwise the inner rule's checks.
    fn check(&self, params: &[T], grads: &[T]) -> Result<(), Error> {
        self.inner.validate()?;
        if params.len() != grads.len() {
            return Err(Error::LengthMismatch { params: params.len(), grads: grads.len() });
        }
        match non_finite(grads) {
            Some(e) if self.notfinite_count >= self.max_consecutive_errors => Err(e),
            Some(_) => Ok(()),
            None => self.inner.check(params, grads),
        }
    }

    fn apply(&mut self, params: &mut [T], grads: &[T]) -> Result<(), Error> {
        self.step(params, grads)
    }

    fn reset(&mut self) {
        self.inner.reset();
        self.notfinite_count = 0;
        self.total_notfinite = 0;
        self.last_finite = true;
        self.steps = 0;
    }

    /// Steps taken, skipped ones included.
    fn steps(&self) -> u64 {
        self.steps
    }

    fn eval_params(&self, params: &[T], out: &mut [T]) {
        self.inner.eval_params(params, out)
    }

    forward_to_inner!();
}
