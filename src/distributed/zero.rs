//! [`ZeroSharded`]: ZeRO stage 1, every rank keeping the optimizer state of its shard only.

use alloc::vec::Vec;

use num_traits::Float;

use super::{part, Communicator, Exchange, DEFAULT_CHUNK};
use crate::groups::Piece;
use crate::{Error, Groups, Optimizer};

/// Pieces a model is cut into at the most, whatever the number of ranks (the last rank's
/// share is balanced to within one piece).
const PIECES: usize = 256;

/// ZeRO stage 1 (Rajbhandari et al., 2020; PyTorch's `ZeroRedundancyOptimizer`): data-parallel
/// training in which each rank keeps the optimizer state of its contiguous shard of the flat
/// buffer only, so the state per rank is about `1/R` of the whole.
///
/// A step agrees on the input across ranks, reduces the mean gradient of each shard onto its
/// rank (the fixed-order mean of [`DataParallel`](crate::DataParallel), so the same bits),
/// agrees on that, steps the shard, and gathers the updated parameters to every rank: after
/// every step all ranks hold bit-identical parameters, equal to one process stepping the
/// [`Groups`] with the mean gradient.
///
/// **Shards.** The model is cut into pieces once, independently of the number of ranks:
/// a tensor whose rule is [elementwise](Optimizer::elementwise) into parts of
/// `ceil(n / 256)` elements (each part with its own copy of the rule, which steps it exactly as
/// the whole tensor's rule would), every other tensor whole (Lamb's trust ratio, Muon's and
/// Adafactor's matrices, Lars, NovoGrad, ... see the whole tensor). Rank `r` steps the pieces
/// whose middle falls in `r*n/R .. (r+1)*n/R`. A group of [`Prodigy`](crate::Prodigy), whose
/// one estimate spans its tensors, must fall on one rank ([`Error::Unshardable`]).
///
/// **All or nothing across ranks**, as [`DataParallel`](crate::DataParallel): a NaN in any
/// rank's gradient reaches the mean, whose owner rejects it, and every rank returns that
/// error (its index in the flat buffer, the mean's value there) with nothing written.
///
/// **Checkpoints.** With `serde`, each rank saves its [`checkpoint`](ZeroSharded::checkpoint)
/// (its pieces with their state); [`resume`](ZeroSharded::resume) takes the checkpoints of every
/// rank of the saved run, on any number of ranks, and picks the pieces it steps.
///
/// Memory per rank: the state of its shard, the shard's mean gradient (`n/R` elements) and a
/// workspace of at most `R * transfer_chunk` elements.
///
/// ```
/// use gradus::{AdamW, Groups, Layout, Optimizer, SingleProcess, ZeroSharded};
/// let layout = Layout::new().tensor("w", &[4, 3]).tensor("b", &[3]);
/// let groups = Groups::new(layout.clone())
///     .group(&["w"], AdamW::new(1e-3).weight_decay(0.1))
///     .group(&["b"], AdamW::new(1e-3).weight_decay(0.0));
/// // with the `mpi` feature: `gradus::Mpi::new(universe.world())`
/// let mut opt = ZeroSharded::new(groups, SingleProcess)?;
/// let mut params = vec![0.5_f32; layout.len()];
/// opt.step(&mut params, &vec![0.1; layout.len()])?;
/// assert_eq!(opt.shard(), 0..15); // one rank: all of it
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Debug)]
pub struct ZeroSharded<T: Float + Send + Sync + 'static, C> {
    /// The rules as given, without state: hyperparameters, learning rates.
    template: Groups<T>,
    /// This rank's pieces, and how long a cut tensor's parts are (read by `resume`).
    #[cfg_attr(not(feature = "serde"), allow(dead_code))]
    mine: Vec<Piece>,
    #[cfg_attr(not(feature = "serde"), allow(dead_code))]
    piece_len: usize,
    /// The flat offsets of every rank's shard, and the end.
    bounds: Vec<usize>,
    /// This rank's pieces with their state.
    shard: Groups<T>,
    /// The template's group of each of the shard's groups.
    group_map: Vec<usize>,
    comm: C,
    mean: Vec<T>,
    chunk: usize,
    exchange: Exchange<T>,
    steps: u64,
}

