//! Adan: `optax.adan`.

use num_traits::Float;

use crate::kernel::{self, cast, optax_bias_correction, to_f64, Common, Ema};
use crate::optim::{impl_optimizer, momentum_is, Progress, Rule};
use crate::state::Buf;
use crate::Error;

/// Adan (adaptive Nesterov momentum): `optax.adan` (`scale_by_adan` +
/// `add_decayed_weights` + `scale_by_learning_rate`).
///
/// ```text
/// d = t == 1 ? 0 : g - g_prev
/// m = EMA(g, beta1);  v = EMA(d, beta2);  n = EMA((g + (1 - beta2)*d)^2, beta3)    // EMA(x, b) = (1-b)*x + b*old
/// u = (m/(1 - beta1^t) + (1 - beta2)*(v/(1 - beta2^t))) / (sqrt(n/(1 - beta3^t) + eps_root) + eps)
/// p = p + (-lr)*(u + weight_decay*p)
/// ```
///
/// optax applies the weight decay AdamW-style, not as the paper's proximal step. Defaults
/// (optax's): `betas` (0.98, 0.92, 0.99), `eps` 1e-8, `eps_root` 1e-8, `weight_decay` 0.
///
/// Reference: Xie et al. (2022), "Adan: Adaptive Nesterov Momentum Algorithm".
///
/// ```
/// use gradus::{Adan, Optimizer};
/// let mut opt = Adan::new(0.1_f64);
/// let mut x = [1.0];
/// for _ in 0..200 {
///     let g = [2.0 * x[0]];
///     opt.step(&mut x, &g)?;
/// }
/// assert!(x[0].abs() < 0.1);
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(bound(serialize = "T: Float + serde::Serialize", deserialize = "T: Float + serde::Deserialize<'de>"))
)]
pub struct Adan<T> {
    common: Common,
    beta1: f64,
    beta2: f64,
    beta3: f64,
    eps: f64,
    eps_root: f64,
    weight_decay: f64,
    progress: Progress,
    m: Buf<T>,
    v: Buf<T>,
    n: Buf<T>,
    prev: Buf<T>,
}

impl<T: Float> Adan<T> {
    /// Adan with learning rate `lr` and optax's defaults.
    ///
    /// ```
    /// let opt = gradus::Adan::<f32>::new(1e-3);
    /// # let _ = opt;
    /// ```
    pub fn new(lr: T) -> Self {
        Adan {
            common: Common::new(to_f64(lr)),
            beta1: 0.98,
            beta2: 0.92,
            beta3: 0.99,
            eps: 1e-8,
            eps_root: 1e-8,
            weight_decay: 0.0,
            progress: Progress::default(),
            m: Buf::new(),
            v: Buf::new(),
            n: Buf::new(),
            prev: Buf::new(),
        }
    }

    crate::optim::setters! {
        Adan;
        /// The decay rates of the gradient, the gradient difference and the squared term, each in
        /// `[0, 1)` (default 0.98, 0.92, 0.99).
        betas / get_betas(beta1: T, beta2: T, beta3: T) = (0.9, 0.9, 0.999);
        /// Added to the denominator, `>= 0` (default 1e-8).
        eps / get_eps(eps: T) = (1e-6);
        /// Added inside the square root, `>= 0` (default 1e-8).
        eps_root / get_eps_root(eps_root: T) = (0.0);
        /// Decoupled weight decay `wd*p` added to the update, `>= 0` (default 0).
        weight_decay / get_weight_decay(weight_decay: T) = (0.02);
    }

    crate::optim::common_setters!(Adan);
}

impl<T: Float + Send + Sync> Rule<T> for Adan<T> {
    fn elementwise(&self) -> bool {
        true
    }

    crate::optim::state_fields!(required: [m, v, n, prev], optional: []);

    fn validate(&self) -> Result<(), Error> {
        kernel::unit("beta1", self.beta1)?;
        kernel::unit("beta2", self.beta2)?;
        kernel::unit("beta3", self.beta3)?;
        kernel::non_negative("eps", self.eps)?;
        kernel::non_negative("eps_root", self.eps_root)?;
        kernel::non_negative("weight_decay", self.weight_decay)
    }

    fn update(&mut self, params: &mut [T], grads: &[T]) {
        let t = self.progress.begin(params.len());
        let first = t == 1 || self.prev.get().len() != params.len();
        for b in [&mut self.m, &mut self.v, &mut self.n, &mut self.prev] {
            b.ensure(params, T::zero());
        }
        let (e1, e2, e3) = (Ema::<T>::new(self.beta1), Ema::<T>::new(self.beta2), Ema::<T>::new(self.beta3));
        let c: T = cast(1.0 - self.beta2);
        let (bc1, bc2, bc3): (T, T, T) = (
            cast(optax_bias_correction(self.beta1, t)),
            cast(optax_bias_correction(self.beta2, t)),
            cast(optax_bias_correction(self.beta3, t)),
        );
        let (eps, eps_root, wd, neg_lr, s): (T, T, T, T, T) =
            (cast(self.eps), cast(self.eps_root), cast(self.weight_decay), cast(-self.common.lr), self.common.sign());
        let (m, v, n, prev) = (self.m.get_mut(), self.v.get_mut(), self.n.get_mut(), self.prev.get_mut());
        for (((((p, &g), m), v), n), prev) in
            params.iter_mut().zip(grads).zip(m.iter_mut()).zip(v.iter_mut()).zip(n.iter_mut()).zip(prev.iter_mut())
        {
            let g = g * s;
            let d = if first { T::zero() } else { g - *prev };
            *m = e1.at(*m, g);
            *v = e2.at(*v, d);
            let w = g + c * d;
            *n = e3.at(*n, w * w);
            let u = (*m / bc1 + c * (*v / bc2)) / ((*n / bc3 + eps_root).sqrt() + eps);
            *p = *p + neg_lr * (u + wd * *p);
            *prev = g;
        }
    }

    fn clear(&mut self) {
        for b in [&mut self.m, &mut self.v, &mut self.n, &mut self.prev] {
            b.free();
        }
    }

    momentum_is!(beta1);
}

impl_optimizer!(Adan);
