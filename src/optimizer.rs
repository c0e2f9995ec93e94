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

    /// Reports what the next [`step`](Optimizer::step) would reject about the configuration
    /// alone (its hyperparameters), touching nothing, so that a configuration can be checked when
    /// it is built or loaded rather than at the first step.
    ///
    /// ```
    /// use gradus::{Adam, Error, Optimizer};
    /// assert!(Adam::<f64>::new(1e-3).validate().is_ok());
    /// let bad = Adam::<f64>::new(1e-3).betas(0.9, 1.5);
    /// assert!(matches!(bad.validate(), Err(Error::InvalidHyperparameter { name: "beta2", .. })));
    /// ```
    fn validate(&self) -> Result<(), Error> {
        Ok(())
    }

    /// Checks everything [`step`](Optimizer::step) checks before it writes (hyperparameters,
    /// lengths, the state's size, and unless `check_finite(false)` the gradient), writing
    /// nothing: `Ok` means `step(params, grads)` would succeed.
    ///
    /// Wrappers such as [`Groups`](crate::Groups) call `check` on every tensor before they
    /// [`apply`](Optimizer::apply) any, which makes their step all-or-nothing. The default checks
    /// [`validate`](Optimizer::validate) and the two lengths; a rule of your own should check
    /// all that its `step` can reject.
    ///
    /// ```
    /// use gradus::{Error, Optimizer, Sgd};
    /// let opt = Sgd::new(0.1_f64);
    /// assert!(opt.check(&[1.0, 2.0], &[0.5, 0.5]).is_ok());
    /// assert!(matches!(opt.check(&[1.0, 2.0], &[0.5, f64::NAN]), Err(Error::NonFiniteGradient { index: 1, .. })));
    /// ```
    fn check(&self, params: &[T], grads: &[T]) -> Result<(), Error> {
        self.validate()?;
        if params.len() != grads.len() {
            return Err(Error::LengthMismatch { params: params.len(), grads: grads.len() });
        }
        Ok(())
    }

    /// The update of [`step`](Optimizer::step) on inputs that [`check`](Optimizer::check) has
    /// accepted, without checking them again. The rules of this crate never fail here; the
    /// default calls `step` (and so checks again).
    ///
    /// ```
    /// use gradus::{Optimizer, Sgd};
    /// let mut opt = Sgd::new(0.5_f64);
    /// let (mut p, g) = ([1.0], [1.0]);
    /// opt.check(&p, &g)?;
    /// opt.apply(&mut p, &g)?;
    /// assert_eq!(p, [0.5]);
    /// # Ok::<(), gradus::Error>(())
    /// ```
    fn apply(&mut self, params: &mut [T], grads: &[T]) -> Result<(), Error> {
        self.step(params, grads)
    }

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

    /// Tells a shape-aware rule ([`SparseAdam`](crate::SparseAdam)'s rows, a matrix rule's
    /// `(m, n)`) the shape of the tensor it steps; [`Groups`](crate::Groups) calls it with each
    /// tensor's shape from the [`Layout`](crate::Layout). Other rules ignore it (the default).
    ///
    /// ```
    /// use gradus::{Optimizer, SparseAdam};
    /// let mut opt = SparseAdam::<f64>::new(1e-3);
    /// opt.set_shape(&[1000, 16]);
    /// assert_eq!(opt.get_shape(), Some(&[1000, 16][..]));
    /// ```
    fn set_shape(&mut self, shape: &[usize]) {
        let _ = shape;
    }

    /// Writes the point at which to evaluate (test, save) the model trained at `params`: the
    /// parameters themselves for most rules (the default copies them), the average `x` for the
    /// Schedule-Free rules, the slow weights for [`Lookahead`](crate::Lookahead). `out` must be
    /// as long as `params` (else nothing is written). [`Groups`](crate::Groups) writes every
    /// tensor's.
    ///
    /// ```
    /// use gradus::{Optimizer, ScheduleFreeSgd, Sgd};
    /// let mut out = [0.0];
    /// Optimizer::<f64>::eval_params(&Sgd::new(0.1), &[2.0], &mut out);
    /// assert_eq!(out, [2.0]);
    /// let mut sf = ScheduleFreeSgd::new(0.1_f64);
    /// let mut y = [1.0];
    /// sf.step(&mut y, &[1.0])?;
    /// sf.step(&mut y, &[1.0])?;
    /// Optimizer::eval_params(&sf, &y, &mut out);
    /// assert_ne!(out, y);
    /// # Ok::<(), gradus::Error>(())
    /// ```
    fn eval_params(&self, params: &[T], out: &mut [T]) {
        if out.len() == params.len() {
            out.copy_from_slice(params);
        }
    }

    /// Whether the rule is elementwise: each element's update reads only that element's
    /// parameter, gradient and state, and scalars that are the same for every element (the
    /// hyperparameters, the step count). Such a rule may step any piece of a tensor on its own
    /// with the same result, bit for bit, as stepping the whole tensor; a rule that reads the
    /// whole tensor (a norm, a trust ratio, a matrix's shape) is not. [`ZeroSharded`](crate::ZeroSharded)
    /// cuts only the tensors of elementwise rules across ranks. The default, `false`, is the
    /// safe answer for a rule of your own.
    ///
    /// ```
    /// use gradus::{Adam, Lamb, Optimizer};
    /// assert!(Optimizer::<f32>::elementwise(&Adam::new(1e-3)));
    /// assert!(!Optimizer::<f32>::elementwise(&Lamb::new(1e-3))); // its trust ratio reads the whole tensor
    /// ```
    fn elementwise(&self) -> bool {
        false
    }

    /// The number of parameter groups, each with its own learning rate (and momentum): 1 for a
    /// single rule, one per [`group`](crate::Groups::group) for [`Groups`](crate::Groups).
    /// Schedules set every group's rate from that group's own base rate, as
    /// `torch.optim.lr_scheduler` does over `param_groups`.
    ///
    /// ```
    /// use gradus::{Optimizer, Sgd};
    /// assert_eq!(Optimizer::<f64>::groups(&Sgd::new(0.1)), 1);
    /// ```
    fn groups(&self) -> usize {
        1
    }

    /// The learning rate of group `group` (`None` past the last group).
    ///
    /// ```
    /// use gradus::{Optimizer, Sgd};
    /// let opt = Sgd::new(0.1_f64);
    /// assert_eq!(opt.group_learning_rate(0), Some(0.1));
    /// assert_eq!(opt.group_learning_rate(1), None);
    /// ```
    fn group_learning_rate(&self, group: usize) -> Option<T> {
        (group == 0).then(|| self.learning_rate())
    }

    /// Sets the learning rate of group `group`; returns `false`, changing nothing, past the last
    /// group. Validated by the next step.
    ///
    /// ```
    /// use gradus::{Optimizer, Sgd};
    /// let mut opt = Sgd::new(0.1_f64);
    /// assert!(opt.set_group_learning_rate(0, 0.2));
    /// assert!(!opt.set_group_learning_rate(1, 0.2));
    /// assert_eq!(opt.learning_rate(), 0.2);
    /// ```
    fn set_group_learning_rate(&mut self, group: usize, lr: T) -> bool {
        if group != 0 {
            return false;
        }
        self.set_learning_rate(lr);
        true
    }

    /// The momentum coefficient of group `group`, as [`momentum`](Optimizer::momentum).
    ///
    /// ```
    /// use gradus::{Adam, Optimizer};
    /// assert_eq!(Adam::<f64>::new(1e-3).group_momentum(0), Some(0.9));
    /// ```
    fn group_momentum(&self, group: usize) -> Option<T> {
        if group == 0 {
            self.momentum()
        } else {
            None
        }
    }

    /// Sets the momentum coefficient of group `group`, as [`set_momentum`](Optimizer::set_momentum);
    /// `false` if there is no such group or it has no momentum.
    ///
    /// ```
    /// use gradus::{Adam, Optimizer};
    /// let mut opt = Adam::new(1e-3_f64);
    /// assert!(opt.set_group_momentum(0, 0.85));
    /// assert_eq!(Optimizer::momentum(&opt), Some(0.85));
    /// ```
    fn set_group_momentum(&mut self, group: usize, momentum: T) -> bool {
        group == 0 && self.set_momentum(momentum)
    }

    /// A copy of the whole optimizer, hyperparameters and state, for
    /// [`restore`](Optimizer::restore) to write back: what [`fit`](crate::fit) keeps of its best
    /// epoch. Every rule of the crate, [`Groups`](crate::Groups), and the wrappers over a rule
    /// that gives one, give one; the default (an optimizer of your own) gives `None`.
    ///
    /// ```
    /// use gradus::{Adam, Optimizer};
    /// let mut opt = Adam::new(0.1_f64);
    /// let mut p = [1.0];
    /// opt.step(&mut p, &[1.0])?;
    /// let saved = opt.snapshot().expect("Adam can be copied");
    /// opt.step(&mut p, &[1.0])?;
    /// assert!(opt.restore(&*saved));
    /// assert_eq!(opt.steps(), 1);
    /// # Ok::<(), gradus::Error>(())
    /// ```
    fn snapshot(&self) -> Option<alloc::boxed::Box<dyn core::any::Any>>
    where
        T: 'static,
    {
        None
    }

    /// Writes back a [`snapshot`](Optimizer::snapshot) of this optimizer's type; `false`, with
    /// nothing changed, for a snapshot of another type (or where there are no snapshots).
    ///
    /// ```
    /// use gradus::{Adam, Optimizer, Sgd};
    /// let mut opt = Adam::new(0.1_f64);
    /// let other = Sgd::new(0.1_f64).snapshot().unwrap();
    /// assert!(!opt.restore(&*other));
    /// ```
    fn restore(&mut self, snapshot: &dyn core::any::Any) -> bool
    where
        T: 'static,
    {
        let _ = snapshot;
        false
    }
}

