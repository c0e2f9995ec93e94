//! RMSprop: `torch.optim.RMSprop` and `optax.rmsprop`.

use num_traits::Float;

use crate::kernel::optax_bias_correction;
use crate::kernel::{self, apply, cast, mul_add, to_f64, Common, Kernel, Lerp};
use crate::optim::{common_setters, form_setters, impl_optimizer, momentum_is, setters, Form, Prep, Progress, Rule};
use crate::state::Buf;
use crate::Error;

/// RMSprop: `torch.optim.RMSprop` (single-tensor path), with `momentum`, `centered`,
/// `weight_decay` and `maximize`, plus the notebook's [`initial_square_avg`](RmsProp::initial_square_avg).
///
/// Per element, in the order the code computes it:
///
/// ```text
/// g   = maximize ? -grad : grad
/// g   = g + weight_decay*p
/// s   = s*alpha + ((1 - alpha)*g)*g            // mul_ then addcmul_
/// if centered: ga = lerp(ga, g, 1 - alpha); d = sqrt(s + (-1*ga)*ga) + eps
/// else:        d = sqrt(s) + eps
/// if momentum > 0: buf = buf*momentum + g/d;  p = p + (-lr)*buf
/// else:            p = p + ((-lr)*g)/d
/// ```
///
/// Defaults (PyTorch's): `alpha` 0.99, `eps` 1e-8, `weight_decay` 0, `momentum` 0, `centered`
/// false; `s` starts at 0.
///
/// On CPUs with FMA the multiply-adds above run as fused multiply-adds (one rounding each; see
/// [`simd`](crate::simd)): results differ from the portable path only in those roundings.
///
/// **optax form.** With [`form(Form::Optax)`](RmsProp::form) the rule is `optax.rmsprop`
/// (`scale_by_rms`, or `scale_by_stddev` when centered, then `scale(-lr)`, then `trace`), in
/// that order; `alpha` is optax's `decay`, `initial_square_avg` its `initial_scale`:
///
/// ```text
/// s  = (1 - alpha)*(g*g) + alpha*s
/// if centered: ga = (1 - alpha)*g + alpha*ga
/// if bias_correction: s' = s/(1 - alpha^t), ga' = ga/(1 - alpha^t)   // else s' = s, ga' = ga
/// var = centered ? s' - ga'*ga' : s'
/// u  = (-lr)*(g * (eps_in_sqrt ? 1/sqrt(var + eps) : 1/(sqrt(var) + eps)))
/// if momentum > 0: buf = u + momentum*buf;  u = nesterov ? u + momentum*buf : buf
/// p  = p + u
/// ```
///
/// optax's defaults differ from PyTorch's: `decay` 0.9 (torch's `alpha` 0.99), and eps 1e-8
/// *inside* the square root; `momentum` None (0), `nesterov` false, `bias_correction` false.
/// The trace comes after the learning-rate scaling, where PyTorch's buffer sums unscaled steps.
///
/// Reference: Hinton's lecture 6e; `torch/optim/rmsprop.py::_single_tensor_rmsprop`;
/// `optax/_src/alias.py::rmsprop`.
///
/// ```
/// use gradus::{Optimizer, RmsProp};
/// let mut opt = RmsProp::new(0.01_f64).alpha(0.9);
/// let mut x = [1.0, -1.0];
/// for _ in 0..300 {
///     let g = [2.0 * x[0], 2.0 * x[1]];
///     opt.step(&mut x, &g)?;
/// }
/// assert!(x.iter().all(|v| v.abs() < 0.05));
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(bound(serialize = "T: Float + serde::Serialize", deserialize = "T: Float + serde::Deserialize<'de>"))
)]
pub struct RmsProp<T> {
    common: Common,
    alpha: f64,
    eps: f64,
    weight_decay: f64,
    momentum: f64,
    centered: bool,
    initial_square_avg: f64,
    #[cfg_attr(feature = "serde", serde(default))]
    eps_in_sqrt: bool,
    #[cfg_attr(feature = "serde", serde(default))]
    nesterov: bool,
    #[cfg_attr(feature = "serde", serde(default))]
    bias_correction: bool,
    #[cfg_attr(feature = "serde", serde(default))]
    form: Form,
    progress: Progress,
    square_avg: Buf<T>,
    grad_avg: Buf<T>,
    momentum_buffer: Buf<T>,
}

