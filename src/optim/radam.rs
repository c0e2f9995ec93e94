//! RAdam: `torch.optim.RAdam` and `optax.radam`.

use num_traits::Float;

use crate::kernel::{
    self, apply, bias_correction, cast, powi, powi_binary, sqrt, to_f64, Common, Kernel, Lerp, OptaxMoments,
};
use crate::optim::{common_setters, form_setters, impl_optimizer, momentum_is, setters, Form, Prep, Progress, Rule};
use crate::state::Buf;
use crate::Error;

/// RAdam, Adam with variance rectification: `torch.optim.RAdam` (single-tensor path).
///
/// Per element, in the order the code computes it (`t` is the 1-based step; scalars in `f64`
/// once per step):
///
/// ```text
/// g      = maximize ? -grad : grad
/// if decoupled_weight_decay: p = p*(1 - lr*weight_decay)  else: g = g + weight_decay*p
/// m      = lerp(m, g, 1 - beta1)
/// v      = v*beta2 + ((1 - beta2)*g)*g
/// bc1    = 1 - beta1^t,  bc2 = 1 - beta2^t
/// rho_inf = 2/(1 - beta2) - 1;  rho_t = rho_inf - 2*t*beta2^t/bc2
/// if rho_t > 5:
///     rect = sqrt((rho_t - 4)(rho_t - 2)rho_inf / ((rho_inf - 4)(rho_inf - 2)rho_t))
///     p = p - (((m/bc1)*lr) * (sqrt(bc2)/(sqrt(v) + eps))) * rect
/// else:
///     p = p - (m/bc1)*lr
/// ```
///
/// Defaults (PyTorch's): `betas` (0.9, 0.999), `eps` 1e-8, `weight_decay` 0.
///
/// On CPUs with FMA the multiply-adds above run as fused multiply-adds (one rounding each; see
/// [`simd`](crate::simd)): results differ from the portable path only in those roundings.
///
/// **optax form.** With [`form(Form::Optax)`](RAdam::form) the rule is `optax.radam`
/// (`scale_by_radam`, then `scale(-lr)`). It differs from PyTorch's: the rectified branch is
/// taken for `rho_t >= threshold`, and eps is added after the bias correction of `v`:
///
/// ```text
/// m     = (1 - beta1)*g + beta1*m
/// v     = (1 - beta2)*(g*g) + beta2*v
/// rho   = rho_inf - 2t*beta2^t/(1 - beta2^t),   rho_inf = 2/(1 - beta2) - 1
/// m_hat = nesterov ? beta1*(m/(1 - beta1^(t+1))) + (1 - beta1)*(g/(1 - beta1^t)) : m/(1 - beta1^t)
/// u     = rho >= threshold ? r*m_hat/(sqrt(v/(1 - beta2^t) + eps_root) + eps) : m_hat
///         with r = sqrt((rho - 4)(rho - 2)rho_inf/((rho_inf - 4)(rho_inf - 2)rho))
/// p     = p + (-lr)*u
/// ```
///
/// Reference: Liu et al. (2020); `torch/optim/radam.py::_single_tensor_radam`.
///
/// ```
/// use gradus::{Optimizer, RAdam};
/// let mut opt = RAdam::new(0.1_f64);
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
pub struct RAdam<T> {
    common: Common,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    decoupled_weight_decay: bool,
    #[cfg_attr(feature = "serde", serde(default))]
    eps_root: f64,
    #[cfg_attr(feature = "serde", serde(default = "crate::optim::radam_threshold"))]
    threshold: f64,
    #[cfg_attr(feature = "serde", serde(default))]
    nesterov: bool,
    #[cfg_attr(feature = "serde", serde(default))]
    form: Form,
    progress: Progress,
    exp_avg: Buf<T>,
    exp_avg_sq: Buf<T>,
}

