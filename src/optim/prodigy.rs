//! Prodigy: `optax.contrib.prodigy`.

use num_traits::Float;

use crate::kernel::{self, cast, optax_bias_correction, to_f64, Common, Ema};
use crate::optim::{impl_optimizer, momentum_is, Progress, Rule};
use crate::state::Buf;
use crate::Error;

/// Prodigy: `optax.contrib.prodigy`, AdamW whose step size `d` estimates itself (the distance
/// to the solution), so the learning rate is a multiplier around 1 (a schedule from 1 to 0).
///
/// With `x0` the parameters at the first step, `d` the current estimate (initially
/// `estim_lr0`), `beta3` given or `sqrt(beta2)`, and `t` the 1-based step:
///
/// ```text
/// dlr = d*lr * (sqrt(1 - beta2^t) / (1 - beta1^t))
/// dg  = d*g
/// acc = <g, x0 - p>                                      // before this step's move
/// m   = beta1*m + (1 - beta1)*dg
/// v   = beta2*v + (1 - beta2)*dg*dg
/// s   = beta3*s + (safeguard_warmup ? d : dlr)*dg / estim_lr0
/// num = beta3*num + (d/estim_lr0)*dlr*acc
/// d   = max(d, estim_lr_coef*num / sum|s|)               // kept while sum|s| == 0
/// p   = p + (-weight_decay*dlr*p - dlr*m / (sqrt(v) + d*eps))     // the new d
/// ```
///
/// One estimate `d` over everything a step sees: the slice, or, inside
/// [`Groups`](crate::Groups), every tensor of the group at once, as optax computes it over the
/// whole tree (the sums `acc` and `sum|s|` run over all of the group's tensors; each tensor
/// keeps its own `m`, `v`, `s` and `x0`, and all hold the same `d`). Under a schedule that warms
/// up, set `safeguard_warmup(true)`, as the paper's authors advise: the warm-up's small rates
/// then stay out of `s`, and `d` does not overshoot. Where every gradient so far was zero
/// (`sum|s| == 0`), optax divides `0/0` and its `d` becomes NaN; here `d` stays as it was, as the paper's code
/// (which skips such a step) keeps it; an estimate that overflows to infinity is ignored too.
///
/// Defaults (optax's): `betas` (0.9, 0.999), `beta3` `sqrt(beta2)`, `eps` 1e-8, `estim_lr0`
/// 1e-6, `estim_lr_coef` 1, `weight_decay` 0, `safeguard_warmup` false; a learning rate of 1.
///
/// Reference: Mishchenko & Defazio (2023), "Prodigy: An Expeditiously Adaptive Parameter-Free
/// Learner".
///
/// ```
/// use gradus::{Optimizer, Prodigy};
/// let mut opt = Prodigy::new(1.0_f64);
/// let mut x = [3.0, -2.0];
/// for _ in 0..300 {
///     let g = [2.0 * x[0], 2.0 * x[1]];
///     opt.step(&mut x, &g)?;
/// }
/// assert!(opt.get_estim_lr() > 1e-2); // d grew from 1e-6 by itself
/// assert!(x[0].abs() < 0.5 && x[1].abs() < 0.5);
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(bound(serialize = "T: Float + serde::Serialize", deserialize = "T: Float + serde::Deserialize<'de>"))
)]
pub struct Prodigy<T> {
    common: Common,
    beta1: f64,
    beta2: f64,
    /// `None`: `sqrt(beta2)`.
    beta3: Option<f64>,
    eps: f64,
    estim_lr0: f64,
    estim_lr_coef: f64,
    weight_decay: f64,
    safeguard_warmup: bool,
    progress: Progress,
    /// The estimate `d` (optax's `estim_lr`).
    d: f64,
    /// optax's `numerator_weighted`.
    num: f64,
    m: Buf<T>,
    v: Buf<T>,
    s: Buf<T>,
    x0: Buf<T>,
}

impl<T: Float> Prodigy<T> {
    /// Prodigy with learning rate `lr` (1 is optax's default) and optax's defaults.
    ///
    /// ```
    /// let opt = gradus::Prodigy::<f32>::new(1.0);
    /// # let _ = opt;
    /// ```
    pub fn new(lr: T) -> Self {
        Prodigy {
            common: Common::new(to_f64(lr)),
            beta1: 0.9,
            beta2: 0.999,
            beta3: None,
            eps: 1e-8,
            estim_lr0: 1e-6,
            estim_lr_coef: 1.0,
            weight_decay: 0.0,
            safeguard_warmup: false,
            progress: Progress::default(),
            d: 1e-6,
            num: 0.0,
            m: Buf::new(),
            v: Buf::new(),
            s: Buf::new(),
            x0: Buf::new(),
        }
    }

