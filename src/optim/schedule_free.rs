//! Schedule-Free AdamW and SGD: Meta's `schedulefree` package (`AdamWScheduleFree`,
//! `SGDScheduleFree`) and optax's `contrib.schedule_free_adamw` / `_sgd`.

use alloc::vec::Vec;

use num_traits::Float;

use crate::kernel::{self, bias_correction, cast, optax_bias_correction, to_f64, Common, Lerp};
use crate::optim::{form_setters, impl_optimizer, momentum_is, Form, Progress, Rule};
use crate::state::Buf;
use crate::Error;

/// The averaging schedule both Schedule-Free rules share: warm-up, the running maximum of the
/// rate, the weight sum.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct Averaging {
    warmup_steps: u64,
    r: f64,
    weight_lr_power: f64,
    lr_max: f64,
    weight_sum: f64,
}

impl Averaging {
    fn new() -> Self {
        Averaging { warmup_steps: 0, r: 0.0, weight_lr_power: 2.0, lr_max: -1.0, weight_sum: 0.0 }
    }

    /// Advances to step `k` (0-based): the scheduled rate and `ckp1`, the weight of `z` in `x`.
    fn advance(&mut self, lr: f64, k: u64) -> (f64, f64) {
        let sched = if k < self.warmup_steps { (k + 1) as f64 / self.warmup_steps as f64 } else { 1.0 };
        let lr = lr * sched;
        self.lr_max = f64::max(lr, self.lr_max);
        let weight = Float::powf((k + 1) as f64, self.r) * Float::powf(self.lr_max, self.weight_lr_power);
        self.weight_sum += weight;
        let ckp1 = if self.weight_sum != 0.0 { weight / self.weight_sum } else { 0.0 };
        (lr, ckp1)
    }

    /// optax's form of [`advance`](Averaging::advance): the base rule's rate at its own 0-based
    /// count `k` and the weight of `z` from the rate at the wrapper's 1-based count, both from
    /// the float32 `warmup_constant_schedule(0, lr, warmup_steps)` when there is a warm-up.
    fn advance_optax(&mut self, lr: f64, k: u64) -> (f64, f64) {
        let (lr_z, lr_w) = (self.optax_lr(lr, k), self.optax_lr(lr, k.saturating_add(1)));
        self.lr_max = f64::max(lr_w, self.lr_max);
        let weight = Float::powf(self.lr_max, self.weight_lr_power);
        self.weight_sum += weight;
        let ckp1 = if self.weight_sum != 0.0 { weight / self.weight_sum } else { 0.0 };
        (lr_z, ckp1)
    }

    /// optax's `warmup_constant_schedule(0, lr, W)` at `count`, evaluated in float32 as optax
    /// does with its int32 count (the constant `lr` itself without a warm-up).
    fn optax_lr(&self, lr: f64, count: u64) -> f64 {
        if self.warmup_steps == 0 {
            return lr;
        }
        let (peak, steps) = (lr as f32, self.warmup_steps as f32);
        let c = (count as f32).min(steps);
        f64::from(-peak * (1.0 - c / steps) + peak)
    }

    fn validate(&self) -> Result<(), Error> {
        kernel::finite("r", self.r)?;
        kernel::finite("weight_lr_power", self.weight_lr_power)
    }

    /// The optax form's restrictions: `r` has no optax keyword.
    fn validate_optax(&self) -> Result<(), Error> {
        kernel::require(self.r == 0.0, "r", self.r, "0: the optax form has no `r` keyword")
    }

    fn reset(&mut self) {
        self.lr_max = -1.0;
        self.weight_sum = 0.0;
    }
}

