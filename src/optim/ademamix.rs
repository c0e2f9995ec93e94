//! AdEMAMix and its simplified form: `optax.contrib.ademamix`, `optax.contrib.simplified_ademamix`.

use num_traits::Float;

use crate::kernel::{self, cast, optax_bias_correction, to_f64, Common, Ema};
use crate::optim::{impl_optimizer, momentum_is, CountFn, Progress, Rule};
use crate::state::Buf;
use crate::Error;

/// AdEMAMix: `optax.contrib.ademamix`, Adam plus a slow exponential average of the gradient
/// (`beta3`, near 1) mixed in with weight `alpha`.
///
/// ```text
/// m1 = EMA(g, beta1);  m2 = EMA(g, beta3);  v = EMA(g*g, beta2)       // EMA(x, b) = (1-b)*x + b*old
/// u  = (m1/(1 - beta1^t) + alpha*m2) / (sqrt(v/(1 - beta2^t) + eps_root) + eps)   // m2 not bias-corrected
/// p  = p + (-lr)*(u + weight_decay*p)
/// ```
///
/// `alpha` may follow a schedule of the 0-based count ([`alpha_fn`](AdEmaMix::alpha_fn)).
/// Defaults (optax's): `betas` (0.9, 0.999, 0.9999), `alpha` 5, `eps` 1e-8, `eps_root` 0,
/// `weight_decay` 0.
///
/// Reference: Pagliardini et al. (2024), "The AdEMAMix Optimizer: Better, Faster, Older".
///
/// ```
/// use gradus::{AdEmaMix, Optimizer};
/// let mut opt = AdEmaMix::new(0.01_f64);
/// let mut x = [1.0];
/// opt.step(&mut x, &[1.0])?;
/// assert!(x[0] < 1.0);
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(bound(serialize = "T: Float + serde::Serialize", deserialize = "T: Float + serde::Deserialize<'de>"))
)]
pub struct AdEmaMix<T> {
    common: Common,
    beta1: f64,
    beta2: f64,
    beta3: f64,
    alpha: f64,
    #[cfg_attr(feature = "serde", serde(skip))]
    alpha_fn: Option<CountFn>,
    eps: f64,
    eps_root: f64,
    weight_decay: f64,
    progress: Progress,
    m1: Buf<T>,
    m2: Buf<T>,
    v: Buf<T>,
}

impl<T: Float> AdEmaMix<T> {
    /// AdEMAMix with learning rate `lr` and optax's defaults.
    ///
    /// ```
    /// let opt = gradus::AdEmaMix::<f32>::new(1e-3);
    /// # let _ = opt;
    /// ```
    pub fn new(lr: T) -> Self {
        AdEmaMix {
            common: Common::new(to_f64(lr)),
            beta1: 0.9,
            beta2: 0.999,
            beta3: 0.9999,
            alpha: 5.0,
            alpha_fn: None,
            eps: 1e-8,
            eps_root: 0.0,
            weight_decay: 0.0,
            progress: Progress::default(),
            m1: Buf::new(),
            m2: Buf::new(),
            v: Buf::new(),
        }
    }

    crate::optim::setters! {
        AdEmaMix;
        /// The decay rates of the fast average, the second moment and the slow average, each in
        /// `[0, 1)` (default 0.9, 0.999, 0.9999).
        betas / get_betas(beta1: T, beta2: T, beta3: T) = (0.8, 0.99, 0.999);
        /// The weight of the slow average, `>= 0` (default 5).
        alpha / get_alpha(alpha: T) = (8.0);
        /// Added to the denominator, `>= 0` (default 1e-8).
        eps / get_eps(eps: T) = (1e-6);
        /// Added inside the square root, `>= 0` (default 0).
        eps_root / get_eps_root(eps_root: T) = (1e-12);
        /// Decoupled weight decay added to the update, `>= 0` (default 0).
        weight_decay / get_weight_decay(weight_decay: T) = (0.01);
    }