impl<T: Float> RmsProp<T> {
    /// RMSprop with learning rate `lr` and PyTorch's defaults.
    ///
    /// ```
    /// let opt = gradus::RmsProp::<f32>::new(1e-2);
    /// # let _ = opt;
    /// ```
    pub fn new(lr: T) -> Self {
        RmsProp {
            common: Common::new(to_f64(lr)),
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
            initial_square_avg: 0.0,
            eps_in_sqrt: false,
            nesterov: false,
            bias_correction: false,
            form: Form::Torch,
            progress: Progress::default(),
            square_avg: Buf::new(),
            grad_avg: Buf::new(),
            momentum_buffer: Buf::new(),
        }
    }

    setters! {
        RmsProp;
        /// Smoothing constant of the squared-gradient average, in `[0, 1]` (default 0.99).
        alpha / get_alpha(alpha: T) = (0.9);
        /// Term added to the denominator, `>= 0` (default 1e-8).
        eps / get_eps(eps: T) = (0.0);
        /// L2 penalty added to the gradient, `>= 0` (default 0).
        weight_decay / get_weight_decay(weight_decay: T) = (1e-4);
        /// Momentum factor, `>= 0` (default 0).
        momentum / get_momentum(momentum: T) = (0.9);
        /// Centered RMSprop: normalize by an estimate of the gradient's variance (default `false`).
        centered / get_centered(centered: bool) = (true);
        /// optax's `eps_in_sqrt` (optax form only): `1/sqrt(v + eps)` when `true` (optax's
        /// default, set by `form(Form::Optax)`), `1/(sqrt(v) + eps)` when `false` (PyTorch's).
        eps_in_sqrt / get_eps_in_sqrt(eps_in_sqrt: bool) = (false);
        /// optax's `nesterov` (optax form only): Nesterov momentum in the trace (default `false`).
        nesterov / get_nesterov(nesterov: bool) = (true);
        /// optax's `bias_correction` (optax form only): divide the averages by `1 - alpha^t`
        /// (default `false`).
        bias_correction / get_bias_correction(bias_correction: bool) = (true);
    }

    form_setters!(
        RmsProp,
        "torch.optim.RMSprop",
        "optax.rmsprop",
        "`alpha` (optax's `decay`) 0.9, `eps` 1e-8 inside the square root (`eps_in_sqrt` true), `initial_square_avg` 0, `centered` false, `momentum` 0 (optax's None), `nesterov` false, `bias_correction` false; `weight_decay` and `maximize` have no optax keyword"
    );

    fn optax_defaults(mut self) -> Self {
        self.alpha = 0.9;
        self.eps_in_sqrt = true;
        self
    }

    /// Starts the squared-gradient average at `value` (`>= 0`) instead of 0.
    ///
    /// ```
    /// use gradus::{Optimizer, RmsProp};
    /// // the notebook's RMSprop: s = 0.9*s + 0.1*g^2 from s = 1, p -= lr*g/sqrt(s)
    /// let mut opt = RmsProp::new(0.02_f64).alpha(0.9).eps(0.0).initial_square_avg(1.0);
    /// let mut p = [0.0];
    /// opt.step(&mut p, &[1.0])?;
    /// assert_eq!(p[0], -0.02);
    /// # Ok::<(), gradus::Error>(())
    /// ```
    pub fn initial_square_avg(mut self, value: T) -> Self {
        self.initial_square_avg = to_f64(value);
        self
    }

