//! Adam and AdamW: `torch.optim.Adam`, `torch.optim.AdamW`.

use num_traits::Float;

use crate::kernel::{self, apply, bias_correction, cast, mul_add, sqrt, to_f64, Common, Kernel, Lerp, OptaxMoments};
use crate::optim::{common_setters, impl_optimizer, momentum_is, setters, Form, Prep, Progress, Rule};
use crate::state::Buf;
use crate::Error;

/// Adam: `torch.optim.Adam` (single-tensor path, `foreach=False`), with its `amsgrad`,
/// `maximize` and `decoupled_weight_decay` options, plus the notebook's knobs
/// [`bias_correction`](Adam::bias_correction) and [`initial_moments`](Adam::initial_moments).
///
/// Per element, in the order the code computes it (`t` is the 1-based step; coefficients are
/// computed once per step in `f64`, then cast to `T`, as PyTorch does):
///
/// ```text
/// g   = maximize ? -grad : grad
/// if decoupled_weight_decay: p = p * (1 - lr*weight_decay)
/// else:                      g = g + weight_decay*p
/// m   = lerp(m, g, 1 - beta1)                     // ATen lerp
/// v   = v*beta2 + ((1 - beta2)*g)*g               // mul_ then addcmul_
/// bc1 = 1 - beta1^t,  bc2 = 1 - beta2^t           // both 1 with bias_correction(false)
/// if amsgrad: vmax = max(vmax, v); v' = vmax  else v' = v
/// p   = p + ((-lr/bc1)*m) / (sqrt(v')*(1/sqrt(bc2)) + eps) // addcdiv_
/// ```
///
/// PyTorch divides by `sqrt(bc2)`; multiplying by its reciprocal (computed once per step in
/// `f64`) saves a vector division per element and differs by at most one rounding.
///
/// Defaults (PyTorch's): `betas` (0.9, 0.999), `eps` 1e-8, `weight_decay` 0, `amsgrad` false,
/// moments start at 0.
///
/// **Textbook form.** PyTorch has no switch for bias correction, so with
/// [`bias_correction(false)`](Adam::bias_correction) the rule follows its textbook statement
/// (Kingma & Ba without correction, the fast.ai notebook), in that operation order:
///
/// ```text
/// m = beta1*m + (1 - beta1)*g
/// v = beta2*v + (1 - beta2)*(g*g)
/// p = p - (lr/(sqrt(v') + eps))*m
/// ```
///
/// The two orders agree to rounding; the notebook's annealing run amplifies rounding enough
/// (to ~3e-8 relative) that reproducing it to 1e-9 takes its own order.
///
/// **optax form.** With [`form(Form::Optax)`](Adam::form), or with optax's options
/// [`eps_root`](Adam::eps_root) `> 0` or [`nesterov(true)`](Adam::nesterov), the rule is
/// `optax.adam` (`scale_by_adam`), and with [`amsgrad(true)`](Adam::amsgrad) it is
/// `optax.amsgrad` (`scale_by_amsgrad`), in this order (powers by binary exponentiation, as
/// optax's `decay ** count`):
///
/// ```text
/// m     = (1 - beta1)*g + beta1*m
/// v     = (1 - beta2)*(g*g) + beta2*v
/// m_hat = nesterov ? beta1*(m/(1 - beta1^(t+1))) + (1 - beta1)*(g/(1 - beta1^t)) : m/(1 - beta1^t)
/// v_hat = v/(1 - beta2^t)
/// if amsgrad: vmax = max(vmax, v_hat); v_hat = vmax     // optax.amsgrad: the max of the corrected v
/// p     = p + (-lr)*(m_hat / (sqrt(v_hat + eps_root) + eps))
/// ```
///
/// `optax.amsgrad`'s [`bias_correction_mu`](Adam::bias_correction_mu) and
/// [`bias_correction_nu`](Adam::bias_correction_nu) switch off either correction. PyTorch's
/// AMSGrad takes the maximum of the raw `v` instead. (With their defaults `optax.adam` and the
/// PyTorch form agree to rounding.)
///
/// On CPUs with FMA the multiply-adds of the PyTorch form run as fused multiply-adds (one
/// rounding each; see [`simd`](crate::simd)); the textbook and optax forms are never fused.
///
/// Reference: Kingma & Ba (2015); `torch/optim/adam.py::_single_tensor_adam`.
///
/// ```
/// use gradus::{Adam, Optimizer};
/// let mut opt = Adam::new(1e-1).betas(0.9, 0.999);
/// let mut x = [3.0_f32, -2.0];
/// for _ in 0..500 {
///     let g = [2.0 * x[0], 2.0 * x[1]];
///     opt.step(&mut x, &g)?;
/// }
/// assert!(x.iter().all(|v| v.abs() < 1e-2));
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(bound(serialize = "T: Float + serde::Serialize", deserialize = "T: Float + serde::Deserialize<'de>"))
)]
pub struct Adam<T> {
    common: Common,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    amsgrad: bool,
    decoupled_weight_decay: bool,
    bias_correction: bool,
    initial_moments: (f64, f64),
    eps_root: f64,
    nesterov: bool,
    #[cfg_attr(feature = "serde", serde(default))]
    form: Form,
    #[cfg_attr(feature = "serde", serde(default = "crate::optim::yes"))]
    bias_correction_mu: bool,
    #[cfg_attr(feature = "serde", serde(default = "crate::optim::yes"))]
    bias_correction_nu: bool,
    progress: Progress,
    exp_avg: Buf<T>,
    exp_avg_sq: Buf<T>,
    max_exp_avg_sq: Buf<T>,
}

