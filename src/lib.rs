//! # gradus
//!
//! First-order gradient optimizers on plain slices of any [`num_traits::Float`], numerically
//! the ones PyTorch's `torch.optim` computes (and optax's, for the rules only optax has), with a
//! small training toolkit around them: models of many named tensors, losses and models with
//! analytic gradients, a `fit` loop, learning-rate schedules, gradient clipping and exact
//! checkpoints.
//!
//! ```
//! use gradus::{Adam, Optimizer};
//!
//! fn main() -> Result<(), gradus::Error> {
//!     let mut params = vec![1.0_f32, -2.0, 0.5];
//!     let grads = vec![0.1_f32, -0.2, 0.3];
//!     let mut opt = Adam::new(1e-3).betas(0.9, 0.999);
//!     opt.step(&mut params, &grads)?;
//!     Ok(())
//! }
//! ```
//!
//! ## The contract
//!
//! - **Parity.** Each rule's docs state its update in the order the code computes it and name
//!   the PyTorch or optax function it matches; recorded float64 trajectories of those functions
//!   are reproduced to relative 1e-9 (`tests/parity.rs`, `tests/groups.rs`).
//! - **Never corrupts.** [`Optimizer::step`] checks hyperparameters, lengths, the state's size
//!   and (unless `check_finite(false)`) the gradient for NaN/infinity before writing anything;
//!   a failed step returns an [`Error`] and leaves parameters and state bit for bit as they were,
//!   across every tensor of a [`Groups`]. Constructors and setters never panic: invalid values
//!   are reported by [`Optimizer::validate`] and the next `step`.
//! - **Speed of memory.** A step is one fused pass over parameters, gradients and state,
//!   compiled for AVX2/AVX-512 and picked at run time ([`simd`]); no allocation after the first
//!   step.
//!
//! ## Update rules
//!
//! Each is made by `Rule::new(lr)` and configured by chained setters named after the reference's
//! keyword arguments; `get_<setter>` reads a value back. All implement [`Optimizer`].
//!
//! | family | rules | reference |
//! |---|---|---|
//! | SGD | [`Sgd`] (momentum, dampening, Nesterov), [`Asgd`] (averaging) | `torch.optim.SGD`, `ASGD` |
//! | Adam | [`Adam`], [`AdamW`], [`Adamax`], [`NAdam`], [`RAdam`] | `torch.optim.Adam`, `AdamW`, `Adamax`, `NAdam`, `RAdam`; `optax.adam` |
//! | adaptive per coordinate | [`RmsProp`], [`Adagrad`], [`Adadelta`], [`Rprop`] | `torch.optim.RMSprop`, `Adagrad`, `Adadelta`, `Rprop` |
//! | optax's | [`Lion`], [`AdaBelief`], [`Yogi`], [`Lamb`] | `optax.lion`, `adabelief`, `yogi`, `lamb` |
//! | matrices and tables | [`Muon`] ([`AdjustLr`]), [`Adafactor`], [`SparseAdam`] | `torch.optim.Muon`, `Adafactor`, `SparseAdam` |
//! | full batch, closure-based | [`Lbfgs`] ([`LineSearch`]) | `torch.optim.LBFGS` |
//! | averaging the iterates | [`WeightAverage`] | `torch.optim.swa_utils.AveragedModel` |
//! | optax's newer rules | [`Adan`], [`Adopt`], [`AdEmaMix`], [`SimplifiedAdEmaMix`], [`Lars`], [`NovoGrad`], [`Sm3`], [`SignSgd`], [`Fromage`], [`OptimisticGd`], [`PolyakSgd`] ([`PolyakVariant`]) | `optax.adan`, `contrib.adopt`, `contrib.ademamix`, `contrib.simplified_ademamix`, `lars`, `novograd`, `sm3`, `sign_sgd`, `fromage`, `optimistic_gradient_descent`, `polyak_sgd` |
//! | no schedule to choose | [`ScheduleFreeAdamW`], [`ScheduleFreeSgd`] | `schedulefree.AdamWScheduleFree`, `SGDScheduleFree` |
//! | no learning rate to choose | [`Prodigy`] | `optax.contrib.prodigy` |
//! | wrappers of any rule | [`Lookahead`], [`MultiSteps`] ([`Dtype`]), [`ApplyIfFinite`] | `optax.lookahead`, `MultiSteps`, `apply_if_finite` |
//!
//! [`Form`] selects optax's form of a rule both libraries define ([`Sgd::form`], [`Adam::form`]).
//!
//! | if you want | use |
//! |---|---|
//! | a robust default for most problems | [`Adam`] (or [`AdamW`] with weight decay) |
//! | the plain textbook method, or the best final accuracy with a tuned schedule | [`Sgd`] with `momentum(0.9)` (and `nesterov(true)`) |
//! | memory of one buffer per parameter, sign updates | [`Lion`] |
//! | sparse or rarely active features | [`Adagrad`] |
//! | Adam with fewer early-training blow-ups | [`RAdam`], [`AdaBelief`], [`Yogi`] |
//! | large-batch training of one layer | [`Lamb`] |
//! | no learning rate to tune | [`Adadelta`] |
//! | the hidden weight matrices of a network | [`Muon`] (with AdamW on the rest) |
//! | Adam-like steps with `O(m + n)` memory per matrix | [`Adafactor`] |
//! | embedding tables with sparse gradients | [`SparseAdam`] ([`SparseAdam::step_rows`]) |
//! | a smooth full-batch problem | [`Lbfgs`] |
//!
//! ## Models of many tensors
//!
//! | item | what it is |
//! |---|---|
//! | [`Layout`] | named, shaped tensors in one flat buffer: `range`, `view`, `split_mut`, `locate` |
//! | [`Groups`] | one optimizer over a `Layout`: a rule per group of tensors (torch's param groups), every step all-or-nothing, named checkpoints |
//! | [`clip_grad_norm`], [`clip_grad_value`] | torch's clipping over a flat model buffer (any [`Norm`]); [`clip_grad_norm_tensors`], [`clip_grad_value_tensors`] over separate buffers |
//!
//! ## Several processes
//!
//! | item | what it is |
//! |---|---|
//! | [`DataParallel`] | every rank steps the mean of the ranks' gradients (torch's `DistributedDataParallel` around an optimizer) |
//! | [`ZeroSharded`] (`ShardCheckpoint` with `serde`) | ZeRO stage 1: each rank keeps the state of its shard only (torch's `ZeroRedundancyOptimizer`) |
//! | [`Communicator`]: `Mpi` (feature `mpi`), [`SingleProcess`] | the ranks and their collectives |
//!
//! The mean is reduced in a fixed order, so every rank holds the same bits as one process
//! stepping that mean; a step is all-or-nothing across ranks. See [`distributed`].
//!
//! ## Schedules
//!
//! A [`Schedule`] sets the learning rate of every parameter group from the group's own base
//! rate, as `torch.optim.lr_scheduler` does, to 1e-12. `docs/torch.md` maps every argument of
//! every torch optimizer and scheduler to its setter.
//!
//! | schedule | reference |
//! |---|---|
//! | [`StepLr`], [`MultiStepLr`], [`ExponentialLr`] | `StepLR`, `MultiStepLR`, `ExponentialLR` |
//! | [`ConstantLr`], [`PolynomialLr`], [`LambdaLr`], [`MultiplicativeLr`] | `ConstantLR`, `PolynomialLR`, `LambdaLR`, `MultiplicativeLR` |
//! | [`CyclicLr`] ([`CyclicMode`], [`ScaleMode`]) | `CyclicLR` |
//! | [`SwaLr`] | `swa_utils.SWALR` |
//! | [`Chained`] | `ChainedScheduler` |
//! | [`CosineAnnealingLr`], [`CosineAnnealingWarmRestarts`] | `CosineAnnealingLR`, `CosineAnnealingWarmRestarts` |
//! | [`LinearLr`], [`OneCycleLr`] ([`AnnealStrategy`]) | `LinearLR`, `OneCycleLR` (momentum cycling, one peak per group, three phases) |
//! | [`ReduceLrOnPlateau`] ([`PlateauMode`], [`ThresholdMode`]) | `ReduceLROnPlateau` |
//! | [`Sequential`] | `SequentialLR` (warm-up then decay) |
//! | [`SpikeAnnealing`] | the fast.ai notebook's annealing rule |
//!
//! ## Training toolkit
//!
//! | item | what it is |
//! |---|---|
//! | [`Loss`]: [`SquaredError`], [`AbsoluteError`], [`Huber`], [`LogLoss`], [`SoftmaxCrossEntropy`] | a loss and its derivative with respect to the prediction(s) |
//! | [`Gradient`]: [`Linear`], [`Logistic`] | a single-output model and its gradient; [`loss_gradient`] chains it with a loss |
//! | [`Network`] | a model with several outputs (forward and backward); every `Gradient` is one |
//! | [`fit`] ([`FitOptions`], [`FitReport`], [`EpochReport`]) | epochs of per-sample or mini-batch steps: shuffling, a schedule, clipping, early stopping, accuracy, a divergence guard |
//! | [`evaluate`] | loss and accuracy on a held-out split |
//! | [`minimize`] ([`MinimizeOptions`]) | a closure returning loss and gradient, minimized |
//! | [`check_gradient`], [`check_backward`] | analytic gradients against central differences |
//!
//! ## Errors
//!
//! Everything that can fail returns the one [`Error`] enum (`Copy`, no allocation; a tensor's
//! name travels as a [`TensorName`]). Each variant says what was wrong, with which value.
//!
//! ## Features
//!
//! | feature | default | adds |
//! |---|---|---|
//! | `std` | yes | runtime SIMD detection, `GRADUS_SIMD`, wall times in [`EpochReport`] |
//! | `libm` | no | float math without `std`: build with `--no-default-features --features libm` for `no_std` (needs `alloc`) |
//! | `serde` | no | `Serialize`/`Deserialize` for every rule, schedule (but the closure-driven ones, and [`Sequential`] and [`Chained`] holding one) and [`Groups`]: exact checkpoints (with `serde_json`, enable its `float_roundtrip` feature). State values that are NaN or infinite are saved as the strings `"NaN"`, `"inf"`, `"-inf"`; a loaded state is checked ([`Error::CorruptState`]) |
//! | `rayon` | no | steps (and the non-finite scan) above 2^17 elements split over rayon's pool; bit-identical to serial |
//! | `mpi` | no | `Mpi`: [`DataParallel`] and [`ZeroSharded`] over MPI (rsmpi; needs an MPI library such as Debian's `libopenmpi-dev`, and `libclang-dev`) |
#![no_std]
// `unsafe` is forbidden in every module but `simd`, whose target-feature calls need it, and
// `distributed::mpi`.
#![deny(unsafe_code)]
#![deny(missing_docs)]
#![doc(test(attr(deny(warnings))))]

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

