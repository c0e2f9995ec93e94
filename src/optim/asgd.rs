//! Averaged SGD: `torch.optim.ASGD`.

use num_traits::Float;

use crate::kernel::{self, apply, cast, to_f64, Common, Kernel};
use crate::optim::{common_setters, impl_optimizer, setters, Prep, Progress, Rule};
use crate::state::Buf;
use crate::Error;

/// Averaged stochastic gradient descent: `torch.optim.ASGD` (single-tensor path).
///
/// Per element, in the order the code computes it (`t` is the 1-based step; `eta` starts at
/// `lr` and `mu` at 1; both are `f64` state updated after the elementwise part):
///
/// ```text
/// g   = maximize ? -grad : grad
/// g   = g + weight_decay*p
/// p   = p*(1 - lambd*eta)
/// p   = p + (-eta)*g
/// ax  = mu != 1 ? ax + (p - ax)*mu : p
/// eta = lr / (1 + lambd*lr*t)^alpha
/// mu  = 1 / max(1, t - t0)
/// ```
///
/// Defaults (PyTorch's): `lambd` 1e-4, `alpha` 0.75, `t0` 1e6, `weight_decay` 0 (PyTorch's
/// `lr` default is 1e-2). The averaged parameters are [`ax`](Asgd::ax).
///
/// Reference: Polyak & Juditsky (1992); `torch/optim/asgd.py::_single_tensor_asgd`.
///
/// ```
/// use gradus::{Asgd, Optimizer};
/// let mut opt = Asgd::new(0.1_f64).t0(10.0);
/// let mut x = [1.0];
/// for _ in 0..100 {
///     let g = [2.0 * x[0]];
///     opt.step(&mut x, &g)?;
/// }
/// assert!(x[0].abs() < 1e-3 && opt.ax()[0].abs() < 0.1);
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(bound(serialize = "T: Float + serde::Serialize", deserialize = "T: Float + serde::Deserialize<'de>"))
)]
pub struct Asgd<T> {
    common: Common,
    lambd: f64,
    alpha: f64,
    t0: f64,
    weight_decay: f64,
    progress: Progress,
    eta: Option<f64>,
    mu: f64,
    ax: Buf<T>,
}

impl<T: Float> Asgd<T> {
    /// ASGD with learning rate `lr` and PyTorch's defaults.
    ///
    /// ```
    /// let opt = gradus::Asgd::<f32>::new(1e-2);
    /// # let _ = opt;
    /// ```
    pub fn new(lr: T) -> Self {
        Asgd {
            common: Common::new(to_f64(lr)),
            lambd: 1e-4,
            alpha: 0.75,
            t0: 1e6,
            weight_decay: 0.0,
            progress: Progress::default(),
            eta: None,
            mu: 1.0,
            ax: Buf::new(),
        }
    }

    setters! {
        Asgd;
        /// Decay term, `>= 0` (default 1e-4).
        lambd / get_lambd(lambd: T) = (1e-3);
        /// Power of the `eta` schedule, `>= 0` (default 0.75).
        alpha / get_alpha(alpha: T) = (0.5);
        /// Step at which averaging starts, `>= 0` (default 1e6).
        t0 / get_t0(t0: T) = (100.0);
        /// L2 penalty added to the gradient, `>= 0` (default 0).
        weight_decay / get_weight_decay(weight_decay: T) = (1e-4);
    }

    /// The averaged parameters (empty before the first step).
    ///
    /// ```
    /// use gradus::{Asgd, Optimizer};
    /// let mut opt = Asgd::new(0.1_f64);
    /// opt.step(&mut [1.0], &[1.0])?;
    /// assert_eq!(opt.ax().len(), 1);
    /// # Ok::<(), gradus::Error>(())
    /// ```
    pub fn ax(&self) -> &[T] {
        self.ax.get()
    }

    /// The step size `eta` the next step uses (`lr` before the first step).
    ///
    /// ```
    /// assert_eq!(gradus::Asgd::<f64>::new(0.1).eta(), 0.1);
    /// ```
    pub fn eta(&self) -> f64 {
        self.eta.unwrap_or(self.common.lr)
    }

    /// The averaging coefficient `mu` the next step uses (1 before averaging starts).
    ///
    /// ```
    /// assert_eq!(gradus::Asgd::<f64>::new(0.1).mu(), 1.0);
    /// ```
    pub fn mu(&self) -> f64 {
        self.mu
    }

    common_setters!(Asgd);
}

impl<T: Float + Send + Sync> Rule<T> for Asgd<T> {
    fn elementwise(&self) -> bool {
        true
    }

    crate::optim::state_fields!(required: [ax], optional: []);

    fn validate(&self) -> Result<(), Error> {
        kernel::non_negative("lambd", self.lambd)?;
        kernel::non_negative("alpha", self.alpha)?;
        kernel::non_negative("t0", self.t0)?;
        kernel::non_negative("weight_decay", self.weight_decay)?;
        match self.eta {
            Some(eta) if !(eta.is_finite() && eta >= 0.0) => {
                Err(Error::CorruptValue { field: "eta", value: eta, expected: "a finite step size >= 0" })
            }
            _ => Ok(()),
        }
    }

    fn update(&mut self, params: &mut [T], grads: &[T]) {
        let n = params.len();
        let t = self.progress.begin(n) as f64;
        self.ax.ensure(params, T::zero());
        let eta = self.eta();
        let k = AsgdKernel {
            prep: Prep::new(&self.common, self.weight_decay, false),
            decay: cast(1.0 - self.lambd * eta),
            neg_eta: cast(-eta),
            mu: cast(self.mu),
            average: self.mu != 1.0,
        };
        apply(&k, (params, grads, self.ax.get_mut()));
        let lr = self.common.lr;
        self.eta = Some(lr / num_traits::Float::powf(1.0 + self.lambd * lr * t, self.alpha));
        self.mu = 1.0 / f64::max(1.0, t - self.t0);
    }

    fn clear(&mut self) {
        self.eta = None;
        self.mu = 1.0;
        self.ax.free();
    }
}

impl_optimizer!(Asgd);

struct AsgdKernel<T> {
    prep: Prep<T>,
    decay: T,
    neg_eta: T,
    mu: T,
    average: bool,
}

type L3<'a, T> = (&'a mut [T], &'a [T], &'a mut [T]);

impl<'a, T: Float + Send + Sync> Kernel<L3<'a, T>> for AsgdKernel<T> {
    type Output = ();
    #[inline(always)]
    fn run<const FMA: bool>(&self, (p, g, ax): L3<'a, T>) {
        for ((p, &g), ax) in p.iter_mut().zip(g).zip(ax.iter_mut()) {
            let (q, g) = self.prep.grad(*p, g);
            let q = q * self.decay;
            *p = q + self.neg_eta * g;
            let averaged = *ax + (*p - *ax) * self.mu;
            *ax = if self.average { averaged } else { *p };
        }
    }
}
