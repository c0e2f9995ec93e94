//! Losses: a value and its derivative with respect to the prediction.

use num_traits::Float;

use crate::kernel::cast;

/// A loss of one prediction against one target, with its derivative with respect to the
/// prediction: the outer factor of the chain rule `dL/dθ = dL/dŷ · dŷ/dθ`.
///
/// ```
/// use gradus::{Loss, SquaredError};
/// assert_eq!(SquaredError.loss(3.0_f64, 1.0), 4.0);
/// assert_eq!(SquaredError.derivative(3.0_f64, 1.0), 4.0);
/// ```
pub trait Loss<T: Float> {
    /// The loss `L(prediction, target)`.
    fn loss(&self, prediction: T, target: T) -> T;
    /// `dL/dprediction`.
    fn derivative(&self, prediction: T, target: T) -> T;

    /// How many target values a sample has for a model with `outputs` outputs: `outputs` for
    /// the elementwise losses (one target per output), 1 for a class label.
    ///
    /// ```
    /// use gradus::{Loss, SoftmaxCrossEntropy, SquaredError};
    /// assert_eq!(Loss::<f64>::targets(&SquaredError, 3), 3);
    /// assert_eq!(Loss::<f64>::targets(&SoftmaxCrossEntropy, 3), 1);
    /// ```
    fn targets(&self, outputs: usize) -> usize {
        outputs
    }

    /// The loss of a sample with several outputs `prediction` against its `target` values,
    /// writing `dL/dprediction` into `d` (as long as `prediction`). The default sums the
    /// elementwise loss over outputs, one target per output.
    ///
    /// ```
    /// use gradus::{Loss, SquaredError};
    /// let mut d = [0.0; 2];
    /// assert_eq!(SquaredError.loss_outputs(&[1.0_f64, 3.0], &[0.0, 1.0], &mut d), 5.0);
    /// assert_eq!(d, [2.0, 4.0]);
    /// ```
    fn loss_outputs(&self, prediction: &[T], target: &[T], d: &mut [T]) -> T {
        let mut total = T::zero();
        for ((d, &p), &t) in d.iter_mut().zip(prediction).zip(target) {
            *d = self.derivative(p, t);
            total = total + self.loss(p, t);
        }
        total
    }

    /// Whether `target` is a valid target for a model with `outputs` outputs (a class label
    /// in range, say); `fit` checks every sample before it starts. Default: any finite value.
    ///
    /// ```
    /// use gradus::{Loss, SoftmaxCrossEntropy};
    /// assert!(SoftmaxCrossEntropy.valid_target(&[2.0_f64], 3));
    /// assert!(!SoftmaxCrossEntropy.valid_target(&[3.0_f64], 3));
    /// assert!(!SoftmaxCrossEntropy.valid_target(&[0.5_f64], 3));
    /// ```
    fn valid_target(&self, target: &[T], outputs: usize) -> bool {
        let _ = (target, outputs);
        true
    }

    /// For a classifier's loss, whether `prediction` classifies the sample right (`fit`
    /// reports the share of right ones as the epoch's accuracy); `None` for other losses.
    ///
    /// ```
    /// use gradus::{Loss, SoftmaxCrossEntropy, SquaredError};
    /// assert_eq!(SoftmaxCrossEntropy.correct(&[0.1_f64, 2.0, -1.0], &[1.0]), Some(true));
    /// assert_eq!(SquaredError.correct(&[0.1_f64], &[1.0]), None);
    /// ```
    fn correct(&self, prediction: &[T], target: &[T]) -> Option<bool> {
        let _ = (prediction, target);
        None
    }
}

/// A reference to a loss is the loss (so a `&dyn Loss` or a borrowed loss can be passed on).
impl<T: Float, L: Loss<T> + ?Sized> Loss<T> for &L {
    #[inline(always)]
    fn loss(&self, prediction: T, target: T) -> T {
        (**self).loss(prediction, target)
    }
    #[inline(always)]
    fn derivative(&self, prediction: T, target: T) -> T {
        (**self).derivative(prediction, target)
    }
    #[inline(always)]
    fn targets(&self, outputs: usize) -> usize {
        (**self).targets(outputs)
    }
    #[inline(always)]
    fn loss_outputs(&self, prediction: &[T], target: &[T], d: &mut [T]) -> T {
        (**self).loss_outputs(prediction, target, d)
    }
    #[inline(always)]
    fn valid_target(&self, target: &[T], outputs: usize) -> bool {
        (**self).valid_target(target, outputs)
    }
    #[inline(always)]
    fn correct(&self, prediction: &[T], target: &[T]) -> Option<bool> {
        (**self).correct(prediction, target)
    }
}

