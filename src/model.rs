//! Differentiable models: a prediction and its gradient with respect to the parameters.

use num_traits::Float;

use crate::loss::Loss;

/// A model `ŷ = f(θ, x)` that knows its gradient `dŷ/dθ`: the inner factor of the chain rule.
///
/// Parameters live outside the model, in the flat slice the optimizer steps; the model only
/// describes how to read them.
///
/// ```
/// use gradus::{Gradient, Linear};
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

    /// One backward step of the chain rule: writes `outer(ŷ) · dŷ/dθ` into `grad` and returns
    /// the prediction `ŷ`, where `outer` gives the derivative of what is applied to the prediction
    /// (the loss's derivative at `ŷ`, in [`loss_gradient`]).
    ///
    /// The default calls [`gradient`](Self::gradient) and scales the result; a model overrides it
    /// to do both in one pass (the built-in models do).
    ///
    /// ```
    /// use gradus::{Gradient, Linear};
    /// let mut g = [0.0; 2];
    /// let y = Linear::new(1).chain_rule(&[1.0_f64, 2.0], &[3.0], &|y| 2.0 * (y - 5.0), &mut g);
    /// assert_eq!((y, g), (7.0, [4.0, 12.0]));
    /// ```
    #[inline]
    fn chain_rule(&self, params: &[T], x: &[T], outer: &dyn Fn(T) -> T, grad: &mut [T]) -> T {
        let prediction = self.gradient(params, x, grad);
        let d = outer(prediction);
        for g in grad.iter_mut() {
            *g = d * *g;
        }
        prediction
    }
}

/// Linear model `ŷ = b + w₁x₁ + … + wₙxₙ`, parameters `[b, w₁, …, wₙ]`, summed in that order.
///
/// With one feature this is the notebook's `y = b + w·x`.
///
/// ```
/// use gradus::{Gradient, Linear};
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
    /// use gradus::{Gradient, Linear};
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
    #[inline(always)]
    fn predict(&self, params: &[T], x: &[T]) -> T {
        let (b, w) = params.split_first().map_or((T::zero(), &[][..]), |(b, w)| (*b, w));
        w.iter().zip(x).fold(b, |acc, (&w, &x)| acc + w * x)
    }
    #[inline(always)]
    fn gradient(&self, params: &[T], x: &[T], grad: &mut [T]) -> T {
        if let Some((gb, gw)) = grad.split_first_mut() {
            *gb = T::one();
            for (g, &x) in gw.iter_mut().zip(x) {
                *g = x;
            }
        }
        self.predict(params, x)
    }
    /// `dŷ/db = 1` and `dŷ/dw = x`, scaled by `outer(ŷ)` as they are written.
    #[inline(always)]
    fn chain_rule(&self, params: &[T], x: &[T], outer: &dyn Fn(T) -> T, grad: &mut [T]) -> T {
        let prediction = self.predict(params, x);
        let d = outer(prediction);
        if let Some((gb, gw)) = grad.split_first_mut() {
            *gb = d;
            for (g, &x) in gw.iter_mut().zip(x) {
                *g = d * x;
            }
        }
        prediction
    }
}

/// Logistic regression: the logit `z = b + w·x` of a [`Linear`] model, meant for [`LogLoss`]
/// (which takes logits); [`probability`](Logistic::probability) gives `sigmoid(z)`.
///
/// ```
/// use gradus::{Gradient, Logistic};
/// let m = Logistic::new(1);
/// assert_eq!(m.predict(&[0.0_f64, 2.0], &[0.0]), 0.0);
/// assert_eq!(m.probability(&[0.0_f64, 2.0], &[0.0]), 0.5);
/// assert!(m.classify(&[0.0_f64, 2.0], &[1.0]));
/// ```
///
/// [`LogLoss`]: crate::LogLoss
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Logistic {
    linear: Linear,
}

impl Logistic {
    /// Logistic regression over `features` inputs (`features + 1` parameters).
    ///
    /// ```
    /// use gradus::{Gradient, Logistic};
    /// assert_eq!(Gradient::<f32>::num_params(&Logistic::new(4)), 5);
    /// ```
    pub fn new(features: usize) -> Self {
        Logistic { linear: Linear::new(features) }
    }

