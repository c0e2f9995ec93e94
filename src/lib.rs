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

mod clip;
mod error;
mod fit;
mod kernel;
mod loss;
mod minimize;
mod model;
mod optim;
mod optimizer;
#[cfg(feature = "rayon")]
mod parallel;
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
