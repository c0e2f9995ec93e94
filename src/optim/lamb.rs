//! LAMB: `optax.lamb`.

use num_traits::Float;

use crate::kernel::{self, apply, bias_correction, cast, run, sqrt, sum_sq, to_f64, Common, Ema, Kernel};
use crate::optim::{common_setters, impl_optimizer, momentum_is, setters, Progress, Rule};
use crate::state::Buf;
use crate::Error;

/// LAMB (layer-wise adaptive moments): `optax.lamb` = `scale_by_adam` + `add_decayed_weights`
/// + `scale_by_trust_ratio` + `scale_by_learning_rate`. The whole slice is one layer.
///
/// In the order the code computes it (`t` is the 1-based step):
///
/// ```text
/// g     = maximize ? -grad : grad
/// m     = (1 - beta1)*g + beta1*m
/// v     = (1 - beta2)*(g*g) + beta2*v
/// u     = (m/(1 - beta1^t)) / (sqrt(v/(1 - beta2^t) + eps_root) + eps) + weight_decay*p
/// ratio = (|p| == 0 or |u| == 0) ? 1 : |p| / |u|        // L2 norms over the slice
/// p     = p + (-lr)*(u*ratio)
/// ```
///
/// `u` is not stored: the second pass recomputes it from the new moments, bit for bit.
///
/// Defaults (optax's): `betas` (0.9, 0.999), `eps` 1e-6, `eps_root` 0, `weight_decay` 0.
///
/// Reference: You et al. (2020); `optax/_src/alias.py::lamb`,
/// `optax/_src/transform.py::scale_by_trust_ratio`.
///
/// ```
/// use gradus::{Lamb, Optimizer};
/// let mut opt = Lamb::new(0.05_f64);
/// let mut x = [1.0, 2.0];
/// for _ in 0..100 {
///     let g = [2.0 * x[0], 2.0 * x[1]];
///     opt.step(&mut x, &g)?;
/// }
/// assert!(x.iter().all(|v| v.abs() < 0.5));
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(bound(serialize = "T: Float + serde::Serialize", deserialize = "T: Float + serde::Deserialize<'de>"))
)]
pub struct Lamb<T> {
    common: Common,
    beta1: f64,
    beta2: f64,
    eps: f64,
    eps_root: f64,
    weight_decay: f64,
    progress: Progress,
    mu: Buf<T>,
    nu: Buf<T>,
}

impl<T: Float> Lamb<T> {
    /// LAMB with learning rate `lr` and optax's defaults.
    ///
    /// ```
    /// let opt = gradus::Lamb::<f32>::new(1e-3);
    /// # let _ = opt;
    /// ```
    pub fn new(lr: T) -> Self {
        Lamb {
            common: Common::new(to_f64(lr)),
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-6,
            eps_root: 0.0,
            weight_decay: 0.0,
            progress: Progress::default(),
            mu: Buf::new(),
            nu: Buf::new(),
        }
    }

    setters! {
        Lamb;
        /// Decay rates of the two moments, each in `[0, 1)` (default 0.9, 0.999).
        betas / get_betas(beta1: T, beta2: T) = (0.9, 0.99);
        /// Term added to the denominator, `>= 0` (default 1e-6).
        eps / get_eps(eps: T) = (1e-8);
        /// Term added inside the square root, `>= 0` (default 0).
        eps_root / get_eps_root(eps_root: T) = (1e-12);
        /// Weight decay added to the update before the trust ratio, `>= 0` (default 0).
        weight_decay / get_weight_decay(weight_decay: T) = (1e-2);
    }

    common_setters!(Lamb);
}

impl<T: Float + Send + Sync> Rule<T> for Lamb<T> {
    crate::optim::state_fields!(required: [mu, nu], optional: []);

    fn validate(&self) -> Result<(), Error> {
        kernel::unit("beta1", self.beta1)?;
        kernel::unit("beta2", self.beta2)?;
        kernel::non_negative("eps", self.eps)?;
        kernel::non_negative("eps_root", self.eps_root)?;
        kernel::non_negative("weight_decay", self.weight_decay)
    }

