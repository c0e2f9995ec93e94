//! [`Groups`]: one optimizer over a model of many tensors, each group of tensors with its own
//! rule and hyperparameters, every step all-or-nothing.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::any::Any;
use core::fmt;

use num_traits::Float;

use crate::{
    AdEmaMix, AdaBelief, Adadelta, Adafactor, Adagrad, Adam, AdamW, Adamax, Adan, Adopt, Asgd, Error, Fromage, Lamb,
    Lars, Layout, Lion, Muon, NAdam, NovoGrad, OptimisticGd, Optimizer, Prodigy, RAdam, RmsProp, Rprop,
    ScheduleFreeAdamW, ScheduleFreeSgd, Sgd, SignSgd, SimplifiedAdEmaMix, Sm3, SparseAdam, TensorName, Yogi,
};

/// One optimizer over the flat buffer of a [`Layout`]: PyTorch's `param_groups`, optax's
/// `partition`.
///
/// Each [`group`](Groups::group) names some of the layout's tensors and gives them a rule (any
/// rule of this crate, or your own [`Optimizer`]; different groups may use different rules).
/// Every tensor gets its own copy of its group's rule, so its own state and step count, as each
/// parameter of a torch param group has. Every tensor must be in exactly one group.
///
/// **All or nothing.** A step first checks every group's hyperparameters, both buffers' lengths
/// and, tensor by tensor, everything the tensor's rule would check (its state's size, and unless
/// the rule was built with `check_finite(false)`, its gradient for NaN and infinity); only when
/// all of it passed does it update the tensors, in layout order. A failed step returns the error
/// and leaves every tensor and every state bit for bit as it was. A NaN in the last tensor's
/// gradient is reported as [`Error::NonFiniteGradient`] with its index in the flat buffer
/// ([`Layout::locate`] names the tensor), an invalid hyperparameter as
/// [`Error::InvalidGroupHyperparameter`] with the group.
///
/// **Schedules** drive every group from its own base rate, as `torch.optim.lr_scheduler` does
/// (see [`Optimizer::groups`]); [`set_learning_rate`](Optimizer::set_learning_rate) sets every
/// group's rate, [`learning_rate`](Optimizer::learning_rate) reads group 0's, and
/// [`group_lr`](Groups::group_lr) any group's. [`steps`](Optimizer::steps) counts successful
/// steps of the whole model.
///
/// **Checkpoints.** With the `serde` feature a `Groups` of the crate's rules serializes its
/// layout, its groups, and every tensor's rule and state keyed by the tensor's name;
/// [`restore`](Groups::restore) loads such a checkpoint into a `Groups` built by your code,
/// checking that the layouts agree.
///
/// ```
/// use gradus::{AdamW, Groups, Layout, Optimizer};
///
/// let layout = Layout::new().tensor("w1", &[4, 8]).tensor("b1", &[8]).tensor("w2", &[8, 3]).tensor("b2", &[3]);
/// let mut opt = Groups::new(layout.clone())
///     .group(&["w1", "w2"], AdamW::new(1e-3).weight_decay(0.1))
///     .group(&["b1", "b2"], AdamW::new(1e-3).weight_decay(0.0));
/// let mut params = vec![0.1_f32; layout.len()];
/// let grads = vec![0.5_f32; layout.len()];
/// opt.step(&mut params, &grads)?;
/// assert_eq!(opt.group_lr(1), Some(1e-3));
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone)]
pub struct Groups<T: Float + Send + Sync + 'static> {
    layout: Layout,
    /// Per group: the names it was given, and its rule as given (its hyperparameters).
    groups: Vec<Group<T>>,
    /// Per tensor of the layout: its group and its own copy of the rule.
    tensors: Vec<Option<(usize, Slot<T>)>>,
    /// The first error in how the groups were built (an unknown or twice-grouped tensor).
    problem: Option<Error>,
    steps: u64,
}

#[derive(Clone, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct Group<T: Float> {
    names: Vec<String>,
    rule: Slot<T>,
}

