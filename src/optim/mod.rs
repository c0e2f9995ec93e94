//! The update rules, one file each, and the plumbing they share.

use num_traits::Float;

use crate::kernel::{cast, Common};
use crate::Error;

mod adabelief;
mod adadelta;
mod adafactor;
mod adagrad;
mod adam;
mod adamax;
mod adan;
mod ademamix;
mod adopt;
mod asgd;
mod fromage;
mod lamb;
mod lars;
mod lbfgs;
mod lion;
mod muon;
mod nadam;
mod novograd;
mod optimistic_gd;
mod polyak_sgd;
mod prodigy;
mod radam;
mod rmsprop;
mod rprop;
mod schedule_free;
mod sgd;
mod sign_sgd;
mod sm3;
mod sparse_adam;
mod yogi;

pub use adabelief::AdaBelief;
pub use adadelta::Adadelta;
pub use adafactor::Adafactor;
pub use adagrad::Adagrad;
pub use adam::{Adam, AdamW};
pub use adamax::Adamax;
pub use adan::Adan;
pub use ademamix::{AdEmaMix, SimplifiedAdEmaMix};
pub use adopt::Adopt;
pub use asgd::Asgd;
pub use fromage::Fromage;
pub use lamb::Lamb;
pub use lars::Lars;
pub use lbfgs::{Lbfgs, LineSearch};
pub use lion::Lion;
pub use muon::{AdjustLr, Muon, Preconditioning};
pub use nadam::NAdam;
pub use novograd::NovoGrad;
pub use optimistic_gd::OptimisticGd;
pub use polyak_sgd::{PolyakSgd, PolyakVariant};
pub use prodigy::Prodigy;
pub use radam::RAdam;
pub use rmsprop::RmsProp;
pub use rprop::Rprop;
pub use schedule_free::{ScheduleFreeAdamW, ScheduleFreeSgd};
pub use sgd::Sgd;
pub use sign_sgd::SignSgd;
pub use sm3::Sm3;
pub use sparse_adam::SparseAdam;
pub use yogi::Yogi;

/// Which library's form of a rule: PyTorch's (the default) or optax's, for the rules the two
/// define differently. `form(Form::Optax)`, called right after `new`, sets every hyperparameter
/// but the learning rate to the optax callable's defaults and selects its operation order;
/// setters called after it override those defaults with the optax keyword's meaning.
///
/// ```
/// use gradus::{Adam, Form, Optimizer};
/// let mut opt = Adam::new(1e-3_f64).form(Form::Optax); // optax.adam(1e-3)
/// assert_eq!(opt.get_form(), Form::Optax);
/// opt.step(&mut [1.0], &[0.5])?;
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Form {
    /// `torch.optim`'s form (the default).
    #[default]
    Torch,
    /// optax's form.
    Optax,
}

/// A function of the 0-based step count (optax's schedules and callables), compared by address.
#[derive(Clone, Copy)]
pub(crate) struct CountFn(pub(crate) fn(u64) -> f64);

impl PartialEq for CountFn {
    fn eq(&self, other: &Self) -> bool {
        core::ptr::fn_addr_eq(self.0, other.0)
    }
}

impl core::fmt::Debug for CountFn {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("fn(u64) -> f64")
    }
}

/// `true`: the serde default of flags that default to on.
#[cfg(feature = "serde")]
pub(crate) fn yes() -> bool {
    true
}

/// RAdam's serde default `threshold`, 5.
#[cfg(feature = "serde")]
pub(crate) fn radam_threshold() -> f64 {
    5.0
}

/// Step count and the length the state was sized for, common to every rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(crate) struct Progress {
    /// Steps taken (PyTorch's `state["step"]`, optax's `count`).
    pub(crate) step: u64,
    /// `Some(n)` once the first step sized the state for `n` parameters.
    pub(crate) len: Option<usize>,
}

impl Progress {
    /// Counts a step over `len` parameters; returns the new step number (1-based).
    #[inline]
    pub(crate) fn begin(&mut self, len: usize) -> u64 {
        self.len = Some(len);
        self.step = self.step.saturating_add(1);
        self.step
    }
}

