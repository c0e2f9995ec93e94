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
    /// Training produced a non-finite loss; parameters were restored to the last finite epoch end.
    #[error("diverged: non-finite loss in epoch {epoch} at sample {sample}")]
    Diverged {
        /// Zero-based epoch.
        epoch: usize,
        /// Zero-based index of the sample (in dataset order) whose loss was not finite.
        sample: usize,
    },
    /// A gradient norm was NaN or infinite where the caller asked for an error.
    #[error("non-finite gradient norm: {norm}")]
    NonFiniteNorm {
        /// The norm that was computed.
        norm: f64,
    },
}
