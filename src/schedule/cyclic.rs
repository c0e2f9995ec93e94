//! Cyclical learning rates: `torch.optim.lr_scheduler.CyclicLR`.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

use num_traits::Float;

use super::torch::set_lr;
use crate::kernel::{self, cast};
use crate::schedule::Schedule;
use crate::{Error, Optimizer};

/// The amplitude policy of [`CyclicLr`]: torch's `mode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum CyclicMode {
    /// The full amplitude every cycle (the default).
    #[default]
    Triangular,
    /// The amplitude halved every cycle: scale `1 / 2^(cycle - 1)`.
    Triangular2,
    /// The amplitude scaled by `gamma^iterations`.
    ExpRange,
}

/// What a custom scale function of [`CyclicLr`] is evaluated on: torch's `scale_mode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum ScaleMode {
    /// The cycle number, from 1 (the default).
    #[default]
    Cycle,
    /// The steps taken since the start.
    Iterations,
}

type ScaleFn = Arc<dyn Fn(f64) -> f64 + Send + Sync>;

/// Cycles the rate between `base_lr` and `max_lr` (and the momentum inversely between
/// `max_momentum` and `base_momentum`): `torch.optim.lr_scheduler.CyclicLR`.
///
/// At step `t` (from 0), with `up`/`down` the steps of the rising and falling halves:
///
/// ```text
/// total = up + down;  ratio = up / total
/// cycle = floor(1 + t/total);  x = 1 + t/total - cycle
/// s     = x <= ratio ? x/ratio : (x - 1)/(ratio - 1)
/// lr    = base_lr + (max_lr - base_lr)*s * scale(cycle or t)
/// m     = max_momentum - (max_momentum - base_momentum)*s * scale(cycle or t)
/// ```
///
/// `scale` is 1 (`Triangular`), `1/2^(cycle-1)` (`Triangular2`), `gamma^t` (`ExpRange`, on
/// iterations) or a function of your own. Starting the schedule sets every group's rate to its
/// `base_lr` (as constructing torch's does). Defaults: `step_size_down = step_size_up`,
/// `Triangular`, `gamma` 1, momentum cycling on between 0.8 and 0.9 (torch's; the optimizer needs
/// a momentum or beta1, else use `cycle_momentum(None)`).
///
/// ```
/// use gradus::{CyclicLr, Optimizer, Schedule, Sgd};
/// let mut opt = Sgd::new(0.5_f64);
/// let mut s = CyclicLr::new(0.1, 1.0, 2).cycle_momentum(None);
/// s.start(&mut opt)?;
/// let lrs: Vec<f64> = (0..5).map(|_| { let l = opt.learning_rate(); s.step(&mut opt, None).unwrap(); l }).collect();
/// assert_eq!(lrs, [0.1, 0.55, 1.0, 0.55, 0.1]);
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct CyclicLr {
    base_lrs: Vec<f64>,
    max_lrs: Vec<f64>,
    step_size_up: u64,
    step_size_down: Option<u64>,
    mode: CyclicMode,
    gamma: f64,
    /// Not saved: a checkpoint holds every other field, and one of a `CyclicLr` with a custom
    /// scale function is an error naming it.
    #[cfg_attr(
        feature = "serde",
        serde(skip_deserializing, skip_serializing_if = "Option::is_none", serialize_with = "no_scale_fn")
    )]
    scale_fn: Option<(ScaleFn, ScaleMode)>,
    momenta: Option<(f64, f64)>,
    group_momenta: Vec<(f64, f64)>,
    last_epoch: u64,
    started: bool,
}

impl CyclicLr {
    /// Cycles between `base_lr` and `max_lr`, rising over `step_size_up` (>= 1) steps.
    ///
    /// ```
    /// let s = gradus::CyclicLr::new(1e-3, 1e-2, 2000);
    /// # let _ = s;
    /// ```
    pub fn new(base_lr: f64, max_lr: f64, step_size_up: u64) -> Self {
        CyclicLr::per_group(&[base_lr], &[max_lr], step_size_up)
    }

    /// One `base_lr` and `max_lr` per parameter group (torch's lists); a single value applies
    /// to every group.
    ///
    /// ```
    /// let s = gradus::CyclicLr::per_group(&[1e-3, 1e-4], &[1e-2, 1e-3], 2000);
    /// # let _ = s;
    /// ```
    pub fn per_group(base_lrs: &[f64], max_lrs: &[f64], step_size_up: u64) -> Self {
        CyclicLr {
            base_lrs: base_lrs.to_vec(),
            max_lrs: max_lrs.to_vec(),
            step_size_up,
            step_size_down: None,
            mode: CyclicMode::Triangular,
            gamma: 1.0,
            scale_fn: None,
            momenta: Some((0.8, 0.9)),
            group_momenta: Vec::new(),
            last_epoch: 0,
            started: false,
        }
    }

