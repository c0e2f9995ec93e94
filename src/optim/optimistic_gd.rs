//! Optimistic gradient descent: `optax.optimistic_gradient_descent`.

use num_traits::Float;

use crate::kernel::{self, cast, to_f64, Common};
use crate::optim::{impl_optimizer, Progress, Rule};
use crate::state::Buf;
use crate::Error;

/// Optimistic gradient descent: `optax.optimistic_gradient_descent`
/// (`scale_by_optimistic_gradient` + `scale_by_learning_rate`), for saddle-point problems
/// (GANs, games): it extrapolates with the previous gradient.
///
/// ```text
/// u      = (alpha + beta)*g - beta*g_prev        // g_prev = g on the first step
/// p      = p + (-lr) * u
/// g_prev = g
/// ```
///
/// Defaults (optax's): `alpha` 1, `beta` 1.
///
/// ```
/// use gradus::{OptimisticGd, Optimizer};
/// let mut opt = OptimisticGd::new(0.1_f64);
/// let mut p = [1.0];
/// opt.step(&mut p, &[1.0])?; // (1 + 1)*1 - 1*1 = 1
/// assert!((p[0] - 0.9).abs() < 1e-15);
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(bound(serialize = "T: Float + serde::Serialize", deserialize = "T: Float + serde::Deserialize<'de>"))
)]
pub struct OptimisticGd<T> {
    common: Common,
    alpha: f64,
    beta: f64,
    progress: Progress,
    prev: Buf<T>,
}

impl<T: Float> OptimisticGd<T> {
    /// Optimistic gradient descent with learning rate `lr` and optax's defaults.
    ///
    /// ```
    /// let opt = gradus::OptimisticGd::<f32>::new(1e-3);
    /// # let _ = opt;
    /// ```
    pub fn new(lr: T) -> Self {
        OptimisticGd {
            common: Common::new(to_f64(lr)),
            alpha: 1.0,
            beta: 1.0,
            progress: Progress::default(),
            prev: Buf::new(),
        }
    }

    crate::optim::setters! {
        OptimisticGd;
        /// The weight of the current gradient, `>= 0` (default 1).
        alpha / get_alpha(alpha: T) = (0.5);
        /// The weight of the extrapolation, `>= 0` (default 1).
        beta / get_beta(beta: T) = (0.5);
    }

    crate::optim::common_setters!(OptimisticGd);
}

impl<T: Float + Send + Sync> Rule<T> for OptimisticGd<T> {
    fn elementwise(&self) -> bool {
        true
    }

    crate::optim::state_fields!(required: [prev], optional: []);

    fn validate(&self) -> Result<(), Error> {
        kernel::non_negative("alpha", self.alpha)?;
        kernel::non_negative("beta", self.beta)
    }

    fn update(&mut self, params: &mut [T], grads: &[T]) {
        let first = self.progress.begin(params.len()) == 1 || self.prev.get().len() != params.len();
        self.prev.ensure(params, T::zero());
        let (ab, b): (T, T) = (cast(self.alpha + self.beta), cast(self.beta));
        let (step, s): (T, T) = (cast(-self.common.lr), self.common.sign());
        for ((p, &g), prev) in params.iter_mut().zip(grads).zip(self.prev.get_mut().iter_mut()) {
            let g = g * s;
            let last = if first { g } else { *prev };
            let u = ab * g - b * last;
            *p = *p + step * u;
            *prev = g;
        }
    }

    fn clear(&mut self) {
        self.prev.free();
    }
}

impl_optimizer!(OptimisticGd);
