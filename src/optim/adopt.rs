//! ADOPT: `optax.contrib.adopt`.

use num_traits::Float;

use crate::kernel::{self, cast, to_f64, Common, Ema};
use crate::optim::{impl_optimizer, momentum_is, CountFn, Progress, Rule};
use crate::state::Buf;
use crate::Error;

/// ADOPT (modified Adam that converges with any `beta2`): `optax.contrib.adopt`. The gradient is
/// normalized by the *previous* second moment, and the first moment averages normalized gradients.
///
/// ```text
/// t == 1:  v = g*g;  m = 0                              // the first step does not move
/// else:    q = g / max(sqrt(v), eps)
///          q = clamp(q, -c, c), c = clip_value_fn(t - 1)   // if use_clipping
///          m = (1 - beta1)*q + beta1*m
///          v = (1 - beta2)*g*g + beta2*v
/// u = nesterov ? beta1*m + (1 - beta1)*q : m
/// p = p + (-lr)*u
/// ```
///
/// Defaults (optax's): `betas` (0.9, 0.9999), `eps` 1e-6, `nesterov` false, `use_clipping`
/// true with `clip_value_fn` `t^0.25` of the 0-based count.
///
/// Reference: Taniguchi et al. (2024), "ADOPT: Modified Adam Can Converge with Any β2 with the
/// Optimal Rate".
///
/// ```
/// use gradus::{Adopt, Optimizer};
/// let mut opt = Adopt::new(0.1_f64);
/// let mut x = [1.0];
/// opt.step(&mut x, &[2.0])?;
/// assert_eq!(x, [1.0]); // the first step only records v
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
pub struct Adopt<T> {
    common: Common,
    beta1: f64,
    beta2: f64,
    eps: f64,
    nesterov: bool,
    use_clipping: bool,
    #[cfg_attr(feature = "serde", serde(skip, default = "default_clip"))]
    clip_value_fn: CountFn,
    progress: Progress,
    m: Buf<T>,
    v: Buf<T>,
}

/// optax's default `lambda x: x**0.25`.
fn default_clip() -> CountFn {
    CountFn(|x| Float::powf(x as f64, 0.25))
}

impl<T: Float> Adopt<T> {
    /// ADOPT with learning rate `lr` and optax's defaults.
    ///
    /// ```
    /// let opt = gradus::Adopt::<f32>::new(1e-3);
    /// # let _ = opt;
    /// ```
    pub fn new(lr: T) -> Self {
        Adopt {
            common: Common::new(to_f64(lr)),
            beta1: 0.9,
            beta2: 0.9999,
            eps: 1e-6,
            nesterov: false,
            use_clipping: true,
            clip_value_fn: default_clip(),
            progress: Progress::default(),
            m: Buf::new(),
            v: Buf::new(),
        }
    }

    crate::optim::setters! {
        Adopt;
        /// Decay rates of the first and second moments, each in `[0, 1)` (default 0.9, 0.9999).
        betas / get_betas(beta1: T, beta2: T) = (0.8, 0.999);
        /// The floor of `sqrt(v)`, `>= 0` (default 1e-6).
        eps / get_eps(eps: T) = (1e-8);
        /// Nesterov momentum (default `false`).
        nesterov / get_nesterov(nesterov: bool) = (true);
        /// Clip the normalized gradient to `±clip_value_fn(t - 1)` (default `true`).
        use_clipping / get_use_clipping(use_clipping: bool) = (false);
    }

    /// The clipping bound as a function of the 0-based count (default `t^0.25`, in `f64`).
    ///
    /// ```
    /// let opt = gradus::Adopt::<f64>::new(1e-3).clip_value_fn(|t| (t as f64).sqrt());
    /// # let _ = opt;
    /// ```
    pub fn clip_value_fn(mut self, clip_value_fn: fn(u64) -> f64) -> Self {
        self.clip_value_fn = CountFn(clip_value_fn);
        self
    }

    /// Maximizes the objective instead of minimizing it: the gradient is negated first.
    /// Default `false`.
    ///
    /// ```
    /// use gradus::Optimizer;
    /// let mut opt = gradus::Adopt::new(0.1_f64).maximize(true);
    /// assert!(opt.get_maximize());
    /// let mut p = [0.0];
    /// opt.step(&mut p, &[1.0])?; // the first step records v
    /// opt.step(&mut p, &[1.0])?;
    /// assert!(p[0] > 0.0); // up the gradient
    /// # Ok::<(), gradus::Error>(())
    /// ```
    pub fn maximize(mut self, maximize: bool) -> Self {
        self.common.maximize = maximize;
        self
    }

    /// The value set by [`maximize`](Self::maximize).
    ///
    /// ```
    /// assert!(!gradus::Adopt::new(0.1_f64).get_maximize());
    /// ```
    pub fn get_maximize(&self) -> bool {
        self.common.maximize
    }

    /// Whether a step scans the gradient for NaN and infinities first (default `true`); see
    /// [`Adam::check_finite`](crate::Adam::check_finite).
    ///
    /// ```
    /// assert!(!gradus::Adopt::new(0.1_f64).check_finite(false).get_check_finite());
    /// ```
    pub fn check_finite(mut self, check: bool) -> Self {
        self.common.check_finite = check;
        self
    }

    /// The value set by [`check_finite`](Self::check_finite).
    ///
    /// ```
    /// assert!(gradus::Adopt::new(0.1_f64).get_check_finite());
    /// ```
    pub fn get_check_finite(&self) -> bool {
        self.common.check_finite
    }
}

impl<T: Float + Send + Sync> Rule<T> for Adopt<T> {
    fn elementwise(&self) -> bool {
        true
    }

    crate::optim::state_fields!(required: [m, v], optional: []);

    fn validate(&self) -> Result<(), Error> {
        kernel::unit("beta1", self.beta1)?;
        kernel::unit("beta2", self.beta2)?;
        kernel::non_negative("eps", self.eps)
    }

    fn update(&mut self, params: &mut [T], grads: &[T]) {
        let t = self.progress.begin(params.len());
        let first = t == 1 || self.v.get().len() != params.len();
        self.m.ensure(params, T::zero());
        self.v.ensure(params, T::zero());
        let s = self.common.sign::<T>();
        let (m, v) = (self.m.get_mut(), self.v.get_mut());
        if first {
            for (v, &g) in v.iter_mut().zip(grads) {
                let g = g * s;
                *v = g * g;
            }
            return;
        }
        let clip: T = cast((self.clip_value_fn.0)(t - 1));
        let (e1, e2) = (Ema::<T>::new(self.beta1), Ema::<T>::new(self.beta2));
        let (b1, one_minus_b1): (T, T) = (cast(self.beta1), cast(1.0 - self.beta1));
        let (eps, neg_lr): (T, T) = (cast(self.eps), cast(-self.common.lr));
        for (((p, &g), m), v) in params.iter_mut().zip(grads).zip(m.iter_mut()).zip(v.iter_mut()) {
            let g = g * s;
            let mut q = g / v.sqrt().max(eps);
            if self.use_clipping {
                q = q.max(-clip).min(clip);
            }
            *m = e1.at(*m, q);
            *v = e2.at(*v, g * g);
            let u = if self.nesterov { b1 * *m + one_minus_b1 * q } else { *m };
            *p = *p + neg_lr * u;
        }
    }

    fn clear(&mut self) {
        self.m.free();
        self.v.free();
    }

    momentum_is!(beta1);
}

impl_optimizer!(Adopt);