    /// Steps of the falling half (default: `step_size_up`).
    ///
    /// ```
    /// let s = gradus::CyclicLr::new(1e-3, 1e-2, 20).step_size_down(60);
    /// # let _ = s;
    /// ```
    pub fn step_size_down(mut self, steps: u64) -> Self {
        self.step_size_down = Some(steps);
        self
    }

    /// The amplitude policy (default [`CyclicMode::Triangular`]).
    ///
    /// ```
    /// let s = gradus::CyclicLr::new(1e-3, 1e-2, 20).mode(gradus::CyclicMode::ExpRange).gamma(0.99);
    /// # let _ = s;
    /// ```
    pub fn mode(mut self, mode: CyclicMode) -> Self {
        self.mode = mode;
        self
    }

    /// `gamma` of [`CyclicMode::ExpRange`] (default 1).
    ///
    /// ```
    /// let s = gradus::CyclicLr::new(1e-3, 1e-2, 20).gamma(0.98);
    /// # let _ = s;
    /// ```
    pub fn gamma(mut self, gamma: f64) -> Self {
        self.gamma = gamma;
        self
    }

    /// A scale function of your own in `[0, 1]`, evaluated on the cycle number or the step
    /// (torch's `scale_fn` and `scale_mode`); it replaces the mode.
    ///
    /// ```
    /// use gradus::{CyclicLr, ScaleMode};
    /// let s = CyclicLr::new(1e-3, 1e-2, 20).scale_fn(|cycle| 1.0 / cycle, ScaleMode::Cycle);
    /// # let _ = s;
    /// ```
    pub fn scale_fn(mut self, f: impl Fn(f64) -> f64 + Send + Sync + 'static, mode: ScaleMode) -> Self {
        self.scale_fn = Some((Arc::new(f), mode));
        self
    }

    /// Cycle the momentum (or beta1) inversely between `(base_momentum, max_momentum)` (default
    /// on, (0.8, 0.9)); `None` turns it off.
    ///
    /// ```
    /// let s = gradus::CyclicLr::new(1e-3, 1e-2, 20).cycle_momentum(Some((0.85, 0.95)));
    /// # let _ = s;
    /// ```
    pub fn cycle_momentum(mut self, momenta: Option<(f64, f64)>) -> Self {
        self.momenta = momenta;
        self.group_momenta.clear();
        self
    }

    /// One `(base_momentum, max_momentum)` pair per parameter group (torch's lists), cycling
    /// on; the count must equal the optimizer's groups.
    ///
    /// ```
    /// let s = gradus::CyclicLr::new(1e-3, 1e-2, 20).momenta_per_group(&[(0.8, 0.9), (0.85, 0.95)]);
    /// # let _ = s;
    /// ```
    pub fn momenta_per_group(mut self, momenta: &[(f64, f64)]) -> Self {
        self.momenta = momenta.first().copied().or(self.momenta);
        self.group_momenta = momenta.to_vec();
        self
    }

    fn validate(&self) -> Result<(), Error> {
        kernel::require(self.step_size_up >= 1, "step_size_up", self.step_size_up as f64, "at least 1")?;
        if let Some(d) = self.step_size_down {
            kernel::require(d >= 1, "step_size_down", d as f64, "at least 1")?;
        }
        kernel::require(
            !self.base_lrs.is_empty() && self.base_lrs.len() == self.max_lrs.len(),
            "max_lrs",
            self.max_lrs.len() as f64,
            "as many max_lr as base_lr values",
        )?;
        for (&b, &m) in self.base_lrs.iter().zip(&self.max_lrs) {
            kernel::non_negative("base_lr", b)?;
            kernel::non_negative("max_lr", m)?;
        }
        kernel::positive("gamma", self.gamma)?;
        for &(b, m) in self.momenta.iter().chain(&self.group_momenta) {
            kernel::unit("base_momentum", b)?;
            kernel::unit("max_momentum", m)?;
        }
        Ok(())
    }

    fn scale(&self, cycle: f64, t: f64) -> f64 {
        match (&self.scale_fn, self.mode) {
            (Some((f, ScaleMode::Cycle)), _) => f(cycle),
            (Some((f, ScaleMode::Iterations)), _) => f(t),
            (None, CyclicMode::Triangular) => 1.0,
            (None, CyclicMode::Triangular2) => 1.0 / Float::powf(2.0, cycle - 1.0),
            (None, CyclicMode::ExpRange) => Float::powf(self.gamma, t),
        }
    }