impl<T: Float + Send + Sync + 'static> Groups<T> {
    /// No groups yet over `layout`'s tensors.
    ///
    /// ```
    /// let opt = gradus::Groups::<f32>::new(gradus::Layout::new().tensor("w", &[3]));
    /// assert_eq!(opt.group_lr(0), None);
    /// ```
    pub fn new(layout: Layout) -> Self {
        let tensors = (0..layout.num_tensors()).map(|_| None).collect();
        Groups { layout, groups: Vec::new(), tensors, problem: None, steps: 0 }
    }

    /// Adds a group: the tensors `names` are stepped by copies of `rule`, one per tensor.
    ///
    /// A name the layout lacks, or a tensor already in a group, is reported by the next step
    /// (and by [`validate`](Optimizer::validate)) as [`Error::UnknownTensor`] or
    /// [`Error::TensorInTwoGroups`]; a layout tensor left in no group as
    /// [`Error::UngroupedTensor`].
    ///
    /// ```
    /// use gradus::{Adam, Error, Groups, Layout, Optimizer, Sgd};
    /// let layout = Layout::new().tensor("w", &[2, 2]).tensor("b", &[2]);
    /// let opt = Groups::<f64>::new(layout.clone()).group(&["w"], Sgd::new(0.1).momentum(0.9)).group(&["b"], Adam::new(1e-3));
    /// assert!(opt.validate().is_ok());
    /// let missing = Groups::<f64>::new(layout).group(&["w"], Sgd::new(0.1));
    /// assert!(matches!(missing.validate(), Err(Error::UngroupedTensor { name }) if name == "b"));
    /// ```
    pub fn group<R: Optimizer<T> + Clone + Send + Sync + 'static>(self, names: &[&str], rule: R) -> Self {
        self.add_group(names, Slot::from_rule(rule))
    }

    fn add_group(mut self, names: &[&str], slot: Slot<T>) -> Self {
        let g = self.groups.len();
        if names.is_empty() && self.problem.is_none() {
            self.problem = Some(Error::EmptyGroup { group: g });
        }
        for &name in names {
            match self.layout.index(name) {
                None => {
                    self.problem.get_or_insert(Error::UnknownTensor { group: g, name: TensorName::new(name) });
                }
                Some(i) => match &self.tensors[i] {
                    Some((first, _)) => {
                        let first = *first;
                        self.problem.get_or_insert(Error::TensorInTwoGroups {
                            name: TensorName::new(name),
                            first,
                            second: g,
                        });
                    }
                    None => {
                        let mut own = slot.clone();
                        if let Some(shape) = self.layout.shape(name) {
                            own.get_mut().set_shape(shape);
                        }
                        self.tensors[i] = Some((g, own));
                    }
                },
            }
        }
        self.groups.push(Group { names: names.iter().map(|&n| String::from(n)).collect(), rule: slot });
        self
    }

    /// The learning rate of group `i` (in the order added), `None` past the last group.
    ///
    /// ```
    /// use gradus::{Groups, Layout, Sgd};
    /// let opt = Groups::new(Layout::new().tensor("w", &[2]).tensor("b", &[1]))
    ///     .group(&["w"], Sgd::new(0.1_f64)).group(&["b"], Sgd::new(0.2));
    /// assert_eq!(opt.group_lr(1), Some(0.2));
    /// assert_eq!(opt.group_lr(2), None);
    /// ```
    pub fn group_lr(&self, i: usize) -> Option<T> {
        self.groups.get(i).map(|g| g.rule.get().learning_rate())
    }

    /// The names group `i` was given, `None` past the last group.
    ///
    /// ```
    /// use gradus::{Groups, Layout, Sgd};
    /// let opt = Groups::new(Layout::new().tensor("w", &[2]).tensor("b", &[1])).group(&["w", "b"], Sgd::new(0.1_f64));
    /// assert_eq!(opt.group_tensors(0).unwrap(), ["w", "b"]);
    /// ```
    pub fn group_tensors(&self, i: usize) -> Option<&[String]> {
        self.groups.get(i).map(|g| &g.names[..])
    }

    /// The layout stepped.
    ///
    /// ```
    /// use gradus::{Groups, Layout};
    /// let opt = Groups::<f32>::new(Layout::new().tensor("w", &[2]));
    /// assert_eq!(opt.layout().len(), 2);
    /// ```
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The rule (with its state) of tensor `name`, to read its hyperparameters or state.
    ///
    /// ```
    /// use gradus::{Adam, Groups, Layout, Optimizer};
    /// let mut opt = Groups::new(Layout::new().tensor("w", &[2])).group(&["w"], Adam::new(0.1_f64));
    /// opt.step(&mut [1.0, 2.0], &[0.1, 0.1])?;
    /// assert_eq!(opt.rule("w").unwrap().steps(), 1);
    /// # Ok::<(), gradus::Error>(())
    /// ```
    pub fn rule(&self, name: &str) -> Option<&dyn Optimizer<T>> {
        let i = self.layout.index(name)?;
        self.tensors[i].as_ref().map(|(_, slot)| slot.get())
    }

    /// Steps tensors held in separate buffers: `params[i]` and `grads[i]` are the `i`-th tensor
    /// of the layout. All-or-nothing, as [`step`](Optimizer::step).
    ///
    /// # Errors
    ///
    /// As `step`; a wrong number of tensors or a tensor of the wrong length is
    /// [`Error::TensorLength`] (named), with nothing written.
    ///
    /// ```
    /// use gradus::{Groups, Layout, Sgd};
    /// let mut opt = Groups::new(Layout::new().tensor("w", &[2]).tensor("b", &[1])).group(&["w", "b"], Sgd::new(0.5_f64));
    /// let (mut w, mut b) = (vec![1.0, 1.0], vec![0.0]);
    /// opt.step_tensors(&mut [&mut w, &mut b], &[&[1.0, 2.0], &[2.0]])?;
    /// assert_eq!((w, b), (vec![0.5, 0.0], vec![-1.0]));
    /// # Ok::<(), gradus::Error>(())
    /// ```
    pub fn step_tensors(&mut self, params: &mut [&mut [T]], grads: &[&[T]]) -> Result<(), Error> {
        self.validate_all()?;
        self.tensor_lengths(params.iter().map(|p| p.len()), params.len())?;
        self.tensor_lengths(grads.iter().map(|g| g.len()), grads.len())?;
        for (i, (p, g)) in params.iter().zip(grads).enumerate() {
            self.check_tensor(i, p, g)?;
        }
        for (i, (p, g)) in params.iter_mut().zip(grads).enumerate() {
            if !matches!(self.tensors[i], Some((_, Slot::Prodigy(_)))) {
                self.apply_tensor(i, p, g)?;
            }
        }
        step_prodigy_groups(
            &self.groups,
            &mut self.tensors,
            params,
            |ps, i| &*ps[i],
            |ps, i| &mut *ps[i],
            |i| grads[i],
        );
        self.steps += 1;
        Ok(())
    }

    /// Loads the checkpoint `saved` (a `Groups` deserialized from what an earlier run saved)
    /// into this one: its rules, hyperparameters, states and step counts replace these, after
    /// checking that both have the same tensors (names and shapes, in order) in the same groups.
    ///
    /// # Errors
    ///
    /// [`Error::LayoutMismatch`] naming the first tensor that differs; nothing is changed.
    ///
    /// ```
    /// use gradus::{Adam, Error, Groups, Layout, Optimizer};
    /// let build = |layout: Layout| Groups::new(layout).group(&["w"], Adam::new(0.1_f64));
    /// let mut trained = build(Layout::new().tensor("w", &[2]));
    /// trained.step(&mut [1.0, 2.0], &[0.5, 0.5])?;
    /// let mut resumed = build(Layout::new().tensor("w", &[2]));
    /// resumed.restore(trained.clone())?;
    /// assert_eq!(resumed.steps(), 1);
    /// let mut other = build(Layout::new().tensor("w", &[3]));
    /// assert!(matches!(other.restore(trained), Err(Error::LayoutMismatch { index: 0, what: "shape", .. })));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn restore(&mut self, saved: Groups<T>) -> Result<(), Error> {
        let (here, there) = (&self.layout, &saved.layout);
        let mismatch = |index: usize, what: &'static str| Error::LayoutMismatch {
            index,
            what,
            expected: here.name(index),
            found: there.name(index),
        };
        for (i, ((a, sa, _), (b, sb, _))) in here.iter().zip(there.iter()).enumerate() {
            if a != b {
                return Err(mismatch(i, "name"));
            }
            if sa != sb {
                return Err(mismatch(i, "shape"));
            }
            if self.tensors[i].as_ref().map(|t| t.0) != saved.tensors[i].as_ref().map(|t| t.0) {
                return Err(mismatch(i, "group"));
            }
        }
        if here.num_tensors() != there.num_tensors() {
            return Err(mismatch(here.num_tensors().min(there.num_tensors()), "tensor count"));
        }
        if self.groups.len() != saved.groups.len() {
            return Err(mismatch(0, "group count"));
        }
        *self = saved;
        Ok(())
    }

    /// The structure, then every group's hyperparameters.
    fn validate_all(&self) -> Result<(), Error> {
        self.layout.validate()?;
        if let Some(e) = self.problem {
            return Err(e);
        }
        if let Some(i) = self.tensors.iter().position(Option::is_none) {
            return Err(Error::UngroupedTensor { name: self.layout.name(i) });
        }
        // every tensor's own copy (it carries the tensor's shape), named by its group
        for (g, slot) in self.tensors.iter().flatten() {
            slot.get().validate().map_err(|e| in_group(*g, e))?;
        }
        Ok(())
    }

    fn tensor_lengths(&self, lens: impl Iterator<Item = usize>, count: usize) -> Result<(), Error> {
        let tensors = self.layout.num_tensors();
        if count != tensors {
            return Err(Error::TensorLength { name: TensorName::new("#tensors"), expected: tensors, found: count });
        }
        for (i, len) in lens.enumerate() {
            let expected = self.layout.range_of(i).len();
            if len != expected {
                return Err(Error::TensorLength { name: self.layout.name(i), expected, found: len });
            }
        }
        Ok(())
    }

    fn slot(&self, i: usize) -> (usize, &Slot<T>) {
        let (g, slot) = self.tensors[i].as_ref().expect("validated: every tensor is in a group");
        (*g, slot)
    }

    /// What tensor `i`'s rule would reject, with indices in the flat buffer and the group named.
    fn check_tensor(&self, i: usize, params: &[T], grads: &[T]) -> Result<(), Error> {
        let (g, slot) = self.slot(i);
        slot.get().check(params, grads).map_err(|e| match e {
            Error::NonFiniteGradient { index, value } => {
                Error::NonFiniteGradient { index: index + self.layout.range_of(i).start, value }
            }
            e => in_group(g, e),
        })
    }

    fn apply_tensor(&mut self, i: usize, params: &mut [T], grads: &[T]) -> Result<(), Error> {
        let (g, slot) = self.tensors[i].as_mut().expect("validated: every tensor is in a group");
        slot.get_mut().apply(params, grads).map_err(|e| in_group(*g, e))
    }

    fn set_group<F: FnMut(&mut dyn Optimizer<T>) -> bool>(&mut self, group: usize, mut f: F) -> bool {
        let Some(g) = self.groups.get_mut(group) else { return false };
        let mut ok = f(g.rule.get_mut());
        for (_, slot) in self.tensors.iter_mut().flatten().filter(|(owner, _)| *owner == group) {
            ok &= f(slot.get_mut());
        }
        ok
    }
}

