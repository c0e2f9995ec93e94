//! The training loop: epochs of per-sample (or mini-batch) steps with the chain rule.

use alloc::vec;
use alloc::vec::Vec;
use core::ops::ControlFlow;
use core::time::Duration;

use num_traits::Float;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::kernel::{cast, to_f64};
use crate::loss::Loss;
use crate::model::{loss_gradient, Gradient};
use crate::schedule::{Interval, Schedule};
use crate::{Error, Optimizer};

/// What one epoch of [`fit`] did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochReport<T> {
    /// Zero-based epoch number.
    pub epoch: usize,
    /// Mean loss over the epoch's samples, each taken at the parameters before its step.
    pub loss: T,
    /// Learning rate in effect at the end of the epoch (after any schedule step).
    pub lr: T,
    /// Wall time of the epoch (`None` without the `std` feature).
    pub elapsed: Option<Duration>,
}

/// What [`fit`] did: one [`EpochReport`] per completed epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct FitReport<T> {
    /// Per-epoch mean loss, learning rate and wall time.
    pub epochs: Vec<EpochReport<T>>,
    /// The learning rate at the end of training.
    pub final_lr: T,
    /// Why training ended.
    pub stop: Stop,
}

impl<T: Copy> FitReport<T> {
    /// The per-epoch mean losses.
    ///
    /// ```
    /// use gradus::{fit, FitOptions, Linear, Sgd, SquaredError};
    /// let (x, y) = ([1.0_f64, 2.0], [3.0, 5.0]);
    /// let mut params = [0.0, 0.0];
    /// let report = fit(&Linear::new(1), &SquaredError, &mut Sgd::new(0.05), &mut params, &x, &y,
    ///                  FitOptions::new(20))?;
    /// let losses = report.losses();
    /// assert!(losses[19] < losses[0]);
    /// # Ok::<(), gradus::Error>(())
    /// ```
    pub fn losses(&self) -> Vec<T> {
        self.epochs.iter().map(|e| e.loss).collect()
    }
}

/// Why [`fit`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// All requested epochs ran.
    Completed,
    /// An epoch's mean loss reached the target set by [`FitOptions::target_loss`].
    TargetReached,
    /// The epoch callback returned `ControlFlow::Break`.
    Callback,
}

/// A per-epoch callback: sees the epoch's report, returns `Break` to stop training.
pub type EpochCallback<'a, T> = &'a mut dyn FnMut(&EpochReport<T>) -> ControlFlow<()>;

/// Options of [`fit`], built by chained setters.
///
/// ```
/// use gradus::{FitOptions, Interval, SpikeAnnealing};
/// let mut anneal = SpikeAnnealing::notebook();
/// let opts = FitOptions::<f64>::new(50).schedule(&mut anneal, Interval::Epoch);
/// # let _ = opts;
/// ```
pub struct FitOptions<'a, T> {
    epochs: usize,
    batch_size: usize,
    shuffle: Option<u64>,
    schedule: Option<(&'a mut dyn Schedule<T>, Interval)>,
    clip_norm: Option<T>,
    clip_value: Option<T>,
    target_loss: Option<T>,
    callback: Option<EpochCallback<'a, T>>,
}

impl<'a, T: Float> FitOptions<'a, T> {
    /// `epochs` passes over the data, per-sample steps in dataset order, no schedule.
    ///
    /// ```
    /// let opts = gradus::FitOptions::<f32>::new(10);
    /// # let _ = opts;
    /// ```
    pub fn new(epochs: usize) -> Self {
        FitOptions {
            epochs,
            batch_size: 1,
            shuffle: None,
            schedule: None,
            clip_norm: None,
            clip_value: None,
            target_loss: None,
            callback: None,
        }
    }

    /// Samples per step (default 1: per-sample SGD). The step's gradient is the mean of the
    /// batch's gradients; the last batch of an epoch may be smaller. Must be `>= 1`.
    ///
    /// ```
    /// let opts = gradus::FitOptions::<f32>::new(10).batch_size(32);
    /// # let _ = opts;
    /// ```
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Shuffles the sample order every epoch with a ChaCha8 generator seeded by `seed`:
    /// the same seed gives the same order on every run and platform.
    ///
    /// ```
    /// let opts = gradus::FitOptions::<f32>::new(10).shuffle(42);
    /// # let _ = opts;
    /// ```
    pub fn shuffle(mut self, seed: u64) -> Self {
        self.shuffle = Some(seed);
        self
    }

    /// A learning-rate schedule, stepped after every optimizer step or every epoch.
    ///
    /// ```
    /// use gradus::{FitOptions, Interval, SpikeAnnealing};
    /// let mut sched = SpikeAnnealing::notebook();
    /// let opts = FitOptions::<f64>::new(30).schedule(&mut sched, Interval::Epoch);
    /// # let _ = opts;
    /// ```
    pub fn schedule(mut self, schedule: &'a mut dyn Schedule<T>, interval: Interval) -> Self {
        self.schedule = Some((schedule, interval));
        self
    }