/// What the [`Optimizer`](crate::Optimizer) implementation of a rule needs from it.
pub(crate) trait Rule<T> {
    /// Checks the rule's own hyperparameters (the learning rate is checked for every rule).
    fn validate(&self) -> Result<(), Error>;
    /// The update proper: called only after validation and the input guard passed.
    fn update(&mut self, params: &mut [T], grads: &[T]);
    /// Drops all state buffers.
    fn clear(&mut self);
    fn second_moment(&self) -> Option<&[T]> {
        None
    }
    fn momentum_coef(&self) -> Option<f64> {
        None
    }
    fn set_momentum_coef(&mut self, momentum: f64) -> bool {
        let _ = momentum;
        false
    }
    /// The tensor's shape, for the shape-aware rules.
    fn set_shape(&mut self, shape: &[usize]) {
        let _ = shape;
    }
    /// Writes the evaluation point (the Schedule-Free rules' average) and returns `true`;
    /// `false` (the default): the parameters are it.
    fn eval_params(&self, params: &[T], out: &mut [T]) -> bool {
        let _ = (params, out);
        false
    }
    /// Whether the state (after a step over `n` parameters, or as loaded from a checkpoint) has
    /// every buffer at its length: a tampered or truncated checkpoint is an error, never a reset.
    fn check_state(&self, n: usize) -> Result<(), Error> {
        let _ = n;
        Ok(())
    }
    /// What the rule rejects about the length of the parameters (a shape that does not fit).
    fn check_input(&self, len: usize) -> Result<(), Error> {
        let _ = len;
        Ok(())
    }
    /// Whether each element's update reads only that element's parameter, gradient and state
    /// and scalars the same for every element (see [`Optimizer::elementwise`](crate::Optimizer::elementwise)).
    fn elementwise(&self) -> bool {
        false
    }
}

/// The gradient as the moment updates see it: `g*sign` (maximize), then PyTorch's coupled L2
/// term `+ weight_decay*p`, after the decoupled decay `p *= 1 - lr*weight_decay` (AdamW style).
/// Exactly one of the two decays is active; the other is the identity (`*1`, `+0*p`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Prep<T> {
    sign: T,
    decay: T,
    l2: T,
    /// No maximize and no weight decay: the identity, skipped (the loop is unswitched on it).
    plain: bool,
}

impl<T: Float> Prep<T> {
    pub(crate) fn new(common: &Common, weight_decay: f64, decoupled: bool) -> Self {
        let (decay, l2) = if decoupled { (1.0 - common.lr * weight_decay, 0.0) } else { (1.0, weight_decay) };
        let plain = !common.maximize && weight_decay == 0.0;
        Prep { sign: common.sign(), decay: cast(decay), l2: cast(l2), plain }
    }

    /// Returns the decayed parameter and the prepared gradient. Kernels write the parameter
    /// once, at the end of the element's update.
    #[inline(always)]
    pub(crate) fn grad(&self, p: T, g: T) -> (T, T) {
        if self.plain {
            return (p, g);
        }
        let p = p * self.decay;
        (p, g * self.sign + self.l2 * p)
    }
}

/// `Err(CorruptState)` unless the buffer `field` holds `expected` elements.
pub(crate) fn state_len(field: &'static str, found: usize, expected: usize) -> Result<(), Error> {
    if found == expected {
        Ok(())
    } else {
        Err(Error::CorruptState { field, expected, found })
    }
}

/// The `check_state` of a rule whose buffers all hold one element per parameter.
macro_rules! state_fields {
    (required: [$($r:ident),*], optional: []) => {
        fn check_state(&self, n: usize) -> Result<(), crate::Error> {
            $(crate::optim::state_len(stringify!($r), self.$r.get().len(), n)?;)*
            Ok(())
        }
    };
}
pub(crate) use state_fields;

