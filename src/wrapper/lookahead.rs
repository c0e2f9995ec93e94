//! Lookahead: `optax.lookahead`.

use alloc::vec::Vec;

use num_traits::Float;

use crate::kernel::{self, cast, to_f64};
use crate::wrapper::forward_to_inner;
use crate::{Error, Optimizer};

/// Lookahead: `optax.lookahead` (`optax/_src/lookahead.py`), around any inner ("fast") rule.
///
/// The parameters a user steps are the fast weights; the wrapper keeps slow weights, taken from
/// the parameters at the first step (optax's `LookaheadParams.init_synced`). Every step the inner
/// rule moves the fast weights to `f'` with the gradient at them; on every `sync_period`-th step,
/// in optax's order:
///
/// ```text
/// diff = f' - slow
/// slow = slow + slow_step_size * diff
/// fast = f' - (1 - slow_step_size) * diff       // = slow, up to rounding
/// if reset_state: the inner rule is reset
/// ```
///
/// Evaluate or save [`slow_params`](Lookahead::slow_params). A step is all-or-nothing: the inner
/// rule's checks run before anything is written.
///
/// ```
/// use gradus::{Lookahead, Optimizer, Sgd};
/// let mut opt = Lookahead::new(Sgd::new(0.1_f64), 2, 0.5);
/// let mut p = [1.0];
/// opt.step(&mut p, &[1.0])?; // fast 0.9, slow 1.0
/// opt.step(&mut p, &[1.0])?; // fast 0.8, then both to 1.0 + 0.5*(0.8 - 1.0) = 0.9
/// assert!((p[0] - 0.9).abs() < 1e-15 && (opt.slow_params()[0] - 0.9).abs() < 1e-15);
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Lookahead<O, T> {
    inner: O,
    sync_period: u64,
    slow_step_size: f64,
    reset_state: bool,
    slow: Vec<T>,
    steps_since_sync: u64,
    steps: u64,
}

impl<T: Float, O: Optimizer<T>> Lookahead<O, T> {
    /// Lookahead over `inner`, synchronizing every `sync_period` (>= 1) steps with
    /// `slow_step_size` in `[0, 1]`.
    ///
    /// ```
    /// let opt = gradus::Lookahead::new(gradus::Adam::new(1e-3_f64), 5, 0.5);
    /// # let _ = opt;
    /// ```
    pub fn new(inner: O, sync_period: u64, slow_step_size: T) -> Self {
        Lookahead {
            inner,
            sync_period,
            slow_step_size: to_f64(slow_step_size),
            reset_state: false,
            slow: Vec::new(),
            steps_since_sync: 0,
            steps: 0,
        }
    }

    /// Reset the inner rule's state after every synchronization (optax's `reset_state`,
    /// default `false`).
    ///
    /// ```
    /// let opt = gradus::Lookahead::new(gradus::Adam::new(1e-3_f64), 5, 0.5).reset_state(true);
    /// assert!(opt.get_reset_state());
    /// ```
    pub fn reset_state(mut self, reset_state: bool) -> Self {
        self.reset_state = reset_state;
        self
    }

    /// The value set by [`reset_state`](Lookahead::reset_state).
    ///
    /// ```
    /// assert!(!gradus::Lookahead::new(gradus::Sgd::new(0.1_f64), 5, 0.5).get_reset_state());
    /// ```
    pub fn get_reset_state(&self) -> bool {
        self.reset_state
    }

    /// The slow weights after the last step (empty before the first).
    ///
    /// ```
    /// let opt = gradus::Lookahead::new(gradus::Sgd::new(0.1_f64), 5, 0.5);
    /// assert!(opt.slow_params().is_empty());
    /// ```
    pub fn slow_params(&self) -> &[T] {
        &self.slow
    }

    /// The inner rule.
    ///
    /// ```
    /// use gradus::{Lookahead, Optimizer, Sgd};
    /// let opt = Lookahead::new(Sgd::new(0.1_f64), 5, 0.5);
    /// assert_eq!(opt.inner().learning_rate(), 0.1);
    /// ```
    pub fn inner(&self) -> &O {
        &self.inner
    }

    fn own_checks(&self, len: usize) -> Result<(), Error> {
        kernel::require(self.sync_period >= 1, "sync_period", self.sync_period as f64, "at least 1")?;
        kernel::unit_closed("slow_step_size", self.slow_step_size)?;
        if !self.slow.is_empty() && self.slow.len() != len && len != 0 {
            return Err(Error::StateMismatch { expected: self.slow.len(), found: len });
        }
        Ok(())
    }
}

impl<T: Float, O: Optimizer<T>> Optimizer<T> for Lookahead<O, T> {
    super::snapshot_wrapper!(Lookahead<(), T> { sync_period, slow_step_size, reset_state, slow, steps_since_sync, steps });

    fn step(&mut self, params: &mut [T], grads: &[T]) -> Result<(), Error> {
        self.check(params, grads)?;
        self.apply(params, grads)
    }

    fn validate(&self) -> Result<(), Error> {
        self.own_checks(self.slow.len())?;
        self.inner.validate()
    }

    fn check(&self, params: &[T], grads: &[T]) -> Result<(), Error> {
        self.own_checks(params.len())?;
        self.inner.check(params, grads)
    }

    fn apply(&mut self, params: &mut [T], grads: &[T]) -> Result<(), Error> {
        if params.is_empty() {
            return Ok(());
        }
        if self.slow.is_empty() {
            self.slow.extend_from_slice(params);
        }
        self.inner.apply(params, grads)?;
        self.steps += 1;
        if self.steps_since_sync + 1 == self.sync_period {
            let alpha: T = cast(self.slow_step_size);
            let keep: T = cast(1.0 - self.slow_step_size);
            for (f, s) in params.iter_mut().zip(self.slow.iter_mut()) {
                let diff = *f - *s;
                *s = *s + alpha * diff;
                *f = *f - keep * diff;
            }
            self.steps_since_sync = 0;
            if self.reset_state {
                self.inner.reset();
            }
        } else {
            self.steps_since_sync += 1;
        }
        Ok(())
    }

    fn reset(&mut self) {
        self.inner.reset();
        self.slow.clear();
        self.steps_since_sync = 0;
        self.steps = 0;
    }

    fn steps(&self) -> u64 {
        self.steps
    }

    /// The slow weights (the parameters before the first step).
    fn eval_params(&self, params: &[T], out: &mut [T]) {
        if out.len() != params.len() {
            return;
        }
        if self.slow.len() == params.len() {
            out.copy_from_slice(&self.slow);
        } else {
            out.copy_from_slice(params);
        }
    }

    forward_to_inner!();
}
