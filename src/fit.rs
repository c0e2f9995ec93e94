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
use crate::model::Network;
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
    /// Share of the epoch's samples the model classified right (each at the parameters before
    /// its step), for a classifier's loss ([`Loss::correct`]); `None` for other losses.
    pub accuracy: Option<T>,
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
/// `x` holds the samples' features row after row (`samples * model.num_features()` values), `y`
/// each sample's targets row after row (`samples * loss.targets(model.num_outputs())` values:
/// one per output for the elementwise losses, one class label for [`SoftmaxCrossEntropy`]).
/// Each epoch visits the samples in order (or shuffled, see [`FitOptions::shuffle`]) in batches
/// of [`FitOptions::batch_size`]; for each batch the gradient `dL/dθ` (the loss's derivative
/// with respect to the outputs, through the model's [`backward`](Network::backward)) is averaged
/// over the batch, optionally clipped, and one optimizer step is taken. A schedule, if any, is
/// stepped after every step or every epoch. Any [`Optimizer`] works, a [`Groups`] over the
/// model's [`Layout`] included.
///
/// [`SoftmaxCrossEntropy`]: crate::SoftmaxCrossEntropy
/// [`Groups`]: crate::Groups
/// [`Layout`]: crate::Layout
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
/// Before anything is changed:
/// - [`Error::EmptyData`] for no samples or no parameters, [`Error::ShapeMismatch`] when `x`,
///   `y` and `params` do not fit the model, [`Error::InvalidHyperparameter`] for
///   `batch_size == 0`;
/// - [`Error::NonFiniteData`] for a NaN or infinite value in `x` or `y` (with its index), and
///   [`Error::InvalidTarget`] for a target the loss rejects (a class label out of range).
///
/// During training:
/// - [`Error::Diverged`] when a sample's loss is NaN or infinite;
/// - any error of the optimizer's step or the schedule.
///
/// On an error during training, `params` and the optimizer's state (through
/// [`Optimizer::snapshot`], which every rule of the crate, `Groups` and the wrappers give) are
/// restored to the best point seen: the one the epoch of lowest mean loss started from (an
/// epoch's mean loss measures the point it starts at), which is the end of the epoch before it,
/// or the start of training; [`Error::Diverged`] names that epoch in `restored`.
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
    T: Float + 'static,
    M: Network<T> + ?Sized,
    L: Loss<T> + ?Sized,
    O: Optimizer<T> + ?Sized,
{
    let features = model.num_features();
    let outputs = model.num_outputs();
    let targets = loss.targets(outputs);
    if y.is_empty() {
        return Err(Error::EmptyData { what: "y (no samples)" });
    }
    if params.is_empty() {
        return Err(Error::EmptyData { what: "params" });
    }
    if params.len() != model.num_params() {
        return Err(Error::ShapeMismatch { what: "params", expected: model.num_params(), found: params.len() });
    }
    if targets == 0 || y.len() % targets != 0 {
        return Err(Error::ShapeMismatch {
            what: "y (a multiple of the targets per sample)",
            expected: targets,
            found: y.len(),
        });
    }
    let n = y.len() / targets;
    let expected_x = n.saturating_mul(features);
    if x.len() != expected_x {
        return Err(Error::ShapeMismatch { what: "x (samples * features)", expected: expected_x, found: x.len() });
    }
    if options.batch_size == 0 {
        return Err(Error::InvalidHyperparameter { name: "batch_size", value: 0.0, expected: "at least 1" });
    }
    if let Some(index) = x.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFiniteData { what: "x", index, value: to_f64(x[index]) });
    }
    if let Some(index) = y.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFiniteData { what: "y", index, value: to_f64(y[index]) });
    }
    if let Some(sample) = y.chunks_exact(targets).position(|t| !loss.valid_target(t, outputs)) {
        return Err(Error::InvalidTarget { sample, value: to_f64(y[sample * targets]) });
    }
    let loss: &dyn Loss<T> = &loss;

    if let Some((s, _)) = options.schedule.as_mut() {
        s.start(&mut &mut *optimizer)?;
    }
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = options.shuffle.map(rand_chacha::ChaCha8Rng::seed_from_u64);
    let mut grad = vec![T::zero(); params.len()];
    let mut sample_grad = vec![T::zero(); if options.batch_size > 1 { params.len() } else { 0 }];
    let (mut out, mut d_out) = (vec![T::zero(); outputs], vec![T::zero(); outputs]);
    // what an error restores: the point the epoch of lowest mean loss started from (an epoch's
    // mean loss measures the point it starts at, the end of the one before), else the start
    let mut start = Point { after: None, params: params.to_vec(), state: optimizer.snapshot() };
    let (mut best, mut best_loss): (Option<Point<T>>, f64) = (None, f64::INFINITY);
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
        let mut right: Option<usize> = None;
        let result = (|| -> Result<(), Error> {
            let mut tally = |out: &[T], target: &[T]| {
                if let Some(ok) = loss.correct(out, target) {
                    *right.get_or_insert(0) += usize::from(ok);
                }
            };
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
                    let yi = &y[i * targets..(i + 1) * targets];
                    let l = model.sample_gradient(loss, params, xi, yi, &mut out, &mut d_out, &mut grad);
                    if !l.is_finite() {
                        return Err(Error::Diverged { epoch, sample: i, restored: None });
                    }
                    tally(&out, yi);
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
                    let yi = &y[i * targets..(i + 1) * targets];
                    let target = if k == 0 { &mut grad[..] } else { &mut sample_grad[..] };
                    let l = model.sample_gradient(loss, params, xi, yi, &mut out, &mut d_out, target);
                    if !l.is_finite() {
                        return Err(Error::Diverged { epoch, sample: i, restored: None });
                    }
                    tally(&out, yi);
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
            let point = best.as_ref().unwrap_or(&start);
            params.copy_from_slice(&point.params);
            if let Some(saved) = &point.state {
                optimizer.restore(&**saved);
            }
            return Err(match e {
                Error::Diverged { epoch, sample, .. } => Error::Diverged { epoch, sample, restored: point.after },
                e => e,
            });
        }
        let end = Point { after: Some(epoch), params: params.to_vec(), state: optimizer.snapshot() };
        let began = core::mem::replace(&mut start, end);
        if to_f64(mean) < best_loss {
            (best, best_loss) = (Some(began), to_f64(mean));
        }
        let accuracy = right.map(|r| cast(r as f64 / n as f64));
        let e = EpochReport { epoch, loss: mean, lr: optimizer.learning_rate(), accuracy, elapsed: clock.elapsed() };
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

/// A point [`fit`] can go back to: the parameters and the optimizer's state at the end of epoch
/// `after` (`None`: the start of training).
struct Point<T> {
    after: Option<usize>,
    params: Vec<T>,
    state: Option<alloc::boxed::Box<dyn core::any::Any>>,
}

/// Mean loss and (for a classifier's loss) accuracy of `model` at `params` over samples `(x,
/// y)`, laid out as for [`fit`]: what to report on a held-out split.
///
/// ```
/// use gradus::{evaluate, Linear, SquaredError};
/// let e = evaluate(&Linear::new(1), &SquaredError, &[1.0, 2.0], &[1.0, 2.0], &[3.0, 6.0])?;
/// assert_eq!(e.loss, 0.5); // predictions 3 and 5
/// assert_eq!(e.accuracy, None);
/// # Ok::<(), gradus::Error>(())
/// ```
///
/// # Errors
///
/// As `fit`'s checks of the data: [`Error::EmptyData`], [`Error::ShapeMismatch`],
/// [`Error::NonFiniteData`], [`Error::InvalidTarget`].
pub fn evaluate<T, M, L>(model: &M, loss: &L, params: &[T], x: &[T], y: &[T]) -> Result<Evaluation<T>, Error>
where
    T: Float,
    M: Network<T> + ?Sized,
    L: Loss<T> + ?Sized,
{
    let (features, outputs) = (model.num_features(), model.num_outputs());
    let targets = loss.targets(outputs);
    if y.is_empty() || targets == 0 {
        return Err(Error::EmptyData { what: "y (no samples)" });
    }
    if params.len() != model.num_params() {
        return Err(Error::ShapeMismatch { what: "params", expected: model.num_params(), found: params.len() });
    }
    let n = y.len() / targets;
    if y.len() % targets != 0 || x.len() != n.saturating_mul(features) {
        return Err(Error::ShapeMismatch { what: "x (samples * features)", expected: n * features, found: x.len() });
    }
    if let Some(index) = x.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFiniteData { what: "x", index, value: to_f64(x[index]) });
    }
    if let Some(index) = y.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFiniteData { what: "y", index, value: to_f64(y[index]) });
    }
    if let Some(sample) = y.chunks_exact(targets).position(|t| !loss.valid_target(t, outputs)) {
        return Err(Error::InvalidTarget { sample, value: to_f64(y[sample * targets]) });
    }
    let (mut out, mut d) = (vec![T::zero(); outputs], vec![T::zero(); outputs]);
    let (mut total, mut right) = (0.0_f64, None::<usize>);
    for (xi, yi) in x.chunks_exact(features.max(1)).zip(y.chunks_exact(targets)).take(n) {
        let xi = if features == 0 { &[][..] } else { xi };
        model.forward(params, xi, &mut out);
        total += to_f64(loss.loss_outputs(&out, yi, &mut d));
        if let Some(ok) = loss.correct(&out, yi) {
            *right.get_or_insert(0) += usize::from(ok);
        }
    }
    Ok(Evaluation { loss: cast(total / n as f64), accuracy: right.map(|r| cast(r as f64 / n as f64)) })
}

/// What [`evaluate`] measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation<T> {
    /// Mean loss over the samples.
    pub loss: T,
    /// Share classified right, for a classifier's loss; `None` otherwise.
    pub accuracy: Option<T>,
}