/// Generates the `Optimizer` impl of a rule from its `Rule` impl and `common`/`progress` fields.
macro_rules! impl_optimizer {
    ($ty:ident $(, $extra:lifetime)?) => {
        impl<T: Float + Send + Sync $(+ $extra)?> crate::Optimizer<T> for $ty<T> {
            crate::optimizer::snapshot_by_clone!();
            fn step(&mut self, params: &mut [T], grads: &[T]) -> Result<(), crate::Error> {
                crate::Optimizer::check(self, params, grads)?;
                if !params.is_empty() {
                    crate::optim::Rule::update(self, params, grads);
                }
                Ok(())
            }
            fn validate(&self) -> Result<(), crate::Error> {
                crate::kernel::non_negative("lr", self.common.lr)?;
                crate::optim::Rule::validate(self)?;
                // the state as a checkpoint may hold it: counts and buffer lengths consistent
                let p = self.progress;
                if p.len.is_some() != (p.step > 0) {
                    return Err(crate::Error::CorruptState {
                        field: "progress",
                        expected: p.len.unwrap_or(0),
                        found: p.step as usize,
                    });
                }
                match p.len {
                    Some(n) => crate::optim::Rule::check_state(self, n),
                    None => Ok(()),
                }
            }
            fn check(&self, params: &[T], grads: &[T]) -> Result<(), crate::Error> {
                crate::Optimizer::validate(self)?;
                if !params.is_empty() {
                    crate::optim::Rule::check_input(self, params.len())?;
                }
                crate::kernel::guard(params, grads, self.progress.len, self.common.check_finite)
            }
            fn apply(&mut self, params: &mut [T], grads: &[T]) -> Result<(), crate::Error> {
                if !params.is_empty() {
                    crate::optim::Rule::update(self, params, grads);
                }
                Ok(())
            }
            fn learning_rate(&self) -> T {
                crate::kernel::cast(self.common.lr)
            }
            fn set_learning_rate(&mut self, lr: T) {
                self.common.lr = crate::kernel::to_f64(lr);
            }
            fn reset(&mut self) {
                self.progress = Default::default();
                crate::optim::Rule::clear(self);
            }
            fn steps(&self) -> u64 {
                self.progress.step
            }
            fn second_moment(&self) -> Option<&[T]> {
                crate::optim::Rule::second_moment(self)
            }
            fn momentum(&self) -> Option<T> {
                crate::optim::Rule::momentum_coef(self).map(crate::kernel::cast)
            }
            fn set_momentum(&mut self, momentum: T) -> bool {
                crate::optim::Rule::set_momentum_coef(self, crate::kernel::to_f64(momentum))
            }
            fn set_shape(&mut self, shape: &[usize]) {
                crate::optim::Rule::set_shape(self, shape)
            }
            fn eval_params(&self, params: &[T], out: &mut [T]) {
                if !crate::optim::Rule::eval_params(self, params, out) && out.len() == params.len() {
                    out.copy_from_slice(params);
                }
            }
            fn elementwise(&self) -> bool {
                crate::optim::Rule::elementwise(self)
            }
        }
    };
}
pub(crate) use impl_optimizer;