impl<T: Float> Adam<T> {
    /// Adam with learning rate `lr` and PyTorch's defaults for everything else.
    ///
    /// ```
    /// let opt = gradus::Adam::<f32>::new(1e-3);
    /// # let _ = opt;
    /// ```
    pub fn new(lr: T) -> Self {
        Adam {
            common: Common::new(to_f64(lr)),
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            amsgrad: false,
            decoupled_weight_decay: false,
            bias_correction: true,
            initial_moments: (0.0, 0.0),
            eps_root: 0.0,
            nesterov: false,
            form: Form::Torch,
            bias_correction_mu: true,
            bias_correction_nu: true,
            progress: Progress::default(),
            exp_avg: Buf::new(),
            exp_avg_sq: Buf::new(),
            max_exp_avg_sq: Buf::new(),
        }
    }

    setters! {
        Adam;
        /// Decay rates of the first and second moment averages, each in `[0, 1)` (default 0.9, 0.999).
        betas / get_betas(beta1: T, beta2: T) = (0.9, 0.99);
        /// Term added to the denominator, `>= 0` (default 1e-8).
        eps / get_eps(eps: T) = (1e-6);
        /// Weight decay, `>= 0` (default 0): an L2 term added to the gradient, or with
        /// [`decoupled_weight_decay`](Adam::decoupled_weight_decay) a decay of the parameters.
        weight_decay / get_weight_decay(weight_decay: T) = (1e-2);
        /// AMSGrad: normalize by the running maximum of the second moment (default `false`).
        amsgrad / get_amsgrad(amsgrad: bool) = (true);
        /// Decoupled weight decay `p *= 1 - lr*weight_decay` (AdamW style) instead of the L2 term.
        decoupled_weight_decay / get_decoupled_weight_decay(decoupled_weight_decay: bool) = (true);
        /// Divide the moments by `1 - beta^t` (default `true`); `false` selects the textbook
        /// form without bias correction used by the fast.ai notebook (see the type's docs).
        bias_correction / get_bias_correction(bias_correction: bool) = (false);
        /// optax's `eps_root`, added to the bias-corrected second moment inside the square
        /// root, `>= 0` (default 0); non-zero selects the optax form (see the type's docs).
        eps_root / get_eps_root(eps_root: T) = (1e-12);
        /// optax's `nesterov`: Nesterov momentum in the bias-corrected first moment (default
        /// `false`); `true` selects the optax form (see the type's docs).
        nesterov / get_nesterov(nesterov: bool) = (true);
        /// `optax.amsgrad`'s `bias_correction_mu` (optax form with `amsgrad` only): divide the
        /// first moment by `1 - beta1^t` (default `true`).
        bias_correction_mu / get_bias_correction_mu(bias_correction_mu: bool) = (false);
        /// `optax.amsgrad`'s `bias_correction_nu` (optax form with `amsgrad` only): divide the
        /// second moment by `1 - beta2^t` before the maximum (default `true`).
        bias_correction_nu / get_bias_correction_nu(bias_correction_nu: bool) = (false);
    }