    crate::optim::setters! {
        Prodigy;
        /// The decay rates of the underlying AdamW's moments, each in `[0, 1)` (default 0.9,
        /// 0.999).
        betas / get_betas(beta1: T, beta2: T) = (0.8, 0.99);
        /// Added to the denominator, scaled by `d`, `>= 0` (default 1e-8).
        eps / get_eps(eps: T) = (1e-6);
        /// Multiplies the estimates of `d`, `> 0` (default 1; optax's `estim_lr_coef`, the
        /// paper's `d_coef`).
        estim_lr_coef / get_estim_lr_coef(estim_lr_coef: T) = (0.5);
        /// Decoupled weight decay `-weight_decay*dlr*p`, `>= 0` (default 0).
        weight_decay / get_weight_decay(weight_decay: T) = (0.01);
        /// Accumulates `d*dg` instead of `dlr*dg` into `s`, so that a warm-up's small rates do
        /// not let `d` overshoot (default false).
        safeguard_warmup / get_safeguard_warmup(safeguard_warmup: bool) = (true);
    }

    /// The decay of the estimate's averages `s` and `num`, in `[0, 1)` (default
    /// `sqrt(beta2)`, read at each step).
    ///
    /// ```
    /// let opt = gradus::Prodigy::<f64>::new(1.0).beta3(0.99);
    /// assert_eq!(opt.get_beta3(), Some(0.99));
    /// assert_eq!(gradus::Prodigy::<f64>::new(1.0).get_beta3(), None);
    /// ```
    pub fn beta3(mut self, beta3: T) -> Self {
        self.beta3 = Some(to_f64(beta3));
        self
    }

    /// The value set by [`beta3`](Self::beta3); `None`: `sqrt(beta2)`.
    ///
    /// ```
    /// assert_eq!(gradus::Prodigy::<f64>::new(1.0).beta3(0.9).get_beta3(), Some(0.9));
    /// ```
    pub fn get_beta3(&self) -> Option<T> {
        self.beta3.map(cast)
    }

    /// The initial (under-)estimate of `d`, `> 0` (default 1e-6). Also resets the current
    /// estimate to it, so call it before the first step.
    ///
    /// ```
    /// let opt = gradus::Prodigy::<f64>::new(1.0).estim_lr0(1e-3);
    /// assert_eq!(opt.get_estim_lr0(), 1e-3);
    /// assert_eq!(opt.get_estim_lr(), 1e-3);
    /// ```
    pub fn estim_lr0(mut self, estim_lr0: T) -> Self {
        self.estim_lr0 = to_f64(estim_lr0);
        self.d = self.estim_lr0;
        self
    }

    /// The value set by [`estim_lr0`](Self::estim_lr0) (or its default).
    ///
    /// ```
    /// assert_eq!(gradus::Prodigy::<f64>::new(1.0).get_estim_lr0(), 1e-6);
    /// ```
    pub fn get_estim_lr0(&self) -> T {
        cast(self.estim_lr0)
    }

    /// The current estimate `d` (optax's `estim_lr`): the step size is `d*lr` times the bias
    /// correction.
    ///
    /// ```
    /// use gradus::{Optimizer, Prodigy};
    /// let mut opt = Prodigy::new(1.0_f64);
    /// assert_eq!(opt.get_estim_lr(), 1e-6);
    /// opt.step(&mut [1.0], &[1.0])?;
    /// assert_eq!(opt.get_estim_lr(), 1e-6); // the first step never raises it: x0 - p = 0
    /// # Ok::<(), gradus::Error>(())
    /// ```
    pub fn get_estim_lr(&self) -> T {
        cast(self.d)
    }

    crate::optim::common_setters!(Prodigy);
}

impl<T: Float + Send + Sync> Rule<T> for Prodigy<T> {
    crate::optim::state_fields!(required: [m, v, s, x0], optional: []);

    fn validate(&self) -> Result<(), Error> {
        kernel::unit("beta1", self.beta1)?;
        kernel::unit("beta2", self.beta2)?;
        if let Some(b3) = self.beta3 {
            kernel::unit("beta3", b3)?;
        }
        kernel::non_negative("eps", self.eps)?;
        kernel::positive("estim_lr0", self.estim_lr0)?;
        kernel::positive("estim_lr_coef", self.estim_lr_coef)?;
        kernel::non_negative("weight_decay", self.weight_decay)?;
        // the estimate as a checkpoint holds it
        if !(self.d.is_finite() && self.d > 0.0) {
            return Err(kernel::invalid("estim_lr", self.d, "a finite estimate > 0 (the checkpoint's `d`)"));
        }
        if !self.num.is_finite() {
            return Err(kernel::invalid("numerator_weighted", self.num, "a finite value (the checkpoint's `num`)"));
        }
        Ok(())
    }