    /// `alpha` as a schedule of the 0-based count (optax's `alpha` given a schedule); replaces
    /// [`alpha`](AdEmaMix::alpha).
    ///
    /// ```
    /// let opt = gradus::AdEmaMix::<f64>::new(1e-3).alpha_fn(|t| f64::min(5.0, t as f64 * 0.25));
    /// # let _ = opt;
    /// ```
    pub fn alpha_fn(mut self, alpha_fn: fn(u64) -> f64) -> Self {
        self.alpha_fn = Some(CountFn(alpha_fn));
        self
    }

    crate::optim::common_setters!(AdEmaMix);
}

impl<T: Float + Send + Sync> Rule<T> for AdEmaMix<T> {
    fn elementwise(&self) -> bool {
        true
    }

    crate::optim::state_fields!(required: [m1, m2, v], optional: []);

    fn validate(&self) -> Result<(), Error> {
        kernel::unit("beta1", self.beta1)?;
        kernel::unit("beta2", self.beta2)?;
        kernel::unit("beta3", self.beta3)?;
        kernel::non_negative("alpha", self.alpha)?;
        kernel::non_negative("eps", self.eps)?;
        kernel::non_negative("eps_root", self.eps_root)?;
        kernel::non_negative("weight_decay", self.weight_decay)
    }

    fn update(&mut self, params: &mut [T], grads: &[T]) {
        let t = self.progress.begin(params.len());
        for b in [&mut self.m1, &mut self.m2, &mut self.v] {
            b.ensure(params, T::zero());
        }
        let alpha: T = cast(self.alpha_fn.map_or(self.alpha, |f| (f.0)(t - 1)));
        let (e1, e2, e3) = (Ema::<T>::new(self.beta1), Ema::<T>::new(self.beta2), Ema::<T>::new(self.beta3));
        let (bc1, bc2): (T, T) =
            (cast(optax_bias_correction(self.beta1, t)), cast(optax_bias_correction(self.beta2, t)));
        let (eps, eps_root, wd, neg_lr, s): (T, T, T, T, T) =
            (cast(self.eps), cast(self.eps_root), cast(self.weight_decay), cast(-self.common.lr), self.common.sign());
        let (m1, m2, v) = (self.m1.get_mut(), self.m2.get_mut(), self.v.get_mut());
        for ((((p, &g), m1), m2), v) in
            params.iter_mut().zip(grads).zip(m1.iter_mut()).zip(m2.iter_mut()).zip(v.iter_mut())
        {
            let g = g * s;
            *m1 = e1.at(*m1, g);
            *m2 = e3.at(*m2, g);
            *v = e2.at(*v, g * g);
            let u = (*m1 / bc1 + alpha * *m2) / ((*v / bc2 + eps_root).sqrt() + eps);
            *p = *p + neg_lr * (u + wd * *p);
        }
    }

    fn clear(&mut self) {
        for b in [&mut self.m1, &mut self.m2, &mut self.v] {
            b.free();
        }
    }

    momentum_is!(beta1);
}

impl_optimizer!(AdEmaMix);

/// Simplified AdEMAMix: `optax.contrib.simplified_ademamix`, one accumulated (not averaged)
/// first moment mixed with the current gradient.
///
/// ```text
/// m = beta1*m + g                                   // no (1 - beta1)
/// n = g*g + beta2*(n - g*g)
/// u = (m + alpha*g) / (sqrt(n/(1 - beta2^t) + eps_root) + eps)
/// p = p + (-lr)*(u + weight_decay*p)
/// ```
///
/// Its steps are about `1/(1 - beta1)` times Adam's: use a smaller rate. Defaults (optax's):
/// `betas` (0.99, 0.95), `alpha` 0, `eps` 1e-8, `eps_root` 0, `weight_decay` 0.
///
/// Reference: Morwani et al. (2024), "Connections between Schedule-Free Optimizers, AdEMAMix,
/// and Accelerated SGD Variants".
///
/// ```
/// use gradus::{Optimizer, SimplifiedAdEmaMix};
/// let mut opt = SimplifiedAdEmaMix::new(1e-3_f64);
/// let mut x = [1.0];
/// opt.step(&mut x, &[1.0])?;
/// assert!(x[0] < 1.0);
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(bound(serialize = "T: Float + serde::Serialize", deserialize = "T: Float + serde::Deserialize<'de>"))
)]
pub struct SimplifiedAdEmaMix<T> {
    common: Common,
    beta1: f64,
    beta2: f64,
    alpha: f64,
    eps: f64,
    eps_root: f64,
    weight_decay: f64,
    progress: Progress,
    m: Buf<T>,
    n: Buf<T>,
}