/// The setters of the shared averaging schedule.
macro_rules! averaging_setters {
    ($ty:ident) => {
        /// Linear warm-up of the rate over the first `warmup_steps` steps (default 0).
        ///
        /// ```
        #[doc = concat!("let opt = gradus::", stringify!($ty), "::<f64>::new(0.1).warmup_steps(100);")]
        /// assert_eq!(opt.get_warmup_steps(), 100);
        /// ```
        pub fn warmup_steps(mut self, warmup_steps: u64) -> Self {
            self.averaging.warmup_steps = warmup_steps;
            self
        }

        /// The value set by [`warmup_steps`](Self::warmup_steps).
        ///
        /// ```
        #[doc = concat!("assert_eq!(gradus::", stringify!($ty), "::<f64>::new(0.1).get_warmup_steps(), 0);")]
        /// ```
        pub fn get_warmup_steps(&self) -> u64 {
            self.averaging.warmup_steps
        }

        /// The exponent `r` of the step in the averaging weight `(k+1)^r * lr_max^weight_lr_power`
        /// (default 0).
        ///
        /// ```
        #[doc = concat!("let opt = gradus::", stringify!($ty), "::<f64>::new(0.1).r(1.0);")]
        /// assert_eq!(opt.get_r(), 1.0);
        /// ```
        pub fn r(mut self, r: T) -> Self {
            self.averaging.r = to_f64(r);
            self
        }

        /// The value set by [`r`](Self::r).
        ///
        /// ```
        #[doc = concat!("assert_eq!(gradus::", stringify!($ty), "::<f64>::new(0.1).get_r(), 0.0);")]
        /// ```
        pub fn get_r(&self) -> T {
            cast(self.averaging.r)
        }

        /// The exponent of the largest rate so far in the averaging weight (default 2).
        ///
        /// ```
        #[doc = concat!("let opt = gradus::", stringify!($ty), "::<f64>::new(0.1).weight_lr_power(1.0);")]
        /// assert_eq!(opt.get_weight_lr_power(), 1.0);
        /// ```
        pub fn weight_lr_power(mut self, weight_lr_power: T) -> Self {
            self.averaging.weight_lr_power = to_f64(weight_lr_power);
            self
        }

        /// The value set by [`weight_lr_power`](Self::weight_lr_power).
        ///
        /// ```
        #[doc = concat!("assert_eq!(gradus::", stringify!($ty), "::<f64>::new(0.1).get_weight_lr_power(), 2.0);")]
        /// ```
        pub fn get_weight_lr_power(&self) -> T {
            cast(self.averaging.weight_lr_power)
        }
    };
}

/// Schedule-Free AdamW: `schedulefree.AdamWScheduleFree` (and its `AdamWScheduleFreeReference`,
/// with [`decay_at_z`](ScheduleFreeAdamW::decay_at_z)), the AlgoPerf self-tuning winner: no
/// learning-rate schedule to choose, only a warm-up.
///
/// **Train and evaluate at different points.** The parameters you step are the training point
/// `y`, where gradients are taken; the model to evaluate, test and save is the average `x`,
/// which [`eval_params`](ScheduleFreeAdamW::eval_params) writes. (torch's `opt.eval()` /
/// `opt.train()` switch the parameters between the two; here the parameters stay `y`.)
///
/// Per step, with `k` the steps before (0-based) and `z` starting at the first parameters:
///
/// ```text
/// lr     = base_lr * (k < warmup_steps ? (k+1)/warmup_steps : 1)
/// lr_max = max(lr_max, lr);  w = (k+1)^r * lr_max^weight_lr_power;  S = S + w;  c = w / S
/// v      = v*beta2 + ((1 - beta2)*g)*g
/// gn     = g / (sqrt(v / (1 - beta2^(k+1))) + eps)  [+ weight_decay*y]
/// y      = lerp(y, z, c);  y = y + (lr*(beta1*(1 - c) - 1)) * gn
/// z      = z + (-lr) * gn
/// x      = lerp(y, z, 1 - 1/beta1)                  // eval_params
/// ```
///
/// With `decay_at_z(true)` (the Reference class's option) the weight decay is applied to `z`,
/// `z = z - lr*wd*z`, before the gradient step, and `x` is kept explicitly:
/// `x = x*(1 - c) + c*z`, `y = x*beta1 + (1 - beta1)*z`.
///
/// Defaults (schedulefree's): lr 0.0025, `betas` (0.9, 0.999), `eps` 1e-8, `weight_decay` 0,
/// `warmup_steps` 0, `r` 0, `weight_lr_power` 2.
///
/// **optax form.** With [`form(Form::Optax)`](ScheduleFreeAdamW::form) the rule is
/// `optax.contrib.schedule_free_adamw` (the `schedule_free` wrapper around `scale_by_rms`,
/// `add_decayed_weights` and `scale(-lr)`), in optax's order, with `z`, `y` and the recomputed
/// `x`; `lr_k` is the rate at the base rule's 0-based count and `lr_{k+1}` at the wrapper's
/// 1-based one (with a warm-up both come from optax's float32 `warmup_constant_schedule`):
///
/// ```text
/// lr_max = max(lr_max, lr_{k+1});  w = lr_max^weight_lr_power;  S = S + w;  c = w / S
/// v      = (1 - beta2)*(g*g) + beta2*v
/// u      = (-lr_k)*((1/(sqrt(v/(1 - beta2^(k+1))) + eps))*g + weight_decay*y)
/// x_prev = (y - (1 - beta1)*z)/beta1;  z = z + u
/// x      = (1 - c)*x_prev + c*z;  y = y + ((beta1*x + (1 - beta1)*z) - y)
/// x      = (y - (1 - beta1)*z)/beta1                      // eval_params
/// ```
///
///
/// ```
/// use gradus::{Optimizer, ScheduleFreeAdamW};
/// let mut opt = ScheduleFreeAdamW::new(0.1_f64).warmup_steps(5);
/// let mut y = [3.0, -2.0];
/// for _ in 0..200 {
///     let g = [2.0 * y[0], 2.0 * y[1]];
///     opt.step(&mut y, &g)?;
/// }
/// let mut x = [0.0; 2];
/// opt.eval_params(&y, &mut x); // evaluate here
/// assert!(x.iter().all(|v| v.abs() < 0.2)); // from 3 and -2: within about two learning rates
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(bound(serialize = "T: Float + serde::Serialize", deserialize = "T: Float + serde::Deserialize<'de>"))
)]
pub struct ScheduleFreeAdamW<T> {
    common: Common,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    decay_at_z: bool,
    #[cfg_attr(feature = "serde", serde(default))]
    form: Form,
    averaging: Averaging,
    progress: Progress,
    z: Buf<T>,
    exp_avg_sq: Buf<T>,
    /// `x`, kept only with `decay_at_z` (the Reference form).
    x: Buf<T>,
}