    /// Clips each step's gradient to global L2 norm `max_norm` ([`clip_grad_norm`](crate::clip_grad_norm)).
    ///
    /// ```
    /// let opts = gradus::FitOptions::<f32>::new(10).clip_norm(1.0);
    /// # let _ = opts;
    /// ```
    pub fn clip_norm(mut self, max_norm: T) -> Self {
        self.clip_norm = Some(max_norm);
        self
    }

    /// Clamps each gradient element to `[-clip, clip]` ([`clip_grad_value`](crate::clip_grad_value)).
    ///
    /// ```
    /// let opts = gradus::FitOptions::<f32>::new(10).clip_value(0.5);
    /// # let _ = opts;
    /// ```
    pub fn clip_value(mut self, clip: T) -> Self {
        self.clip_value = Some(clip);
        self
    }

    /// Stops after the first epoch whose mean loss is `<= target`.
    ///
    /// ```
    /// let opts = gradus::FitOptions::<f32>::new(1000).target_loss(1e-6);
    /// # let _ = opts;
    /// ```
    pub fn target_loss(mut self, target: T) -> Self {
        self.target_loss = Some(target);
        self
    }

    /// Called after every epoch with its report; returning `ControlFlow::Break(())` stops training.
    ///
    /// ```
    /// use std::ops::ControlFlow;
    /// let mut log = |e: &gradus::EpochReport<f64>| {
    ///     println!("epoch {} loss {}", e.epoch, e.loss);
    ///     ControlFlow::Continue(())
    /// };
    /// let opts = gradus::FitOptions::new(10).on_epoch(&mut log);
    /// # let _ = opts;
    /// ```
    pub fn on_epoch(mut self, callback: EpochCallback<'a, T>) -> Self {
        self.callback = Some(callback);
        self
    }
}

/// One optimizer step on the (mean) gradient of a sample or batch: clipping, the step, and a
/// per-step schedule fed the batch's mean loss.
#[inline]
fn step<T: Float, O: Optimizer<T> + ?Sized>(
    options: &mut FitOptions<'_, T>,
    optimizer: &mut O,
    params: &mut [T],
    grad: &mut [T],
    batch_loss: T,
) -> Result<(), Error> {
    if let Some(c) = options.clip_value {
        crate::clip::clip_grad_value(grad, c);
    }
    if let Some(c) = options.clip_norm {
        crate::clip::clip_grad_norm(grad, c, crate::Norm::L2)?;
    }
    optimizer.step(params, grad)?;
    if let Some((s, Interval::Step)) = options.schedule.as_mut() {
        s.step(&mut &mut *optimizer, Some(batch_loss))?;
    }
    Ok(())
}