impl<T: Float + Send + Sync + 'static, C: Communicator<T>> ZeroSharded<T, C> {
    /// Shards `groups` (not yet stepped) over the ranks of `comm`; every rank builds it from the
    /// same `groups`.
    ///
    /// # Errors
    ///
    /// What [`validate`](Optimizer::validate) of `groups` reports; [`Error::NotFresh`] if it has
    /// stepped; [`Error::Unshardable`] for a Prodigy group split across ranks.
    ///
    /// ```
    /// use gradus::{Adam, Error, Groups, Layout, Optimizer, SingleProcess, ZeroSharded};
    /// let mut groups = Groups::new(Layout::new().tensor("w", &[2])).group(&["w"], Adam::new(0.1_f64));
    /// groups.step(&mut [1.0, 1.0], &[0.5, 0.5])?;
    /// assert!(matches!(ZeroSharded::new(groups, SingleProcess), Err(Error::NotFresh { steps: 1 })));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn new(groups: Groups<T>, comm: C) -> Result<Self, Error> {
        groups.validate()?;
        if groups.steps() > 0 {
            return Err(Error::NotFresh { steps: groups.steps() });
        }
        let n = groups.layout().len();
        let piece_len = n.div_ceil(PIECES).max(1);
        let pieces = groups.pieces(piece_len);
        let ranks = comm.size().max(1);
        let owner = |p: &Piece| {
            let mid = (p.start + p.len / 2) as u128;
            ((mid * ranks as u128 / n.max(1) as u128) as usize).min(ranks - 1)
        };
        let first: Vec<usize> = (0..=ranks).map(|r| pieces.partition_point(|p| owner(p) < r)).collect();
        let bounds: Vec<usize> = first.iter().map(|&f| pieces.get(f).map_or(n, |p| p.start)).collect();
        for g in 0..groups.groups() {
            if groups.steps_group_together(g) {
                let mut on = pieces.iter().filter(|p| groups.group_of(p.tensor) == g).map(owner);
                if let Some(r) = on.next() {
                    if on.any(|q| q != r) {
                        return Err(Error::Unshardable { group: g });
                    }
                }
            }
        }
        let me = comm.rank().min(ranks - 1);
        let mine = pieces[first[me]..first[me + 1]].to_vec();
        let (shard, group_map) = groups.subset(&mine);
        Ok(ZeroSharded {
            template: groups,
            mine,
            piece_len,
            bounds,
            shard,
            group_map,
            comm,
            mean: Vec::new(),
            chunk: DEFAULT_CHUNK,
            exchange: Exchange::default(),
            steps: 0,
        })
    }

    /// Elements each rank sends per round of the all-to-all and the gather, as
    /// [`DataParallel::transfer_chunk`](crate::DataParallel::transfer_chunk).
    ///
    /// ```
    /// use gradus::{Groups, Layout, SingleProcess, Sgd, ZeroSharded};
    /// let groups = Groups::new(Layout::new().tensor("w", &[2])).group(&["w"], Sgd::new(0.1_f64));
    /// let opt = ZeroSharded::new(groups, SingleProcess)?.transfer_chunk(1024);
    /// assert_eq!(opt.get_transfer_chunk(), 1024);
    /// # Ok::<(), gradus::Error>(())
    /// ```
    pub fn transfer_chunk(mut self, elements: usize) -> Self {
        self.chunk = elements.max(1);
        self
    }

    /// The value set by [`transfer_chunk`](ZeroSharded::transfer_chunk) (default 65,536).
    ///
    /// ```
    /// use gradus::{Groups, Layout, SingleProcess, Sgd, ZeroSharded};
    /// let groups = Groups::new(Layout::new().tensor("w", &[2])).group(&["w"], Sgd::new(0.1_f64));
    /// assert_eq!(ZeroSharded::new(groups, SingleProcess)?.get_transfer_chunk(), 65536);
    /// # Ok::<(), gradus::Error>(())
    /// ```
    pub fn get_transfer_chunk(&self) -> usize {
        self.chunk
    }

    /// This rank's shard: the part of the flat buffer whose state it keeps and which it steps.
    ///
    /// ```
    /// use gradus::{Groups, Layout, SingleProcess, Sgd, ZeroSharded};
    /// let groups = Groups::new(Layout::new().tensor("w", &[5])).group(&["w"], Sgd::new(0.1_f64));
    /// assert_eq!(ZeroSharded::new(groups, SingleProcess)?.shard(), 0..5);
    /// # Ok::<(), gradus::Error>(())
    /// ```
    pub fn shard(&self) -> core::ops::Range<usize> {
        part(&self.bounds, self.comm.rank())
    }

    /// Every rank's shard boundaries: rank `r` steps `bounds()[r]..bounds()[r + 1]`.
    ///
    /// ```
    /// use gradus::{Groups, Layout, SingleProcess, Sgd, ZeroSharded};
    /// let groups = Groups::new(Layout::new().tensor("w", &[5])).group(&["w"], Sgd::new(0.1_f64));
    /// assert_eq!(ZeroSharded::new(groups, SingleProcess)?.bounds(), &[0, 5]);
    /// # Ok::<(), gradus::Error>(())
    /// ```
    pub fn bounds(&self) -> &[usize] {
        &self.bounds
    }

    /// The optimizer of this rank's pieces, with their state: a [`Groups`] over the pieces of
    /// this rank's shard (a tensor's name, or `name[a..b]` for a part of it).
    ///
    /// ```
    /// use gradus::{Adam, Groups, Layout, SingleProcess, ZeroSharded};
    /// let groups = Groups::new(Layout::new().tensor("w", &[600])).group(&["w"], Adam::new(0.1_f64));
    /// let opt = ZeroSharded::new(groups, SingleProcess)?;
    /// // Adam is elementwise: the tensor is cut into pieces of ceil(600 / 256) = 3 elements
    /// assert_eq!(opt.pieces().layout().num_tensors(), 200);
    /// assert!(opt.pieces().rule("w[3..6]").is_some());
    /// # Ok::<(), gradus::Error>(())
    /// ```
    pub fn pieces(&self) -> &Groups<T> {
        &self.shard
    }

    /// The rank whose error the last failed step returned (the same on every rank).
    ///
    /// ```
    /// use gradus::{Groups, Layout, Optimizer, SingleProcess, Sgd, ZeroSharded};
    /// let groups = Groups::new(Layout::new().tensor("w", &[2])).group(&["w"], Sgd::new(0.1_f64));
    /// let mut opt = ZeroSharded::new(groups, SingleProcess)?;
    /// assert!(opt.step(&mut [1.0, 1.0], &[0.0, f64::NAN]).is_err());
    /// assert_eq!(opt.failed_rank(), Some(0));
    /// # Ok::<(), gradus::Error>(())
    /// ```
    pub fn failed_rank(&self) -> Option<usize> {
        self.exchange.failed_rank
    }

    /// Elements of workspace held besides the shard's state: the shard's mean gradient and the
    /// transfer buffer (sized by the first step; none on one rank, which steps its gradient as
    /// it is).
    ///
    /// ```
    /// use gradus::{Groups, Layout, Optimizer, SingleProcess, Sgd, ZeroSharded};
    /// let groups = Groups::new(Layout::new().tensor("w", &[4])).group(&["w"], Sgd::new(0.1_f64));
    /// let mut opt = ZeroSharded::new(groups, SingleProcess)?;
    /// opt.step(&mut [1.0; 4], &[0.5; 4])?;
    /// assert_eq!(opt.workspace_len(), 0);
    /// # Ok::<(), gradus::Error>(())
    /// ```
    pub fn workspace_len(&self) -> usize {
        self.mean.len() + self.exchange.workspace()
    }

    /// Writes the evaluation point of the whole model (see [`Optimizer::eval_params`]): every
    /// rank its shard's, then gathered to every rank. Collective: every rank calls it.
    ///
    /// ```
    /// use gradus::{Groups, Layout, Optimizer, ScheduleFreeSgd, SingleProcess, ZeroSharded};
    /// let groups = Groups::new(Layout::new().tensor("w", &[1])).group(&["w"], ScheduleFreeSgd::new(0.1_f64));
    /// let mut opt = ZeroSharded::new(groups, SingleProcess)?;
    /// let mut y = [1.0];
    /// opt.step(&mut y, &[1.0])?;
    /// opt.step(&mut y, &[1.0])?;
    /// let mut x = [0.0];
    /// opt.gather_eval_params(&y, &mut x)?;
    /// assert_ne!(x, y);
    /// # Ok::<(), gradus::Error>(())
    /// ```
    pub fn gather_eval_params(&mut self, params: &[T], out: &mut [T]) -> Result<(), Error> {
        let n = self.template.layout().len();
        if params.len() != n || out.len() != n {
            return Err(Error::ShapeMismatch {
                what: "params and out (the layout's length)",
                expected: n,
                found: params.len().min(out.len()),
            });
        }
        Optimizer::eval_params(self, params, out);
        self.exchange.gather(&mut self.comm, out, &self.bounds, self.chunk)
    }

    /// An error of the shard's `Groups`, as the whole model's: indices in the flat buffer,
    /// groups numbered as given.
    fn in_model(&self, e: Error) -> Error {
        match e {
            Error::NonFiniteGradient { index, value } => {
                Error::NonFiniteGradient { index: index + self.shard().start, value }
            }
            Error::InvalidGroupHyperparameter { group, name, value, expected } => Error::InvalidGroupHyperparameter {
                group: self.group_map.get(group).copied().unwrap_or(group),
                name,
                value,
                expected,
            },
            e => e,
        }
    }

    /// What this rank can check alone before any transfer.
    fn check_local(&self, params: &[T], grads: &[T]) -> Result<(), Error> {
        self.template.validate()?;
        self.shard.validate().map_err(|e| self.in_model(e))?;
        if params.len() != grads.len() {
            return Err(Error::LengthMismatch { params: params.len(), grads: grads.len() });
        }
        let n = self.template.layout().len();
        if params.len() != n {
            return Err(Error::ShapeMismatch {
                what: "params (the layout's length)",
                expected: n,
                found: params.len(),
            });
        }
        Ok(())
    }

    /// The shard's group of the template's group `g`.
    fn shard_group(&self, g: usize) -> Option<usize> {
        self.group_map.iter().position(|&t| t == g)
    }
}

