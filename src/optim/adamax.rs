//! Adamax: `torch.optim.Adamax` and `optax.adamaxw`.

use num_traits::Float;

use crate::kernel::{self, apply, bias_correction, cast, optax_bias_correction, to_f64, Common, Ema, Kernel, Lerp};
use crate::optim::{common_setters, form_setters, impl_optimizer, momentum_is, setters, Form, Prep, Progress, Rule};
use crate::state::Buf;
use crate::Error;

/// Adamax, Adam's infinity-norm variant: `torch.optim.Adamax` (single-tensor path).
///
/// Per element, in the order the code computes it (`t` is the 1-based step):
///
/// ```text
/// g   = maximize ? -grad : grad
/// g   = g + weight_decay*p
/// m   = lerp(m, g, 1 - beta1)
/// u   = max(u*beta2, |g| + eps)
/// clr = lr / (1 - beta1^t)                     // f64, once per step
/// p   = p + ((-clr)*m) / u
/// ```
///
/// Defaults (PyTorch's): `betas` (0.9, 0.999), `eps` 1e-8, `weight_decay` 0 (PyTorch's `lr`
/// default is 2e-3).
///
/// On CPUs with FMA the multiply-adds above run as fused multiply-adds (one rounding each; see
/// [`simd`](crate::simd)): results differ from the portable path only in those roundings.
///
/// **optax form.** With [`form(Form::Optax)`](Adamax::form) the rule is `optax.adamaxw`
/// (`scale_by_adamax`, `add_decayed_weights`, `scale(-lr)`), with eps *inside* the maximum and
/// a decoupled weight decay (optax's default 1e-4):
///
/// ```text
/// m = (1 - beta1)*g + beta1*m
/// u = max(|g| + eps, beta2*u)
/// p = p + (-lr)*((m/(1 - beta1^t))/u + weight_decay*p)
/// ```
///
/// Reference: Kingma & Ba (2015), section 7; `torch/optim/adamax.py::_single_tensor_adamax`.
///
/// ```
/// use gradus::{Adamax, Optimizer};
/// let mut opt = Adamax::new(0.1_f64);
/// let mut x = [1.0];
/// for _ in 0..100 {
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
pub struct Adamax<T> {
    common: Common,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    #[cfg_attr(feature = "serde", serde(default))]
    form: Form,
    progress: Progress,
    exp_avg: Buf<T>,
    exp_inf: Buf<T>,
}

impl<T: Float> Adamax<T> {
    /// Adamax with learning rate `lr` and PyTorch's defaults.
    ///
    /// ```
    /// let opt = gradus::Adamax::<f32>::new(2e-3);
    /// # let _ = opt;
    /// ```
    pub fn new(lr: T) -> Self {
        Adamax {
            common: Common::new(to_f64(lr)),
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            form: Form::Torch,
            progress: Progress::default(),
            exp_avg: Buf::new(),
            exp_inf: Buf::new(),
        }
    }

    setters! {
        Adamax;
        /// Decay of the first moment and of the infinity norm, each in `[0, 1)` (default 0.9, 0.999).
        betas / get_betas(beta1: T, beta2: T) = (0.8, 0.99);
        /// Term added to `|g|`, `>= 0` (default 1e-8).
        eps / get_eps(eps: T) = (1e-6);
        /// L2 penalty added to the gradient, `>= 0` (default 0).
        weight_decay / get_weight_decay(weight_decay: T) = (1e-4);
    }

    form_setters!(
        Adamax,
        "torch.optim.Adamax",
        "optax.adamaxw",
        "`betas` (0.9, 0.999), `eps` 1e-8 (inside the maximum) and `weight_decay` 1e-4, decoupled (`-lr*(u + weight_decay*p)`); `maximize` has no optax keyword"
    );

    fn optax_defaults(mut self) -> Self {
        self.weight_decay = 1e-4;
        self
    }

    common_setters!(Adamax);
}

impl<T: Float + Send + Sync> Rule<T> for Adamax<T> {
    fn elementwise(&self) -> bool {
        true
    }

    crate::optim::state_fields!(required: [exp_avg, exp_inf], optional: []);

    fn validate(&self) -> Result<(), Error> {
        kernel::unit("beta1", self.beta1)?;
        kernel::unit("beta2", self.beta2)?;
        kernel::non_negative("eps", self.eps)?;
        kernel::non_negative("weight_decay", self.weight_decay)?;
        if self.form == Form::Optax {
            kernel::require(!self.common.maximize, "maximize", 1.0, "its default: optax.adamaxw has no such keyword")?;
        }
        Ok(())
    }

    fn update(&mut self, params: &mut [T], grads: &[T]) {
        let n = params.len();
        let t = self.progress.begin(n);
        self.exp_avg.ensure(params, T::zero());
        self.exp_inf.ensure(params, T::zero());
        if self.form == Form::Optax {
            // scale_by_adamax, add_decayed_weights, scale(-lr)
            let (m_ema, bc1): (Ema<T>, T) = (Ema::new(self.beta1), cast(optax_bias_correction(self.beta1, t)));
            let (beta2, eps, wd, neg_lr): (T, T, T, T) =
                (cast(self.beta2), cast(self.eps), cast(self.weight_decay), cast(-self.common.lr));
            let (m, u) = (self.exp_avg.get_mut(), self.exp_inf.get_mut());
            for (((p, &g), m), u) in params.iter_mut().zip(grads).zip(m.iter_mut()).zip(u.iter_mut()) {
                *m = m_ema.at(*m, g);
                *u = (g.abs() + eps).max(beta2 * *u);
                *p = *p + neg_lr * ((*m / bc1) / *u + wd * *p);
            }
            return;
        }
        let clr = self.common.lr / bias_correction(self.beta1, t);
        let k = AdamaxKernel {
            prep: Prep::new(&self.common, self.weight_decay, false),
            lerp: Lerp::new(1.0 - self.beta1),
            beta2: cast(self.beta2),
            eps: cast(self.eps),
            neg_clr: cast(-clr),
        };
        apply(&k, (params, grads, self.exp_avg.get_mut(), self.exp_inf.get_mut()));
    }

    fn clear(&mut self) {
        self.exp_avg.free();
        self.exp_inf.free();
    }

    momentum_is!(beta1);
}

impl_optimizer!(Adamax);

struct AdamaxKernel<T> {
    prep: Prep<T>,
    lerp: Lerp<T>,
    beta2: T,
    eps: T,
    neg_clr: T,
}

type L4<'a, T> = (&'a mut [T], &'a [T], &'a mut [T], &'a mut [T]);

impl<'a, T: Float + Send + Sync> Kernel<L4<'a, T>> for AdamaxKernel<T> {
    type Output = ();
    #[inline(always)]
    fn run<const FMA: bool>(&self, (p, g, m, u): L4<'a, T>) {
        for (((p, &g), m), u) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(u.iter_mut()) {
            let (q, g) = self.prep.grad(*p, g);
            *m = self.lerp.at::<FMA>(*m, g);
            *u = (*u * self.beta2).max(g.abs() + self.eps);
            *p = q + (self.neg_clr * *m) / *u;
        }
    }
}