    /// `P(y = 1 | x) = sigmoid(b + w·x)`.
    ///
    /// ```
    /// let p = gradus::Logistic::new(1).probability(&[0.0_f64, 0.0], &[5.0]);
    /// assert_eq!(p, 0.5);
    /// ```
    pub fn probability<T: Float>(&self, params: &[T], x: &[T]) -> T {
        crate::loss::sigmoid(self.linear.predict(params, x))
    }

    /// The predicted class: `true` when the logit is positive.
    ///
    /// ```
    /// assert!(!gradus::Logistic::new(1).classify(&[-1.0_f64, 0.0], &[5.0]));
    /// ```
    pub fn classify<T: Float>(&self, params: &[T], x: &[T]) -> bool {
        self.linear.predict(params, x) > T::zero()
    }
}

impl<T: Float> Gradient<T> for Logistic {
    fn num_params(&self) -> usize {
        Gradient::<T>::num_params(&self.linear)
    }
    fn num_features(&self) -> usize {
        Gradient::<T>::num_features(&self.linear)
    }
    #[inline]
    fn predict(&self, params: &[T], x: &[T]) -> T {
        self.linear.predict(params, x)
    }
    #[inline]
    fn gradient(&self, params: &[T], x: &[T], grad: &mut [T]) -> T {
        self.linear.gradient(params, x, grad)
    }
    #[inline]
    fn chain_rule(&self, params: &[T], x: &[T], outer: &dyn Fn(T) -> T, grad: &mut [T]) -> T {
        self.linear.chain_rule(params, x, outer, grad)
    }
}

/// What [`check_gradient`] found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradientCheck {
    /// The largest relative difference `|analytic - numeric| / max(|analytic|, |numeric|, 1e-8)`.
    pub worst_relative_error: f64,
    /// The parameter index where it occurs.
    pub index: usize,
    /// The analytic derivative there.
    pub analytic: f64,
    /// The central-difference estimate there.
    pub numeric: f64,
}

/// Compares a model's analytic gradient `dŷ/dθ` at `(params, x)` with central finite
/// differences `(f(θ + h e_i) - f(θ - h e_i)) / 2h`, `h = step * max(1, |θ_i|)`, computed in
/// `f64`, and reports the worst relative error. A correct gradient gives about `1e-8` or less
/// in `f64` with `step = 1e-6`.
///
/// ```
/// use gradus::{check_gradient, Linear};
/// let c = check_gradient(&Linear::new(2), &[0.5_f64, -1.0, 2.0], &[3.0, 4.0], 1e-6);
/// assert!(c.worst_relative_error < 1e-8);
/// ```
pub fn check_gradient<T: Float, M: Gradient<T> + ?Sized>(model: &M, params: &[T], x: &[T], step: f64) -> GradientCheck {
    use crate::kernel::{cast, to_f64};
    let mut analytic = alloc::vec![T::zero(); params.len()];
    model.gradient(params, x, &mut analytic);
    let mut probe = params.to_vec();
    let mut worst = GradientCheck { worst_relative_error: 0.0, index: 0, analytic: 0.0, numeric: 0.0 };
    for i in 0..params.len() {
        let p = to_f64(params[i]);
        let h = step * p.abs().max(1.0);
        probe[i] = cast(p + h);
        let up = to_f64(model.predict(&probe, x));
        probe[i] = cast(p - h);
        let down = to_f64(model.predict(&probe, x));
        probe[i] = params[i];
        let numeric = (up - down) / (2.0 * h);
        let a = to_f64(analytic[i]);
        let err = (a - numeric).abs() / a.abs().max(numeric.abs()).max(1e-8);
        if err > worst.worst_relative_error || err.is_nan() {
            worst = GradientCheck { worst_relative_error: err, index: i, analytic: a, numeric };
        }
    }
    worst
}

