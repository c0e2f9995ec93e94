//! The crate's one error type.

/// Everything that can go wrong in `gradus`.
///
/// Every failing call leaves parameters and optimizer state exactly as they were (bit for bit).
/// Payloads are plain values, never `String`s, so the enum is `Copy` and works without `alloc`.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `params` and `grads` passed to [`Optimizer::step`](crate::Optimizer::step) differ in length.
    #[error("length mismatch: params has {params} elements but grads has {grads}")]
    LengthMismatch {
        /// Length of `params`.
        params: usize,
        /// Length of `grads`.
        grads: usize,
    },
    /// The optimizer state was sized for a different number of parameters by an earlier `step`.
    #[error("state mismatch: the optimizer state holds {expected} parameters but {found} were passed (call `reset` to start over)")]
    StateMismatch {
        /// Length the state was sized for.
        expected: usize,
        /// Length passed now.
        found: usize,
    },
    /// A gradient element is NaN or infinite (only when `check_finite` is on, the default).
    #[error("non-finite gradient: grads[{index}] = {value}")]
    NonFiniteGradient {
        /// Index of the first non-finite element.
        index: usize,
        /// Its value, as `f64`.
        value: f64,
    },
    /// A hyperparameter is outside its valid range.
    #[error("invalid hyperparameter `{name}` = {value}: {expected}")]
    InvalidHyperparameter {
        /// The hyperparameter's name, as the setter is called.
        name: &'static str,
        /// The offending value, as `f64`.
        value: f64,
        /// The valid range, in words.
        expected: &'static str,
    },
    /// A learning-rate schedule needs a second-moment estimate the optimizer does not keep.
    #[error(
        "the optimizer keeps no second-moment estimate, which this schedule reads (use Adam, RMSprop, Adagrad, ...)"
    )]
    NoSecondMoment,
    /// `fit` or `minimize` was given no samples or no parameters.
    #[error("empty data: {what} is empty")]
    EmptyData {
        /// What was empty.
        what: &'static str,
    },
    /// The data's shape does not match the model.
    #[error("shape mismatch: {what} expected {expected}, found {found}")]
    ShapeMismatch {
        /// What was measured.
        what: &'static str,
        /// The length the model needs.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// Training produced a non-finite loss (the data were finite: [`fit`](crate::fit) checks them
    /// first); the parameters, and the optimizer's state where it has a
    /// [`snapshot`](crate::Optimizer::snapshot), were restored to those of epoch `restored`.
    #[error(
        "diverged: non-finite loss in epoch {epoch} at sample {sample}; restored {} (lower the learning rate or clip the gradients)",
        RestoredText(*restored)
    )]
    Diverged {
        /// Zero-based epoch.
        epoch: usize,
        /// Zero-based index of the sample (in dataset order) whose loss was not finite.
        sample: usize,
        /// The zero-based epoch whose end was restored: the one before the epoch of lowest
        /// mean loss, which started there; `None`: the start of training.
        restored: Option<usize>,
    },
    /// A gradient norm was NaN or infinite where the caller asked for an error.
    #[error("non-finite gradient norm: {norm}")]
    NonFiniteNorm {
        /// The norm that was computed.
        norm: f64,
    },
    /// A NaN or infinite value in the data given to [`fit`](crate::fit) or
    /// [`evaluate`](crate::evaluate).
    #[error("non-finite data: {what}[{index}] = {value} (clean or impute the data before training)")]
    NonFiniteData {
        /// Which input: "x" or "y".
        what: &'static str,
        /// Index of the first such value.
        index: usize,
        /// The value.
        value: f64,
    },
    /// A sample's target the loss cannot take (a class label that is not a whole number in
    /// `0..outputs`, for [`SoftmaxCrossEntropy`](crate::SoftmaxCrossEntropy)).
    #[error("invalid target for sample {sample}: {value} (class labels are whole numbers from 0 to outputs - 1)")]
    InvalidTarget {
        /// Zero-based index of the sample.
        sample: usize,
        /// Its (first) target value.
        value: f64,
    },
    /// A metric-driven schedule ([`ReduceLrOnPlateau`](crate::ReduceLrOnPlateau)) was stepped
    /// without a metric.
    #[error(
        "this schedule needs a metric: pass the monitored value (a validation loss, say) to `step` as `Some(value)`"
    )]
    MissingMetric,
    /// A schedule of fixed length ([`OneCycleLr`](crate::OneCycleLr)) was stepped past its end,
    /// as torch refuses to.
    #[error("schedule finished: stepped {steps} times, but it was built for {total_steps} steps (build it with more)")]
    ScheduleFinished {
        /// Steps asked for.
        steps: u64,
        /// Steps it was built for.
        total_steps: u64,
    },
    /// A shape-aware rule was stepped without a shape: give it one with its `shape` setter, or
    /// step it inside a [`Groups`](crate::Groups), which passes each tensor's shape.
    #[error("{rule} needs the tensor's shape: set it with `.shape(&[..])` or step it inside `Groups`")]
    MissingShape {
        /// The rule.
        rule: &'static str,
    },
    /// A row index of a sparse step past the table's last row.
    #[error("row index out of range: rows[{index}] = {row}, but the table has {rows} rows")]
    RowOutOfRange {
        /// Position in the list of rows.
        index: usize,
        /// The row asked for.
        row: usize,
        /// Rows in the table.
        rows: usize,
    },
    /// The closure given to [`Lbfgs::step`](crate::Lbfgs::step) returned a NaN or infinite
    /// loss, or wrote one into the gradient; the parameters and the state were restored.
    #[error(
        "the closure returned a non-finite {what}: {what}[{index}] = {value} (parameters restored to the step's start)"
    )]
    NonFiniteClosure {
        /// "loss" or "gradient".
        what: &'static str,
        /// Index of the first non-finite gradient element (0 for the loss).
        index: usize,
        /// The value.
        value: f64,
    },
    /// A rule that needs the loss ([`PolyakSgd`](crate::PolyakSgd)) was stepped without one.
    #[error("{rule} needs the loss at the parameters: step it with `step_with_loss(params, grads, loss)`")]
    LossRequired {
        /// The rule.
        rule: &'static str,
    },
    /// A loss passed to a step was NaN or infinite; nothing was written.
    #[error("non-finite loss: {value}")]
    NonFiniteLoss {
        /// The loss.
        value: f64,
    },
    /// A rule's state is inconsistent: a buffer of a checkpoint holds another number of elements
    /// than the parameters it was sized for, or the step count and the sized length disagree.
    /// Nothing is reset silently: reload an intact checkpoint, or `reset` the rule to start over.
    #[error("corrupt state: `{field}` holds {found} elements where {expected} were expected (a tampered or truncated checkpoint?)")]
    CorruptState {
        /// The state field.
        field: &'static str,
        /// The length it should have (for `progress`: the sized length).
        expected: usize,
        /// The length it has (for `progress`: the step count).
        found: usize,
    },
    /// A saved scalar of a schedule's or rule's state is impossible: a counter past its bound, a
    /// base rate or step size that is negative or not finite, or one base rate for another
    /// number of parameter groups than the optimizer has. Reload an intact checkpoint, or build
    /// the schedule (or `reset` the rule) anew.
    #[error("corrupt state: `{field}` = {value}, where {expected} (a tampered or truncated checkpoint?)")]
    CorruptValue {
        /// The state field.
        field: &'static str,
        /// Its value (a count, as `f64`, for a list).
        value: f64,
        /// What it must be, in words.
        expected: &'static str,
    },
    /// A tensor name given to a [`Layout`](crate::Layout) twice.
    #[error("duplicate tensor `{name}` in the layout: every tensor needs its own name")]
    DuplicateTensor {
        /// The repeated name.
        name: TensorName,
    },
    /// A tensor of a [`Layout`](crate::Layout) with no elements (a zero in its shape), or so
    /// many that the layout's length overflows `usize`.
    #[error("tensor `{name}` has {elements} elements: every tensor of a layout needs at least one (and the total must fit in usize)")]
    EmptyTensor {
        /// The tensor.
        name: TensorName,
        /// Its element count (0, or `usize::MAX` on overflow).
        elements: usize,
    },
    /// A [`Groups`](crate::Groups) group names a tensor the layout does not have.
    #[error("group {group} names tensor `{name}`, which the layout does not have")]
    UnknownTensor {
        /// The group (0-based, in the order added).
        group: usize,
        /// The name it gave.
        name: TensorName,
    },
    /// A tensor of the layout is in no [`Groups`](crate::Groups) group.
    #[error("tensor `{name}` is in no group: add it to one with `Groups::group`")]
    UngroupedTensor {
        /// The tensor.
        name: TensorName,
    },
    /// A tensor named by two [`Groups`](crate::Groups) groups (or twice by one).
    #[error(
        "tensor `{name}` is in group {first} and again in group {second}: every tensor belongs to exactly one group"
    )]
    TensorInTwoGroups {
        /// The tensor.
        name: TensorName,
        /// The first group naming it.
        first: usize,
        /// The later group naming it again.
        second: usize,
    },
    /// A [`Groups`](crate::Groups) group with no tensors.
    #[error("group {group} names no tensor")]
    EmptyGroup {
        /// The group.
        group: usize,
    },
    /// A tensor passed to [`Groups::step_tensors`](crate::Groups::step_tensors) (or a
    /// tensor-list clip) does not have its layout's length, or the count of tensors is wrong.
    #[error("tensor `{name}`: the layout gives it {expected} elements but {found} were passed")]
    TensorLength {
        /// The tensor (`#<count>` when the number of tensors is wrong).
        name: TensorName,
        /// Its length in the layout (or the layout's tensor count).
        expected: usize,
        /// The length (or count) passed.
        found: usize,
    },
    /// A hyperparameter of one group of a [`Groups`](crate::Groups) is outside its valid range.
    #[error("group {group}: invalid hyperparameter `{name}` = {value}: {expected}")]
    InvalidGroupHyperparameter {
        /// The group (0-based, in the order added).
        group: usize,
        /// The hyperparameter's name, as the setter is called.
        name: &'static str,
        /// The offending value, as `f64`.
        value: f64,
        /// The valid range, in words.
        expected: &'static str,
    },
    /// A saved [`Groups`](crate::Groups) does not fit the layout it is loaded into.
    #[error(
        "checkpoint does not fit: tensor {index} is `{found}` in the checkpoint but `{expected}` here ({what} differs)"
    )]
    LayoutMismatch {
        /// Position of the first tensor that differs, in layout order.
        index: usize,
        /// What differs: "name", "shape", "group", "tensor count" or "group count".
        what: &'static str,
        /// The tensor here (empty past the end).
        expected: TensorName,
        /// The tensor in the checkpoint (empty past the end).
        found: TensorName,
    },
    /// Ranks of a distributed step ([`DataParallel`](crate::DataParallel),
    /// [`ZeroSharded`](crate::ZeroSharded)) disagree: rank `rank` passed another number of
    /// elements than rank 0. Every rank must step the same model with a gradient of the same
    /// length; nothing was written on any rank.
    #[error("rank {rank} passed {found} {what} where rank 0 passed {expected}: every rank must step the same model")]
    RankMismatch {
        /// What was counted.
        what: &'static str,
        /// The first rank that differs from rank 0.
        rank: usize,
        /// Rank 0's count.
        expected: usize,
        /// That rank's count.
        found: usize,
    },
    /// A rank did not join a distributed step's agreement within the communicator's timeout:
    /// it died, hangs, or stopped stepping. Nothing was written on this rank; the communicator
    /// can no longer be used (an outstanding collective cannot be cancelled): end the job.
    #[error("no answer from every rank within {waited_ms} ms: a rank died or stopped stepping (end the job; the communicator is unusable)")]
    RankTimeout {
        /// How long this rank waited, in milliseconds.
        waited_ms: u64,
    },
    /// A collective of this communicator timed out earlier ([`Error::RankTimeout`]); it can no
    /// longer be used.
    #[error("the communicator failed in an earlier step (a rank timed out) and can no longer be used: end the job")]
    CommunicatorFailed,
    /// [`ZeroSharded::new`](crate::ZeroSharded::new) was given a [`Groups`](crate::Groups) that has
    /// already stepped: its state cannot be sharded. Build it fresh, or resume a sharded run
    /// from its shard checkpoints ([`ZeroSharded::resume`](crate::ZeroSharded::resume)).
    #[error("ZeroSharded needs a Groups that has not stepped, but this one has taken {steps} steps (resume a sharded run from its shard checkpoints)")]
    NotFresh {
        /// Steps the given optimizer had taken.
        steps: u64,
    },
    /// A [`Groups`](crate::Groups) group whose rule steps all of its tensors together
    /// ([`Prodigy`](crate::Prodigy)'s one estimate) would be split across ranks by
    /// [`ZeroSharded`](crate::ZeroSharded), which would change its update. Put its tensors in
    /// groups of their own, or use [`DataParallel`](crate::DataParallel).
    #[error("group {group} steps its tensors together (one Prodigy estimate), but ZeroSharded would split them across ranks: use DataParallel, or smaller groups")]
    Unshardable {
        /// The group.
        group: usize,
    },
    /// The shard checkpoints given to [`ZeroSharded::resume`](crate::ZeroSharded::resume) hold
    /// no state for a piece of the model this rank steps (a checkpoint file is missing?).
    #[error("the shard checkpoints hold no state for `{name}`: pass the checkpoints of every rank of the saved run")]
    MissingPiece {
        /// The piece (a tensor, or `name[a..b]` for a part of one).
        name: TensorName,
    },
}