    /// Starts the first and second moments at `m0` and `v0` (`v0 >= 0`) instead of 0.
    ///
    /// ```
    /// use gradus::{Adam, Optimizer};
    /// // the notebook's Adam: m and r start at 1, no bias correction, no eps
    /// let mut opt = Adam::new(1.0_f64).betas(0.9, 0.9).eps(0.0)
    ///     .bias_correction(false).initial_moments(1.0, 1.0);
    /// let mut p = [0.0];
    /// opt.step(&mut p, &[1.0])?;
    /// assert_eq!(p[0], -1.0); // m = 1, v = 1
    /// # Ok::<(), gradus::Error>(())
    /// ```
    pub fn initial_moments(mut self, m0: T, v0: T) -> Self {
        self.initial_moments = (to_f64(m0), to_f64(v0));
        self
    }

    /// The value set by [`initial_moments`](Adam::initial_moments) (default `(0, 0)`).
    ///
    /// ```
    /// assert_eq!(gradus::Adam::new(1.0_f64).initial_moments(1.0, 2.0).get_initial_moments(), (1.0, 2.0));
    /// ```
    pub fn get_initial_moments(&self) -> (T, T) {
        (cast(self.initial_moments.0), cast(self.initial_moments.1))
    }

    /// Selects `torch.optim.Adam` ([`Form::Torch`], the default) or `optax.adam`
    /// ([`Form::Optax`]: `betas` (0.9, 0.999), `eps` 1e-8, `eps_root` 0, `nesterov` false, and
    /// optax's operation order, given in the type's docs). Its keywords are `betas`, `eps`,
    /// `eps_root` and `nesterov`; with [`amsgrad(true)`](Adam::amsgrad) it is `optax.amsgrad`,
    /// whose keywords are `betas`, `eps`, `eps_root`, `bias_correction_mu` and
    /// `bias_correction_nu`. The torch-only settings must keep their defaults.
    ///
    /// Call it right after `new`: the optax form starts over from `new(lr)`, so settings made
    /// before it are discarded.
    ///
    /// ```
    /// use gradus::{Adam, Form};
    /// let opt = Adam::<f64>::new(1e-3).form(Form::Optax).eps_root(1e-8);
    /// assert_eq!(opt.get_form(), Form::Optax);
    /// ```
    pub fn form(mut self, form: Form) -> Self {
        if form == Form::Optax {
            let lr = self.common.lr;
            self = Adam::new(cast(lr));
        }
        self.form = form;
        self
    }

    /// The form set by [`form`](Adam::form).
    ///
    /// ```
    /// assert_eq!(gradus::Adam::<f64>::new(1e-3).get_form(), gradus::Form::Torch);
    /// ```
    pub fn get_form(&self) -> Form {
        self.form
    }

    common_setters!(Adam);
}

impl<T: Float + Send + Sync> Rule<T> for Adam<T> {
    fn elementwise(&self) -> bool {
        true
    }