impl<T: Float> RAdam<T> {
    /// RAdam with learning rate `lr` and PyTorch's defaults.
    ///
    /// ```
    /// let opt = gradus::RAdam::<f32>::new(1e-3);
    /// # let _ = opt;
    /// ```
    pub fn new(lr: T) -> Self {
        RAdam {
            common: Common::new(to_f64(lr)),
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled_weight_decay: false,
            eps_root: 0.0,
            threshold: 5.0,
            nesterov: false,
            form: Form::Torch,
            progress: Progress::default(),
            exp_avg: Buf::new(),
            exp_avg_sq: Buf::new(),
        }
    }

    setters! {
        RAdam;
        /// Decay rates of the two moments, each in `[0, 1)` (default 0.9, 0.999).
        betas / get_betas(beta1: T, beta2: T) = (0.9, 0.99);
        /// Term added to the denominator, `>= 0` (default 1e-8).
        eps / get_eps(eps: T) = (1e-6);
        /// Weight decay, `>= 0` (default 0); L2 unless `decoupled_weight_decay(true)`.
        weight_decay / get_weight_decay(weight_decay: T) = (1e-2);
        /// Decoupled weight decay `p *= 1 - lr*weight_decay` (AdamW style) instead of the L2 term.
        decoupled_weight_decay / get_decoupled_weight_decay(decoupled_weight_decay: bool) = (true);
        /// optax's `eps_root` (optax form only), added to the corrected second moment inside
        /// the square root, `>= 0` (default 0).
        eps_root / get_eps_root(eps_root: T) = (1e-12);
        /// optax's `threshold` (optax form only): the rectified step is taken once
        /// `rho_t >= threshold` (default 5; PyTorch's fixed test is `rho_t > 5`).
        threshold / get_threshold(threshold: T) = (10.0);
        /// optax's `nesterov` (optax form only): Nesterov momentum in the corrected first
        /// moment (default `false`).
        nesterov / get_nesterov(nesterov: bool) = (true);
    }

    form_setters!(
        RAdam,
        "torch.optim.RAdam",
        "optax.radam",
        "`betas` (0.9, 0.999), `eps` 1e-8, `eps_root` 0, `threshold` 5, `nesterov` false; `weight_decay`, `decoupled_weight_decay` and `maximize` have no optax keyword"
    );

    fn optax_defaults(self) -> Self {
        self
    }

    common_setters!(RAdam);
}

impl<T: Float + Send + Sync> Rule<T> for RAdam<T> {
    fn elementwise(&self) -> bool {
        true
    }

    crate::optim::state_fields!(required: [exp_avg, exp_avg_sq], optional: []);

    fn validate(&self) -> Result<(), Error> {
        kernel::unit("beta1", self.beta1)?;
        kernel::unit("beta2", self.beta2)?;
        kernel::non_negative("eps", self.eps)?;
        kernel::non_negative("weight_decay", self.weight_decay)?;
        kernel::non_negative("eps_root", self.eps_root)?;
        kernel::finite("threshold", self.threshold)?;
        if self.form == Form::Optax {
            let expected = "its default: optax.radam has no such keyword";
            kernel::require(self.weight_decay == 0.0, "weight_decay", self.weight_decay, expected)?;
            kernel::require(!self.decoupled_weight_decay, "decoupled_weight_decay", 1.0, expected)?;
            kernel::require(!self.common.maximize, "maximize", 1.0, expected)?;
        } else {
            let expected = "its default: an optax.radam keyword, for form(Form::Optax) only";
            kernel::require(self.eps_root == 0.0, "eps_root", self.eps_root, expected)?;
            kernel::require(self.threshold == 5.0, "threshold", self.threshold, expected)?;
            kernel::require(!self.nesterov, "nesterov", 1.0, expected)?;
        }
        Ok(())
    }