impl<T: Float> ScheduleFreeAdamW<T> {
    /// Schedule-Free AdamW with learning rate `lr` (schedulefree's default 0.0025).
    ///
    /// ```
    /// let opt = gradus::ScheduleFreeAdamW::<f32>::new(2.5e-3);
    /// # let _ = opt;
    /// ```
    pub fn new(lr: T) -> Self {
        ScheduleFreeAdamW {
            common: Common::new(to_f64(lr)),
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decay_at_z: false,
            form: Form::Torch,
            averaging: Averaging::new(),
            progress: Progress::default(),
            z: Buf::new(),
            exp_avg_sq: Buf::new(),
            x: Buf::new(),
        }
    }

    crate::optim::setters! {
        ScheduleFreeAdamW;
        /// `beta1` (the interpolation between `x` and `z`) in `(0, 1)` and `beta2` in `[0, 1)`
        /// (default 0.9, 0.999).
        betas / get_betas(beta1: T, beta2: T) = (0.95, 0.99);
        /// Term added to the denominator, `>= 0` (default 1e-8).
        eps / get_eps(eps: T) = (1e-6);
        /// Weight decay, `>= 0` (default 0), at `y` (or at `z` with `decay_at_z`).
        weight_decay / get_weight_decay(weight_decay: T) = (0.01);
        /// Decay `z` instead of `y` (the Reference class's option; default `false`).
        decay_at_z / get_decay_at_z(decay_at_z: bool) = (true);
    }

    averaging_setters!(ScheduleFreeAdamW);

    form_setters!(
        ScheduleFreeAdamW,
        "schedulefree.AdamWScheduleFree",
        "optax.contrib.schedule_free_adamw",
        "the same as schedulefree's: `betas` (0.9, 0.999), `eps` 1e-8, `weight_decay` 0, `weight_lr_power` 2, no warm-up; `r`, `decay_at_z` and `maximize` have no optax keyword"
    );

    fn optax_defaults(self) -> Self {
        self
    }

