//! NAdam: `torch.optim.NAdam` and `optax.nadamw`.

use num_traits::Float;

use crate::kernel::{self, apply, bias_correction, cast, to_f64, Common, Kernel, Lerp, OptaxMoments};
use crate::optim::{common_setters, form_setters, impl_optimizer, setters, Form, Prep, Progress, Rule};
use crate::state::Buf;
use crate::Error;

/// NAdam, Adam with Nesterov momentum and momentum decay: `torch.optim.NAdam` (single-tensor).
///
/// Per element, in the order the code computes it (`t` is the 1-based step; the scalars are
/// computed once per step in `f64`):
///
/// ```text
/// g        = maximize ? -grad : grad
/// if decoupled_weight_decay: p = p*(1 - lr*weight_decay)  else: g = g + weight_decay*p
/// mu       = beta1*(1 - 0.5*0.96^(t*momentum_decay))
/// mu_next  = beta1*(1 - 0.5*0.96^((t+1)*momentum_decay))
/// mu_prod  = mu_prod*mu                                   // state, starts at 1
/// m        = lerp(m, g, 1 - beta1)
/// v        = v*beta2 + ((1 - beta2)*g)*g
/// d        = sqrt(v / (1 - beta2^t)) + eps
/// p        = p + ((-lr*(1 - mu)/(1 - mu_prod))*g) / d
/// p        = p + ((-lr*mu_next/(1 - mu_prod*mu_next))*m) / d
/// ```
///
/// Defaults (PyTorch's): `betas` (0.9, 0.999), `eps` 1e-8, `weight_decay` 0, `momentum_decay`
/// 4e-3 (PyTorch's `lr` default is 2e-3).
///
/// On CPUs with FMA the multiply-adds above run as fused multiply-adds (one rounding each; see
/// [`simd`](crate::simd)): results differ from the portable path only in those roundings.
///
/// **optax form.** With [`form(Form::Optax)`](NAdam::form) the rule is `optax.nadamw`
/// (`optax.adamw` with `nesterov=True`: `scale_by_adam`, `add_decayed_weights`, `scale(-lr)`),
/// with a decoupled weight decay (optax's default 1e-4) and no momentum decay schedule:
///
/// ```text
/// m     = (1 - beta1)*g + beta1*m
/// v     = (1 - beta2)*(g*g) + beta2*v
/// m_hat = beta1*(m/(1 - beta1^(t+1))) + (1 - beta1)*(g/(1 - beta1^t))
/// p     = p + (-lr)*(m_hat/(sqrt(v/(1 - beta2^t) + eps_root) + eps) + weight_decay*p)
/// ```
///
/// Reference: Dozat (2016); `torch/optim/nadam.py::_single_tensor_nadam`.
///
/// ```
/// use gradus::{NAdam, Optimizer};
/// let mut opt = NAdam::new(0.05_f64);
/// let mut x = [1.0];
/// for _ in 0..200 {
///     let g = [2.0 * x[0]];
///     opt.step(&mut x, &g)?;
/// }
/// assert!(x[0].abs() < 0.05);
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(bound(serialize = "T: Float + serde::Serialize", deserialize = "T: Float + serde::Deserialize<'de>"))
)]
pub struct NAdam<T> {
    common: Common,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    momentum_decay: f64,
    decoupled_weight_decay: bool,
    #[cfg_attr(feature = "serde", serde(default))]
    eps_root: f64,
    #[cfg_attr(feature = "serde", serde(default))]
    form: Form,
    progress: Progress,
    mu_product: f64,
    exp_avg: Buf<T>,
    exp_avg_sq: Buf<T>,
}

impl<T: Float> NAdam<T> {
    /// NAdam with learning rate `lr` and PyTorch's defaults.
    ///
    /// ```
    /// let opt = gradus::NAdam::<f32>::new(2e-3);
    /// # let _ = opt;
    /// ```
    pub fn new(lr: T) -> Self {
        NAdam {
            common: Common::new(to_f64(lr)),
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum_decay: 4e-3,
            decoupled_weight_decay: false,
            eps_root: 0.0,
            form: Form::Torch,
            progress: Progress::default(),
            mu_product: 1.0,
            exp_avg: Buf::new(),
            exp_avg_sq: Buf::new(),
        }
    }

    setters! {
        NAdam;
        /// Decay rates of the two moments, each in `[0, 1)` (default 0.9, 0.999).
        betas / get_betas(beta1: T, beta2: T) = (0.9, 0.99);
        /// Term added to the denominator, `>= 0` (default 1e-8).
        eps / get_eps(eps: T) = (1e-6);
        /// Weight decay, `>= 0` (default 0); L2 unless `decoupled_weight_decay(true)`.
        weight_decay / get_weight_decay(weight_decay: T) = (1e-2);
        /// Momentum decay `psi`, `>= 0` (default 4e-3).
        momentum_decay / get_momentum_decay(momentum_decay: T) = (1e-3);
        /// Decoupled weight decay `p *= 1 - lr*weight_decay` (AdamW style) instead of the L2 term.
        decoupled_weight_decay / get_decoupled_weight_decay(decoupled_weight_decay: bool) = (true);
        /// optax's `eps_root` (optax form only), added to the corrected second moment inside
        /// the square root, `>= 0` (default 0).
        eps_root / get_eps_root(eps_root: T) = (1e-12);
    }

