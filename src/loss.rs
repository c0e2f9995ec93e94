//! Losses: a value and its derivative with respect to the prediction.

use num_traits::Float;

use crate::kernel::cast;

/// A loss of one prediction against one target, with its derivative with respect to the
/// prediction: the outer factor of the chain rule `dL/dθ = dL/dŷ · dŷ/dθ`.
///
/// ```
/// use descent::{Loss, SquaredError};
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
/// use descent::{Loss, SquaredError};
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