    /// What `apply` would refuse about this optimizer, checked before anything is written.
    fn check<T: Float>(&self, optimizer: &dyn Optimizer<T>) -> Result<(), Error> {
        let groups = optimizer.groups();
        if !self.group_momenta.is_empty() && self.momenta.is_some() && self.group_momenta.len() != groups {
            return Err(Error::InvalidHyperparameter {
                name: "momenta_per_group",
                value: self.group_momenta.len() as f64,
                expected: "one (base, max) momentum pair per parameter group of the optimizer",
            });
        }
        if self.base_lrs.len() != 1 && self.base_lrs.len() != groups {
            return Err(Error::InvalidHyperparameter {
                name: "base_lrs",
                value: self.base_lrs.len() as f64,
                expected: "one base_lr per parameter group of the optimizer (or one for all)",
            });
        }
        for g in 0..groups {
            if let Some((base_m, _)) = self.group_momenta_of(g) {
                if optimizer.group_momentum(g).is_none() {
                    return Err(Error::InvalidHyperparameter {
                        name: "cycle_momentum",
                        value: base_m,
                        expected: "an optimizer with a momentum (or beta1); turn cycling off with cycle_momentum(None)",
                    });
                }
            }
        }
        Ok(())
    }

    fn group_momenta_of(&self, g: usize) -> Option<(f64, f64)> {
        if self.group_momenta.is_empty() {
            self.momenta
        } else {
            self.group_momenta.get(g).copied()
        }
    }

    /// Sets every group's rate (and momentum) for `last_epoch`; `check` has passed.
    fn apply<T: Float>(&self, optimizer: &mut dyn Optimizer<T>) {
        let up = self.step_size_up as f64;
        let total = up + self.step_size_down.unwrap_or(self.step_size_up) as f64;
        let ratio = up / total;
        let t = self.last_epoch as f64;
        let cycle = Float::floor(1.0 + t / total);
        let x = 1.0 + t / total - cycle;
        let s = if x <= ratio { x / ratio } else { (x - 1.0) / (ratio - 1.0) };
        let scale = self.scale(cycle, t);
        for g in 0..optimizer.groups() {
            let i = if self.base_lrs.len() == 1 { 0 } else { g };
            let (base, max) = (self.base_lrs[i], self.max_lrs[i]);
            set_lr(optimizer, g, base + (max - base) * s * scale);
            if let Some((base_m, max_m)) = self.group_momenta_of(g) {
                let m = max_m - (max_m - base_m) * s * scale;
                let set = optimizer.set_group_momentum(g, cast(m));
                debug_assert!(set, "check found a momentum");
            }
        }
    }
}

impl<T: Float> Schedule<T> for CyclicLr {
    fn start(&mut self, optimizer: &mut dyn Optimizer<T>) -> Result<(), Error> {
        self.validate()?;
        if self.started {
            return Ok(());
        }
        self.check(&*optimizer)?;
        self.started = true;
        self.apply(optimizer);
        Ok(())
    }

    fn step(&mut self, optimizer: &mut dyn Optimizer<T>, _metric: Option<T>) -> Result<(), Error> {
        self.validate()?;
        self.check(&*optimizer)?;
        self.started = true;
        self.last_epoch += 1;
        self.apply(optimizer);
        Ok(())
    }

    fn validate(&self) -> Result<(), Error> {
        CyclicLr::validate(self)
    }
}

impl fmt::Debug for CyclicLr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CyclicLr")
            .field("base_lrs", &self.base_lrs)
            .field("max_lrs", &self.max_lrs)
            .field("step_size_up", &self.step_size_up)
            .field("step_size_down", &self.step_size_down)
            .field("mode", &self.mode)
            .field("gamma", &self.gamma)
            .field("scale_fn", &self.scale_fn.as_ref().map(|(_, mode)| mode))
            .field("momenta", &self.momenta)
            .field("group_momenta", &self.group_momenta)
            .field("last_epoch", &self.last_epoch)
            .finish()
    }
}

/// The saved form of a custom scale function: none (`scale_fn` is serialized only when set).
#[cfg(feature = "serde")]
fn no_scale_fn<S: serde::Serializer>(_: &Option<(ScaleFn, ScaleMode)>, _: S) -> Result<S::Ok, S::Error> {
    Err(serde::ser::Error::custom(
        "a CyclicLr with a custom scale_fn cannot be serialized (a closure has no saved form): \
         use one of its modes, or rebuild the schedule with its scale_fn on resume",
    ))
}