    fn check_state(&self, n: usize) -> Result<(), Error> {
        crate::optim::state_len("exp_avg", self.exp_avg.get().len(), n)?;
        crate::optim::state_len("exp_avg_sq", self.exp_avg_sq.get().len(), n)?;
        if self.amsgrad {
            crate::optim::state_len("max_exp_avg_sq", self.max_exp_avg_sq.get().len(), n)?;
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), Error> {
        kernel::unit("beta1", self.beta1)?;
        kernel::unit("beta2", self.beta2)?;
        kernel::non_negative("eps", self.eps)?;
        kernel::non_negative("weight_decay", self.weight_decay)?;
        kernel::finite("initial_moments.0", self.initial_moments.0)?;
        kernel::non_negative("initial_moments.1", self.initial_moments.1)?;
        kernel::non_negative("eps_root", self.eps_root)?;
        if self.form == Form::Optax {
            let expected = "its default: optax.adam has no such keyword";
            kernel::require(self.weight_decay == 0.0, "weight_decay", self.weight_decay, expected)?;
            kernel::require(!self.decoupled_weight_decay, "decoupled_weight_decay", 1.0, expected)?;
            kernel::require(!self.common.maximize, "maximize", 1.0, expected)?;
            kernel::require(self.initial_moments == (0.0, 0.0), "initial_moments", self.initial_moments.0, expected)?;
            kernel::require(!(self.amsgrad && self.nesterov), "nesterov", 1.0, "false: optax.amsgrad has no nesterov")?;
        }
        let optax = self.nesterov || self.eps_root != 0.0 || self.form == Form::Optax;
        if !(optax && self.amsgrad) {
            let expected = "true: bias_correction_mu/nu are optax.amsgrad keywords (form(Form::Optax).amsgrad(true))";
            kernel::require(self.bias_correction_mu, "bias_correction_mu", 0.0, expected)?;
            kernel::require(self.bias_correction_nu, "bias_correction_nu", 0.0, expected)?;
        }
        kernel::require(
            self.bias_correction || !optax,
            "bias_correction",
            0.0,
            "bias correction on when eps_root or nesterov (the optax form) is used",
        )
    }

    fn update(&mut self, params: &mut [T], grads: &[T]) {
        let n = params.len();
        let t = self.progress.begin(n);
        self.exp_avg.ensure(params, cast(self.initial_moments.0));
        self.exp_avg_sq.ensure(params, cast(self.initial_moments.1));
        if self.bias_correction && (self.nesterov || self.eps_root != 0.0 || self.form == Form::Optax) {
            return self.optax_update(params, grads, t);
        }
        let (bc1, bc2) = if self.bias_correction {
            (bias_correction(self.beta1, t), bias_correction(self.beta2, t))
        } else {
            (1.0, 1.0)
        };
        let coef = AdamCoef {
            prep: Prep::new(&self.common, self.weight_decay, self.decoupled_weight_decay),
            lerp: Lerp::new(1.0 - self.beta1),
            beta1: cast(self.beta1),
            one_minus_beta1: cast(1.0 - self.beta1),
            beta2: cast(self.beta2),
            one_minus_beta2: cast(1.0 - self.beta2),
            lr: cast(self.common.lr),
            neg_step_size: cast(-(self.common.lr / bc1)),
            inv_bc2_sqrt: cast(1.0 / sqrt(bc2)),
            eps: cast(self.eps),
        };
        if self.amsgrad {
            self.max_exp_avg_sq.ensure(params, cast(self.initial_moments.1));
        }
        let (m, v, vmax) = (self.exp_avg.get_mut(), self.exp_avg_sq.get_mut(), self.max_exp_avg_sq.get_mut());
        match (self.bias_correction, self.amsgrad) {
            (true, false) => apply(&AdamKernel::<T, TORCH>(coef), (params, grads, m, v)),
            (true, true) => apply(&AdamKernel::<T, TORCH>(coef), (params, grads, m, v, vmax)),
            (false, false) => apply(&AdamKernel::<T, TEXTBOOK>(coef), (params, grads, m, v)),
            (false, true) => apply(&AdamKernel::<T, TEXTBOOK>(coef), (params, grads, m, v, vmax)),
        }
    }

    fn clear(&mut self) {
        self.exp_avg.free();
        self.exp_avg_sq.free();
        self.max_exp_avg_sq.free();
    }

    fn second_moment(&self) -> Option<&[T]> {
        self.progress.len.map(|_| self.exp_avg_sq.get())
    }

    momentum_is!(beta1);
}

impl<T: Float + Send + Sync> Adam<T> {
    /// `optax.adam` / `optax.amsgrad`, in their operation order (the type's docs).
    fn optax_update(&mut self, params: &mut [T], grads: &[T], t: u64) {
        let debias = (self.bias_correction_mu, self.bias_correction_nu);
        let k = OptaxMoments::new(self.beta1, self.beta2, t, self.nesterov, debias);
        let (neg_lr, eps, eps_root): (T, T, T) = (cast(-self.common.lr), cast(self.eps), cast(self.eps_root));
        let (m, v) = (self.exp_avg.get_mut(), self.exp_avg_sq.get_mut());
        if self.amsgrad {
            self.max_exp_avg_sq.ensure(params, T::zero());
            let vmax = self.max_exp_avg_sq.get_mut();
            for ((((p, &g), m), v), vmax) in
                params.iter_mut().zip(grads).zip(m.iter_mut()).zip(v.iter_mut()).zip(vmax.iter_mut())
            {
                let (m_hat, v_hat) = k.update(g, m, v);
                *vmax = vmax.max(v_hat);
                *p = *p + neg_lr * (m_hat / ((*vmax + eps_root).sqrt() + eps));
            }
        } else {
            for (((p, &g), m), v) in params.iter_mut().zip(grads).zip(m.iter_mut()).zip(v.iter_mut()) {
                let (m_hat, v_hat) = k.update(g, m, v);
                *p = *p + neg_lr * (m_hat / ((v_hat + eps_root).sqrt() + eps));
            }
        }
    }
}

impl_optimizer!(Adam);

/// Per-step coefficients, computed in `f64` and cast to `T`.
struct AdamCoef<T> {
    prep: Prep<T>,
    lerp: Lerp<T>,
    beta1: T,
    one_minus_beta1: T,
    beta2: T,
    one_minus_beta2: T,
    lr: T,
    neg_step_size: T,
    inv_bc2_sqrt: T,
    eps: T,
}

/// The operation orders of [`Adam`]'s fused loop: PyTorch's, the textbook's (no bias
/// correction). The optax form has its own loop.
const TORCH: u8 = 0;
const TEXTBOOK: u8 = 1;

/// The fused loop; `FORM` selects the operation order at compile time.
struct AdamKernel<T, const FORM: u8>(AdamCoef<T>);

impl<T: Float, const FORM: u8> AdamKernel<T, FORM> {
    /// Prepares the gradient and updates the moments in place; returns the decayed parameter.
    #[inline(always)]
    fn moments<const FMA: bool>(&self, p: T, g: T, m: &mut T, v: &mut T) -> T {
        let c = &self.0;
        let (q, g) = c.prep.grad(p, g);
        if FORM != TORCH {
            *m = c.beta1 * *m + c.one_minus_beta1 * g;
            *v = c.beta2 * *v + c.one_minus_beta2 * (g * g);
        } else {
            *m = c.lerp.at::<FMA>(*m, g);
            *v = mul_add::<T, FMA>(c.one_minus_beta2 * g, g, *v * c.beta2);
        }
        q
    }

