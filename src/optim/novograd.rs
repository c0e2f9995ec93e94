//! NovoGrad: `optax.novograd`.

use num_traits::Float;

use crate::kernel::{self, cast, norm2, to_f64, Common};
use crate::optim::{impl_optimizer, momentum_is, Progress, Rule};
use crate::state::Buf;
use crate::Error;

/// NovoGrad: `optax.novograd`, Adam with one second moment per layer (the slice; per tensor in
/// [`Groups`](crate::Groups)): the squared norm of the whole gradient.
///
/// ```text
/// v = t == 1 ? |g|^2 : (1 - beta2)*|g|^2 + beta2*v       // |g|: the 2-norm of the slice
/// q = g / (sqrt(v + eps_root) + eps) + weight_decay*p
/// m = t == 1 ? q : beta1*m + q
/// p = p + (-lr)*m
/// ```
///
/// Defaults (optax's): `betas` (0.9, 0.25), `eps` 1e-6, `eps_root` 0, `weight_decay` 0.
///
/// Reference: Ginsburg et al. (2019), "Stochastic Gradient Methods with Layer-wise Adaptive
/// Moments for Training of Deep Networks".
///
/// ```
/// use gradus::{NovoGrad, Optimizer};
/// let mut opt = NovoGrad::new(0.1_f64);
/// let mut p = [1.0, 1.0];
/// opt.step(&mut p, &[3.0, 4.0])?; // v = 25: q = g/5
/// assert!((p[0] - (1.0 - 0.1 * 0.6)).abs() < 1e-6);
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(bound(serialize = "T: Float + serde::Serialize", deserialize = "T: Float + serde::Deserialize<'de>"))
)]
pub struct NovoGrad<T> {
    common: Common,
    beta1: f64,
    beta2: f64,
    eps: f64,
    eps_root: f64,
    weight_decay: f64,
    progress: Progress,
    nu: f64,
    mu: Buf<T>,
}

impl<T: Float> NovoGrad<T> {
    /// NovoGrad with learning rate `lr` and optax's defaults.
    ///
    /// ```
    /// let opt = gradus::NovoGrad::<f32>::new(1e-3);
    /// # let _ = opt;
    /// ```
    pub fn new(lr: T) -> Self {
        NovoGrad {
            common: Common::new(to_f64(lr)),
            beta1: 0.9,
            beta2: 0.25,
            eps: 1e-6,
            eps_root: 0.0,
            weight_decay: 0.0,
            progress: Progress::default(),
            nu: 0.0,
            mu: Buf::new(),
        }
    }

    crate::optim::setters! {
        NovoGrad;
        /// `beta1` of the first moment (no `1 - beta1` factor) and `beta2` of the layer's
        /// second moment, each in `[0, 1)` (default 0.9, 0.25).
        betas / get_betas(beta1: T, beta2: T) = (0.8, 0.5);
        /// Added to the denominator, `>= 0` (default 1e-6).
        eps / get_eps(eps: T) = (1e-8);
        /// Added to the second moment inside the square root, `>= 0` (default 0).
        eps_root / get_eps_root(eps_root: T) = (1e-12);
        /// Weight decay added to the normalized gradient, `>= 0` (default 0).
        weight_decay / get_weight_decay(weight_decay: T) = (1e-3);
    }

    crate::optim::common_setters!(NovoGrad);
}

impl<T: Float + Send + Sync> Rule<T> for NovoGrad<T> {
    crate::optim::state_fields!(required: [mu], optional: []);

    fn validate(&self) -> Result<(), Error> {
        kernel::unit("beta1", self.beta1)?;
        kernel::unit("beta2", self.beta2)?;
        kernel::non_negative("eps", self.eps)?;
        kernel::non_negative("eps_root", self.eps_root)?;
        kernel::non_negative("weight_decay", self.weight_decay)
    }

    fn update(&mut self, params: &mut [T], grads: &[T]) {
        let first = self.progress.begin(params.len()) == 1 || self.mu.get().len() != params.len();
        self.mu.ensure(params, T::zero());
        let s = self.common.sign::<T>();
        let n = norm2(grads);
        let g_sq = n * n;
        self.nu = if first { g_sq } else { (1.0 - self.beta2) * g_sq + self.beta2 * self.nu };
        let denom: T = cast(kernel::sqrt(self.nu + self.eps_root) + self.eps);
        let (wd, b1, neg_lr): (T, T, T) = (cast(self.weight_decay), cast(self.beta1), cast(-self.common.lr));
        for ((p, &g), m) in params.iter_mut().zip(grads).zip(self.mu.get_mut().iter_mut()) {
            let q = (g * s) / denom + wd * *p;
            *m = if first { q } else { b1 * *m + q };
            *p = *p + neg_lr * *m;
        }
    }

    fn clear(&mut self) {
        self.mu.free();
        self.nu = 0.0;
    }

    momentum_is!(beta1);
}

impl_optimizer!(NovoGrad);