/// The chain rule for one sample: writes `dL/dθ = L'(ŷ, y) · dŷ/dθ` into `grad` and returns
/// the loss `L(ŷ, y)`.
///
/// ```
/// use gradus::{loss_gradient, Linear, SquaredError};
/// let mut g = [0.0; 2];
/// // notebook: dl/db = 2(b + w·x - y), dl/dw = 2(b + w·x - y)·x
/// let l = loss_gradient(&Linear::new(1), &SquaredError, &[1.0_f64, 1.0], &[14.0], 58.0, &mut g);
/// assert_eq!((l, g), (43.0 * 43.0, [-86.0, -86.0 * 14.0]));
/// ```
#[inline(always)]
pub fn loss_gradient<T: Float, M: Gradient<T> + ?Sized, L: Loss<T> + ?Sized>(
    model: &M,
    loss: &L,
    params: &[T],
    x: &[T],
    y: T,
    grad: &mut [T],
) -> T {
    let prediction = model.chain_rule(params, x, &|prediction| loss.derivative(prediction, y), grad);
    loss.loss(prediction, y)
}

/// A differentiable model with several outputs per sample (an MLP's logits, say): the forward
/// pass and the backward pass (the vector-Jacobian product) that [`fit`](crate::fit) chains
/// with a [`Loss`]'s [`loss_outputs`](Loss::loss_outputs).
///
/// Every single-output [`Gradient`] model is a `Network` with one output, through a blanket
/// implementation that keeps its chain-rule path (so the notebook's per-sample steps are
/// unchanged); implement `Network` directly for a model with several outputs. `backward` may
/// recompute what `forward` computed: `fit` calls `forward` and then `backward` on the same
/// sample and parameters.
///
/// ```
/// use gradus::{check_backward, Network};
///
/// /// `out = W x` for a 2x2 matrix `W` (the parameters, row-major).
/// struct Matrix;
/// impl Network<f64> for Matrix {
///     fn num_params(&self) -> usize { 4 }
///     fn num_features(&self) -> usize { 2 }
///     fn num_outputs(&self) -> usize { 2 }
///     fn forward(&self, w: &[f64], x: &[f64], out: &mut [f64]) {
///         out[0] = w[0] * x[0] + w[1] * x[1];
///         out[1] = w[2] * x[0] + w[3] * x[1];
///     }
///     fn backward(&self, _w: &[f64], x: &[f64], d_out: &[f64], grad: &mut [f64]) {
///         grad.copy_from_slice(&[d_out[0] * x[0], d_out[0] * x[1], d_out[1] * x[0], d_out[1] * x[1]]);
///     }
/// }
/// let check = check_backward(&Matrix, &[1.0, 2.0, 3.0, 4.0], &[0.5, -1.0], 1e-6);
/// assert!(check.worst_relative_error < 1e-8);
/// ```
pub trait Network<T: Float> {
    /// Number of parameters.
    fn num_params(&self) -> usize;
    /// Number of input features per sample.
    fn num_features(&self) -> usize;
    /// Number of outputs per sample.
    fn num_outputs(&self) -> usize;
    /// Writes the outputs for input `x` into `out` (`num_outputs` long).
    fn forward(&self, params: &[T], x: &[T], out: &mut [T]);
    /// Writes `grad = (d outputs / d params)^T d_out`, the gradient of `sum_k d_out[k]*out[k]`
    /// with respect to the parameters, into `grad` (`num_params` long).
    fn backward(&self, params: &[T], x: &[T], d_out: &[T], grad: &mut [T]);