/// A contiguous piece of one tensor of a layout: the unit [`ZeroSharded`](crate::ZeroSharded)
/// places on a rank, with its own copy of the tensor's rule.
#[cfg(feature = "std")]
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Piece {
    /// The tensor's index in the layout.
    pub(crate) tensor: usize,
    /// The piece's place in the flat buffer.
    pub(crate) start: usize,
    pub(crate) len: usize,
    /// The tensor's name, or `name[a..b]` for a part of it (offsets within the tensor).
    pub(crate) name: String,
    /// The tensor's shape, or `[len]` for a part of it.
    pub(crate) shape: Vec<usize>,
}

#[cfg(feature = "std")]
impl<T: Float + Send + Sync + 'static> Groups<T> {
    /// The layout's tensors in pieces: a tensor of an elementwise rule longer than `piece_len`
    /// in parts of `piece_len` (the last shorter), every other tensor whole. Needs a valid
    /// structure (every tensor in one group).
    pub(crate) fn pieces(&self, piece_len: usize) -> Vec<Piece> {
        let mut out = Vec::new();
        for (i, (name, shape, range)) in self.layout.iter().enumerate() {
            let cut = self.tensors[i].as_ref().is_some_and(|(_, slot)| slot.get().elementwise());
            if !cut || range.len() <= piece_len {
                out.push(Piece {
                    tensor: i,
                    start: range.start,
                    len: range.len(),
                    name: String::from(name),
                    shape: shape.to_vec(),
                });
                continue;
            }
            let mut a = 0;
            while a < range.len() {
                let b = (a + piece_len).min(range.len());
                out.push(Piece {
                    tensor: i,
                    start: range.start + a,
                    len: b - a,
                    name: alloc::format!("{name}[{a}..{b}]"),
                    shape: alloc::vec![b - a],
                });
                a = b;
            }
        }
        out
    }

    /// The group of tensor `i` (of a valid structure).
    pub(crate) fn group_of(&self, i: usize) -> usize {
        self.tensors[i].as_ref().map_or(0, |(g, _)| *g)
    }

    /// Whether group `g` steps its tensors together (Prodigy's one estimate).
    pub(crate) fn steps_group_together(&self, g: usize) -> bool {
        self.groups.get(g).is_some_and(|group| matches!(group.rule, Slot::Prodigy(_)))
    }

    /// A `Groups` over `pieces` (of this one's layout, in order), each piece with a fresh copy of
    /// its tensor's group's rule as given; and, per group of it, the group of this one.
    pub(crate) fn subset(&self, pieces: &[Piece]) -> (Groups<T>, Vec<usize>) {
        let layout = pieces.iter().fold(Layout::new(), |l, p| l.tensor(&p.name, &p.shape));
        let mut out = Groups::new(layout);
        let mut map = Vec::new();
        for (g, group) in self.groups.iter().enumerate() {
            let names: Vec<&str> =
                pieces.iter().filter(|p| self.group_of(p.tensor) == g).map(|p| &p.name[..]).collect();
            if !names.is_empty() {
                out = out.add_group(&names, group.rule.clone());
                map.push(g);
            }
        }
        (out, map)
    }

    #[cfg(feature = "serde")]
    /// Swaps the rule (with its state) of tensor `name` here with that of tensor `name` of
    /// `other`; `false`, changing nothing, if either lacks it.
    pub(crate) fn swap_rule(&mut self, name: &str, other: &mut Groups<T>) -> bool {
        let (Some(i), Some(j)) = (self.layout.index(name), other.layout.index(name)) else { return false };
        match (self.tensors[i].as_mut(), other.tensors[j].as_mut()) {
            (Some((_, a)), Some((_, b))) => {
                core::mem::swap(a, b);
                true
            }
            _ => false,
        }
    }

    #[cfg(feature = "serde")]
    /// Sets the count of steps taken (a resumed shard's).
    pub(crate) fn set_steps(&mut self, steps: u64) {
        self.steps = steps;
    }
}

