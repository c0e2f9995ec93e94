//! Gradient accumulation: `optax.MultiSteps`.

use alloc::vec::Vec;

use num_traits::Float;

use crate::kernel::{self, cast};
use crate::wrapper::forward_to_inner;
use crate::{Error, Optimizer};

/// How [`MultiSteps`] stores its running mean between mini-steps: optax's `accumulator_dtype`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Dtype {
    /// Rounded through `f32` between mini-steps (optax's default): `acc = f32(acc + (g - acc)/(n+1))`.
    #[default]
    F32,
    /// In `T`.
    F64,
}

/// Gradient accumulation: `optax.MultiSteps(inner, every_k_schedule=every_k)`
/// (`optax/transforms/_accumulation.py`).
///
/// Mini-step `n` (0-based within a window of `every_k`) folds the gradient into an accumulator,
/// `acc = acc + (g - acc)/(n + 1)` (the mean; `acc + g` with `use_grad_mean(false)`), and leaves
/// the parameters where they are; the `every_k`-th passes `acc` to the inner rule, which steps,
/// and clears it. The inner rule's step count advances only then. Four mini-batches with
/// `every_k = 4` act as one batch four times as large.
///
/// ```
/// use gradus::{Dtype, MultiSteps, Optimizer, Sgd};
/// let mut opt = MultiSteps::new(Sgd::new(1.0_f64), 2).accumulator_dtype(Dtype::F64);
/// let mut p = [0.0];
/// opt.step(&mut p, &[1.0])?;
/// assert_eq!(p, [0.0]); // accumulated
/// opt.step(&mut p, &[3.0])?;
/// assert_eq!(p, [-2.0]); // stepped with the mean, 2
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MultiSteps<O, T> {
    inner: O,
    every_k: u64,
    use_grad_mean: bool,
    accumulator_dtype: Dtype,
    acc: Vec<T>,
    mini_step: u64,
    steps: u64,
}

impl<T: Float, O: Optimizer<T>> MultiSteps<O, T> {
    /// Accumulates `every_k` (>= 1) gradients per step of `inner`.
    ///
    /// ```
    /// let opt = gradus::MultiSteps::new(gradus::Adam::new(1e-3_f32), 4);
    /// # let _ = opt;
    /// ```
    pub fn new(inner: O, every_k: u64) -> Self {
        MultiSteps {
            inner,
            every_k,
            use_grad_mean: true,
            accumulator_dtype: Dtype::F32,
            acc: Vec::new(),
            mini_step: 0,
            steps: 0,
        }
    }

    /// Average the accumulated gradients (default `true`) or sum them.
    ///
    /// ```
    /// let opt = gradus::MultiSteps::new(gradus::Sgd::new(0.1_f64), 4).use_grad_mean(false);
    /// assert!(!opt.get_use_grad_mean());
    /// ```
    pub fn use_grad_mean(mut self, use_grad_mean: bool) -> Self {
        self.use_grad_mean = use_grad_mean;
        self
    }

    /// The value set by [`use_grad_mean`](MultiSteps::use_grad_mean).
    ///
    /// ```
    /// assert!(gradus::MultiSteps::new(gradus::Sgd::new(0.1_f64), 4).get_use_grad_mean());
    /// ```
    pub fn get_use_grad_mean(&self) -> bool {
        self.use_grad_mean
    }

    /// How the accumulator is stored between mini-steps (default [`Dtype::F32`], optax's).
    ///
    /// ```
    /// use gradus::{Dtype, MultiSteps, Sgd};
    /// let opt = MultiSteps::new(Sgd::new(0.1_f64), 4).accumulator_dtype(Dtype::F64);
    /// assert_eq!(opt.get_accumulator_dtype(), Dtype::F64);
    /// ```
    pub fn accumulator_dtype(mut self, dtype: Dtype) -> Self {
        self.accumulator_dtype = dtype;
        self
    }