/// A tensor's name as an error carries it: inline (the [`Error`] enum stays `Copy` and needs no
/// allocator), cut to its first 39 bytes at a character boundary.
///
/// ```
/// use gradus::TensorName;
/// let name = TensorName::new("encoder.layer0.attn.qkv.weight");
/// assert_eq!(name.as_str(), "encoder.layer0.attn.qkv.weight");
/// assert_eq!(name, "encoder.layer0.attn.qkv.weight");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TensorName {
    len: u8,
    bytes: [u8; TensorName::CAPACITY],
}

impl TensorName {
    /// The longest name kept whole, in bytes.
    pub const CAPACITY: usize = 39;

    /// The name `name`, cut to [`CAPACITY`](TensorName::CAPACITY) bytes at a character boundary.
    ///
    /// ```
    /// let long = "x".repeat(100);
    /// assert_eq!(gradus::TensorName::new(&long).as_str().len(), 39);
    /// ```
    pub fn new(name: &str) -> Self {
        let mut end = name.len().min(Self::CAPACITY);
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        let mut bytes = [0; Self::CAPACITY];
        bytes[..end].copy_from_slice(&name.as_bytes()[..end]);
        TensorName { len: end as u8, bytes }
    }

    /// The name.
    ///
    /// ```
    /// assert_eq!(gradus::TensorName::new("b1").as_str(), "b1");
    /// ```
    pub fn as_str(&self) -> &str {
        // the bytes are a prefix of a `str` cut at a character boundary
        core::str::from_utf8(&self.bytes[..self.len as usize]).unwrap_or("")
    }
}

impl core::fmt::Display for TensorName {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::fmt::Debug for TensorName {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq<&str> for TensorName {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<str> for TensorName {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

/// What [`Error::Diverged`] restored, in words.
struct RestoredText(Option<usize>);

impl core::fmt::Display for RestoredText {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            Some(e) => write!(f, "the parameters and state at the end of epoch {e}, the best point seen"),
            None => f.write_str("the parameters and state at the start, the best point seen"),
        }
    }
}
