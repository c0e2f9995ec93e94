//! # gradus
//!
//! First-order gradient optimizers on plain slices of any [`num_traits::Float`], numerically
//! the ones PyTorch's `torch.optim` computes (and optax's, for the rules only optax has), with a
//! small training toolkit around them: losses and models with analytic gradients, a `fit` loop,
//! learning-rate schedules, gradient clipping and exact checkpoints.
//!
//! ```
//! use gradus::{Adam, Optimizer};
//!
//! let mut params = vec![1.0_f32, -2.0, 0.5];
//! let mut opt = Adam::new(1e-3).betas(0.9, 0.999);
//! let grads = vec![0.1_f32, -0.2, 0.3];
//! opt.step(&mut params, &grads)?;
//! # Ok::<(), gradus::Error>(())
//! ```
//!
//! ## The contract
//!
//! - **Parity.** Each rule's docs state its update in the order the code computes it and name
//!   the PyTorch or optax function it matches; recorded float64 trajectories of those functions
//!   are reproduced to relative 1e-9 (`tests/parity.rs`).
//! - **Never corrupts.** [`Optimizer::step`] checks hyperparameters, lengths, the state's size
//!   and (unless `check_finite(false)`) the gradient for NaN/infinity before writing anything;
//!   a failed step returns an [`Error`] and leaves parameters and state bit for bit as they were.
//!   Constructors and setters never panic: invalid values are reported by the next `step`.
//! - **Speed of memory.** A step is one fused pass over parameters, gradients and state,
//!   compiled for AVX2/AVX-512 and picked at run time ([`simd`]); no allocation after the first
//!   step.
//!
//! ## Choosing a rule
//!
//! | if you want | use |
//! |---|---|
//! | a robust default for most problems | [`Adam`] (or [`AdamW`] with weight decay) |
//! | the plain textbook method, or the best final accuracy with a tuned schedule | [`Sgd`] with `momentum(0.9)` (and `nesterov(true)`) |
//! | memory of one buffer per parameter, sign updates | [`Lion`] |
//! | sparse or rarely active features | [`Adagrad`] |
//! | non-stationary objectives, RNN-style training | [`RmsProp`] |
//! | Adam with fewer early-training blow-ups | [`RAdam`], [`AdaBelief`], [`Yogi`] |
//! | Nesterov flavour of Adam | [`NAdam`] |
//! | large-batch training of one layer | [`Lamb`] |
//! | full-batch problems with noisy gradient magnitudes | [`Rprop`] |
//! | an averaged iterate (Polyak averaging) | [`Asgd`] ([`Asgd::ax`]) |
//! | no learning rate to tune | [`Adadelta`] |
//!
//! ## Training toolkit
//!
//! [`Loss`] gives a loss and its derivative with respect to the prediction, [`Gradient`] a
//! model's prediction and its gradient with respect to the parameters; [`loss_gradient`] chains
//! them. [`fit`] runs epochs of per-sample or mini-batch steps with shuffling, a [`Schedule`],
//! clipping, early stopping and a divergence guard; [`minimize`] handles closures that are not
//! datasets. [`SpikeAnnealing`] is the fast.ai notebook's annealing rule.
//!
//! ## Features
//!
//! | feature | default | adds |
//! |---|---|---|
//! | `std` | yes | runtime SIMD detection, `GRADUS_SIMD`, wall times in [`EpochReport`] |
//! | `libm` | no | float math without `std`: build with `--no-default-features --features libm` for `no_std` (needs `alloc`) |
//! | `serde` | no | `Serialize`/`Deserialize` for every rule and schedule (but [`Sequential`]): exact checkpoints (with `serde_json`, enable its `float_roundtrip` feature) |
//! | `rayon` | no | steps (and the non-finite scan) above 2^17 elements split over rayon's pool; bit-identical to serial |
#![no_std]
// `unsafe` is forbidden in every module but `simd`, whose target-feature calls need it.
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
mod clip;
#[forbid(unsafe_code)]
mod error;
#[forbid(unsafe_code)]
mod fit;
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

pub use clip::{clip_grad_norm, clip_grad_norm_tensors, clip_grad_value, clip_grad_value_tensors, Norm};
pub use error::{Error, TensorName};
pub use fit::{evaluate, fit, EpochCallback, EpochReport, Evaluation, FitOptions, FitReport, Stop};
pub use groups::Groups;
pub use layout::Layout;
pub use loss::{sigmoid, AbsoluteError, Huber, LogLoss, Loss, SoftmaxCrossEntropy, SquaredError};
pub use minimize::{minimize, MinimizeOptions, MinimizeReport};
pub use model::{check_backward, check_gradient, loss_gradient, Gradient, GradientCheck, Linear, Logistic, Network};
pub use optim::{
    AdaBelief, Adadelta, Adagrad, Adam, AdamW, Adamax, Asgd, Lamb, Lion, NAdam, RAdam, RmsProp, Rprop, Sgd, Yogi,
};
pub use optimizer::Optimizer;
pub use schedule::{
    CosineAnnealingLr, CosineAnnealingWarmRestarts, ExponentialLr, Interval, LinearLr, MultiStepLr, OneCycleLr,
    PlateauMode, ReduceLrOnPlateau, Schedule, Sequential, SpikeAnnealing, StepLr,
};