impl<T: Float + Send + Sync + 'static, C: Communicator<T>> Optimizer<T> for ZeroSharded<T, C> {
    /// One collective step over the whole flat buffer (`params` the same on every rank, `grads`
    /// this rank's gradient): agree, reduce this shard's mean, agree on it, step the shard,
    /// gather the parameters.
    fn step(&mut self, params: &mut [T], grads: &[T]) -> Result<(), Error> {
        if self.comm.size() == 1 {
            // one shard, and the mean of one gradient is the gradient (`g / 1`, bit for bit)
            let result = self
                .check_local(params, grads)
                .and_then(|()| self.shard.step(params, grads).map_err(|e| self.in_model(e)));
            self.exchange.failed_rank = result.is_err().then_some(0);
            self.steps += u64::from(result.is_ok());
            return result;
        }
        let local = self.check_local(params, grads);
        self.exchange.agree(&mut self.comm, local, params.len())?;
        let mine = self.shard();
        if self.mean.len() != mine.len() {
            self.mean.clear();
            self.mean.resize(mine.len(), T::zero());
        }
        self.exchange.reduce_mean(&mut self.comm, grads, &self.bounds, self.chunk, &mut self.mean)?;
        let checked = self.shard.check(&params[mine.clone()], &self.mean).map_err(|e| self.in_model(e));
        self.exchange.agree(&mut self.comm, checked, params.len())?;
        self.shard.apply(&mut params[mine], &self.mean)?;
        self.steps += 1;
        self.exchange.gather(&mut self.comm, params, &self.bounds, self.chunk)
    }

    fn validate(&self) -> Result<(), Error> {
        self.template.validate()?;
        self.shard.validate().map_err(|e| self.in_model(e))
    }
    fn learning_rate(&self) -> T {
        self.template.learning_rate()
    }
    fn set_learning_rate(&mut self, lr: T) {
        self.template.set_learning_rate(lr);
        self.shard.set_learning_rate(lr);
    }
    fn reset(&mut self) {
        self.shard.reset();
        self.steps = 0;
    }
    fn steps(&self) -> u64 {
        self.steps
    }
    fn momentum(&self) -> Option<T> {
        self.template.momentum()
    }
    fn set_momentum(&mut self, momentum: T) -> bool {
        let ok = self.template.set_momentum(momentum);
        self.shard.set_momentum(momentum);
        ok
    }
    /// This rank's shard's evaluation point; the rest of `out` is `params` (see
    /// [`gather_eval_params`](ZeroSharded::gather_eval_params) for the whole).
    fn eval_params(&self, params: &[T], out: &mut [T]) {
        if params.len() != self.template.layout().len() || out.len() != params.len() {
            return;
        }
        out.copy_from_slice(params);
        let mine = self.shard();
        self.shard.eval_params(&params[mine.clone()], &mut out[mine]);
    }
    fn groups(&self) -> usize {
        self.template.groups()
    }
    fn group_learning_rate(&self, group: usize) -> Option<T> {
        self.template.group_learning_rate(group)
    }
    fn set_group_learning_rate(&mut self, group: usize, lr: T) -> bool {
        if let Some(s) = self.shard_group(group) {
            self.shard.set_group_learning_rate(s, lr);
        }
        self.template.set_group_learning_rate(group, lr)
    }
    fn group_momentum(&self, group: usize) -> Option<T> {
        self.template.group_momentum(group)
    }
    /// A copy of this rank's state: the rules as given and this rank's pieces with their state
    /// (not the communicator).
    fn snapshot(&self) -> Option<alloc::boxed::Box<dyn core::any::Any>>
    where
        T: 'static,
    {
        Some(alloc::boxed::Box::new(Saved {
            template: self.template.clone(),
            shard: self.shard.clone(),
            steps: self.steps,
        }))
    }
    fn restore(&mut self, snapshot: &dyn core::any::Any) -> bool
    where
        T: 'static,
    {
        match snapshot.downcast_ref::<Saved<T>>() {
            Some(saved) if saved.shard.layout() == self.shard.layout() => {
                self.template.clone_from(&saved.template);
                self.shard.clone_from(&saved.shard);
                self.steps = saved.steps;
                true
            }
            _ => false,
        }
    }
    fn set_group_momentum(&mut self, group: usize, momentum: T) -> bool {
        if let Some(s) = self.shard_group(group) {
            self.shard.set_group_momentum(s, momentum);
        }
        self.template.set_group_momentum(group, momentum)
    }
}