/// Steps every Prodigy group of `groups` (the per-tensor loop skips their tensors): per group,
/// every tensor's moments, then every tensor's move with the estimate from the sums over all of
/// them (optax's one estimate over the tree). `view(params, i)` and `view_mut(params, i)` give
/// tensor `i`'s parameters, `grad(i)` its gradient.
fn step_prodigy_groups<'g, T: Float + Send + Sync + 'static, P: ?Sized>(
    groups: &[Group<T>],
    tensors: &mut [Option<(usize, Slot<T>)>],
    params: &mut P,
    view: impl Fn(&P, usize) -> &[T],
    view_mut: impl Fn(&mut P, usize) -> &mut [T],
    grad: impl Fn(usize) -> &'g [T],
) {
    for (g, group) in groups.iter().enumerate() {
        if !matches!(group.rule, Slot::Prodigy(_)) {
            continue;
        }
        let (mut acc, mut denom) = (0.0, 0.0);
        for (i, t) in tensors.iter_mut().enumerate() {
            let p = view(params, i);
            if let Some((owner, Slot::Prodigy(rule))) = t {
                if *owner == g && !p.is_empty() {
                    let (a, s) = rule.moments(p, grad(i));
                    acc += a;
                    denom += s;
                }
            }
        }
        for (i, t) in tensors.iter_mut().enumerate() {
            let p = view_mut(params, i);
            if let Some((owner, Slot::Prodigy(rule))) = t {
                if *owner == g && !p.is_empty() {
                    rule.finish(p, acc, denom);
                }
            }
        }
    }
}