#[cfg(not(any(feature = "std", feature = "libm")))]
compile_error!("gradus needs either the `std` feature (default) or the `libm` feature for float math");

#[forbid(unsafe_code)]
mod average;
#[forbid(unsafe_code)]
mod clip;
// data-parallel and ZeRO-sharded steps; its `mpi` module alone has `unsafe` (a timed-out
// request left in flight with its buffers leaked)
#[cfg(feature = "std")]
pub mod distributed;
#[forbid(unsafe_code)]
mod error;
#[forbid(unsafe_code)]
mod fit;
// the one other module with `unsafe`: raw-pointer matrix products, bounds checked first
mod gemm;
#[forbid(unsafe_code)]
mod groups;
#[forbid(unsafe_code)]
mod kernel;
#[forbid(unsafe_code)]
mod layout;
#[forbid(unsafe_code)]
mod loss;
#[forbid(unsafe_code)]
mod minimize;
#[forbid(unsafe_code)]
mod model;
#[forbid(unsafe_code)]
mod optim;
#[forbid(unsafe_code)]
mod optimizer;
#[cfg(feature = "rayon")]
#[forbid(unsafe_code)]
mod parallel;
#[forbid(unsafe_code)]
mod schedule;
pub mod simd;
#[forbid(unsafe_code)]
mod state;
#[forbid(unsafe_code)]
mod wrapper;