    /// Whether `step` scans the gradient for NaN and infinities first (default `true`).
    ///
    /// ```
    /// assert!(!gradus::ScheduleFreeAdamW::<f64>::new(0.1).check_finite(false).get_check_finite());
    /// ```
    pub fn check_finite(mut self, check: bool) -> Self {
        self.common.check_finite = check;
        self
    }

    /// The value set by [`check_finite`](ScheduleFreeAdamW::check_finite).
    ///
    /// ```
    /// assert!(gradus::ScheduleFreeAdamW::<f64>::new(0.1).get_check_finite());
    /// ```
    pub fn get_check_finite(&self) -> bool {
        self.common.check_finite
    }

    /// Writes the evaluation point `x` for the training point `params` (`y`): what to test and
    /// save as the model. Before the first step `x = y`. `out` must be as long as `params`
    /// (else nothing is written).
    ///
    /// ```
    /// use gradus::{Optimizer, ScheduleFreeAdamW};
    /// let mut opt = ScheduleFreeAdamW::new(0.1_f64);
    /// let mut y = [1.0];
    /// let mut x = [0.0];
    /// opt.eval_params(&y, &mut x);
    /// assert_eq!(x, [1.0]);
    /// opt.step(&mut y, &[1.0])?; // the first step puts y, z and x at one point
    /// opt.step(&mut y, &[1.0])?;
    /// opt.eval_params(&y, &mut x);
    /// assert!(x[0] != y[0]);
    /// # Ok::<(), gradus::Error>(())
    /// ```
    pub fn eval_params(&self, params: &[T], out: &mut [T]) {
        eval(params, self.z.get(), self.x.get(), self.beta1, self.form, out);
    }
}

/// `x` from `y` and `z` (`x = lerp(y, z, 1 - 1/beta1)`, optax's `(y - (1 - beta1)*z)/beta1`),
/// or the kept `x`.
fn eval<T: Float>(y: &[T], z: &[T], x: &[T], beta1: f64, form: Form, out: &mut [T]) {
    if out.len() != y.len() {
        return;
    }
    if !x.is_empty() && x.len() == y.len() {
        out.copy_from_slice(x);
    } else if z.len() == y.len() && form == Form::Optax {
        let (b1, one_minus_b1): (T, T) = (cast(beta1), cast(1.0 - beta1));
        for ((o, &y), &z) in out.iter_mut().zip(y).zip(z) {
            *o = (y - one_minus_b1 * z) / b1;
        }
    } else if z.len() == y.len() {
        let lerp = Lerp::<T>::new(1.0 - 1.0 / beta1);
        for ((o, &y), &z) in out.iter_mut().zip(y).zip(z) {
            *o = lerp.at::<false>(y, z);
        }
    } else {
        out.copy_from_slice(y);
    }
}

impl<T: Float + Send + Sync> Rule<T> for ScheduleFreeAdamW<T> {
    fn elementwise(&self) -> bool {
        true
    }

