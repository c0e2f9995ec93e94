//! Sign descent: `optax.sign_sgd`.

use num_traits::Float;

use crate::kernel::{cast, sign, to_f64, Common};
use crate::optim::{impl_optimizer, Progress, Rule};
use crate::Error;

/// Sign descent: `optax.sign_sgd` (`scale_by_sign` + `scale_by_learning_rate`): every
/// parameter moves by exactly the learning rate against the sign of its gradient.
///
/// ```text
/// p = p + (-lr) * sign(g)        // sign(0) = 0
/// ```
///
/// ```
/// use gradus::{Optimizer, SignSgd};
/// let mut opt = SignSgd::new(0.5_f64);
/// let mut p = [1.0, 1.0, 1.0];
/// opt.step(&mut p, &[3.0, -0.1, 0.0])?;
/// assert_eq!(p, [0.5, 1.5, 1.0]);
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SignSgd<T> {
    common: Common,
    progress: Progress,
    #[cfg_attr(feature = "serde", serde(skip))]
    _t: core::marker::PhantomData<T>,
}

impl<T: Float> SignSgd<T> {
    /// Sign descent with step `lr`.
    ///
    /// ```
    /// let opt = gradus::SignSgd::<f32>::new(1e-3);
    /// # let _ = opt;
    /// ```
    pub fn new(lr: T) -> Self {
        SignSgd { common: Common::new(to_f64(lr)), progress: Progress::default(), _t: core::marker::PhantomData }
    }

    crate::optim::common_setters!(SignSgd);
}

impl<T: Float + Send + Sync> Rule<T> for SignSgd<T> {
    fn elementwise(&self) -> bool {
        true
    }

    fn validate(&self) -> Result<(), Error> {
        Ok(())
    }

    fn update(&mut self, params: &mut [T], grads: &[T]) {
        self.progress.begin(params.len());
        let step: T = cast(-self.common.lr);
        let s = self.common.sign::<T>();
        for (p, &g) in params.iter_mut().zip(grads) {
            *p = *p + step * sign(g * s);
        }
    }

    fn clear(&mut self) {}
}

impl_optimizer!(SignSgd);
