//! Polyak step-size SGD: `optax.polyak_sgd`.

use num_traits::Float;

use crate::kernel::{self, cast, to_f64, Common};
use crate::optim::{impl_optimizer, Progress, Rule};
use crate::Error;

/// Which Polyak step [`PolyakSgd`] takes: optax's `variant`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum PolyakVariant {
    /// `"sps"`: the gap `f - f_min` as it is (the default).
    #[default]
    Sps,
    /// `"sps+"`: `max(f - f_min, 0)`.
    SpsPlus,
}

/// SGD with the Polyak step size: `optax.polyak_sgd` (`sgd(scaling)` + `scale_by_polyak`). It
/// needs the loss at the parameters, so it is stepped with
/// [`step_with_loss`](PolyakSgd::step_with_loss); a plain [`step`](crate::Optimizer::step) is an
/// [`Error::LossRequired`] with nothing written.
///
/// ```text
/// d    = (-scaling) * g
/// gap  = f - f_min                    // max(gap, 0) for SpsPlus
/// step = |d|^2 + eps <= f64::EPSILON ? 0 : min(gap / (|d|^2 + eps), max_learning_rate)
/// p    = p + step*d
/// ```
///
/// Defaults (optax's): `max_learning_rate` 1 (the constructor's argument), `scaling` 1,
/// `f_min` 0, `eps` 0, [`PolyakVariant::Sps`].
///
/// Reference: Loizou et al. (2021), "Stochastic Polyak Step-size for SGD".
///
/// ```
/// use gradus::PolyakSgd;
/// let mut opt = PolyakSgd::new(1.0_f64);
/// let mut x = [2.0];
/// // f = x^2: the Polyak step reaches f_min = 0 along the gradient
/// let f = x[0] * x[0];
/// opt.step_with_loss(&mut x, &[2.0 * 2.0], f)?;
/// assert_eq!(x, [1.0]); // step 4/16 = 0.25 along -4
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PolyakSgd<T> {
    common: Common,
    scaling: f64,
    f_min: f64,
    eps: f64,
    variant: PolyakVariant,
    progress: Progress,
    #[cfg_attr(feature = "serde", serde(skip))]
    loss: Option<f64>,
    #[cfg_attr(feature = "serde", serde(skip))]
    _t: core::marker::PhantomData<T>,
}

impl<T: Float> PolyakSgd<T> {
    /// Polyak SGD whose step is at most `max_learning_rate` (the crate's learning rate: what
    /// schedules drive), with optax's defaults.
    ///
    /// ```
    /// let opt = gradus::PolyakSgd::<f32>::new(1.0);
    /// # let _ = opt;
    /// ```
    pub fn new(max_learning_rate: T) -> Self {
        PolyakSgd {
            common: Common::new(to_f64(max_learning_rate)),
            scaling: 1.0,
            f_min: 0.0,
            eps: 0.0,
            variant: PolyakVariant::Sps,
            progress: Progress::default(),
            loss: None,
            _t: core::marker::PhantomData,
        }
    }

    crate::optim::setters! {
        PolyakSgd;
        /// The scaling of the gradient (optax's inner `sgd` rate), `> 0` (default 1).
        scaling / get_scaling(scaling: T) = (0.5);
        /// A lower bound of the loss (default 0).
        f_min / get_f_min(f_min: T) = (-1.0);
        /// Added to the squared norm, `>= 0` (default 0).
        eps / get_eps(eps: T) = (1e-8);
    }

    /// The variant (default [`PolyakVariant::Sps`]).
    ///
    /// ```
    /// use gradus::{PolyakSgd, PolyakVariant};
    /// let opt = PolyakSgd::<f64>::new(1.0).variant(PolyakVariant::SpsPlus);
    /// assert_eq!(opt.get_variant(), PolyakVariant::SpsPlus);
    /// ```
    pub fn variant(mut self, variant: PolyakVariant) -> Self {
        self.variant = variant;
        self
    }

