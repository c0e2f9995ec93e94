//! AdaBelief: `optax.adabelief`.

use num_traits::Float;

use crate::kernel::{self, apply, bias_correction, cast, to_f64, Common, Ema, Kernel};
use crate::optim::{common_setters, impl_optimizer, momentum_is, setters, Progress, Rule};
use crate::state::Buf;
use crate::Error;

/// AdaBelief: `optax.adabelief` = `scale_by_belief` + `scale_by_learning_rate`.
///
/// Per element, in the order the code computes it (`t` is the 1-based step):
///
/// ```text
/// g     = maximize ? -grad : grad
/// m     = (1 - beta1)*g + beta1*m
/// e     = g - m                                  // with the new m, as optax 0.2.8
/// s     = (1 - beta2)*(e*e) + beta2*s
/// s     = s + eps_root
/// m_hat = nesterov ? beta1*(m/(1 - beta1^(t+1))) + (1 - beta1)*(g/(1 - beta1^t))
///                  : m/(1 - beta1^t)
/// s_hat = s/(1 - beta2^t)
/// p     = p + (-lr)*(m_hat/(sqrt(s_hat) + eps))
/// ```
///
/// Defaults (optax's): `betas` (0.9, 0.999), `eps` 1e-16, `eps_root` 1e-16, `nesterov` false.
///
/// Reference: Zhuang et al. (2020); `optax/_src/alias.py::adabelief`,
/// `optax/_src/transform.py::scale_by_belief`.
///
/// ```
/// use gradus::{AdaBelief, Optimizer};
/// let mut opt = AdaBelief::new(0.1_f64);
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
pub struct AdaBelief<T> {
    common: Common,
    beta1: f64,
    beta2: f64,
    eps: f64,
    eps_root: f64,
    nesterov: bool,
    progress: Progress,
    mu: Buf<T>,
    nu: Buf<T>,
}

impl<T: Float> AdaBelief<T> {
    /// AdaBelief with learning rate `lr` and optax's defaults.
    ///
    /// ```
    /// let opt = gradus::AdaBelief::<f32>::new(1e-3);
    /// # let _ = opt;
    /// ```
    pub fn new(lr: T) -> Self {
        AdaBelief {
            common: Common::new(to_f64(lr)),
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-16,
            eps_root: 1e-16,
            nesterov: false,
            progress: Progress::default(),
            mu: Buf::new(),
            nu: Buf::new(),
        }
    }

    setters! {
        AdaBelief;
        /// Decay rates of the gradient average and of the belief (variance) average, each in
        /// `[0, 1)` (default 0.9, 0.999).
        betas / get_betas(beta1: T, beta2: T) = (0.9, 0.99);
        /// Term added to the denominator outside the square root, `>= 0` (default 1e-16).
        eps / get_eps(eps: T) = (1e-12);
        /// Term added to the belief average every step (inside the square root), `>= 0`
        /// (default 1e-16).
        eps_root / get_eps_root(eps_root: T) = (0.0);
        /// Nesterov momentum in the bias-corrected first moment (default `false`).
        nesterov / get_nesterov(nesterov: bool) = (true);
    }

    common_setters!(AdaBelief);
}

impl<T: Float + Send + Sync> Rule<T> for AdaBelief<T> {
    fn elementwise(&self) -> bool {
        true
    }

    crate::optim::state_fields!(required: [mu, nu], optional: []);

    fn validate(&self) -> Result<(), Error> {
        kernel::unit("beta1", self.beta1)?;
        kernel::unit("beta2", self.beta2)?;
        kernel::non_negative("eps", self.eps)?;
        kernel::non_negative("eps_root", self.eps_root)
    }

    fn update(&mut self, params: &mut [T], grads: &[T]) {
        let n = params.len();
        let t = self.progress.begin(n);
        self.mu.ensure(params, T::zero());
        self.nu.ensure(params, T::zero());
        let b1 = self.beta1;
        let k = AdaBeliefKernel {
            sign: self.common.sign(),
            ema1: Ema::new(b1),
            ema2: Ema::new(self.beta2),
            eps_root: cast(self.eps_root),
            bc1: cast(bias_correction(b1, t)),
            bc1_next: cast(bias_correction(b1, t.saturating_add(1))),
            bc2: cast(bias_correction(self.beta2, t)),
            nesterov: self.nesterov,
            eps: cast(self.eps),
            neg_lr: cast(-self.common.lr),
        };
        apply(&k, (params, grads, self.mu.get_mut(), self.nu.get_mut()));
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

impl_optimizer!(AdaBelief);

struct AdaBeliefKernel<T> {
    sign: T,
    ema1: Ema<T>,
    ema2: Ema<T>,
    eps_root: T,
    bc1: T,
    bc1_next: T,
    bc2: T,
    nesterov: bool,
    eps: T,
    neg_lr: T,
}

type L4<'a, T> = (&'a mut [T], &'a [T], &'a mut [T], &'a mut [T]);

impl<'a, T: Float + Send + Sync> Kernel<L4<'a, T>> for AdaBeliefKernel<T> {
    type Output = ();
    #[inline(always)]
    fn run<const FMA: bool>(&self, (p, g, m, s): L4<'a, T>) {
        for (((p, &g), m), s) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(s.iter_mut()) {
            let g = g * self.sign;
            *m = self.ema1.at(*m, g);
            let e = g - *m;
            *s = self.ema2.at(*s, e * e) + self.eps_root;
            let m_hat = if self.nesterov { self.ema1.at(*m / self.bc1_next, g / self.bc1) } else { *m / self.bc1 };
            let s_hat = *s / self.bc2;
            *p = *p + self.neg_lr * (m_hat / (s_hat.sqrt() + self.eps));
        }
    }
}