/// Steps `tensors` (layout tensors `first..`, whose elements `params` and `grads` hold from flat
/// offset `base` on), but the Prodigy ones (stepped by group). With `rayon` a model above the
/// pool's threshold is halved by tensors, the halves stepped on the pool, down to one tensor
/// (whose kernel splits it further if it is large): every tensor sees the serial operations, so
/// the step is bit-identical to a serial one.
fn apply_tensors<T: Float + Send + Sync + 'static>(
    tensors: &mut [Option<(usize, Slot<T>)>],
    first: usize,
    layout: &Layout,
    params: &mut [T],
    grads: &[T],
    base: usize,
) -> Result<(), Error> {
    #[cfg(feature = "rayon")]
    if tensors.len() > 1 && crate::parallel::worth_splitting(params.len()) {
        let mid = tensors.len() / 2;
        let cut = layout.range_of(first + mid).start - base;
        let (ta, tb) = tensors.split_at_mut(mid);
        let (pa, pb) = params.split_at_mut(cut);
        let (ga, gb) = grads.split_at(cut);
        let (a, b) = rayon::join(
            || apply_tensors(ta, first, layout, pa, ga, base),
            || apply_tensors(tb, first + mid, layout, pb, gb, base + cut),
        );
        return a.and(b);
    }
    for (k, t) in tensors.iter_mut().enumerate() {
        match t {
            // stepped by group: one estimate over the group's tensors
            Some((_, Slot::Prodigy(_))) | None => {}
            Some((g, slot)) => {
                let r = layout.range_of(first + k);
                let (p, gr) = (&mut params[r.start - base..r.end - base], &grads[r.start - base..r.end - base]);
                slot.get_mut().apply(p, gr).map_err(|e| in_group(*g, e))?;
            }
        }
    }
    Ok(())
}