/// What [`ZeroSharded`]'s snapshot holds.
struct Saved<T: Float + Send + Sync + 'static> {
    template: Groups<T>,
    shard: Groups<T>,
    steps: u64,
}

#[cfg(feature = "serde")]
pub(crate) mod checkpoint {
    use alloc::vec;
    use alloc::vec::Vec;

    use num_traits::Float;
    use serde::{Deserialize, Serialize};

    use super::{Communicator, ZeroSharded};
    use crate::{Error, Groups, Layout, Optimizer, TensorName};

    /// One rank's part of a [`ZeroSharded`] checkpoint: the model's layout, how it was cut, the
    /// step count, every group's learning rate and momentum, and this rank's pieces with their
    /// rules and state. Each rank saves its own; [`ZeroSharded::resume`] takes those of every
    /// rank, on any number of ranks.
    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(bound(
        serialize = "T: Float + Send + Sync + Serialize + 'static",
        deserialize = "T: Float + Send + Sync + Deserialize<'de> + 'static"
    ))]
    pub struct ShardCheckpoint<T: Float + Send + Sync + 'static> {
        layout: Layout,
        piece_len: usize,
        rank: usize,
        ranks: usize,
        steps: u64,
        rates: Vec<T>,
        momenta: Vec<Option<T>>,
        pieces: Groups<T>,
    }

    impl<T: Float + Send + Sync + 'static> ShardCheckpoint<T> {
        /// The rank that saved it, and the number of ranks of that run.
        ///
        /// ```
        /// use gradus::{Groups, Layout, SingleProcess, Sgd, ZeroSharded};
        /// let groups = Groups::new(Layout::new().tensor("w", &[2])).group(&["w"], Sgd::new(0.1_f64));
        /// assert_eq!(ZeroSharded::new(groups, SingleProcess)?.checkpoint().saved_by(), (0, 1));
        /// # Ok::<(), gradus::Error>(())
        /// ```
        pub fn saved_by(&self) -> (usize, usize) {
            (self.rank, self.ranks)
        }
    }

    impl<T: Float + Send + Sync + 'static, C: Communicator<T>> ZeroSharded<T, C> {
        /// This rank's part of a checkpoint (a copy of its pieces and their state). Save every
        /// rank's.
        ///
        /// ```
        /// use gradus::{Adam, Groups, Layout, Optimizer, SingleProcess, ZeroSharded};
        /// let build = || Groups::new(Layout::new().tensor("w", &[3])).group(&["w"], Adam::new(0.1_f64));
        /// let mut opt = ZeroSharded::new(build(), SingleProcess)?;
        /// let mut p = [1.0, 2.0, 3.0];
        /// opt.step(&mut p, &[0.1, 0.2, 0.3])?;
        /// let saved = serde_json::to_string(&opt.checkpoint()).unwrap();
        /// // later, on any number of ranks: every rank reads every rank's file
        /// let mut resumed = ZeroSharded::new(build(), SingleProcess)?;
        /// resumed.resume([serde_json::from_str(&saved).unwrap()])?;
        /// assert_eq!(resumed.steps(), 1);
        /// # Ok::<(), gradus::Error>(())
        /// ```
        pub fn checkpoint(&self) -> ShardCheckpoint<T> {
            let groups = self.template.groups();
            ShardCheckpoint {
                layout: self.template.layout().clone(),
                piece_len: self.piece_len,
                rank: self.comm.rank(),
                ranks: self.comm.size(),
                steps: self.steps,
                rates: (0..groups).filter_map(|g| self.template.group_learning_rate(g)).collect(),
                momenta: (0..groups).map(|g| self.template.group_momentum(g)).collect(),
                pieces: self.shard.clone(),
            }
        }

        /// Resumes from the checkpoints of every rank of a saved run (any number of ranks, in
        /// any order): takes the state of the pieces this rank steps, the step count and every
        /// group's learning rate and momentum. Other ranks' pieces are dropped as they are read.
        ///
        /// # Errors
        ///
        /// Nothing is changed on an error: [`Error::LayoutMismatch`] if a checkpoint is of
        /// another model; [`Error::CorruptValue`] if checkpoints disagree on the step count,
        /// the cut, or the group count; [`Error::MissingPiece`] if no checkpoint holds a piece
        /// of this rank's shard; what the resumed state's validation reports.
        pub fn resume(&mut self, saved: impl IntoIterator<Item = ShardCheckpoint<T>>) -> Result<(), Error> {
            let mine = &self.mine;
            let (mut fresh, _) = self.template.subset(mine);
            let mut found = vec![false; mine.len()];
            let mut common: Option<(u64, Vec<T>, Vec<Option<T>>)> = None;
            for mut cp in saved {
                if cp.layout != *self.template.layout() {
                    let here = self.template.layout();
                    let index = (0..here.num_tensors().max(cp.layout.num_tensors()))
                        .find(|&i| here.iter().nth(i) != cp.layout.iter().nth(i))
                        .unwrap_or(0);
                    return Err(Error::LayoutMismatch {
                        index,
                        what: "layout",
                        expected: here.name(index),
                        found: cp.layout.name(index),
                    });
                }
                if cp.piece_len != self.piece_len {
                    return Err(Error::CorruptValue {
                        field: "piece_len",
                        value: cp.piece_len as f64,
                        expected: "ceil(n / 256) for the model's n elements",
                    });
                }
                if cp.rates.len() != self.template.groups() || cp.momenta.len() != cp.rates.len() {
                    return Err(Error::CorruptValue {
                        field: "rates",
                        value: cp.rates.len() as f64,
                        expected: "one learning rate and one momentum per group",
                    });
                }
                match &common {
                    None => common = Some((cp.steps, cp.rates.clone(), cp.momenta.clone())),
                    Some((steps, _, _)) if *steps != cp.steps => {
                        return Err(Error::CorruptValue {
                            field: "steps",
                            value: cp.steps as f64,
                            expected: "the same step count in every rank's checkpoint",
                        });
                    }
                    Some(_) => {}
                }
                for (k, p) in mine.iter().enumerate() {
                    if !found[k] && fresh.swap_rule(&p.name, &mut cp.pieces) {
                        found[k] = true;
                    }
                }
            }
            if let Some(k) = found.iter().position(|f| !f) {
                return Err(Error::MissingPiece { name: TensorName::new(&mine[k].name) });
            }
            let (steps, rates, momenta) = common.unwrap_or((0, Vec::new(), Vec::new()));
            fresh.set_steps(steps);
            let mut template = self.template.clone();
            for (g, (&lr, m)) in rates.iter().zip(&momenta).enumerate() {
                template.set_group_learning_rate(g, lr);
                if let Some(m) = *m {
                    template.set_group_momentum(g, m);
                }
                if let Some(s) = self.shard_group(g) {
                    fresh.set_group_learning_rate(s, lr);
                    if let Some(m) = *m {
                        fresh.set_group_momentum(s, m);
                    }
                }
            }
            template.validate()?;
            fresh.validate().map_err(|e| self.in_model(e))?;
            self.template = template;
            self.shard = fresh;
            self.steps = steps;
            Ok(())
        }
    }
}