    /// The value set by [`initial_square_avg`](RmsProp::initial_square_avg) (default 0).
    ///
    /// ```
    /// let opt = gradus::RmsProp::new(0.1_f64).initial_square_avg(1.0);
    /// assert_eq!(opt.get_initial_square_avg(), 1.0);
    /// ```
    pub fn get_initial_square_avg(&self) -> T {
        cast(self.initial_square_avg)
    }

    common_setters!(RmsProp);
}

impl<T: Float + Send + Sync> Rule<T> for RmsProp<T> {
    fn elementwise(&self) -> bool {
        true
    }

    fn check_state(&self, n: usize) -> Result<(), Error> {
        crate::optim::state_len("square_avg", self.square_avg.get().len(), n)?;
        if self.centered {
            crate::optim::state_len("grad_avg", self.grad_avg.get().len(), n)?;
        }
        if self.momentum > 0.0 {
            crate::optim::state_len("momentum_buffer", self.momentum_buffer.get().len(), n)?;
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), Error> {
        kernel::unit_closed("alpha", self.alpha)?;
        kernel::non_negative("eps", self.eps)?;
        kernel::non_negative("weight_decay", self.weight_decay)?;
        kernel::non_negative("momentum", self.momentum)?;
        kernel::non_negative("initial_square_avg", self.initial_square_avg)?;
        if self.form == Form::Optax {
            let expected = "its default: optax.rmsprop has no such keyword";
            kernel::require(self.weight_decay == 0.0, "weight_decay", self.weight_decay, expected)?;
            kernel::require(!self.common.maximize, "maximize", 1.0, expected)?;
        } else {
            let expected = "its default: an optax.rmsprop keyword, for form(Form::Optax) only";
            kernel::require(!self.eps_in_sqrt, "eps_in_sqrt", 1.0, expected)?;
            kernel::require(!self.nesterov, "nesterov", 1.0, expected)?;
            kernel::require(!self.bias_correction, "bias_correction", 1.0, expected)?;
        }
        Ok(())
    }

    fn update(&mut self, params: &mut [T], grads: &[T]) {
        let n = params.len();
        let t = self.progress.begin(n);
        self.square_avg.ensure(params, cast(self.initial_square_avg));
        if self.form == Form::Optax {
            return self.optax_update(params, grads, t);
        }
        let c = RmsPropCoef {
            prep: Prep::new(&self.common, self.weight_decay, false),
            alpha: cast(self.alpha),
            one_minus_alpha: cast(1.0 - self.alpha),
            lerp: Lerp::new(1.0 - self.alpha),
            eps: cast(self.eps),
            momentum: cast(self.momentum),
            neg_lr: cast(-self.common.lr),
        };
        // Buffers are allocated only for the configuration in use; each configuration has its
        // own fused loop over exactly the lanes it reads.
        if self.centered {
            self.grad_avg.ensure(params, T::zero());
        }
        if self.momentum > 0.0 {
            self.momentum_buffer.ensure(params, T::zero());
        }
        let (s, ga, buf) = (self.square_avg.get_mut(), self.grad_avg.get_mut(), self.momentum_buffer.get_mut());
        match (self.centered, self.momentum > 0.0) {
            (false, false) => apply(&RmsPropKernel::<T, false>(c), (params, grads, s)),
            (true, false) => apply(&RmsPropKernel::<T, true>(c), (params, grads, s, ga)),
            (false, true) => apply(&RmsPropKernel::<T, false>(c), (params, grads, s, buf)),
            (true, true) => apply(&RmsPropKernel::<T, true>(c), (params, grads, s, ga, buf)),
        }
    }

    fn clear(&mut self) {
        self.square_avg.free();
        self.grad_avg.free();
        self.momentum_buffer.free();
    }

    fn second_moment(&self) -> Option<&[T]> {
        self.progress.len.map(|_| self.square_avg.get())
    }

    momentum_is!(momentum);
}

impl<T: Float + Send + Sync> RmsProp<T> {
    /// `optax.rmsprop`, in its operation order (the type's docs).
    fn optax_update(&mut self, params: &mut [T], grads: &[T], t: u64) {
        let bc = if self.bias_correction { optax_bias_correction(self.alpha, t) } else { 1.0 };
        let k = OptaxRms {
            alpha: cast(self.alpha),
            one_minus_alpha: cast(1.0 - self.alpha),
            bc: cast(bc),
            eps: cast(self.eps),
            eps_in_sqrt: self.eps_in_sqrt,
            neg_lr: cast(-self.common.lr),
            momentum: cast(self.momentum),
            nesterov: self.nesterov,
        };
        if self.centered {
            self.grad_avg.ensure(params, T::zero());
        }
        let s = self.square_avg.get_mut();
        if self.momentum > 0.0 {
            self.momentum_buffer.ensure(params, T::zero());
            let buf = self.momentum_buffer.get_mut();
            if self.centered {
                let ga = self.grad_avg.get_mut();
                for ((((p, &g), s), ga), b) in
                    params.iter_mut().zip(grads).zip(s.iter_mut()).zip(ga.iter_mut()).zip(buf.iter_mut())
                {
                    *p = *p + k.trace(k.scaled(g, s, Some(ga)), b);
                }
            } else {
                for (((p, &g), s), b) in params.iter_mut().zip(grads).zip(s.iter_mut()).zip(buf.iter_mut()) {
                    *p = *p + k.trace(k.scaled(g, s, None), b);
                }
            }
        } else if self.centered {
            let ga = self.grad_avg.get_mut();
            for (((p, &g), s), ga) in params.iter_mut().zip(grads).zip(s.iter_mut()).zip(ga.iter_mut()) {
                *p = *p + k.scaled(g, s, Some(ga));
            }
        } else {
            for ((p, &g), s) in params.iter_mut().zip(grads).zip(s.iter_mut()) {
                *p = *p + k.scaled(g, s, None);
            }
        }
    }
}

impl_optimizer!(RmsProp);

/// Per-step coefficients of the optax form.
struct OptaxRms<T> {
    alpha: T,
    one_minus_alpha: T,
    bc: T,
    eps: T,
    eps_in_sqrt: bool,
    neg_lr: T,
    momentum: T,
    nesterov: bool,
}

impl<T: Float> OptaxRms<T> {
    /// Updates the averages and returns `-lr*g*scaling` (`scale_by_rms`/`scale_by_stddev`, `scale`).
    #[inline(always)]
    fn scaled(&self, g: T, s: &mut T, ga: Option<&mut T>) -> T {
        *s = self.one_minus_alpha * (g * g) + self.alpha * *s;
        let s_hat = *s / self.bc; // bc is exactly 1 without bias_correction
        let var = match ga {
            Some(ga) => {
                *ga = self.one_minus_alpha * g + self.alpha * *ga;
                let m = *ga / self.bc;
                s_hat - m * m
            }
            None => s_hat,
        };
        let scaling =
            if self.eps_in_sqrt { T::one() / (var + self.eps).sqrt() } else { T::one() / (var.sqrt() + self.eps) };
        self.neg_lr * (scaling * g)
    }