/// A rule's hyperparameter error, with the group it came from.
fn in_group(group: usize, e: Error) -> Error {
    match e {
        Error::InvalidHyperparameter { name, value, expected } => {
            Error::InvalidGroupHyperparameter { group, name, value, expected }
        }
        e => e,
    }
}

impl<T: Float + Send + Sync + 'static> Optimizer<T> for Groups<T> {
    crate::optimizer::snapshot_by_clone!();

    /// Steps every tensor of the flat buffer (`params.len() == layout.len()`), all or nothing.
    fn step(&mut self, params: &mut [T], grads: &[T]) -> Result<(), Error> {
        self.check(params, grads)?;
        self.apply(params, grads)
    }

    fn learning_rate(&self) -> T {
        self.group_lr(0).unwrap_or_else(T::zero)
    }

    /// Sets every group's learning rate.
    fn set_learning_rate(&mut self, lr: T) {
        for g in 0..self.groups.len() {
            self.set_group(g, |r| {
                r.set_learning_rate(lr);
                true
            });
        }
    }

    fn reset(&mut self) {
        for (_, slot) in self.tensors.iter_mut().flatten() {
            slot.get_mut().reset();
        }
        self.steps = 0;
    }

    fn steps(&self) -> u64 {
        self.steps
    }

    fn momentum(&self) -> Option<T> {
        self.group_momentum(0)
    }

    /// Sets every group's momentum; `false` if some group's rule has none (those that have
    /// one are still set).
    fn set_momentum(&mut self, momentum: T) -> bool {
        (0..self.groups.len()).fold(!self.groups.is_empty(), |ok, g| self.set_group_momentum(g, momentum) & ok)
    }

    fn validate(&self) -> Result<(), Error> {
        self.validate_all()
    }

    fn check(&self, params: &[T], grads: &[T]) -> Result<(), Error> {
        self.validate_all()?;
        if params.len() != grads.len() {
            return Err(Error::LengthMismatch { params: params.len(), grads: grads.len() });
        }
        if params.len() != self.layout.len() {
            return Err(Error::ShapeMismatch {
                what: "params (the layout's length)",
                expected: self.layout.len(),
                found: params.len(),
            });
        }
        #[cfg(feature = "rayon")]
        if crate::parallel::worth_splitting(params.len()) {
            // the tensors checked on the pool; the first error in layout order, as serially
            use rayon::prelude::*;
            let layout = &self.layout;
            let first = (0..self.tensors.len()).into_par_iter().find_map_first(|i| {
                let r = layout.range_of(i);
                self.check_tensor(i, &params[r.clone()], &grads[r]).err()
            });
            return first.map_or(Ok(()), Err);
        }
        for i in 0..self.tensors.len() {
            let r = self.layout.range_of(i);
            self.check_tensor(i, &params[r.clone()], &grads[r])?;
        }
        Ok(())
    }

    fn apply(&mut self, params: &mut [T], grads: &[T]) -> Result<(), Error> {
        apply_tensors(&mut self.tensors, 0, &self.layout, params, grads, 0)?;
        let layout = &self.layout;
        step_prodigy_groups(
            &self.groups,
            &mut self.tensors,
            params,
            |ps, i| &ps[layout.range_of(i)],
            |ps, i| &mut ps[layout.range_of(i)],
            |i| &grads[layout.range_of(i)],
        );
        self.steps += 1;
        Ok(())
    }

    /// Every tensor's evaluation point (see [`Optimizer::eval_params`]).
    fn eval_params(&self, params: &[T], out: &mut [T]) {
        if params.len() != self.layout.len() || out.len() != params.len() {
            return;
        }
        for (i, t) in self.tensors.iter().enumerate() {
            let r = self.layout.range_of(i);
            match t {
                Some((_, slot)) => slot.get().eval_params(&params[r.clone()], &mut out[r]),
                None => out[r.clone()].copy_from_slice(&params[r]),
            }
        }
    }

    fn groups(&self) -> usize {
        self.groups.len()
    }

    fn group_learning_rate(&self, group: usize) -> Option<T> {
        self.group_lr(group)
    }

    fn set_group_learning_rate(&mut self, group: usize, lr: T) -> bool {
        self.set_group(group, |r| {
            r.set_learning_rate(lr);
            true
        })
    }

    fn group_momentum(&self, group: usize) -> Option<T> {
        self.groups.get(group).and_then(|g| g.rule.get().momentum())
    }

    fn set_group_momentum(&mut self, group: usize, momentum: T) -> bool {
        self.set_group(group, |r| r.set_momentum(momentum))
    }
}

