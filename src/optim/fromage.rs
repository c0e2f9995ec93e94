//! Fromage: `optax.fromage`.

use num_traits::Float;

use crate::kernel::{self, cast, norm2, sqrt, to_f64, Common};
use crate::optim::{impl_optimizer, Progress, Rule};
use crate::Error;

/// Fromage (Frobenius matched gradient descent): `optax.fromage`, steps scaled to the
/// parameters' norm, then shrunk. The slice is one layer (one optax leaf).
///
/// ```text
/// m  = 1 / sqrt(1 + lr^2)
/// tr = max(|p|, min_norm) / max(|g|, min_norm)     // 1 if either norm is 0
/// u  = (-(lr*m)) * (g*tr) + (m - 1)*p
/// p  = p + u
/// ```
///
/// Default (optax's): `min_norm` 1e-6.
///
/// Reference: Bernstein et al. (2020), "On the distance between two neural networks and the
/// stability of learning".
///
/// ```
/// use gradus::{Fromage, Optimizer};
/// let mut opt = Fromage::new(0.01_f64);
/// let mut p = [3.0, 4.0];
/// opt.step(&mut p, &[1.0, 0.0])?;
/// assert!(p[0] < 3.0);
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Fromage<T> {
    common: Common,
    min_norm: f64,
    progress: Progress,
    #[cfg_attr(feature = "serde", serde(skip))]
    _t: core::marker::PhantomData<T>,
}

impl<T: Float> Fromage<T> {
    /// Fromage with learning rate `lr` and optax's default `min_norm`.
    ///
    /// ```
    /// let opt = gradus::Fromage::<f32>::new(1e-2);
    /// # let _ = opt;
    /// ```
    pub fn new(lr: T) -> Self {
        Fromage {
            common: Common::new(to_f64(lr)),
            min_norm: 1e-6,
            progress: Progress::default(),
            _t: core::marker::PhantomData,
        }
    }

    crate::optim::setters! {
        Fromage;
        /// The floor of both norms, `>= 0` (default 1e-6).
        min_norm / get_min_norm(min_norm: T) = (1e-8);
    }

    crate::optim::common_setters!(Fromage);
}

/// optax's `safe_norm(x, min_norm)`.
pub(crate) fn safe_norm(norm: f64, min_norm: f64) -> f64 {
    if norm > min_norm {
        norm
    } else {
        min_norm
    }
}

impl<T: Float + Send + Sync> Rule<T> for Fromage<T> {
    fn validate(&self) -> Result<(), Error> {
        kernel::non_negative("min_norm", self.min_norm)
    }

    fn update(&mut self, params: &mut [T], grads: &[T]) {
        self.progress.begin(params.len());
        let lr = self.common.lr;
        let mult = 1.0 / sqrt(1.0 + lr * lr);
        let s = self.common.sign::<T>();
        let (pn, gn) = (safe_norm(norm2(params), self.min_norm), safe_norm(norm2(grads), self.min_norm));
        let tr: T = cast(if pn == 0.0 || gn == 0.0 { 1.0 } else { pn / gn });
        let step: T = cast(-(lr * mult));
        let shrink: T = cast(mult - 1.0);
        for (p, &g) in params.iter_mut().zip(grads) {
            let u = step * ((g * s) * tr) + shrink * *p;
            *p = *p + u;
        }
    }

    fn clear(&mut self) {}
}

impl_optimizer!(Fromage);