    /// optax's `trace`: `buf = u + momentum*buf`, then the update.
    #[inline(always)]
    fn trace(&self, u: T, buf: &mut T) -> T {
        *buf = u + self.momentum * *buf;
        if self.nesterov {
            u + self.momentum * *buf
        } else {
            *buf
        }
    }
}

/// Per-step coefficients, computed in `f64` and cast to `T`.
struct RmsPropCoef<T> {
    prep: Prep<T>,
    alpha: T,
    one_minus_alpha: T,
    lerp: Lerp<T>,
    eps: T,
    momentum: T,
    neg_lr: T,
}

/// The fused loops. The four-lane loop is the centered one (`CENTERED`) or the one with a
/// momentum buffer; the three- and five-lane loops are plain and centered-with-momentum.
struct RmsPropKernel<T, const CENTERED: bool>(RmsPropCoef<T>);

impl<T: Float> RmsPropCoef<T> {
    /// Updates `s` (and the centered average `ga`) and returns the denominator.
    #[inline(always)]
    fn denom<const FMA: bool>(&self, g: T, s: &mut T, ga: Option<&mut T>) -> T {
        *s = mul_add::<T, FMA>(self.one_minus_alpha * g, g, *s * self.alpha);
        let var = match ga {
            Some(ga) => {
                *ga = self.lerp.at::<FMA>(*ga, g);
                mul_add::<T, FMA>(-*ga, *ga, *s)
            }
            None => *s,
        };
        var.sqrt() + self.eps
    }
}

type L3<'a, T> = (&'a mut [T], &'a [T], &'a mut [T]);
type L4<'a, T> = (&'a mut [T], &'a [T], &'a mut [T], &'a mut [T]);
type L5<'a, T> = (&'a mut [T], &'a [T], &'a mut [T], &'a mut [T], &'a mut [T]);