impl<T: Float + Send + Sync + fmt::Debug + 'static> fmt::Debug for Groups<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Groups")
            .field("layout", &self.layout)
            .field("groups", &self.groups)
            .field("steps", &self.steps)
            .finish_non_exhaustive()
    }
}

/// A rule of your own inside a [`Groups`]: cloned per tensor, not serializable.
trait DynRule<T: Float>: Optimizer<T> + Send + Sync {
    fn clone_box(&self) -> Box<dyn DynRule<T>>;
}

impl<T: Float, R: Optimizer<T> + Clone + Send + Sync + 'static> DynRule<T> for R {
    fn clone_box(&self) -> Box<dyn DynRule<T>> {
        Box::new(self.clone())
    }
}

struct Custom<T: Float>(Box<dyn DynRule<T>>);

impl<T: Float> Clone for Custom<T> {
    fn clone(&self) -> Self {
        Custom(self.0.clone_box())
    }
}

impl<T: Float> fmt::Debug for Custom<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Custom(..)")
    }
}

/// Declares `Slot`, a rule of the crate (statically known, so serializable) or a custom one.
macro_rules! slots {
    ($($rule:ident),* $(,)?) => {
        #[derive(Clone, Debug)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
        enum Slot<T: Float> {
            $($rule($rule<T>),)*
            #[cfg_attr(feature = "serde", serde(skip))]
            Custom(Custom<T>),
        }

        impl<T: Float + Send + Sync + 'static> Slot<T> {
            fn from_rule<R: Optimizer<T> + Clone + Send + Sync + 'static>(rule: R) -> Self {
                let any: &dyn Any = &rule;
                $(if let Some(r) = any.downcast_ref::<$rule<T>>() {
                    return Slot::$rule(r.clone());
                })*
                Slot::Custom(Custom(Box::new(rule)))
            }

            fn get(&self) -> &dyn Optimizer<T> {
                match self {
                    $(Slot::$rule(r) => r,)*
                    Slot::Custom(c) => &*c.0,
                }
            }

            fn get_mut(&mut self) -> &mut dyn Optimizer<T> {
                match self {
                    $(Slot::$rule(r) => r,)*
                    Slot::Custom(c) => &mut *c.0,
                }
            }
        }
    };
}

slots!(
    Sgd,
    Adam,
    AdamW,
    RmsProp,
    Adagrad,
    Adadelta,
    Adamax,
    NAdam,
    RAdam,
    Rprop,
    Asgd,
    Lion,
    AdaBelief,
    Yogi,
    Lamb,
    SparseAdam,
    Adafactor,
    Muon,
    ScheduleFreeAdamW,
    ScheduleFreeSgd,
    Adan,
    Adopt,
    AdEmaMix,
    SimplifiedAdEmaMix,
    Fromage,
    Lars,
    NovoGrad,
    OptimisticGd,
    Prodigy,
    SignSgd,
    Sm3,
);

#[cfg(feature = "serde")]
mod checkpoint {
    //! A `Groups` saved as its layout, its groups (names, rule) and every tensor's rule and
    //! state keyed by the tensor's name, in layout order.