    fn check_state(&self, n: usize) -> Result<(), Error> {
        crate::optim::state_len("z", self.z.get().len(), n)?;
        crate::optim::state_len("exp_avg_sq", self.exp_avg_sq.get().len(), n)?;
        if self.decay_at_z {
            crate::optim::state_len("x", self.x.get().len(), n)?;
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), Error> {
        kernel::require(self.beta1 > 0.0 && self.beta1 < 1.0, "beta1", self.beta1, "a value in (0, 1)")?;
        kernel::unit("beta2", self.beta2)?;
        kernel::non_negative("eps", self.eps)?;
        kernel::non_negative("weight_decay", self.weight_decay)?;
        if self.form == Form::Optax {
            self.averaging.validate_optax()?;
            let expected = "its default: optax.contrib.schedule_free_adamw has no such keyword";
            kernel::require(!self.decay_at_z, "decay_at_z", 1.0, expected)?;
            kernel::require(!self.common.maximize, "maximize", 1.0, expected)?;
        }
        self.averaging.validate()
    }

    fn update(&mut self, params: &mut [T], grads: &[T]) {
        let k = self.progress.begin(params.len()) - 1;
        if k == 0 || self.z.get().len() != params.len() {
            self.z.ensure(params, T::zero());
            self.z.get_mut().copy_from_slice(params);
            if self.decay_at_z {
                self.x.ensure(params, T::zero());
                self.x.get_mut().copy_from_slice(params);
            }
        }
        self.exp_avg_sq.ensure(params, T::zero());
        if self.form == Form::Optax {
            // scale_by_rms(b2, eps, eps_in_sqrt=False, bias_correction=True),
            // add_decayed_weights, scale(-lr_k); then schedule_free's z, x and y
            let (lr, ckp1) = self.averaging.advance_optax(self.common.lr, k);
            let (b2, one_minus_b2): (T, T) = (cast(self.beta2), cast(1.0 - self.beta2));
            let bc2: T = cast(optax_bias_correction(self.beta2, k + 1));
            let (eps, wd, neg_lr): (T, T, T) = (cast(self.eps), cast(self.weight_decay), cast(-lr));
            let mix = OptaxMix::new(self.beta1, ckp1);
            let (z, v) = (self.z.get_mut(), self.exp_avg_sq.get_mut());
            for (((y, &g), z), v) in params.iter_mut().zip(grads).zip(z.iter_mut()).zip(v.iter_mut()) {
                *v = one_minus_b2 * (g * g) + b2 * *v;
                let u = neg_lr * ((T::one() / ((*v / bc2).sqrt() + eps)) * g + wd * *y);
                *y = mix.at(*y, z, u);
            }
            return;
        }
        let (lr, ckp1) = self.averaging.advance(self.common.lr, k);
        let bc2 = bias_correction(self.beta2, k + 1);
        let (beta2, one_minus_beta2): (T, T) = (cast(self.beta2), cast(1.0 - self.beta2));
        let inv_bc2: T = cast(bc2);
        let eps: T = cast(self.eps);
        let wd: T = cast(self.weight_decay);
        let has_wd = self.weight_decay != 0.0;
        let (z, v) = (self.z.get_mut(), self.exp_avg_sq.get_mut());
        if self.decay_at_z {
            let decay: T = cast(-(lr * self.weight_decay));
            let neg_lr: T = cast(-lr);
            let (c, one_minus_c): (T, T) = (cast(ckp1), cast(1.0 - ckp1));
            let (b1, one_minus_b1): (T, T) = (cast(self.beta1), cast(1.0 - self.beta1));
            let x = self.x.get_mut();
            for ((((p, &g), z), v), x) in
                params.iter_mut().zip(grads).zip(z.iter_mut()).zip(v.iter_mut()).zip(x.iter_mut())
            {
                if has_wd {
                    *z = *z + decay * *z;
                }
                *v = *v * beta2 + (one_minus_beta2 * g) * g;
                let denom = (*v / inv_bc2).sqrt() + eps;
                *z = *z + neg_lr * (g / denom);
                *x = *x * one_minus_c + c * *z;
                *p = *x * b1 + one_minus_b1 * *z;
            }
            return;
        }
        let lerp = Lerp::<T>::new(ckp1);
        let y_coef: T = cast(lr * (self.beta1 * (1.0 - ckp1) - 1.0));
        let neg_lr: T = cast(-lr);
        for (((y, &g), z), v) in params.iter_mut().zip(grads).zip(z.iter_mut()).zip(v.iter_mut()) {
            *v = *v * beta2 + (one_minus_beta2 * g) * g;
            let denom = (*v / inv_bc2).sqrt() + eps;
            let mut gn = g / denom;
            if has_wd {
                gn = gn + wd * *y;
            }
            *y = lerp.at::<false>(*y, *z);
            *y = *y + y_coef * gn;
            *z = *z + neg_lr * gn;
        }
    }

    fn clear(&mut self) {
        self.z.free();
        self.exp_avg_sq.free();
        self.x.free();
        self.averaging.reset();
    }

    fn second_moment(&self) -> Option<&[T]> {
        self.progress.len.map(|_| self.exp_avg_sq.get())
    }

    fn eval_params(&self, params: &[T], out: &mut [T]) -> bool {
        ScheduleFreeAdamW::eval_params(self, params, out);
        true
    }

    momentum_is!(beta1);
}

impl_optimizer!(ScheduleFreeAdamW);

/// Schedule-Free SGD: `schedulefree.SGDScheduleFree` (and `SGDScheduleFreeReference`, which
/// agrees): SGD with momentum replaced by averaging, and no schedule to choose.
///
/// The parameters you step are the training point `y`; evaluate and save the average `x`
/// written by [`eval_params`](ScheduleFreeSgd::eval_params). Per step, with `lr` and `c` as in
/// [`ScheduleFreeAdamW`]:
///
/// ```text
/// g = g [+ weight_decay*y]
/// y = lerp(y, z, c);  y = y + (lr*(momentum*(1 - c) - 1)) * g
/// z = z + (-lr) * g
/// x = lerp(y, z, 1 - 1/momentum)                     // eval_params
/// ```
///
/// With [`form(Form::Optax)`](ScheduleFreeSgd::form) it is `optax.contrib.schedule_free_sgd`,
/// in the order of [`ScheduleFreeAdamW`]'s optax form with the base update
/// `u = (-lr_k)*(g [+ weight_decay*y])`.
///
/// Defaults (schedulefree's): lr 1, `momentum` 0.9, `weight_decay` 0, `warmup_steps` 0, `r` 0,
/// `weight_lr_power` 2.
///
/// ```
/// use gradus::{Optimizer, ScheduleFreeSgd};
/// let mut opt = ScheduleFreeSgd::new(0.1_f64);
/// let mut y = [1.0];
/// for _ in 0..300 {
///     let g = [2.0 * y[0]];
///     opt.step(&mut y, &g)?;
/// }
/// let mut x = [0.0];
/// opt.eval_params(&y, &mut x);
/// assert!(x[0].abs() < 0.05);
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(bound(serialize = "T: Float + serde::Serialize", deserialize = "T: Float + serde::Deserialize<'de>"))
)]
pub struct ScheduleFreeSgd<T> {
    common: Common,
    momentum: f64,
    weight_decay: f64,
    #[cfg_attr(feature = "serde", serde(default))]
    form: Form,
    averaging: Averaging,
    progress: Progress,
    z: Buf<T>,
}

