//! Wrappers that compose with any rule (a [`Groups`](crate::Groups) included): optax's
//! `lookahead`, `MultiSteps` and `apply_if_finite`. Each holds its inner rule and forwards the
//! learning rate, the groups and the momentum to it, so schedules drive the inner rule.

mod apply_if_finite;
mod lookahead;
mod multi_steps;

pub use apply_if_finite::ApplyIfFinite;
pub use lookahead::Lookahead;
pub use multi_steps::{Dtype, MultiSteps};

/// The `Optimizer` methods a wrapper forwards to its inner rule `$s.inner`.
macro_rules! forward_to_inner {
    () => {
        fn learning_rate(&self) -> T {
            self.inner.learning_rate()
        }
        fn set_learning_rate(&mut self, lr: T) {
            self.inner.set_learning_rate(lr)
        }
        fn momentum(&self) -> Option<T> {
            self.inner.momentum()
        }
        fn set_momentum(&mut self, momentum: T) -> bool {
            self.inner.set_momentum(momentum)
        }
        fn set_shape(&mut self, shape: &[usize]) {
            self.inner.set_shape(shape)
        }
        fn groups(&self) -> usize {
            self.inner.groups()
        }
        fn group_learning_rate(&self, group: usize) -> Option<T> {
            self.inner.group_learning_rate(group)
        }
        fn set_group_learning_rate(&mut self, group: usize, lr: T) -> bool {
            self.inner.set_group_learning_rate(group, lr)
        }
        fn group_momentum(&self, group: usize) -> Option<T> {
            self.inner.group_momentum(group)
        }
        fn set_group_momentum(&mut self, group: usize, momentum: T) -> bool {
            self.inner.set_group_momentum(group, momentum)
        }
    };
}
pub(crate) use forward_to_inner;

/// [`Optimizer::snapshot`](crate::Optimizer::snapshot) and `restore` of a wrapper: the inner
/// rule's snapshot beside a copy of the wrapper's own fields (the wrapper with `inner: ()`);
/// `None` when the inner rule has none.
macro_rules! snapshot_wrapper {
    ($ty:ident <() $(, $t:ident)?> { $($field:ident),* $(,)? }) => {
        fn snapshot(&self) -> Option<alloc::boxed::Box<dyn core::any::Any>>
        where
            T: 'static,
        {
            let inner = self.inner.snapshot()?;
            let rest = $ty::<() $(, $t)?> { inner: (), $($field: self.$field.clone()),* };
            Some(alloc::boxed::Box::new((inner, rest)))
        }
        fn restore(&mut self, snapshot: &dyn core::any::Any) -> bool
        where
            T: 'static,
        {
            let saved = snapshot.downcast_ref::<(alloc::boxed::Box<dyn core::any::Any>, $ty<() $(, $t)?>)>();
            let Some((inner, rest)) = saved else { return false };
            if !self.inner.restore(&**inner) {
                return false;
            }
            $(self.$field.clone_from(&rest.$field);)*
            true
        }
    };
}
pub(crate) use snapshot_wrapper;
