//! Adagrad: `torch.optim.Adagrad` and `optax.adagrad`.

use num_traits::Float;

use crate::kernel::{self, apply, cast, mul_add, to_f64, Common, Kernel};
use crate::optim::{common_setters, form_setters, impl_optimizer, setters, Form, Prep, Progress, Rule};
use crate::state::Buf;
use crate::Error;

/// Adagrad: `torch.optim.Adagrad` (single-tensor path).
///
/// Per element, in the order the code computes it (`t` is the 1-based step):
///
/// ```text
/// g   = maximize ? -grad : grad
/// g   = g + weight_decay*p
/// clr = lr / (1 + (t - 1)*lr_decay)            // f64, once per step
/// sum = sum + (1*g)*g                          // addcmul_
/// p   = p + ((-clr)*g) / (sqrt(sum) + eps)     // addcdiv_
/// ```
///
/// Defaults (PyTorch's): `lr_decay` 0, `weight_decay` 0, `initial_accumulator_value` 0,
/// `eps` 1e-10.
///
/// On CPUs with FMA the multiply-adds above run as fused multiply-adds (one rounding each; see
/// [`simd`](crate::simd)): results differ from the portable path only in those roundings.
///
/// **optax form.** With [`form(Form::Optax)`](Adagrad::form) the rule is `optax.adagrad`
/// (`scale_by_rss`, then `scale(-lr)`), with eps *inside* the square root and optax's defaults
/// (`initial_accumulator_value` 0.1, `eps` 1e-7, no `lr_decay`):
///
/// ```text
/// s = g*g + s
/// p = p + (-lr)*((s > 0 ? 1/sqrt(s + eps) : 0) * g)
/// ```
///
/// Reference: Duchi et al. (2011); `torch/optim/adagrad.py::_single_tensor_adagrad`;
/// `optax/_src/alias.py::adagrad`.
///
/// ```
/// use gradus::{Adagrad, Optimizer};
/// let mut opt = Adagrad::new(0.5_f64);
/// let mut x = [1.0, -2.0];
/// for _ in 0..200 {
///     let g = [2.0 * x[0], 2.0 * x[1]];
///     opt.step(&mut x, &g)?;
/// }
/// assert!(x.iter().all(|v| v.abs() < 1e-3));
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(bound(serialize = "T: Float + serde::Serialize", deserialize = "T: Float + serde::Deserialize<'de>"))
)]
pub struct Adagrad<T> {
    common: Common,
    lr_decay: f64,
    weight_decay: f64,
    initial_accumulator_value: f64,
    eps: f64,
    #[cfg_attr(feature = "serde", serde(default))]
    form: Form,
    progress: Progress,
    sum: Buf<T>,
}

impl<T: Float> Adagrad<T> {
    /// Adagrad with learning rate `lr` and PyTorch's defaults.
    ///
    /// ```
    /// let opt = gradus::Adagrad::<f32>::new(1e-2);
    /// # let _ = opt;
    /// ```
    pub fn new(lr: T) -> Self {
        Adagrad {
            common: Common::new(to_f64(lr)),
            lr_decay: 0.0,
            weight_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: 1e-10,
            form: Form::Torch,
            progress: Progress::default(),
            sum: Buf::new(),
        }
    }

    setters! {
        Adagrad;
        /// Learning-rate decay per step, `>= 0` (default 0).
        lr_decay / get_lr_decay(lr_decay: T) = (1e-3);
        /// L2 penalty added to the gradient, `>= 0` (default 0).
        weight_decay / get_weight_decay(weight_decay: T) = (1e-4);
        /// Term added to the denominator, `>= 0` (default 1e-10).
        eps / get_eps(eps: T) = (1e-8);
    }

    /// Starting value of the squared-gradient sum, `>= 0` (default 0).
    ///
    /// ```
    /// let opt = gradus::Adagrad::new(1e-2_f64).initial_accumulator_value(0.1);
    /// # let _ = opt;
    /// ```
    pub fn initial_accumulator_value(mut self, value: T) -> Self {
        self.initial_accumulator_value = to_f64(value);
        self
    }