    fn update(&mut self, params: &mut [T], grads: &[T]) {
        let n = params.len();
        let t = self.progress.begin(n);
        self.mu.ensure(params, T::zero());
        self.nu.ensure(params, T::zero());
        let moments = LambMoments { sign: self.common.sign(), ema1: Ema::new(self.beta1), ema2: Ema::new(self.beta2) };
        apply(&moments, (grads, self.mu.get_mut(), self.nu.get_mut()));
        let mut u = LambUpdate {
            bc1: cast(bias_correction(self.beta1, t)),
            bc2: cast(bias_correction(self.beta2, t)),
            eps_root: cast(self.eps_root),
            eps: cast(self.eps),
            weight_decay: cast(self.weight_decay),
            scale: T::zero(),
        };
        let param_norm = sqrt(sum_sq(params));
        let update_norm = sqrt(run(&UpdateNorm(&u), (&*params, self.mu.get(), self.nu.get())));
        let ratio = if param_norm == 0.0 || update_norm == 0.0 { 1.0 } else { param_norm / update_norm };
        u.scale = cast(ratio);
        let neg_lr = cast(-self.common.lr);
        apply(&LambApply { u, neg_lr }, (params, self.mu.get(), self.nu.get()));
    }

    fn clear(&mut self) {
        self.mu.free();
        self.nu.free();
    }

    fn second_moment(&self) -> Option<&[T]> {
        self.progress.len.map(|_| self.nu.get())
    }

    momentum_is!(beta1);
}

impl_optimizer!(Lamb);

struct LambMoments<T> {
    sign: T,
    ema1: Ema<T>,
    ema2: Ema<T>,
}

impl<'a, T: Float + Send + Sync> Kernel<(&'a [T], &'a mut [T], &'a mut [T])> for LambMoments<T> {
    type Output = ();
    #[inline(always)]
    fn run<const FMA: bool>(&self, (g, m, v): (&'a [T], &'a mut [T], &'a mut [T])) {
        for ((&g, m), v) in g.iter().zip(m.iter_mut()).zip(v.iter_mut()) {
            let g = g * self.sign;
            *m = self.ema1.at(*m, g);
            *v = self.ema2.at(*v, g * g);
        }
    }
}

#[derive(Clone, Copy)]
struct LambUpdate<T> {
    bc1: T,
    bc2: T,
    eps_root: T,
    eps: T,
    weight_decay: T,
    scale: T,
}

impl<T: Float> LambUpdate<T> {
    /// The unscaled update `u` of one element.
    #[inline(always)]
    fn at(&self, p: T, m: T, v: T) -> T {
        (m / self.bc1) / ((v / self.bc2 + self.eps_root).sqrt() + self.eps) + self.weight_decay * p
    }
}

struct UpdateNorm<'u, T>(&'u LambUpdate<T>);

impl<'a, T: Float + Send + Sync> Kernel<(&'a [T], &'a [T], &'a [T])> for UpdateNorm<'_, T> {
    type Output = f64;
    #[inline(always)]
    fn run<const FMA: bool>(&self, (p, m, v): (&'a [T], &'a [T], &'a [T])) -> f64 {
        const L: usize = 8;
        let mut acc = [0.0_f64; L];
        for (i, ((&p, &m), &v)) in p.iter().zip(m).zip(v).enumerate() {
            let u = kernel::to_f64(self.0.at(p, m, v));
            acc[i % L] += u * u;
        }
        acc.iter().sum()
    }
}

struct LambApply<T> {
    u: LambUpdate<T>,
    neg_lr: T,
}

impl<'a, T: Float + Send + Sync> Kernel<(&'a mut [T], &'a [T], &'a [T])> for LambApply<T> {
    type Output = ();
    #[inline(always)]
    fn run<const FMA: bool>(&self, (p, m, v): (&'a mut [T], &'a [T], &'a [T])) {
        for ((p, &m), &v) in p.iter_mut().zip(m).zip(v) {
            let u = self.u.at(*p, m, v);
            *p = *p + self.neg_lr * (u * self.u.scale);
        }
    }
}
