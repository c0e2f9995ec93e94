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
}
