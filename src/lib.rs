//! # descent
//!
//! First-order gradient optimizers on plain slices of any [`num_traits::Float`], numerically
//! identical to PyTorch's `torch.optim` (and optax, for the rules only optax has), with a small
//! training toolkit around them.
//!
//! ```
//! use descent::{Adam, Optimizer};
//!
//! let mut params = vec![1.0_f32, -2.0, 0.5];
//! let mut opt = Adam::new(1e-3).betas(0.9, 0.999);
//! let grads = vec![0.1_f32, -0.2, 0.3];
//! opt.step(&mut params, &grads)?;
//! # Ok::<(), descent::Error>(())
//! ```
//!
//! See the README for the list of rules, the parity tests and the benchmarks.
#![no_std]
// `unsafe` is forbidden in every module but `simd`, whose target-feature calls need it.
#![deny(unsafe_code)]
#![warn(missing_docs)]
#![doc(test(attr(deny(warnings))))]

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

#[cfg(not(any(feature = "std", feature = "libm")))]
compile_error!("descent needs either the `std` feature (default) or the `libm` feature for float math");

#[forbid(unsafe_code)]
mod clip;
#[forbid(unsafe_code)]
mod error;
#[forbid(unsafe_code)]
mod fit;
#[forbid(unsafe_code)]
mod kernel;
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

pub use clip::{clip_grad_norm, clip_grad_value};
pub use error::Error;
pub use fit::{fit, EpochCallback, EpochReport, FitOptions, FitReport, Stop};
pub use loss::{sigmoid, AbsoluteError, Huber, LogLoss, Loss, SquaredError};
pub use minimize::{minimize, MinimizeOptions, MinimizeReport};
pub use model::{check_gradient, loss_gradient, Gradient, GradientCheck, Linear, Logistic};
pub use optim::{
    AdaBelief, Adadelta, Adagrad, Adam, AdamW, Adamax, Asgd, Lamb, Lion, NAdam, RAdam, RmsProp, Rprop, Sgd, Yogi,
};
pub use optimizer::Optimizer;
pub use schedule::{
    CosineAnnealingLr, CosineAnnealingWarmRestarts, ExponentialLr, Interval, LinearLr, MultiStepLr, OneCycleLr,
    PlateauMode, ReduceLrOnPlateau, Schedule, Sequential, SpikeAnnealing, StepLr,
};