    /// One sample's loss and its gradient `grad` with respect to the parameters: `forward`,
    /// the loss's [`loss_outputs`](Loss::loss_outputs) into `d_out`, `backward`. Leaves the
    /// outputs in `out`. (The blanket implementation for [`Gradient`] models runs their fused
    /// chain rule instead, with the same result.)
    ///
    /// ```
    /// use gradus::{Linear, Network, SquaredError};
    /// let (mut out, mut d, mut g) = ([0.0], [0.0], [0.0; 2]);
    /// let l = Linear::new(1).sample_gradient(&SquaredError, &[1.0, 2.0], &[3.0], &[5.0], &mut out, &mut d, &mut g);
    /// assert_eq!((l, out[0], g), (4.0, 7.0, [4.0, 12.0]));
    /// ```
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn sample_gradient(
        &self,
        loss: &dyn Loss<T>,
        params: &[T],
        x: &[T],
        target: &[T],
        out: &mut [T],
        d_out: &mut [T],
        grad: &mut [T],
    ) -> T {
        self.forward(params, x, out);
        let l = loss.loss_outputs(out, target, d_out);
        self.backward(params, x, d_out, grad);
        l
    }
}

impl<T: Float, M: Gradient<T> + ?Sized> Network<T> for M {
    #[inline]
    fn num_params(&self) -> usize {
        Gradient::num_params(self)
    }
    #[inline]
    fn num_features(&self) -> usize {
        Gradient::num_features(self)
    }
    #[inline]
    fn num_outputs(&self) -> usize {
        1
    }
    #[inline]
    fn forward(&self, params: &[T], x: &[T], out: &mut [T]) {
        out[0] = self.predict(params, x);
    }
    #[inline]
    fn backward(&self, params: &[T], x: &[T], d_out: &[T], grad: &mut [T]) {
        let d = d_out[0];
        self.chain_rule(params, x, &|_| d, grad);
    }
    #[inline(always)]
    fn sample_gradient(
        &self,
        loss: &dyn Loss<T>,
        params: &[T],
        x: &[T],
        target: &[T],
        out: &mut [T],
        _d_out: &mut [T],
        grad: &mut [T],
    ) -> T {
        // `loss_gradient`'s operations, keeping the prediction
        let y = target[0];
        let prediction = self.chain_rule(params, x, &|prediction| loss.derivative(prediction, y), grad);
        out[0] = prediction;
        loss.loss(prediction, y)
    }
}

/// Compares a [`Network`]'s `backward` with central differences of its `forward`, on the
/// gradient of `sum_k w_k*out_k` with `w_k = (k + 1) / outputs` (so every output counts, each
/// with its own weight); the [`check_gradient`] of models with several outputs.
///
/// ```
/// use gradus::{check_backward, Linear};
/// let check = check_backward(&Linear::new(2), &[0.5, -1.0, 2.0], &[3.0, 4.0], 1e-6);
/// assert!(check.worst_relative_error < 1e-8);
/// ```
pub fn check_backward<T: Float, M: Network<T> + ?Sized>(model: &M, params: &[T], x: &[T], step: f64) -> GradientCheck {
    use crate::kernel::{cast, to_f64};
    let k = model.num_outputs();
    let weights: alloc::vec::Vec<T> = (0..k).map(|i| cast((i + 1) as f64 / k as f64)).collect();
    let mut out = alloc::vec![T::zero(); k];
    let weighted = |p: &[T], out: &mut [T]| -> f64 {
        model.forward(p, x, out);
        out.iter().zip(&weights).map(|(&o, &w)| to_f64(o) * to_f64(w)).sum()
    };
    let mut analytic = alloc::vec![T::zero(); params.len()];
    model.backward(params, x, &weights, &mut analytic);
    let mut probe = params.to_vec();
    let mut worst = GradientCheck { worst_relative_error: 0.0, index: 0, analytic: 0.0, numeric: 0.0 };
    for i in 0..params.len() {
        let p = to_f64(params[i]);
        let h = step * p.abs().max(1.0);
        probe[i] = cast(p + h);
        let up = weighted(&probe, &mut out);
        probe[i] = cast(p - h);
        let down = weighted(&probe, &mut out);
        probe[i] = params[i];
        let numeric = (up - down) / (2.0 * h);
        let a = to_f64(analytic[i]);
        let err = (a - numeric).abs() / a.abs().max(numeric.abs()).max(1e-8);
        if err > worst.worst_relative_error || err.is_nan() {
            worst = GradientCheck { worst_relative_error: err, index: i, analytic: a, numeric };
        }
    }
    worst
}