    fn update(&mut self, params: &mut [T], grads: &[T]) {
        let (acc, denom) = self.moments(params, grads);
        self.finish(params, acc, denom);
    }

    fn clear(&mut self) {
        for b in [&mut self.m, &mut self.v, &mut self.s, &mut self.x0] {
            b.free();
        }
        self.d = self.estim_lr0;
        self.num = 0.0;
    }

    momentum_is!(beta1);
}

impl<T: Float + Send + Sync> Prodigy<T> {
    /// The decay of the estimate's averages: `beta3`, or `sqrt(beta2)`.
    fn beta3_or_default(&self) -> f64 {
        self.beta3.unwrap_or_else(|| kernel::sqrt(self.beta2))
    }

    /// The `dlr` of this step from the current `d`.
    fn dlr(&self) -> f64 {
        let t = self.progress.step;
        let bc = kernel::sqrt(optax_bias_correction(self.beta2, t)) / optax_bias_correction(self.beta1, t);
        self.d * self.common.lr * bc
    }

    /// The estimate's own state, `(d, num)`: every tensor of a [`Groups`](crate::Groups) group
    /// holds the same, which a checkpoint's load checks.
    #[cfg(feature = "serde")]
    pub(crate) fn estimate(&self) -> (f64, f64) {
        (self.d, self.num)
    }

    /// The first half of a step: counts it, updates `m`, `v` and `s`, and returns this slice's
    /// share of the estimate's sums, `(<g, x0 - p>, sum|s|)`. [`Groups`](crate::Groups) adds the
    /// shares of a group's tensors and hands the totals to every tensor's
    /// [`finish`](Prodigy::finish).
    pub(crate) fn moments(&mut self, params: &[T], grads: &[T]) -> (f64, f64) {
        self.progress.begin(params.len());
        let fresh = self.x0.get().len() != params.len();
        for b in [&mut self.m, &mut self.v, &mut self.s, &mut self.x0] {
            b.ensure(params, T::zero());
        }
        if fresh {
            self.x0.get_mut().copy_from_slice(params);
        }
        let d = self.d;
        let beta3 = self.beta3_or_default();
        let dlr = self.dlr();
        let into_s = if self.safeguard_warmup { d } else { dlr };
        let (dt, e1, b2, c2, b3, into_s, d0): (T, Ema<T>, T, T, T, T, T) = (
            cast(d),
            Ema::new(self.beta1),
            cast(self.beta2),
            cast(1.0 - self.beta2),
            cast(beta3),
            cast(into_s),
            cast(self.estim_lr0),
        );
        let sign: T = self.common.sign();
        let (mut acc, mut denom) = (0.0_f64, 0.0_f64);
        let (m, v, s, x0) = (self.m.get_mut(), self.v.get_mut(), self.s.get_mut(), self.x0.get());
        for (((((&p, &g), m), v), s), &x0) in
            params.iter().zip(grads).zip(m.iter_mut()).zip(v.iter_mut()).zip(s.iter_mut()).zip(x0)
        {
            let g = g * sign;
            acc += to_f64(g * (x0 - p));
            let dg = dt * g;
            *m = e1.at(*m, dg);
            *v = b2 * *v + c2 * dg * dg;
            *s = b3 * *s + into_s * dg / d0;
            denom += to_f64(s.abs());
        }
        (acc, denom)
    }

    /// The second half: the new estimate from the sums over everything stepped, then the move.
    pub(crate) fn finish(&mut self, params: &mut [T], acc: f64, denom: f64) {
        let d = self.d;
        let beta3 = self.beta3_or_default();
        let dlr = self.dlr();
        self.num = beta3 * self.num + (d / self.estim_lr0) * dlr * acc;
        let estimate = self.estim_lr_coef * self.num / denom;
        if denom > 0.0 && estimate.is_finite() {
            self.d = d.max(estimate);
        }
        let (decay, dlr, d_eps): (T, T, T) = (cast(-self.weight_decay * dlr), cast(dlr), cast(self.d * self.eps));
        for ((p, &m), &v) in params.iter_mut().zip(self.m.get()).zip(self.v.get()) {
            *p = *p + (decay * *p - dlr * m / (v.sqrt() + d_eps));
        }
    }
}

impl_optimizer!(Prodigy);
