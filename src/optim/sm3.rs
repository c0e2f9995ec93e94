//! SM3: `optax.sm3`.

use num_traits::Float;

use crate::kernel::{self, cast, to_f64, Common, Ema};
use crate::optim::{impl_optimizer, momentum_is, Progress, Rule};
use crate::state::Buf;
use crate::Error;

/// SM3 (square-root of minima of sums of maxima): `optax.sm3`, here for a vector (a slice), where
/// its cover is the elements themselves: an Adagrad accumulator with momentum.
///
/// ```text
/// acc = acc + g*g
/// q   = acc > 0 ? g / sqrt(acc + 1e-8) : 0
/// m   = (1 - momentum)*q + momentum*m
/// p   = p + (-lr)*m
/// ```
///
/// Default (optax's): `momentum` 0.9 (optax fixes `b2` at 1 and eps at 1e-8).
///
/// Reference: Anil et al. (2019), "Memory-Efficient Adaptive Optimization".
///
/// ```
/// use gradus::{Optimizer, Sm3};
/// let mut opt = Sm3::new(1.0_f64).momentum(0.0);
/// let mut p = [0.0];
/// opt.step(&mut p, &[2.0])?;
/// assert!((p[0] + 1.0).abs() < 1e-8);
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(bound(serialize = "T: Float + serde::Serialize", deserialize = "T: Float + serde::Deserialize<'de>"))
)]
pub struct Sm3<T> {
    common: Common,
    momentum: f64,
    progress: Progress,
    acc: Buf<T>,
    mu: Buf<T>,
}

impl<T: Float> Sm3<T> {
    /// SM3 with learning rate `lr` and optax's default momentum.
    ///
    /// ```
    /// let opt = gradus::Sm3::<f32>::new(0.1);
    /// # let _ = opt;
    /// ```
    pub fn new(lr: T) -> Self {
        Sm3 {
            common: Common::new(to_f64(lr)),
            momentum: 0.9,
            progress: Progress::default(),
            acc: Buf::new(),
            mu: Buf::new(),
        }
    }

    crate::optim::setters! {
        Sm3;
        /// The momentum of the normalized gradient, in `[0, 1)` (default 0.9).
        momentum / get_momentum(momentum: T) = (0.5);
    }

    crate::optim::common_setters!(Sm3);
}

impl<T: Float + Send + Sync> Rule<T> for Sm3<T> {
    crate::optim::state_fields!(required: [acc, mu], optional: []);

    fn validate(&self) -> Result<(), Error> {
        kernel::unit("momentum", self.momentum)
    }

    fn update(&mut self, params: &mut [T], grads: &[T]) {
        self.progress.begin(params.len());
        self.acc.ensure(params, T::zero());
        self.mu.ensure(params, T::zero());
        let ema = Ema::<T>::new(self.momentum);
        let (eps, neg_lr, s): (T, T, T) = (cast(1e-8), cast(-self.common.lr), self.common.sign());
        let (acc, mu) = (self.acc.get_mut(), self.mu.get_mut());
        for (((p, &g), a), m) in params.iter_mut().zip(grads).zip(acc.iter_mut()).zip(mu.iter_mut()) {
            let g = g * s;
            *a = *a + g * g;
            let q = if *a > T::zero() { g / (*a + eps).sqrt() } else { T::zero() };
            *m = ema.at(*m, q);
            *p = *p + neg_lr * *m;
        }
    }

    fn clear(&mut self) {
        self.acc.free();
        self.mu.free();
    }

    momentum_is!(momentum);
}

impl_optimizer!(Sm3);