impl<'a, T: Float + Send + Sync, const C: bool> Kernel<L3<'a, T>> for RmsPropKernel<T, C> {
    type Output = ();
    #[inline(always)]
    fn run<const FMA: bool>(&self, (p, g, s): L3<'a, T>) {
        let k = &self.0;
        for ((p, &g), s) in p.iter_mut().zip(g).zip(s.iter_mut()) {
            let (q, g) = k.prep.grad(*p, g);
            let d = k.denom::<FMA>(g, s, None);
            *p = q + (k.neg_lr * g) / d;
        }
    }
}

impl<'a, T: Float + Send + Sync> Kernel<L4<'a, T>> for RmsPropKernel<T, true> {
    type Output = ();
    #[inline(always)]
    fn run<const FMA: bool>(&self, (p, g, s, ga): L4<'a, T>) {
        let k = &self.0;
        for (((p, &g), s), ga) in p.iter_mut().zip(g).zip(s.iter_mut()).zip(ga.iter_mut()) {
            let (q, g) = k.prep.grad(*p, g);
            let d = k.denom::<FMA>(g, s, Some(ga));
            *p = q + (k.neg_lr * g) / d;
        }
    }
}

impl<'a, T: Float + Send + Sync> Kernel<L4<'a, T>> for RmsPropKernel<T, false> {
    type Output = ();
    #[inline(always)]
    fn run<const FMA: bool>(&self, (p, g, s, buf): L4<'a, T>) {
        let k = &self.0;
        for (((p, &g), s), b) in p.iter_mut().zip(g).zip(s.iter_mut()).zip(buf.iter_mut()) {
            let (q, g) = k.prep.grad(*p, g);
            let d = k.denom::<FMA>(g, s, None);
            *b = mul_add::<T, FMA>(*b, k.momentum, g / d);
            *p = mul_add::<T, FMA>(k.neg_lr, *b, q);
        }
    }
}

impl<'a, T: Float + Send + Sync, const C: bool> Kernel<L5<'a, T>> for RmsPropKernel<T, C> {
    type Output = ();
    #[inline(always)]
    fn run<const FMA: bool>(&self, (p, g, s, ga, buf): L5<'a, T>) {
        let k = &self.0;
        for ((((p, &g), s), ga), b) in p.iter_mut().zip(g).zip(s.iter_mut()).zip(ga.iter_mut()).zip(buf.iter_mut()) {
            let (q, g) = k.prep.grad(*p, g);
            let d = k.denom::<FMA>(g, s, Some(ga));
            *b = mul_add::<T, FMA>(*b, k.momentum, g / d);
            *p = mul_add::<T, FMA>(k.neg_lr, *b, q);
        }
    }
}
