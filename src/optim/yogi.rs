//! Yogi: `optax.yogi`.

use num_traits::Float;

use crate::kernel::{self, apply, bias_correction, cast, sign, to_f64, Common, Ema, Kernel};
use crate::optim::{common_setters, impl_optimizer, momentum_is, setters, Progress, Rule};
use crate::state::Buf;
use crate::Error;

/// Yogi: `optax.yogi` = `scale_by_yogi` + `scale_by_learning_rate`.
///
/// Per element, in the order the code computes it (`t` is the 1-based step; both moments start
/// at `initial_accumulator_value`, as in optax):
///
/// ```text
/// g  = maximize ? -grad : grad
/// m  = (1 - beta1)*g + beta1*m
/// v  = v - ((1 - beta2)*sign(v - g*g))*(g*g)
/// p  = p + (-lr)*((m/(1 - beta1^t)) / (sqrt(v/(1 - beta2^t) + eps_root) + eps))
/// ```
///
/// Defaults (optax's): `betas` (0.9, 0.999), `eps` 1e-3, `initial_accumulator_value` 1e-6
/// (`eps_root` 0).
///
/// Reference: Zaheer et al. (2018); `optax/_src/alias.py::yogi`,
/// `optax/_src/transform.py::scale_by_yogi`.
///
/// ```
/// use gradus::{Optimizer, Yogi};
/// let mut opt = Yogi::new(0.1_f64);
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
pub struct Yogi<T> {
    common: Common,
    beta1: f64,
    beta2: f64,
    eps: f64,
    eps_root: f64,
    initial_accumulator_value: f64,
    progress: Progress,
    mu: Buf<T>,
    nu: Buf<T>,
}

impl<T: Float> Yogi<T> {
    /// Yogi with learning rate `lr` and optax's defaults.
    ///
    /// ```
    /// let opt = gradus::Yogi::<f32>::new(1e-2);
    /// # let _ = opt;
    /// ```
    pub fn new(lr: T) -> Self {
        Yogi {
            common: Common::new(to_f64(lr)),
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-3,
            eps_root: 0.0,
            initial_accumulator_value: 1e-6,
            progress: Progress::default(),
            mu: Buf::new(),
            nu: Buf::new(),
        }
    }

    setters! {
        Yogi;
        /// Decay rates of the two moments, each in `[0, 1)` (default 0.9, 0.999).
        betas / get_betas(beta1: T, beta2: T) = (0.9, 0.99);
        /// Term added to the denominator, `>= 0` (default 1e-3).
        eps / get_eps(eps: T) = (1e-6);
        /// Term added inside the square root, `>= 0` (default 0).
        eps_root / get_eps_root(eps_root: T) = (1e-12);
    }

    /// Starting value of both moments, `> 0` (default 1e-6).
    ///
    /// ```
    /// let opt = gradus::Yogi::new(1e-2_f64).initial_accumulator_value(1e-3);
    /// # let _ = opt;
    /// ```
    pub fn initial_accumulator_value(mut self, value: T) -> Self {
        self.initial_accumulator_value = to_f64(value);
        self
    }

    /// The value set by [`initial_accumulator_value`](Yogi::initial_accumulator_value) (default 1e-6).
    ///
    /// ```
    /// let opt = gradus::Yogi::new(0.1_f64).initial_accumulator_value(0.5);
    /// assert_eq!(opt.get_initial_accumulator_value(), 0.5);
    /// ```
    pub fn get_initial_accumulator_value(&self) -> T {
        cast(self.initial_accumulator_value)
    }

    common_setters!(Yogi);
}

impl<T: Float + Send + Sync> Rule<T> for Yogi<T> {
    fn elementwise(&self) -> bool {
        true
    }

    crate::optim::state_fields!(required: [mu, nu], optional: []);

    fn validate(&self) -> Result<(), Error> {
        kernel::unit("beta1", self.beta1)?;
        kernel::unit("beta2", self.beta2)?;
        kernel::non_negative("eps", self.eps)?;
        kernel::non_negative("eps_root", self.eps_root)?;
        kernel::positive("initial_accumulator_value", self.initial_accumulator_value)
    }

    fn update(&mut self, params: &mut [T], grads: &[T]) {
        let n = params.len();
        let t = self.progress.begin(n);
        let init = cast(self.initial_accumulator_value);
        self.mu.ensure(params, init);
        self.nu.ensure(params, init);
        let k = YogiKernel {
            sign: self.common.sign(),
            ema1: Ema::new(self.beta1),
            one_minus_beta2: cast(1.0 - self.beta2),
            bc1: cast(bias_correction(self.beta1, t)),
            bc2: cast(bias_correction(self.beta2, t)),
            eps_root: cast(self.eps_root),
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

impl_optimizer!(Yogi);

struct YogiKernel<T> {
    sign: T,
    ema1: Ema<T>,
    one_minus_beta2: T,
    bc1: T,
    bc2: T,
    eps_root: T,
    eps: T,
    neg_lr: T,
}

type L4<'a, T> = (&'a mut [T], &'a [T], &'a mut [T], &'a mut [T]);

impl<'a, T: Float + Send + Sync> Kernel<L4<'a, T>> for YogiKernel<T> {
    type Output = ();
    #[inline(always)]
    fn run<const FMA: bool>(&self, (p, g, m, v): L4<'a, T>) {
        for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            let g = g * self.sign;
            let g2 = g * g;
            *m = self.ema1.at(*m, g);
            *v = *v - (self.one_minus_beta2 * sign(*v - g2)) * g2;
            let u = (*m / self.bc1) / ((*v / self.bc2 + self.eps_root).sqrt() + self.eps);
            *p = *p + self.neg_lr * u;
        }
    }
}