    /// The parameter update from the first moment and the (max) second moment.
    #[inline(always)]
    fn apply<const FMA: bool>(&self, p: T, m: T, v: T) -> T {
        let c = &self.0;
        if FORM == TEXTBOOK {
            p - (c.lr / (v.sqrt() + c.eps)) * m
        } else {
            let denom = mul_add::<T, FMA>(v.sqrt(), c.inv_bc2_sqrt, c.eps);
            p + (c.neg_step_size * m) / denom
        }
    }
}

type Lanes4<'a, T> = (&'a mut [T], &'a [T], &'a mut [T], &'a mut [T]);
type Lanes5<'a, T> = (&'a mut [T], &'a [T], &'a mut [T], &'a mut [T], &'a mut [T]);

impl<'a, T: Float + Send + Sync, const FORM: u8> Kernel<Lanes4<'a, T>> for AdamKernel<T, FORM> {
    type Output = ();
    #[inline(always)]
    fn run<const FMA: bool>(&self, (p, g, m, v): Lanes4<'a, T>) {
        for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            let q = self.moments::<FMA>(*p, g, m, v);
            *p = self.apply::<FMA>(q, *m, *v);
        }
    }
}

impl<'a, T: Float + Send + Sync, const FORM: u8> Kernel<Lanes5<'a, T>> for AdamKernel<T, FORM> {
    type Output = ();
    #[inline(always)]
    fn run<const FMA: bool>(&self, (p, g, m, v, vmax): Lanes5<'a, T>) {
        for ((((p, &g), m), v), vmax) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()).zip(vmax.iter_mut()) {
            let q = self.moments::<FMA>(*p, g, m, v);
            *vmax = vmax.max(*v);
            *p = self.apply::<FMA>(q, *m, *vmax);
        }
    }
}

