//! Differentiable models: a prediction and its gradient with respect to the parameters.

use num_traits::Float;

use crate::loss::Loss;

/// A model `ŷ = f(θ, x)` that knows its gradient `dŷ/dθ`: the inner factor of the chain rule.
///
/// Parameters live outside the model, in the flat slice the optimizer steps; the model only
/// describes how to read them.
///
/// ```
/// use descent::{Gradient, Linear};
/// let model = Linear::new(1); // ŷ = b + w·x, params [b, w]
/// let mut g = [0.0; 2];
/// let y = model.gradient(&[1.0_f64, 2.0], &[3.0], &mut g);
/// assert_eq!((y, g), (7.0, [1.0, 3.0]));
/// ```
pub trait Gradient<T: Float> {
    /// Number of parameters the model reads.
    fn num_params(&self) -> usize;
    /// Number of features of one sample.
    fn num_features(&self) -> usize;
    /// The prediction for one sample `x` (`num_features` long).
    fn predict(&self, params: &[T], x: &[T]) -> T;
    /// Writes `dŷ/dθ` into `grad` (`num_params` long) and returns the prediction.
    fn gradient(&self, params: &[T], x: &[T], grad: &mut [T]) -> T;
}

/// Linear model `ŷ = b + w₁x₁ + … + wₙxₙ`, parameters `[b, w₁, …, wₙ]`, summed in that order.
///
/// With one feature this is the notebook's `y = b + w·x`.
///
/// ```
/// use descent::{Gradient, Linear};
/// let model = Linear::new(2);
/// assert_eq!(model.predict(&[1.0_f64, 2.0, 3.0], &[10.0, 100.0]), 321.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Linear {
    features: usize,
}

impl Linear {
    /// A linear model over `features` inputs (`features + 1` parameters).
    ///
    /// ```
    /// use descent::{Gradient, Linear};
    /// assert_eq!(Gradient::<f64>::num_params(&Linear::new(3)), 4);
    /// ```
    pub fn new(features: usize) -> Self {
        Linear { features }
    }
}

impl<T: Float> Gradient<T> for Linear {
    fn num_params(&self) -> usize {
        self.features + 1
    }
    fn num_features(&self) -> usize {
        self.features
    }
    #[inline]
    fn predict(&self, params: &[T], x: &[T]) -> T {
        let (b, w) = params.split_first().map_or((T::zero(), &[][..]), |(b, w)| (*b, w));
        w.iter().zip(x).fold(b, |acc, (&w, &x)| acc + w * x)
    }
    #[inline]
    fn gradient(&self, params: &[T], x: &[T], grad: &mut [T]) -> T {
        if let Some((gb, gw)) = grad.split_first_mut() {
            *gb = T::one();
            for (g, &x) in gw.iter_mut().zip(x) {
                *g = x;
            }
        }
        self.predict(params, x)
    }
}

/// The chain rule for one sample: writes `dL/dθ = L'(ŷ, y) · dŷ/dθ` into `grad` and returns
/// the loss `L(ŷ, y)`.
///
/// ```
/// use descent::{loss_gradient, Linear, SquaredError};
/// let mut g = [0.0; 2];
/// // notebook: dl/db = 2(b + w·x - y), dl/dw = 2(b + w·x - y)·x
/// let l = loss_gradient(&Linear::new(1), &SquaredError, &[1.0_f64, 1.0], &[14.0], 58.0, &mut g);
/// assert_eq!((l, g), (43.0 * 43.0, [-86.0, -86.0 * 14.0]));
/// ```
#[inline]
pub fn loss_gradient<T: Float, M: Gradient<T> + ?Sized, L: Loss<T> + ?Sized>(
    model: &M,
    loss: &L,
    params: &[T],
    x: &[T],
    y: T,
    grad: &mut [T],
) -> T {
    let prediction = model.gradient(params, x, grad);
    let d = loss.derivative(prediction, y);
    for g in grad.iter_mut() {
        *g = d * *g;
    }
    loss.loss(prediction, y)
}