    fn update(&mut self, params: &mut [T], grads: &[T]) {
        let n = params.len();
        let t = self.progress.begin(n);
        self.exp_avg.ensure(params, T::zero());
        self.exp_avg_sq.ensure(params, T::zero());
        if self.form == Form::Optax {
            return self.optax_update(params, grads, t);
        }
        let (b2, tf) = (self.beta2, t as f64);
        let bc1 = bias_correction(self.beta1, t);
        let bc2 = bias_correction(b2, t);
        let rho_inf = 2.0 / (1.0 - b2) - 1.0;
        let rho_t = rho_inf - 2.0 * tf * powi(b2, t) / bc2;
        let rectified = rho_t > 5.0;
        let rect = if rectified {
            sqrt((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
        } else {
            1.0
        };
        let k = RAdamKernel {
            prep: Prep::new(&self.common, self.weight_decay, self.decoupled_weight_decay),
            lerp: Lerp::new(1.0 - self.beta1),
            beta2: cast(b2),
            one_minus_beta2: cast(1.0 - b2),
            bc1: cast(bc1),
            lr: cast(self.common.lr),
            bc2_sqrt: cast(sqrt(bc2)),
            eps: cast(self.eps),
            rect: cast(rect),
            rectified,
        };
        apply(&k, (params, grads, self.exp_avg.get_mut(), self.exp_avg_sq.get_mut()));
    }

    fn clear(&mut self) {
        self.exp_avg.free();
        self.exp_avg_sq.free();
    }

    fn second_moment(&self) -> Option<&[T]> {
        self.progress.len.map(|_| self.exp_avg_sq.get())
    }

    momentum_is!(beta1);
}

impl<T: Float + Send + Sync> RAdam<T> {
    /// `optax.radam` (`scale_by_radam`, then `scale(-lr)`), in its operation order.
    fn optax_update(&mut self, params: &mut [T], grads: &[T], t: u64) {
        let b2 = self.beta2;
        let rho_inf = 2.0 / (1.0 - b2) - 1.0;
        let b2t = powi_binary(b2, t);
        let rho = rho_inf - (2 * t) as f64 * b2t / (1.0 - b2t);
        let rectified = rho >= self.threshold;
        let r: T = cast(if rectified {
            sqrt((rho - 4.0) * (rho - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho))
        } else {
            1.0
        });
        let k = OptaxMoments::new(self.beta1, b2, t, self.nesterov, (true, true));
        let (neg_lr, eps, eps_root): (T, T, T) = (cast(-self.common.lr), cast(self.eps), cast(self.eps_root));
        let (m, v) = (self.exp_avg.get_mut(), self.exp_avg_sq.get_mut());
        for (((p, &g), m), v) in params.iter_mut().zip(grads).zip(m.iter_mut()).zip(v.iter_mut()) {
            let (m_hat, v_hat) = k.update(g, m, v);
            let u = if rectified { r * m_hat / ((v_hat + eps_root).sqrt() + eps) } else { m_hat };
            *p = *p + neg_lr * u;
        }
    }
}

impl_optimizer!(RAdam);

struct RAdamKernel<T> {
    prep: Prep<T>,
    lerp: Lerp<T>,
    beta2: T,
    one_minus_beta2: T,
    bc1: T,
    lr: T,
    bc2_sqrt: T,
    eps: T,
    rect: T,
    rectified: bool,
}

type L4<'a, T> = (&'a mut [T], &'a [T], &'a mut [T], &'a mut [T]);

impl<'a, T: Float + Send + Sync> Kernel<L4<'a, T>> for RAdamKernel<T> {
    type Output = ();
    #[inline(always)]
    fn run<const FMA: bool>(&self, (p, g, m, v): L4<'a, T>) {
        for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            let (q, g) = self.prep.grad(*p, g);
            *m = self.lerp.at::<FMA>(*m, g);
            *v = *v * self.beta2 + (self.one_minus_beta2 * g) * g;
            let step = (*m / self.bc1) * self.lr;
            let adaptive = self.bc2_sqrt / (v.sqrt() + self.eps);
            let rectified = (step * adaptive) * self.rect;
            *p = q - if self.rectified { rectified } else { step };
        }
    }
}