    /// The value set by [`initial_accumulator_value`](Adagrad::initial_accumulator_value) (default 0).
    ///
    /// ```
    /// let opt = gradus::Adagrad::new(0.1_f64).initial_accumulator_value(0.5);
    /// assert_eq!(opt.get_initial_accumulator_value(), 0.5);
    /// ```
    pub fn get_initial_accumulator_value(&self) -> T {
        cast(self.initial_accumulator_value)
    }

    form_setters!(
        Adagrad,
        "torch.optim.Adagrad",
        "optax.adagrad",
        "`initial_accumulator_value` 0.1 and `eps` 1e-7 (inside the square root); `lr_decay`, `weight_decay` and `maximize` have no optax keyword"
    );

    fn optax_defaults(mut self) -> Self {
        self.initial_accumulator_value = 0.1;
        self.eps = 1e-7;
        self
    }

    common_setters!(Adagrad);
}

impl<T: Float + Send + Sync> Rule<T> for Adagrad<T> {
    fn elementwise(&self) -> bool {
        true
    }

    crate::optim::state_fields!(required: [sum], optional: []);

    fn validate(&self) -> Result<(), Error> {
        kernel::non_negative("lr_decay", self.lr_decay)?;
        kernel::non_negative("weight_decay", self.weight_decay)?;
        kernel::non_negative("initial_accumulator_value", self.initial_accumulator_value)?;
        kernel::non_negative("eps", self.eps)?;
        if self.form == Form::Optax {
            let expected = "its default: optax.adagrad has no such keyword";
            kernel::require(self.lr_decay == 0.0, "lr_decay", self.lr_decay, expected)?;
            kernel::require(self.weight_decay == 0.0, "weight_decay", self.weight_decay, expected)?;
            kernel::require(!self.common.maximize, "maximize", 1.0, expected)?;
        }
        Ok(())
    }

    fn update(&mut self, params: &mut [T], grads: &[T]) {
        let n = params.len();
        let t = self.progress.begin(n);
        self.sum.ensure(params, cast(self.initial_accumulator_value));
        if self.form == Form::Optax {
            // scale_by_rss, then scale(-lr)
            let (neg_lr, eps): (T, T) = (cast(-self.common.lr), cast(self.eps));
            for ((p, &g), s) in params.iter_mut().zip(grads).zip(self.sum.get_mut().iter_mut()) {
                *s = g * g + *s;
                let scale = if *s > T::zero() { T::one() / (*s + eps).sqrt() } else { T::zero() };
                *p = *p + neg_lr * (scale * g);
            }
            return;
        }
        let clr = self.common.lr / (1.0 + (t - 1) as f64 * self.lr_decay);
        let k = AdagradKernel {
            prep: Prep::new(&self.common, self.weight_decay, false),
            neg_clr: cast(-clr),
            eps: cast(self.eps),
        };
        apply(&k, (params, grads, self.sum.get_mut()));
    }

    fn clear(&mut self) {
        self.sum.free();
    }

    fn second_moment(&self) -> Option<&[T]> {
        self.progress.len.map(|_| self.sum.get())
    }
}

impl_optimizer!(Adagrad);

struct AdagradKernel<T> {
    prep: Prep<T>,
    neg_clr: T,
    eps: T,
}

type L3<'a, T> = (&'a mut [T], &'a [T], &'a mut [T]);

impl<'a, T: Float + Send + Sync> Kernel<L3<'a, T>> for AdagradKernel<T> {
    type Output = ();
    #[inline(always)]
    fn run<const FMA: bool>(&self, (p, g, sum): L3<'a, T>) {
        for ((p, &g), s) in p.iter_mut().zip(g).zip(sum.iter_mut()) {
            let (q, g) = self.prep.grad(*p, g);
            *s = mul_add::<T, FMA>(g, g, *s);
            *p = q + (self.neg_clr * g) / (s.sqrt() + self.eps);
        }
    }
}