pub use average::WeightAverage;
pub use clip::{clip_grad_norm, clip_grad_norm_tensors, clip_grad_value, clip_grad_value_tensors, Norm};
#[cfg(feature = "mpi")]
pub use distributed::Mpi;
#[cfg(all(feature = "std", feature = "serde"))]
pub use distributed::ShardCheckpoint;
#[cfg(feature = "std")]
pub use distributed::{Communicator, DataParallel, SingleProcess, ZeroSharded};
pub use error::{Error, TensorName};
pub use fit::{evaluate, fit, EpochCallback, EpochReport, Evaluation, FitOptions, FitReport, Stop};
pub use groups::Groups;
pub use layout::Layout;
pub use loss::{sigmoid, AbsoluteError, Huber, LogLoss, Loss, SoftmaxCrossEntropy, SquaredError};
pub use minimize::{minimize, MinimizeOptions, MinimizeReport};
pub use model::{check_backward, check_gradient, loss_gradient, Gradient, GradientCheck, Linear, Logistic, Network};
/// The `mpi` crate (rsmpi) that [`Mpi`] wraps, re-exported so that `gradus::mpi::initialize()`
/// needs no dependency of your own (feature `mpi`).
#[cfg(feature = "mpi")]
pub use mpi;
pub use optim::{
    AdEmaMix, AdaBelief, Adadelta, Adafactor, Adagrad, Adam, AdamW, Adamax, Adan, AdjustLr, Adopt, Asgd, Form, Fromage,
    Lamb, Lars, Lbfgs, LineSearch, Lion, Muon, NAdam, NovoGrad, OptimisticGd, PolyakSgd, PolyakVariant,
    Preconditioning, Prodigy, RAdam, RmsProp, Rprop, ScheduleFreeAdamW, ScheduleFreeSgd, Sgd, SignSgd,
    SimplifiedAdEmaMix, Sm3, SparseAdam, Yogi,
};
pub use optimizer::Optimizer;
pub use schedule::{
    AnnealStrategy, Chained, ConstantLr, CosineAnnealingLr, CosineAnnealingWarmRestarts, CyclicLr, CyclicMode,
    DynSchedule, ExponentialLr, Interval, LambdaLr, LinearLr, MultiStepLr, MultiplicativeLr, OneCycleLr, PlateauMode,
    PolynomialLr, ReduceLrOnPlateau, ScaleMode, Schedule, Sequential, SpikeAnnealing, StepLr, SwaLr, ThresholdMode,
};
pub use wrapper::{ApplyIfFinite, Dtype, Lookahead, MultiSteps};