    form_setters!(
        NAdam,
        "torch.optim.NAdam",
        "optax.nadamw",
        "`betas` (0.9, 0.999), `eps` 1e-8, `eps_root` 0 and `weight_decay` 1e-4, decoupled (`-lr*(u + weight_decay*p)`); `momentum_decay`, `decoupled_weight_decay` and `maximize` have no optax keyword"
    );

    fn optax_defaults(mut self) -> Self {
        self.weight_decay = 1e-4;
        self
    }

    /// The product of the momentum schedule `mu_1 * ... * mu_t` so far (1 before the first step).
    ///
    /// ```
    /// let opt = gradus::NAdam::<f64>::new(2e-3);
    /// assert_eq!(opt.mu_product(), 1.0);
    /// ```
    pub fn mu_product(&self) -> f64 {
        self.mu_product
    }

    common_setters!(NAdam);
}

impl<T: Float + Send + Sync> Rule<T> for NAdam<T> {
    fn elementwise(&self) -> bool {
        true
    }

    crate::optim::state_fields!(required: [exp_avg, exp_avg_sq], optional: []);

    fn validate(&self) -> Result<(), Error> {
        kernel::unit("beta1", self.beta1)?;
        kernel::unit("beta2", self.beta2)?;
        kernel::non_negative("eps", self.eps)?;
        kernel::non_negative("weight_decay", self.weight_decay)?;
        kernel::non_negative("momentum_decay", self.momentum_decay)?;
        kernel::non_negative("eps_root", self.eps_root)?;
        if self.form == Form::Optax {
            let expected = "its default: optax.nadamw has no such keyword";
            kernel::require(self.momentum_decay == 4e-3, "momentum_decay", self.momentum_decay, expected)?;
            kernel::require(!self.decoupled_weight_decay, "decoupled_weight_decay", 1.0, expected)?;
            kernel::require(!self.common.maximize, "maximize", 1.0, expected)?;
        } else {
            let expected = "0: an optax.nadamw keyword, for form(Form::Optax) only";
            kernel::require(self.eps_root == 0.0, "eps_root", self.eps_root, expected)?;
        }
        Ok(())
    }

    fn update(&mut self, params: &mut [T], grads: &[T]) {
        let n = params.len();
        let t = self.progress.begin(n);
        self.exp_avg.ensure(params, T::zero());
        self.exp_avg_sq.ensure(params, T::zero());
        if self.form == Form::Optax {
            // optax.adamw(nesterov=True): scale_by_adam, add_decayed_weights, scale(-lr)
            let k = OptaxMoments::new(self.beta1, self.beta2, t, true, (true, true));
            let (neg_lr, eps, eps_root, wd): (T, T, T, T) =
                (cast(-self.common.lr), cast(self.eps), cast(self.eps_root), cast(self.weight_decay));
            let (m, v) = (self.exp_avg.get_mut(), self.exp_avg_sq.get_mut());
            for (((p, &g), m), v) in params.iter_mut().zip(grads).zip(m.iter_mut()).zip(v.iter_mut()) {
                let (m_hat, v_hat) = k.update(g, m, v);
                *p = *p + neg_lr * (m_hat / ((v_hat + eps_root).sqrt() + eps) + wd * *p);
            }
            return;
        }
        let (lr, b1) = (self.common.lr, self.beta1);
        let bc2 = bias_correction(self.beta2, t);
        let mu = b1 * (1.0 - 0.5 * num_traits::Float::powf(0.96, t as f64 * self.momentum_decay));
        let mu_next = b1 * (1.0 - 0.5 * num_traits::Float::powf(0.96, (t + 1) as f64 * self.momentum_decay));
        self.mu_product *= mu;
        let mu_product_next = self.mu_product * mu_next;
        let k = NAdamKernel {
            prep: Prep::new(&self.common, self.weight_decay, self.decoupled_weight_decay),
            lerp: Lerp::new(1.0 - b1),
            beta2: cast(self.beta2),
            one_minus_beta2: cast(1.0 - self.beta2),
            bc2: cast(bc2),
            eps: cast(self.eps),
            coef_grad: cast(-lr * (1.0 - mu) / (1.0 - self.mu_product)),
            coef_avg: cast((-lr * mu_next) / (1.0 - mu_product_next)),
        };
        apply(&k, (params, grads, self.exp_avg.get_mut(), self.exp_avg_sq.get_mut()));
    }

    fn clear(&mut self) {
        self.mu_product = 1.0;
        self.exp_avg.free();
        self.exp_avg_sq.free();
    }

    fn second_moment(&self) -> Option<&[T]> {
        self.progress.len.map(|_| self.exp_avg_sq.get())
    }
}

impl_optimizer!(NAdam);

struct NAdamKernel<T> {
    prep: Prep<T>,
    lerp: Lerp<T>,
    beta2: T,
    one_minus_beta2: T,
    bc2: T,
    eps: T,
    coef_grad: T,
    coef_avg: T,
}

type L4<'a, T> = (&'a mut [T], &'a [T], &'a mut [T], &'a mut [T]);

impl<'a, T: Float + Send + Sync> Kernel<L4<'a, T>> for NAdamKernel<T> {
    type Output = ();
    #[inline(always)]
    fn run<const FMA: bool>(&self, (p, g, m, v): L4<'a, T>) {
        for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            let (q, g) = self.prep.grad(*p, g);
            *m = self.lerp.at::<FMA>(*m, g);
            *v = *v * self.beta2 + (self.one_minus_beta2 * g) * g;
            let d = (*v / self.bc2).sqrt() + self.eps;
            let q = q + (self.coef_grad * g) / d;
            *p = q + (self.coef_avg * *m) / d;
        }
    }
}