    /// The value set by [`accumulator_dtype`](MultiSteps::accumulator_dtype).
    ///
    /// ```
    /// assert_eq!(gradus::MultiSteps::new(gradus::Sgd::new(0.1_f64), 4).get_accumulator_dtype(), gradus::Dtype::F32);
    /// ```
    pub fn get_accumulator_dtype(&self) -> Dtype {
        self.accumulator_dtype
    }

    /// The mini-step within the current window (0 right after the inner rule stepped).
    ///
    /// ```
    /// use gradus::{MultiSteps, Optimizer, Sgd};
    /// let mut opt = MultiSteps::new(Sgd::new(0.1_f64), 4);
    /// opt.step(&mut [1.0], &[1.0])?;
    /// assert_eq!(opt.mini_step(), 1);
    /// # Ok::<(), gradus::Error>(())
    /// ```
    pub fn mini_step(&self) -> u64 {
        self.mini_step
    }

    /// The inner rule.
    ///
    /// ```
    /// use gradus::{MultiSteps, Optimizer, Sgd};
    /// assert_eq!(MultiSteps::new(Sgd::new(0.1_f64), 4).inner().steps(), 0);
    /// ```
    pub fn inner(&self) -> &O {
        &self.inner
    }

    fn own_checks(&self, len: usize) -> Result<(), Error> {
        kernel::require(self.every_k >= 1, "every_k", self.every_k as f64, "at least 1")?;
        if self.mini_step > 0 && self.acc.len() != len && len != 0 {
            return Err(Error::StateMismatch { expected: self.acc.len(), found: len });
        }
        Ok(())
    }

    fn emits(&self) -> bool {
        self.mini_step + 1 >= self.every_k
    }
}

impl<T: Float + Send + Sync, O: Optimizer<T>> Optimizer<T> for MultiSteps<O, T> {
    super::snapshot_wrapper!(MultiSteps<(), T> { every_k, use_grad_mean, accumulator_dtype, acc, mini_step, steps });

    fn step(&mut self, params: &mut [T], grads: &[T]) -> Result<(), Error> {
        self.check(params, grads)?;
        self.apply(params, grads)
    }

    fn validate(&self) -> Result<(), Error> {
        self.own_checks(self.acc.len())?;
        self.inner.validate()
    }

    /// The inner rule's checks (on the gradient: finite, of the parameters' length), every
    /// mini-step: a bad gradient is an error when it arrives, not `every_k` steps later.
    fn check(&self, params: &[T], grads: &[T]) -> Result<(), Error> {
        self.own_checks(params.len())?;
        self.inner.check(params, grads)
    }

    fn apply(&mut self, params: &mut [T], grads: &[T]) -> Result<(), Error> {
        if params.is_empty() {
            return Ok(());
        }
        if self.mini_step == 0 {
            self.acc.clear();
            self.acc.resize(params.len(), T::zero());
        }
        let n: T = cast((self.mini_step + 1) as f64);
        for (a, &g) in self.acc.iter_mut().zip(grads) {
            *a = if self.use_grad_mean { *a + (g - *a) / n } else { *a + g };
        }
        if self.emits() {
            self.inner.apply(params, &self.acc)?;
            self.acc.iter_mut().for_each(|a| *a = T::zero());
            self.mini_step = 0;
        } else {
            if self.accumulator_dtype == Dtype::F32 {
                for a in self.acc.iter_mut() {
                    *a = cast(a.to_f32().map_or(f64::NAN, f64::from));
                }
            }
            self.mini_step += 1;
        }
        self.steps += 1;
        Ok(())
    }

    fn reset(&mut self) {
        self.inner.reset();
        self.acc.clear();
        self.mini_step = 0;
        self.steps = 0;
    }

    /// Mini-steps taken (the inner rule's [`steps`](Optimizer::steps) counts its own).
    fn steps(&self) -> u64 {
        self.steps
    }

    fn eval_params(&self, params: &[T], out: &mut [T]) {
        self.inner.eval_params(params, out)
    }

    forward_to_inner!();
}