impl<T: Float> ScheduleFreeSgd<T> {
    /// Schedule-Free SGD with learning rate `lr` (schedulefree's default 1).
    ///
    /// ```
    /// let opt = gradus::ScheduleFreeSgd::<f32>::new(1.0);
    /// # let _ = opt;
    /// ```
    pub fn new(lr: T) -> Self {
        ScheduleFreeSgd {
            common: Common::new(to_f64(lr)),
            momentum: 0.9,
            weight_decay: 0.0,
            form: Form::Torch,
            averaging: Averaging::new(),
            progress: Progress::default(),
            z: Buf::new(),
        }
    }

    crate::optim::setters! {
        ScheduleFreeSgd;
        /// The interpolation between `x` and `z`, in `(0, 1)` (default 0.9).
        momentum / get_momentum(momentum: T) = (0.95);
        /// Weight decay at `y`, `>= 0` (default 0).
        weight_decay / get_weight_decay(weight_decay: T) = (0.01);
    }

    averaging_setters!(ScheduleFreeSgd);

    form_setters!(
        ScheduleFreeSgd,
        "schedulefree.SGDScheduleFree",
        "optax.contrib.schedule_free_sgd",
        "the same as schedulefree's: `momentum` (optax's `b1`) 0.9, `weight_decay` 0 (optax's None), `weight_lr_power` 2, no warm-up; `r` and `maximize` have no optax keyword"
    );

    fn optax_defaults(self) -> Self {
        self
    }

    /// Whether `step` scans the gradient for NaN and infinities first (default `true`).
    ///
    /// ```
    /// assert!(!gradus::ScheduleFreeSgd::<f64>::new(0.1).check_finite(false).get_check_finite());
    /// ```
    pub fn check_finite(mut self, check: bool) -> Self {
        self.common.check_finite = check;
        self
    }

    /// The value set by [`check_finite`](ScheduleFreeSgd::check_finite).
    ///
    /// ```
    /// assert!(gradus::ScheduleFreeSgd::<f64>::new(0.1).get_check_finite());
    /// ```
    pub fn get_check_finite(&self) -> bool {
        self.common.check_finite
    }