/// Chained setters that store their arguments in fields of the same names (`T` arguments as
/// `f64`, as PyTorch keeps Python floats), each with its doc line and a doctest built from the
/// example arguments.
macro_rules! setters {
    ($ty:ident; $( $(#[$doc:meta])* $name:ident / $getter:ident($($arg:ident: $aty:ident),+) = ($($ex:expr),+); )*) => {$(
        $(#[$doc])*
        ///
        /// ```
        #[doc = concat!("let opt = gradus::", stringify!($ty), "::<f64>::new(0.1).", stringify!($name), "(", stringify!($($ex),+), ");")]
        #[doc = concat!("assert_eq!(opt.", stringify!($getter), "(), (", stringify!($($ex),+), "));")]
        /// ```
        pub fn $name(mut self, $($arg: $aty),+) -> Self {
            $(self.$arg = crate::optim::store!($aty, $arg);)+
            self
        }

        #[doc = concat!("The value set by [`", stringify!($name), "`](Self::", stringify!($name), ") (or its default).")]
        ///
        /// ```
        #[doc = concat!("let opt = gradus::", stringify!($ty), "::<f64>::new(0.1).", stringify!($name), "(", stringify!($($ex),+), ");")]
        #[doc = concat!("assert_eq!(opt.", stringify!($getter), "(), (", stringify!($($ex),+), "));")]
        /// ```
        #[allow(unused_parens)]
        pub fn $getter(&self) -> ($($aty),+) {
            ($(crate::optim::load!($aty, self.$arg)),+)
        }
    )*};
}
pub(crate) use setters;

/// How a stored setter argument is read back: floats cast to `T`, flags as they are.
macro_rules! load {
    (T, $x:expr) => {
        crate::kernel::cast($x)
    };
    (bool, $x:expr) => {
        $x
    };
}
pub(crate) use load;

/// How a setter argument is stored: floats as `f64`, flags as they are.
macro_rules! store {
    (T, $x:ident) => {
        crate::kernel::to_f64($x)
    };
    (bool, $x:ident) => {
        $x
    };
}
pub(crate) use store;

/// The `Rule` methods of a rule whose momentum coefficient (for `OneCycleLr`'s cycling) is the
/// field `$field`.
macro_rules! momentum_is {
    ($field:ident) => {
        fn momentum_coef(&self) -> Option<f64> {
            Some(self.$field)
        }

        fn set_momentum_coef(&mut self, momentum: f64) -> bool {
            self.$field = momentum;
            true
        }
    };
}
pub(crate) use momentum_is;

/// Setters every rule has: `maximize` and `check_finite`.
macro_rules! common_setters {
    ($ty:ident) => {
        /// Maximizes the objective instead of minimizing it: the gradient is negated before
        /// everything else (PyTorch's `maximize`). Default `false`.
        ///
        /// ```
        /// use gradus::Optimizer;
        #[doc = concat!("let mut opt = gradus::", stringify!($ty), "::new(0.1_f64).maximize(true);")]
        /// let mut p = [0.0];
        /// opt.step(&mut p, &[1.0])?;
        /// assert!(p[0] > 0.0); // moved up the gradient
        /// # Ok::<(), gradus::Error>(())
        /// ```
        pub fn maximize(mut self, maximize: bool) -> Self {
            self.common.maximize = maximize;
            self
        }

        /// Whether `step` scans the gradient for NaN and infinities first (default `true`) and
        /// returns [`Error::NonFiniteGradient`](crate::Error::NonFiniteGradient) without touching
        /// anything if it finds one. `false` skips the scan (one read of `grads`) for callers that
        /// guarantee finite gradients; a non-finite gradient then propagates into the parameters.
        ///
        /// ```
        /// use gradus::{Error, Optimizer};
        #[doc = concat!("let mut opt = gradus::", stringify!($ty), "::new(0.1_f64);")]
        /// let mut p = [1.0, 2.0];
        /// let err = opt.step(&mut p, &[0.5, f64::NAN]).unwrap_err();
        /// assert!(matches!(err, Error::NonFiniteGradient { index: 1, .. }));
        /// assert_eq!(p, [1.0, 2.0]);
        #[doc = concat!("let fast = gradus::", stringify!($ty), "::<f64>::new(0.1).check_finite(false);")]
        /// # let _ = fast;
        /// ```
        pub fn check_finite(mut self, check: bool) -> Self {
            self.common.check_finite = check;
            self
        }

        /// The value set by [`maximize`](Self::maximize) (default `false`).
        ///
        /// ```
        #[doc = concat!("assert!(gradus::", stringify!($ty), "::new(0.1_f64).maximize(true).get_maximize());")]
        /// ```
        pub fn get_maximize(&self) -> bool {
            self.common.maximize
        }

        /// The value set by [`check_finite`](Self::check_finite) (default `true`).
        ///
        /// ```
        #[doc = concat!("assert!(!gradus::", stringify!($ty), "::new(0.1_f64).check_finite(false).get_check_finite());")]
        /// ```
        pub fn get_check_finite(&self) -> bool {
            self.common.check_finite
        }
    };
}
pub(crate) use common_setters;

/// `form` and `get_form` of a rule with a torch and an optax form. The type provides
/// `fn optax_defaults(self) -> Self`, which sets the optax callable's defaults on a fresh rule.
macro_rules! form_setters {
    ($ty:ident, $torch:literal, $optax:literal, $defaults:literal) => {
        crate::optim::form_setters!($ty, $torch, $optax, $defaults; form);
    };
    ($ty:ident, $torch:literal, $optax:literal, $defaults:literal; $($field:ident).+) => {
        #[doc = concat!("Selects `", $torch, "` ([`Form::Torch`](crate::Form::Torch), the default) or `", $optax, "` ([`Form::Optax`](crate::Form::Optax)).")]
        ///
        /// Call it right after `new`: the optax form resets every hyperparameter but the learning
        /// rate to the optax callable's defaults, which are
        #[doc = concat!($defaults, ".")]
        /// Setters called after it override them with the optax keyword's meaning; settings
        /// the optax callable has no keyword for must keep their defaults (a non-default one is
        /// [`Error::InvalidHyperparameter`](crate::Error::InvalidHyperparameter) at `validate`
        /// and `step`). The operation order of each form is in the type's docs.
        ///
        /// ```
        /// use gradus::Form;
        #[doc = concat!("let opt = gradus::", stringify!($ty), "::<f64>::new(0.01).form(Form::Optax);")]
        /// assert_eq!(opt.get_form(), Form::Optax);
        /// ```
        pub fn form(self, form: crate::Form) -> Self {
            let mut rule = if form == crate::Form::Optax {
                Self::new(crate::kernel::cast(self.common.lr)).optax_defaults()
            } else {
                self
            };
            rule.$($field).+ = form;
            rule
        }

        #[doc = concat!("The form set by [`form`](", stringify!($ty), "::form) (default [`Form::Torch`](crate::Form::Torch)).")]
        ///
        /// ```
        #[doc = concat!("assert_eq!(gradus::", stringify!($ty), "::<f64>::new(0.1).get_form(), gradus::Form::Torch);")]
        /// ```
        pub fn get_form(&self) -> crate::Form {
            self.$($field).+
        }
    };
}
pub(crate) use form_setters;