/// AdamW: Adam with decoupled weight decay, `torch.optim.AdamW` (default `weight_decay` 0.01).
///
/// The same rule as [`Adam`] with `decoupled_weight_decay(true)`; per element:
///
/// ```text
/// g = maximize ? -grad : grad
/// p = p * (1 - lr*weight_decay)
/// m = lerp(m, g, 1 - beta1);  v = v*beta2 + ((1 - beta2)*g)*g
/// p = p + ((-lr/(1 - beta1^t))*m) / (sqrt(v)/sqrt(1 - beta2^t) + eps)
/// ```
///
/// Reference: Loshchilov & Hutter (2019); `torch/optim/adamw.py` (which is `Adam` with
/// `decoupled_weight_decay=True`).
///
/// ```
/// use gradus::{AdamW, Optimizer};
/// let mut opt = AdamW::new(1e-2_f64).weight_decay(0.1);
/// let mut p = [1.0];
/// opt.step(&mut p, &[0.0])?; // zero gradient: only the decay acts
/// assert!((p[0] - (1.0 - 1e-2 * 0.1)).abs() < 1e-15);
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(bound(serialize = "T: Float + serde::Serialize", deserialize = "T: Float + serde::Deserialize<'de>"))
)]
pub struct AdamW<T> {
    inner: Adam<T>,
}

/// AdamW's setters: Adam's, applied to the inner rule, each with a doctest.
macro_rules! forward_setters {
    ($($(#[$doc:meta])* $name:ident / $getter:ident($($arg:ident: $ty:ty),*) = ($($ex:expr),+);)*) => {$(
        $(#[$doc])*
        ///
        /// ```
        #[doc = concat!("let opt = gradus::AdamW::<f64>::new(1e-3).", stringify!($name), "(", stringify!($($ex),+), ");")]
        #[doc = concat!("assert_eq!(opt.", stringify!($getter), "(), (", stringify!($($ex),+), "));")]
        /// ```
        pub fn $name(self, $($arg: $ty),*) -> Self {
            AdamW { inner: self.inner.$name($($arg),*) }
        }

        #[doc = concat!("The value set by [`", stringify!($name), "`](Self::", stringify!($name), ") (or its default).")]
        ///
        /// ```
        #[doc = concat!("let opt = gradus::AdamW::<f64>::new(1e-3).", stringify!($name), "(", stringify!($($ex),+), ");")]
        #[doc = concat!("assert_eq!(opt.", stringify!($getter), "(), (", stringify!($($ex),+), "));")]
        /// ```
        #[allow(unused_parens)]
        pub fn $getter(&self) -> ($($ty),*) {
            self.inner.$getter()
        }
    )*};
}

impl<T: Float> AdamW<T> {
    /// AdamW with learning rate `lr`, `weight_decay` 0.01 and Adam's other defaults.
    ///
    /// ```
    /// let opt = gradus::AdamW::<f32>::new(1e-3);
    /// # let _ = opt;
    /// ```
    pub fn new(lr: T) -> Self {
        AdamW { inner: Adam::new(lr).weight_decay(cast(0.01)).decoupled_weight_decay(true) }
    }

    forward_setters! {
        /// As [`Adam::betas`].
        betas / get_betas(beta1: T, beta2: T) = (0.9, 0.99);
        /// As [`Adam::eps`].
        eps / get_eps(eps: T) = (1e-6);
        /// As [`Adam::weight_decay`] (default 0.01 here).
        weight_decay / get_weight_decay(weight_decay: T) = (0.1);
        /// As [`Adam::amsgrad`].
        amsgrad / get_amsgrad(amsgrad: bool) = (true);
        /// As [`Adam::decoupled_weight_decay`] (default `true` here; `false` makes it Adam).
        decoupled_weight_decay / get_decoupled_weight_decay(decoupled: bool) = (false);
        /// As [`Adam::bias_correction`].
        bias_correction / get_bias_correction(bias_correction: bool) = (false);
        /// As [`Adam::initial_moments`].
        initial_moments / get_initial_moments(m0: T, v0: T) = (0.0, 1.0);
        /// As [`Adam::eps_root`].
        eps_root / get_eps_root(eps_root: T) = (1e-12);
        /// As [`Adam::nesterov`].
        nesterov / get_nesterov(nesterov: bool) = (true);
        /// As [`Adam::maximize`].
        maximize / get_maximize(maximize: bool) = (true);
        /// As [`Adam::check_finite`].
        check_finite / get_check_finite(check: bool) = (false);
    }
}

crate::optimizer::forward_optimizer!([T: Float + Send + Sync] AdamW<T>, s => s.inner);