struct Clock(#[cfg(feature = "std")] std::time::Instant);

impl Clock {
    fn start() -> Self {
        Clock(
            #[cfg(feature = "std")]
            std::time::Instant::now(),
        )
    }
    fn elapsed(&self) -> Option<Duration> {
        #[cfg(feature = "std")]
        {
            Some(self.0.elapsed())
        }
        #[cfg(not(feature = "std"))]
        {
            None
        }
    }
}

/// Trains `params` of `model` on samples `(x, y)` by the chain rule and `optimizer` steps.
///
/// `x` holds the samples' features row after row (`y.len() * model.num_features()` values),
/// `y` one target per sample. Each epoch visits the samples in order (or shuffled, see
/// [`FitOptions::shuffle`]) in batches of [`FitOptions::batch_size`]; for each batch the
/// gradient `dL/dθ = L'(ŷ, y)·dŷ/dθ` is averaged over the batch, optionally clipped, and one
/// optimizer step is taken. A schedule, if any, is stepped after every step or every epoch.
///
/// ```
/// use gradus::{fit, FitOptions, Linear, Sgd, SquaredError};
/// // the notebook's first row: per-sample SGD, lr 1e-4, 50 epochs, from b = w = 1
/// let x = [14.0, 86.0, 28.0, 51.0, 28.0, 29.0, 72.0, 62.0, 84.0, 15.0, 42.0, 62.0, 47.0, 35.0,
///          9.0, 38.0, 44.0, 99.0, 13.0, 21.0, 28.0, 20.0, 8.0, 64.0, 99.0, 70.0, 27.0, 17.0, 8.0];
/// let y: Vec<f64> = x.iter().map(|x| 30.0 + 2.0 * x).collect();
/// let mut params = [1.0, 1.0];
/// let report = fit(&Linear::new(1), &SquaredError, &mut Sgd::new(1e-4), &mut params, &x, &y,
///                  FitOptions::new(50))?;
/// assert_eq!(report.epochs.len(), 50);
/// assert!((params[0] - 3.73).abs() < 5e-3 && (params[1] - 2.56).abs() < 5e-3);
/// # Ok::<(), gradus::Error>(())
/// ```
///
/// # Errors
///
/// - [`Error::EmptyData`] for no samples or no parameters, [`Error::ShapeMismatch`] when `x`,
///   `y` and `params` do not fit the model, [`Error::InvalidHyperparameter`] for
///   `batch_size == 0` — all before anything is changed;
/// - [`Error::Diverged`] when a sample's loss is NaN or infinite;
/// - any error of the optimizer's step or the schedule.
///
/// On an error during training, `params` are restored to their values at the end of the last
/// completed epoch (the start of training if none completed).
pub fn fit<T, M, L, O>(
    model: &M,
    loss: &L,
    optimizer: &mut O,
    params: &mut [T],
    x: &[T],
    y: &[T],
    mut options: FitOptions<'_, T>,
) -> Result<FitReport<T>, Error>
where
    T: Float,
    M: Gradient<T> + ?Sized,
    L: Loss<T> + ?Sized,
    O: Optimizer<T> + ?Sized,
{
    let features = model.num_features();
    if y.is_empty() {
        return Err(Error::EmptyData { what: "y (no samples)" });
    }
    if params.is_empty() {
        return Err(Error::EmptyData { what: "params" });
    }
    if params.len() != model.num_params() {
        return Err(Error::ShapeMismatch { what: "params", expected: model.num_params(), found: params.len() });
    }
    let expected_x = y.len().saturating_mul(features);
    if x.len() != expected_x {
        return Err(Error::ShapeMismatch { what: "x (samples * features)", expected: expected_x, found: x.len() });
    }
    if options.batch_size == 0 {
        return Err(Error::InvalidHyperparameter { name: "batch_size", value: 0.0, expected: "at least 1" });
    }

    if let Some((s, _)) = options.schedule.as_mut() {
        s.start(&mut &mut *optimizer)?;
    }
    let n = y.len();
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = options.shuffle.map(rand_chacha::ChaCha8Rng::seed_from_u64);
    let mut grad = vec![T::zero(); params.len()];
    let mut sample_grad = vec![T::zero(); if options.batch_size > 1 { params.len() } else { 0 }];
    let mut checkpoint = params.to_vec();
    let mut report = FitReport {
        epochs: Vec::with_capacity(options.epochs),
        final_lr: optimizer.learning_rate(),
        stop: Stop::Completed,
    };

    for epoch in 0..options.epochs {
        let clock = Clock::start();
        if let Some(rng) = rng.as_mut() {
            order.shuffle(rng);
        }
        let mut total = 0.0_f64;
        let result = (|| -> Result<(), Error> {
            if options.batch_size == 1 {
                // per-sample steps: the gradient goes straight from the chain rule to the step;
                // without clipping or a per-step schedule, straight to `Optimizer::step`
                let plain = options.clip_value.is_none()
                    && options.clip_norm.is_none()
                    && !matches!(options.schedule, Some((_, Interval::Step)));
                let shuffled = rng.is_some();
                // one loop for both orders (indexing `order` only when shuffled) keeps the body
                // inlined once
                #[allow(clippy::needless_range_loop)]
                for j in 0..n {
                    let i = if shuffled { order[j] } else { j };
                    let xi = &x[i * features..(i + 1) * features];
                    let l = loss_gradient(model, loss, params, xi, y[i], &mut grad);
                    if !l.is_finite() {
                        return Err(Error::Diverged { epoch, sample: i });
                    }
                    total += to_f64(l);
                    if plain {
                        optimizer.step(params, &grad)?;
                    } else {
                        step(&mut options, optimizer, params, &mut grad, l)?;
                    }
                }
                return Ok(());
            }
            for batch in order.chunks(options.batch_size) {
                let mut batch_loss = 0.0_f64;
                for (k, &i) in batch.iter().enumerate() {
                    let xi = &x[i * features..(i + 1) * features];
                    let target = if k == 0 { &mut grad[..] } else { &mut sample_grad[..] };
                    let l = loss_gradient(model, loss, params, xi, y[i], target);
                    if !l.is_finite() {
                        return Err(Error::Diverged { epoch, sample: i });
                    }
                    if k > 0 {
                        for (g, &s) in grad.iter_mut().zip(&sample_grad) {
                            *g = *g + s;
                        }
                    }
                    batch_loss += to_f64(l);
                }
                let m: T = cast(batch.len() as f64);
                for g in grad.iter_mut() {
                    *g = *g / m;
                }
                total += batch_loss;
                step(&mut options, optimizer, params, &mut grad, cast(batch_loss / batch.len() as f64))?;
            }
            Ok(())
        })();
        let mean = cast(total / n as f64);
        let result = result.and_then(|()| match options.schedule.as_mut() {
            Some((s, Interval::Epoch)) => s.step(&mut &mut *optimizer, Some(mean)),
            _ => Ok(()),
        });
        if let Err(e) = result {
            params.copy_from_slice(&checkpoint);
            return Err(e);
        }
        checkpoint.copy_from_slice(params);
        let e = EpochReport { epoch, loss: mean, lr: optimizer.learning_rate(), elapsed: clock.elapsed() };
        report.epochs.push(e);
        report.final_lr = e.lr;
        if options.target_loss.is_some_and(|t| mean <= t) {
            report.stop = Stop::TargetReached;
            break;
        }
        if let Some(cb) = options.callback.as_mut() {
            if cb(&e).is_break() {
                report.stop = Stop::Callback;
                break;
            }
        }
    }
    Ok(report)
}
