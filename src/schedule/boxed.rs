//! A schedule in a list ([`Sequential`], [`Chained`]): boxed, cloneable, sendable and, for the
//! crate's own schedules, serializable.

use alloc::boxed::Box;
use core::any::Any;
use core::fmt;

use num_traits::Float;

use crate::schedule::Schedule;
#[cfg(doc)]
use crate::{Chained, Sequential};
use crate::{Error, Optimizer};
use alloc::vec::Vec;

/// A [`Schedule`] that [`Sequential`] and [`Chained`] can hold: every `Clone + Send + Sync`
/// schedule is one (the crate's, and a closure-free one of your own), so a list of them is
/// `Clone`, `Debug` and `Send + Sync`. With the `serde` feature a list of the crate's schedules
/// serializes; one of your own in it makes serializing an error that names its type.
///
/// ```
/// use gradus::{DynSchedule, LinearLr, Sequential, StepLr};
/// let parts: Vec<Box<dyn DynSchedule<f64>>> = vec![Box::new(LinearLr::new(0.1, 1.0, 5)), Box::new(StepLr::new(10, 0.5))];
/// let s = Sequential::new(parts, &[5]);
/// let copy = s.clone(); // Send + Sync + Clone + Debug
/// std::thread::spawn(move || drop(copy)).join().unwrap();
/// assert!(format!("{s:?}").contains("LinearLr"));
/// ```
pub trait DynSchedule<T: Float>: Schedule<T> + Send + Sync {
    /// A boxed copy.
    ///
    /// ```
    /// use gradus::{DynSchedule, StepLr};
    /// let s: Box<dyn DynSchedule<f64>> = Box::new(StepLr::new(10, 0.5));
    /// let _copy = s.clone_box();
    /// ```
    fn clone_box(&self) -> Box<dyn DynSchedule<T>>;

    /// The schedule as `Any`, to recognize the crate's schedules when serializing.
    ///
    /// ```
    /// use gradus::{DynSchedule, StepLr};
    /// let s: Box<dyn DynSchedule<f64>> = Box::new(StepLr::new(10, 0.5));
    /// assert!(s.as_any().is::<StepLr>());
    /// ```
    fn as_any(&self) -> &dyn Any;

    /// The schedule's type name, for `Debug` and errors.
    ///
    /// ```
    /// use gradus::{DynSchedule, StepLr};
    /// let s: Box<dyn DynSchedule<f64>> = Box::new(StepLr::new(10, 0.5));
    /// assert!(s.type_name().ends_with("StepLr"));
    /// ```
    fn type_name(&self) -> &'static str;
}

impl<T: Float, S: Schedule<T> + Clone + Send + Sync + 'static> DynSchedule<T> for S {
    fn clone_box(&self) -> Box<dyn DynSchedule<T>> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn type_name(&self) -> &'static str {
        core::any::type_name::<S>()
    }
}

impl<T: Float> Clone for Box<dyn DynSchedule<T>> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

impl<T: Float> fmt::Debug for dyn DynSchedule<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.type_name())
    }
}

/// Runs `f`, a step of a list of schedules, all or nothing: if it fails, the list's state and
/// every group's rate and momentum are put back as they were, so a member that refuses its step
/// (after others took theirs) changes nothing. The copies cost an allocation per schedule step,
/// not per optimizer element.
pub(super) fn all_or_nothing<T: Float, S: Clone>(
    this: &mut S,
    optimizer: &mut dyn Optimizer<T>,
    f: impl FnOnce(&mut S, &mut dyn Optimizer<T>) -> Result<(), Error>,
) -> Result<(), Error> {
    let saved = this.clone();
    let rates: Vec<(Option<T>, Option<T>)> =
        (0..optimizer.groups()).map(|g| (optimizer.group_learning_rate(g), optimizer.group_momentum(g))).collect();
    let result = f(this, optimizer);
    if result.is_err() {
        *this = saved;
        for (g, (lr, momentum)) in rates.into_iter().enumerate() {
            if let Some(lr) = lr {
                optimizer.set_group_learning_rate(g, lr);
            }
            if let Some(m) = momentum {
                optimizer.set_group_momentum(g, m);
            }
        }
    }
    result
}

#[cfg(feature = "serde")]
mod serde_impl {
    use alloc::boxed::Box;
    use alloc::format;

    use num_traits::Float;
    use serde::de::{Deserializer, Error as _};
    use serde::ser::{Error as _, Serializer};
    use serde::{Deserialize, Serialize};

    use super::DynSchedule;
    use crate::*;

    /// Declares `Saved`, the crate's serializable schedules by name, and the two directions.
    macro_rules! saved {
        ($($ty:ident),* ; $($generic:ident),*) => {
            #[derive(Serialize, Deserialize)]
            #[serde(bound = "T: Float + 'static")]
            enum Saved<T: Float + 'static> {
                $($ty($ty),)*
                $($generic($generic<T>),)*
            }

            impl<T: Float + 'static> Serialize for Box<dyn DynSchedule<T>> {
                fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                    let any = self.as_any();
                    let saved: Saved<T> = $(if let Some(s) = any.downcast_ref::<$ty>() {
                        Saved::$ty(s.clone())
                    } else)* $(if let Some(s) = any.downcast_ref::<$generic<T>>() {
                        Saved::$generic(s.clone())
                    } else)* {
                        return Err(S::Error::custom(format!(
                            "a schedule of type `{}` cannot be serialized: only the crate's schedules \
                             without closures can (not LambdaLr, MultiplicativeLr, a CyclicLr \
                             with a scale_fn, or one of your own)",
                            self.type_name()
                        )));
                    };
                    saved.serialize(serializer)
                }
            }

            impl<'de, T: Float + 'static> Deserialize<'de> for Box<dyn DynSchedule<T>> {
                fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                    let schedule: Box<dyn DynSchedule<T>> = match Saved::<T>::deserialize(deserializer)? {
                        $(Saved::$ty(s) => Box::new(s),)*
                        $(Saved::$generic(s) => Box::new(s),)*
                    };
                    // a member of a list is checked as it loads, as its next step would
                    schedule.validate().map_err(|e| D::Error::custom(format!("{}: {e}", schedule.type_name())))?;
                    Ok(schedule)
                }
            }
        };
    }

    saved!(
        StepLr, MultiStepLr, ExponentialLr, CosineAnnealingLr, CosineAnnealingWarmRestarts, LinearLr, OneCycleLr,
        ReduceLrOnPlateau, ConstantLr, PolynomialLr, SpikeAnnealing, SwaLr, CyclicLr;
        Sequential, Chained
    );
}