    use alloc::collections::BTreeMap;
    use alloc::string::String;
    use alloc::vec::Vec;

    use num_traits::Float;
    use serde::de::Error as _;
    use serde::ser::SerializeStruct;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{Group, Groups, Slot};
    use crate::Layout;

    impl<T: Float + Send + Sync + Serialize + 'static> Serialize for Groups<T> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            struct Tensors<'a, T: Float + Send + Sync + 'static>(&'a Groups<T>);
            impl<T: Float + Send + Sync + Serialize + 'static> Serialize for Tensors<'_, T> {
                fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                    let names = self.0.layout.iter().map(|(name, _, _)| name);
                    serializer.collect_map(
                        names.zip(&self.0.tensors).filter_map(|(name, t)| t.as_ref().map(|(_, slot)| (name, slot))),
                    )
                }
            }
            let mut s = serializer.serialize_struct("Groups", 4)?;
            s.serialize_field("layout", &self.layout)?;
            s.serialize_field("groups", &self.groups)?;
            s.serialize_field("steps", &self.steps)?;
            s.serialize_field("tensors", &Tensors(self))?;
            s.end()
        }
    }

    #[derive(Deserialize)]
    #[serde(bound = "T: Float + Deserialize<'de>")]
    struct Saved<T: Float> {
        layout: Layout,
        groups: Vec<Group<T>>,
        steps: u64,
        tensors: BTreeMap<String, Slot<T>>,
    }

    impl<'de, T: Float + Send + Sync + Deserialize<'de> + 'static> Deserialize<'de> for Groups<T> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            let mut saved = Saved::<T>::deserialize(deserializer)?;
            let mut groups = Groups::new(saved.layout);
            for group in saved.groups {
                let names: Vec<&str> = group.names.iter().map(|n| &n[..]).collect();
                groups = groups.add_group(&names, group.rule);
            }
            if let Some(e) = groups.problem {
                return Err(D::Error::custom(e));
            }
            for (i, (name, _, _)) in groups.layout.iter().enumerate() {
                let slot = saved.tensors.remove(name).ok_or_else(|| {
                    D::Error::custom(format_args!("tensor `{name}` has no rule in the checkpoint's `tensors`"))
                })?;
                match groups.tensors[i].as_mut() {
                    Some((_, s)) => *s = slot,
                    None => return Err(D::Error::custom(format_args!("tensor `{name}` is in no group"))),
                }
            }
            if let Some(name) = saved.tensors.keys().next() {
                return Err(D::Error::custom(format_args!("`tensors` holds `{name}`, which the layout does not have")));
            }
            // a group's rule as given is what its learning rate and momentum are read from: it
            // must agree with the copies its tensors step with
            for ((name, _, _), t) in groups.layout.iter().zip(&groups.tensors) {
                let Some((g, slot)) = t else { continue };
                let (given, own) = (groups.groups[*g].rule.get(), slot.get());
                let bits = |v: Option<T>| v.map(|v| crate::kernel::to_f64(v).to_bits());
                let (lr, m) = (Some(own.learning_rate()), own.momentum());
                if bits(lr) != bits(Some(given.learning_rate())) || bits(m) != bits(given.momentum()) {
                    return Err(D::Error::custom(format_args!(
                        "tensor `{name}` steps with another learning rate or momentum than its group {g}'s \
                         rule; the checkpoint was altered"
                    )));
                }
            }
            // a Prodigy group steps one estimate: its tensors must agree on it
            let bits = |(d, num): (f64, f64)| (d.to_bits(), num.to_bits());
            for g in 0..groups.groups.len() {
                let mut first: Option<(&str, (f64, f64))> = None;
                for ((name, _, _), t) in groups.layout.iter().zip(&groups.tensors) {
                    let Some((owner, Slot::Prodigy(p))) = t else { continue };
                    if *owner != g {
                        continue;
                    }
                    match first {
                        None => first = Some((name, p.estimate())),
                        Some((a, e)) if bits(e) != bits(p.estimate()) => {
                            return Err(D::Error::custom(format_args!(
                                "Prodigy tensors `{a}` and `{name}` of group {g} hold different estimates \
                                 (d, num) {e:?} and {:?}; one group steps one estimate, so the checkpoint \
                                 was altered",
                                p.estimate()
                            )));
                        }
                        Some(_) => {}
                    }
                }
            }
            groups.steps = saved.steps;
            Ok(groups)
        }
    }
}