    /// Writes the evaluation point `x` for the training point `params` (`y`), as
    /// [`ScheduleFreeAdamW::eval_params`].
    ///
    /// ```
    /// let opt = gradus::ScheduleFreeSgd::new(0.1_f64);
    /// let mut x = [0.0];
    /// opt.eval_params(&[2.0], &mut x);
    /// assert_eq!(x, [2.0]); // before the first step x = y
    /// ```
    pub fn eval_params(&self, params: &[T], out: &mut [T]) {
        eval(params, self.z.get(), &Vec::new(), self.momentum, self.form, out);
    }
}

impl<T: Float + Send + Sync> Rule<T> for ScheduleFreeSgd<T> {
    fn elementwise(&self) -> bool {
        true
    }

    crate::optim::state_fields!(required: [z], optional: []);

    fn validate(&self) -> Result<(), Error> {
        kernel::require(self.momentum > 0.0 && self.momentum < 1.0, "momentum", self.momentum, "a value in (0, 1)")?;
        kernel::non_negative("weight_decay", self.weight_decay)?;
        if self.form == Form::Optax {
            self.averaging.validate_optax()?;
            kernel::require(!self.common.maximize, "maximize", 1.0, "its default: optax has no such keyword")?;
        }
        self.averaging.validate()
    }

    fn update(&mut self, params: &mut [T], grads: &[T]) {
        let k = self.progress.begin(params.len()) - 1;
        if k == 0 || self.z.get().len() != params.len() {
            self.z.ensure(params, T::zero());
            self.z.get_mut().copy_from_slice(params);
        }
        if self.form == Form::Optax {
            // [add_decayed_weights], sgd (scale(-lr_k)); then schedule_free's z, x and y
            let (lr, ckp1) = self.averaging.advance_optax(self.common.lr, k);
            let (wd, neg_lr): (T, T) = (cast(self.weight_decay), cast(-lr));
            let has_wd = self.weight_decay != 0.0;
            let mix = OptaxMix::new(self.momentum, ckp1);
            for ((y, &g), z) in params.iter_mut().zip(grads).zip(self.z.get_mut().iter_mut()) {
                let u = neg_lr * if has_wd { g + wd * *y } else { g };
                *y = mix.at(*y, z, u);
            }
            return;
        }
        let (lr, ckp1) = self.averaging.advance(self.common.lr, k);
        let lerp = Lerp::<T>::new(ckp1);
        let y_coef: T = cast(lr * (self.momentum * (1.0 - ckp1) - 1.0));
        let neg_lr: T = cast(-lr);
        let wd: T = cast(self.weight_decay);
        let has_wd = self.weight_decay != 0.0;
        for ((y, &g), z) in params.iter_mut().zip(grads).zip(self.z.get_mut().iter_mut()) {
            let g = if has_wd { g + wd * *y } else { g };
            *y = lerp.at::<false>(*y, *z);
            *y = *y + y_coef * g;
            *z = *z + neg_lr * g;
        }
    }

    fn clear(&mut self) {
        self.z.free();
        self.averaging.reset();
    }

    fn eval_params(&self, params: &[T], out: &mut [T]) -> bool {
        ScheduleFreeSgd::eval_params(self, params, out);
        true
    }

    momentum_is!(momentum);
}

impl_optimizer!(ScheduleFreeSgd);

/// `optax.contrib.schedule_free`'s step from the base update `u`, in optax's order: the new
/// `z`, the previous `x` recomputed from `y`, the new `x`, the new `y` (applied as an update).
struct OptaxMix<T> {
    b1: T,
    one_minus_b1: T,
    c: T,
    one_minus_c: T,
}

impl<T: Float> OptaxMix<T> {
    fn new(b1: f64, c: f64) -> Self {
        OptaxMix { b1: cast(b1), one_minus_b1: cast(1.0 - b1), c: cast(c), one_minus_c: cast(1.0 - c) }
    }

    /// Updates `z` and returns the new `y`.
    #[inline(always)]
    fn at(&self, y: T, z: &mut T, u: T) -> T {
        let x_prev = (y - self.one_minus_b1 * *z) / self.b1;
        *z = *z + u;
        let x = self.one_minus_c * x_prev + self.c * *z;
        let y_new = self.b1 * x + self.one_minus_b1 * *z;
        y + (y_new - y)
    }
}