/// Squared error `(ŷ - y)^2`, derivative `2(ŷ - y)`: the notebook's loss.
///
/// ```
/// use gradus::{Loss, SquaredError};
/// assert_eq!(SquaredError.derivative(1.5_f32, 1.0), 1.0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SquaredError;

impl<T: Float> Loss<T> for SquaredError {
    #[inline]
    fn loss(&self, prediction: T, target: T) -> T {
        let r = prediction - target;
        r * r
    }
    #[inline]
    fn derivative(&self, prediction: T, target: T) -> T {
        cast::<T>(2.0) * (prediction - target)
    }
}

/// Absolute error `|ŷ - y|`, derivative `sign(ŷ - y)` (0 at 0), as `torch.nn.L1Loss`.
///
/// ```
/// use gradus::{AbsoluteError, Loss};
/// assert_eq!(AbsoluteError.loss(1.0_f64, 3.0), 2.0);
/// assert_eq!(AbsoluteError.derivative(1.0_f64, 3.0), -1.0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AbsoluteError;

impl<T: Float> Loss<T> for AbsoluteError {
    #[inline]
    fn loss(&self, prediction: T, target: T) -> T {
        (prediction - target).abs()
    }
    #[inline]
    fn derivative(&self, prediction: T, target: T) -> T {
        crate::kernel::sign(prediction - target)
    }
}

/// Huber loss with threshold `delta`, as `torch.nn.HuberLoss`: `0.5 r^2` for `|r| <= delta`,
/// else `delta (|r| - 0.5 delta)`, with `r = ŷ - y`; derivative `r` or `delta sign(r)`.
///
/// ```
/// use gradus::{Huber, Loss};
/// let h = Huber(1.0);
/// assert_eq!(h.loss(0.5_f64, 0.0), 0.125);
/// assert_eq!(h.loss(3.0_f64, 0.0), 2.5);
/// assert_eq!(h.derivative(3.0_f64, 0.0), 1.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Huber(pub f64);

impl<T: Float> Loss<T> for Huber {
    #[inline]
    fn loss(&self, prediction: T, target: T) -> T {
        let (r, d) = (prediction - target, cast::<T>(self.0));
        let half = cast::<T>(0.5);
        if r.abs() <= d {
            half * r * r
        } else {
            d * (r.abs() - half * d)
        }
    }
    #[inline]
    fn derivative(&self, prediction: T, target: T) -> T {
        let (r, d) = (prediction - target, cast::<T>(self.0));
        if r.abs() <= d {
            r
        } else {
            d * crate::kernel::sign(r)
        }
    }
}

/// Binary cross-entropy on a logit `z` with a target `y` in `[0, 1]`, as
/// `torch.nn.BCEWithLogitsLoss`, computed stably for any `|z|`:
/// `max(z, 0) - z*y + ln(1 + exp(-|z|))`, derivative `sigmoid(z) - y`.
///
/// ```
/// use gradus::{LogLoss, Loss};
/// assert!((LogLoss.loss(0.0_f64, 1.0) - std::f64::consts::LN_2).abs() < 1e-15);
/// assert_eq!(LogLoss.loss(1000.0_f64, 1.0), 0.0);      // no overflow
/// assert_eq!(LogLoss.loss(-1000.0_f64, 1.0), 1000.0);
/// assert_eq!(LogLoss.derivative(0.0_f64, 1.0), -0.5);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogLoss;

/// The logistic function `1 / (1 + exp(-z))`, evaluated without overflow for any `z`.
///
/// ```
/// assert_eq!(gradus::sigmoid(0.0_f64), 0.5);
/// assert_eq!(gradus::sigmoid(-1000.0_f64), 0.0);
/// assert_eq!(gradus::sigmoid(1000.0_f64), 1.0);
/// ```
#[inline]
pub fn sigmoid<T: Float>(z: T) -> T {
    if z >= T::zero() {
        T::one() / (T::one() + (-z).exp())
    } else {
        let e = z.exp();
        e / (T::one() + e)
    }
}

