//! The [`Optimizer`] trait every update rule implements.

use num_traits::Float;

use crate::Error;

/// A first-order update rule over a flat slice of parameters.
///
/// The trait is object safe: `Box<dyn Optimizer<f64>>` works, so rules can be chosen at run time.
///
/// ```
/// use gradus::{Adam, Optimizer, Sgd};
///
/// let mut rules: Vec<Box<dyn Optimizer<f64>>> =
///     vec![Box::new(Sgd::new(0.1)), Box::new(Adam::new(0.1))];
/// for opt in &mut rules {
///     let mut x = [1.0_f64];
///     for _ in 0..100 {
///         let g = [2.0 * x[0]]; // d/dx x^2
///         opt.step(&mut x, &g)?;
///     }
///     assert!(x[0].abs() < 0.1);
/// }
/// # Ok::<(), gradus::Error>(())
/// ```
pub trait Optimizer<T: Float> {
    /// Performs one update of `params` given `grads` (`dL/dparams`).
    ///
    /// The first call sizes the optimizer state for `params.len()` elements; later calls must pass
    /// the same length (or call [`reset`](Optimizer::reset) first).
    ///
    /// # Errors
    ///
    /// Checked in this order, before anything is written, so that a failed call leaves `params`
    /// and the state bit-identical to before:
    /// [`Error::InvalidHyperparameter`], [`Error::LengthMismatch`], [`Error::StateMismatch`],
    /// [`Error::NonFiniteGradient`] (unless `check_finite(false)`).
    ///
    /// ```
    /// use gradus::{Error, Optimizer, Sgd};
    /// let mut opt = Sgd::new(0.1);
    /// let mut p = [1.0_f32, 2.0];
    /// assert_eq!(opt.step(&mut p, &[1.0]), Err(Error::LengthMismatch { params: 2, grads: 1 }));
    /// opt.step(&mut p, &[1.0, 1.0])?;
    /// assert_eq!(p, [0.9, 1.9]);
    /// # Ok::<(), Error>(())
    /// ```
    fn step(&mut self, params: &mut [T], grads: &[T]) -> Result<(), Error>;

    /// The learning rate used by the next step.
    ///
    /// ```
    /// use gradus::{Adam, Optimizer};
    /// let opt = Adam::<f64>::new(1e-3);
    /// assert_eq!(opt.learning_rate(), 1e-3);
    /// ```
    fn learning_rate(&self) -> T;

    /// Sets the learning rate for the following steps (schedules call this).
    ///
    /// The value is validated by the next [`step`](Optimizer::step), which returns
    /// [`Error::InvalidHyperparameter`] for a negative or non-finite rate.
    ///
    /// ```
    /// use gradus::{Optimizer, Sgd};
    /// let mut opt = Sgd::new(0.1_f64);
    /// opt.set_learning_rate(0.01);
    /// assert_eq!(opt.learning_rate(), 0.01);
    /// ```
    fn set_learning_rate(&mut self, lr: T);

    /// Forgets all state (moments, step count); keeps the hyperparameters.
    ///
    /// ```
    /// use gradus::{Adam, Optimizer};
    /// let mut opt = Adam::new(0.1_f64);
    /// let mut p = [1.0];
    /// opt.step(&mut p, &[1.0])?;
    /// opt.reset();
    /// assert_eq!(opt.steps(), 0);
    /// opt.step(&mut [1.0, 2.0], &[1.0, 1.0])?; // may now take another length
    /// # Ok::<(), gradus::Error>(())
    /// ```
    fn reset(&mut self);

    /// Number of successful steps since construction or the last [`reset`](Optimizer::reset).
    ///
    /// ```
    /// use gradus::{Optimizer, Sgd};
    /// let mut opt = Sgd::new(0.1_f64);
    /// opt.step(&mut [1.0], &[1.0])?;
    /// assert_eq!(opt.steps(), 1);
    /// # Ok::<(), gradus::Error>(())
    /// ```
    fn steps(&self) -> u64;

    /// The per-parameter second-moment estimate (the running average of squared gradients, or
    /// its analogue), if the rule keeps one and has taken a step; `None` otherwise.
    ///
    /// The notebook's [`SpikeAnnealing`](crate::SpikeAnnealing) schedule reads it.
    ///
    /// ```
    /// use gradus::{Adam, Optimizer, Sgd};
    /// let mut adam = Adam::new(0.1_f64);
    /// adam.step(&mut [1.0], &[2.0])?;
    /// assert!(adam.second_moment().is_some());
    /// assert!(Optimizer::<f64>::second_moment(&Sgd::new(0.1)).is_none());
    /// # Ok::<(), gradus::Error>(())
    /// ```
    fn second_moment(&self) -> Option<&[T]> {
        None
    }

    /// The momentum coefficient (SGD/RMSprop `momentum`, Adam-family `beta1`), if the rule has one.
    ///
    /// ```
    /// use gradus::{Adam, Optimizer};
    /// assert_eq!(Optimizer::momentum(&Adam::<f64>::new(1e-3)), Some(0.9));
    /// ```
    fn momentum(&self) -> Option<T> {
        None
    }

    /// Sets the momentum coefficient (used by [`OneCycleLr`](crate::OneCycleLr)'s momentum
    /// cycling); returns `false`, changing nothing, if the rule has none. Validated by the next step.
    ///
    /// ```
    /// use gradus::{Optimizer, Sgd};
    /// let mut opt = Sgd::new(0.1_f64).momentum(0.9);
    /// assert!(opt.set_momentum(0.85));
    /// assert_eq!(Optimizer::momentum(&opt), Some(0.85));
    /// ```
    fn set_momentum(&mut self, momentum: T) -> bool {
        let _ = momentum;
        false
    }
}

/// Implements `Optimizer` for a type by forwarding every method to the optimizer `$inner`
/// (an expression of `$s`, which is bound to `self`).
macro_rules! forward_optimizer {
    ([$($g:tt)*] $ty:ty, $s:ident => $inner:expr) => {
        impl<$($g)*> crate::Optimizer<T> for $ty {
            #[inline]
            fn step(&mut self, params: &mut [T], grads: &[T]) -> Result<(), crate::Error> {
                let $s = self;
                $inner.step(params, grads)
            }
            #[inline]
            fn learning_rate(&self) -> T {
                let $s = self;
                $inner.learning_rate()
            }
            #[inline]
            fn set_learning_rate(&mut self, lr: T) {
                let $s = self;
                $inner.set_learning_rate(lr)
            }
            #[inline]
            fn reset(&mut self) {
                let $s = self;
                $inner.reset()
            }
            #[inline]
            fn steps(&self) -> u64 {
                let $s = self;
                $inner.steps()
            }
            #[inline]
            fn second_moment(&self) -> Option<&[T]> {
                let $s = self;
                crate::Optimizer::second_moment(&$inner)
            }
            #[inline]
            fn momentum(&self) -> Option<T> {
                let $s = self;
                crate::Optimizer::momentum(&$inner)
            }
            #[inline]
            fn set_momentum(&mut self, momentum: T) -> bool {
                let $s = self;
                $inner.set_momentum(momentum)
            }
        }
    };
}
pub(crate) use forward_optimizer;

forward_optimizer!([T: Float, O: Optimizer<T> + ?Sized] &mut O, s => (**s));
forward_optimizer!([T: Float, O: Optimizer<T> + ?Sized] alloc::boxed::Box<O>, s => (**s));