impl<T: Float> SimplifiedAdEmaMix<T> {
    /// Simplified AdEMAMix with learning rate `lr` and optax's defaults.
    ///
    /// ```
    /// let opt = gradus::SimplifiedAdEmaMix::<f32>::new(1e-4);
    /// # let _ = opt;
    /// ```
    pub fn new(lr: T) -> Self {
        SimplifiedAdEmaMix {
            common: Common::new(to_f64(lr)),
            beta1: 0.99,
            beta2: 0.95,
            alpha: 0.0,
            eps: 1e-8,
            eps_root: 0.0,
            weight_decay: 0.0,
            progress: Progress::default(),
            m: Buf::new(),
            n: Buf::new(),
        }
    }

    crate::optim::setters! {
        SimplifiedAdEmaMix;
        /// The accumulation of the first moment and the decay of the second, each in `[0, 1)`
        /// (default 0.99, 0.95).
        betas / get_betas(beta1: T, beta2: T) = (0.9, 0.99);
        /// The weight of the current gradient, `>= 0` (default 0).
        alpha / get_alpha(alpha: T) = (2.0);
        /// Added to the denominator, `>= 0` (default 1e-8).
        eps / get_eps(eps: T) = (1e-6);
        /// Added inside the square root, `>= 0` (default 0).
        eps_root / get_eps_root(eps_root: T) = (1e-12);
        /// Decoupled weight decay added to the update, `>= 0` (default 0).
        weight_decay / get_weight_decay(weight_decay: T) = (0.01);
    }

    crate::optim::common_setters!(SimplifiedAdEmaMix);
}

impl<T: Float + Send + Sync> Rule<T> for SimplifiedAdEmaMix<T> {
    fn elementwise(&self) -> bool {
        true
    }

    crate::optim::state_fields!(required: [m, n], optional: []);

    fn validate(&self) -> Result<(), Error> {
        kernel::unit("beta1", self.beta1)?;
        kernel::unit("beta2", self.beta2)?;
        kernel::non_negative("alpha", self.alpha)?;
        kernel::non_negative("eps", self.eps)?;
        kernel::non_negative("eps_root", self.eps_root)?;
        kernel::non_negative("weight_decay", self.weight_decay)
    }

    fn update(&mut self, params: &mut [T], grads: &[T]) {
        let t = self.progress.begin(params.len());
        self.m.ensure(params, T::zero());
        self.n.ensure(params, T::zero());
        let (b1, b2, alpha): (T, T, T) = (cast(self.beta1), cast(self.beta2), cast(self.alpha));
        let bc2: T = cast(optax_bias_correction(self.beta2, t));
        let (eps, eps_root, wd, neg_lr, s): (T, T, T, T, T) =
            (cast(self.eps), cast(self.eps_root), cast(self.weight_decay), cast(-self.common.lr), self.common.sign());
        let (m, n) = (self.m.get_mut(), self.n.get_mut());
        for (((p, &g), m), n) in params.iter_mut().zip(grads).zip(m.iter_mut()).zip(n.iter_mut()) {
            let g = g * s;
            *m = b1 * *m + g;
            let g2 = g * g;
            *n = g2 + b2 * (*n - g2);
            let u = (*m + alpha * g) / ((*n / bc2 + eps_root).sqrt() + eps);
            *p = *p + neg_lr * (u + wd * *p);
        }
    }

    fn clear(&mut self) {
        self.m.free();
        self.n.free();
    }

    momentum_is!(beta1);
}

impl_optimizer!(SimplifiedAdEmaMix);