impl<T: Float> Loss<T> for LogLoss {
    #[inline]
    fn loss(&self, prediction: T, target: T) -> T {
        let z = prediction;
        z.max(T::zero()) - z * target + (-z.abs()).exp().ln_1p()
    }
    #[inline]
    fn derivative(&self, prediction: T, target: T) -> T {
        sigmoid(prediction) - target
    }

    /// A logit above 0 predicts class 1: right when the target is above one half.
    fn correct(&self, prediction: &[T], target: &[T]) -> Option<bool> {
        let half = cast::<T>(0.5);
        Some((*prediction.first()? > T::zero()) == (*target.first()? > half))
    }
}

/// Softmax cross-entropy of a model's outputs (logits) against an integer class label:
/// `torch.nn.functional.cross_entropy` for one sample, `optax.softmax_cross_entropy_with_integer_labels`.
///
/// With `z` the outputs, `y` the label (a whole number in `0..outputs`, stored as a float) and
/// `m = max(z)`, computed without overflow for any logits:
///
/// ```text
/// s    = sum_j exp(z_j - m)
/// L    = (m + ln s) - z_y                 // log-sum-exp minus the label's logit
/// dL/dz_j = exp(z_j - m)/s - [j == y]     // softmax minus the one-hot label
/// ```
///
/// A sample has one target (the label); `fit` rejects a label that is not a whole number in
/// range before the first step. The scalar [`loss`](Loss::loss) and
/// [`derivative`](Loss::derivative) are those of a model with one output, which softmax always
/// assigns to class 0: loss 0, derivative 0.
///
/// ```
/// use gradus::{Loss, SoftmaxCrossEntropy};
/// let logits = [2.0_f64, 1.0, 0.1];
/// let mut d = [0.0; 3];
/// let l = SoftmaxCrossEntropy.loss_outputs(&logits, &[0.0], &mut d);
/// let p0 = 2.0_f64.exp() / (2.0_f64.exp() + 1.0_f64.exp() + 0.1_f64.exp());
/// assert!((l + p0.ln()).abs() < 1e-12);
/// assert!((d[0] - (p0 - 1.0)).abs() < 1e-12);
/// assert!(d.iter().sum::<f64>().abs() < 1e-12); // the gradient of a softmax sums to zero
/// // huge logits do not overflow
/// assert!(SoftmaxCrossEntropy.loss_outputs(&[1000.0_f64, -1000.0], &[1.0], &mut d[..2]).is_finite());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SoftmaxCrossEntropy;

impl SoftmaxCrossEntropy {
    /// The label as an index, if it is a whole number in `0..outputs`.
    fn label<T: Float>(target: &[T], outputs: usize) -> Option<usize> {
        let y = crate::kernel::to_f64(*target.first()?);
        (y >= 0.0 && y.fract() == 0.0 && y < outputs as f64).then_some(y as usize)
    }
}

impl<T: Float> Loss<T> for SoftmaxCrossEntropy {
    #[inline]
    fn loss(&self, _prediction: T, _target: T) -> T {
        T::zero()
    }

    #[inline]
    fn derivative(&self, _prediction: T, _target: T) -> T {
        T::zero()
    }

    fn targets(&self, _outputs: usize) -> usize {
        1
    }

    fn loss_outputs(&self, prediction: &[T], target: &[T], d: &mut [T]) -> T {
        let Some(y) = Self::label(target, prediction.len()) else {
            return T::nan();
        };
        let m = prediction.iter().fold(T::neg_infinity(), |m, &z| m.max(z));
        let mut s = T::zero();
        for (d, &z) in d.iter_mut().zip(prediction) {
            *d = (z - m).exp();
            s = s + *d;
        }
        for d in d.iter_mut() {
            *d = *d / s;
        }
        d[y] = d[y] - T::one();
        (m + s.ln()) - prediction[y]
    }

    fn valid_target(&self, target: &[T], outputs: usize) -> bool {
        target.len() == 1 && Self::label(target, outputs).is_some()
    }

    fn correct(&self, prediction: &[T], target: &[T]) -> Option<bool> {
        let y = Self::label(target, prediction.len())?;
        // the first of equal maxima wins, as torch.argmax
        let best = prediction.iter().enumerate().fold(0, |b, (i, &z)| if z > prediction[b] { i } else { b });
        Some(best == y)
    }
}