    /// The value set by [`variant`](PolyakSgd::variant).
    ///
    /// ```
    /// assert_eq!(gradus::PolyakSgd::<f64>::new(1.0).get_variant(), gradus::PolyakVariant::Sps);
    /// ```
    pub fn get_variant(&self) -> PolyakVariant {
        self.variant
    }

    /// Maximizes the objective instead of minimizing it: the gradient is negated first.
    /// Default `false`.
    ///
    /// ```
    /// let mut opt = gradus::PolyakSgd::new(0.1_f64).maximize(true);
    /// assert!(opt.get_maximize());
    /// let mut p = [1.0];
    /// opt.step_with_loss(&mut p, &[1.0], 1.0)?;
    /// assert!(p[0] > 1.0); // up the gradient
    /// # Ok::<(), gradus::Error>(())
    /// ```
    pub fn maximize(mut self, maximize: bool) -> Self {
        self.common.maximize = maximize;
        self
    }

    /// The value set by [`maximize`](Self::maximize).
    ///
    /// ```
    /// assert!(!gradus::PolyakSgd::new(0.1_f64).get_maximize());
    /// ```
    pub fn get_maximize(&self) -> bool {
        self.common.maximize
    }

    /// Whether a step scans the gradient for NaN and infinities first (default `true`); see
    /// [`Adam::check_finite`](crate::Adam::check_finite).
    ///
    /// ```
    /// assert!(!gradus::PolyakSgd::new(0.1_f64).check_finite(false).get_check_finite());
    /// ```
    pub fn check_finite(mut self, check: bool) -> Self {
        self.common.check_finite = check;
        self
    }

    /// The value set by [`check_finite`](Self::check_finite).
    ///
    /// ```
    /// assert!(gradus::PolyakSgd::new(0.1_f64).get_check_finite());
    /// ```
    pub fn get_check_finite(&self) -> bool {
        self.common.check_finite
    }

    /// Steps with the gradient `grads` and the loss `loss` at `params` (before the step),
    /// all-or-nothing as [`Optimizer::step`](crate::Optimizer::step).
    ///
    /// # Errors
    ///
    /// As `step`, and [`Error::NonFiniteLoss`] for a NaN or infinite `loss`.
    pub fn step_with_loss(&mut self, params: &mut [T], grads: &[T], loss: T) -> Result<(), Error>
    where
        T: Send + Sync,
    {
        let f = to_f64(loss);
        if !f.is_finite() {
            return Err(Error::NonFiniteLoss { value: f });
        }
        self.loss = Some(f);
        let result = crate::Optimizer::step(self, params, grads);
        self.loss = None;
        result
    }
}

impl<T: Float + Send + Sync> Rule<T> for PolyakSgd<T> {
    fn validate(&self) -> Result<(), Error> {
        kernel::positive("scaling", self.scaling)?;
        kernel::finite("f_min", self.f_min)?;
        kernel::non_negative("eps", self.eps)?;
        match self.loss {
            Some(_) => Ok(()),
            None => Err(Error::LossRequired { rule: "PolyakSgd" }),
        }
    }

    fn update(&mut self, params: &mut [T], grads: &[T]) {
        self.progress.begin(params.len());
        let f = self.loss.unwrap_or(self.f_min);
        let scale: T = cast(-self.scaling);
        let s = self.common.sign::<T>();
        let d_sq: f64 = grads.iter().map(|&g| to_f64(scale * (g * s))).map(|d| d * d).sum();
        let mut gap = f - self.f_min;
        if self.variant == PolyakVariant::SpsPlus {
            gap = f64::max(gap, 0.0);
        }
        let step =
            if d_sq + self.eps <= f64::EPSILON { 0.0 } else { f64::min(gap / (d_sq + self.eps), self.common.lr) };
        let step: T = cast(step);
        for (p, &g) in params.iter_mut().zip(grads) {
            *p = *p + step * (scale * (g * s));
        }
    }

    fn clear(&mut self) {}
}

impl_optimizer!(PolyakSgd);