/// The [`Optimizer::snapshot`] and [`Optimizer::restore`] of a `Clone` type: a boxed copy, and
/// a downcast back.
macro_rules! snapshot_by_clone {
    () => {
        fn snapshot(&self) -> Option<alloc::boxed::Box<dyn core::any::Any>>
        where
            T: 'static,
        {
            Some(alloc::boxed::Box::new(self.clone()))
        }
        fn restore(&mut self, snapshot: &dyn core::any::Any) -> bool
        where
            T: 'static,
        {
            match snapshot.downcast_ref::<Self>() {
                Some(saved) => {
                    self.clone_from(saved);
                    true
                }
                None => false,
            }
        }
    };
}
pub(crate) use snapshot_by_clone;

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
            fn snapshot(&self) -> Option<alloc::boxed::Box<dyn core::any::Any>>
            where
                T: 'static,
            {
                let $s = self;
                $inner.snapshot()
            }
            fn restore(&mut self, snapshot: &dyn core::any::Any) -> bool
            where
                T: 'static,
            {
                let $s = self;
                $inner.restore(snapshot)
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
            #[inline]
            fn validate(&self) -> Result<(), crate::Error> {
                let $s = self;
                crate::Optimizer::validate(&$inner)
            }
            #[inline]
            fn check(&self, params: &[T], grads: &[T]) -> Result<(), crate::Error> {
                let $s = self;
                crate::Optimizer::check(&$inner, params, grads)
            }
            #[inline]
            fn apply(&mut self, params: &mut [T], grads: &[T]) -> Result<(), crate::Error> {
                let $s = self;
                $inner.apply(params, grads)
            }
            #[inline]
            fn set_shape(&mut self, shape: &[usize]) {
                let $s = self;
                crate::Optimizer::set_shape(&mut $inner, shape)
            }
            #[inline]
            fn eval_params(&self, params: &[T], out: &mut [T]) {
                let $s = self;
                crate::Optimizer::eval_params(&$inner, params, out)
            }
            #[inline]
            fn elementwise(&self) -> bool {
                let $s = self;
                crate::Optimizer::elementwise(&$inner)
            }
            #[inline]
            fn groups(&self) -> usize {
                let $s = self;
                crate::Optimizer::groups(&$inner)
            }
            #[inline]
            fn group_learning_rate(&self, group: usize) -> Option<T> {
                let $s = self;
                crate::Optimizer::group_learning_rate(&$inner, group)
            }
            #[inline]
            fn set_group_learning_rate(&mut self, group: usize, lr: T) -> bool {
                let $s = self;
                $inner.set_group_learning_rate(group, lr)
            }
            #[inline]
            fn group_momentum(&self, group: usize) -> Option<T> {
                let $s = self;
                crate::Optimizer::group_momentum(&$inner, group)
            }
            #[inline]
            fn set_group_momentum(&mut self, group: usize, momentum: T) -> bool {
                let $s = self;
                $inner.set_group_momentum(group, momentum)
            }
        }
    };
}
pub(crate) use forward_optimizer;

forward_optimizer!([T: Float, O: Optimizer<T> + ?Sized] &mut O, s => (**s));
forward_optimizer!([T: Float, O: Optimizer<T> + ?Sized] alloc::boxed::Box<O>, s => (**s));
