//! Rprop: `torch.optim.Rprop`.

use num_traits::Float;

use crate::kernel::{self, apply, cast, sign, to_f64, Common, Kernel};
use crate::optim::{common_setters, impl_optimizer, Progress, Rule};
use crate::state::Buf;
use crate::Error;

/// Resilient backpropagation: `torch.optim.Rprop` (single-tensor path).
///
/// Per element, in the order the code computes it (`prev` starts at 0 and each element's step
/// size at `lr`, when the state is first sized):
///
/// ```text
/// g    = maximize ? -grad : grad
/// s    = g*prev
/// f    = s > 0 ? eta_plus : s < 0 ? eta_minus : 1
/// size = clamp(size*f, step_size_min, step_size_max)
/// g    = s < 0 ? 0 : g
/// p    = p + (-1*sign(g))*size                       // addcmul_(sign(g), size, value=-1)
/// prev = g
/// ```
///
/// Defaults (PyTorch's): `etas` (0.5, 1.2), `step_sizes` (1e-6, 50) (PyTorch's `lr` default is
/// 1e-2). The learning rate only sets the initial step sizes: changing it later has no effect
/// until [`reset`](crate::Optimizer::reset), as in PyTorch.
///
/// Reference: Riedmiller & Braun (1993); `torch/optim/rprop.py::_single_tensor_rprop`.
///
/// ```
/// use gradus::{Optimizer, Rprop};
/// let mut opt = Rprop::new(0.1_f64);
/// let mut x = [1.0];
/// for _ in 0..100 {
///     let g = [2.0 * x[0]];
///     opt.step(&mut x, &g)?;
/// }
/// assert!(x[0].abs() < 1e-3);
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(bound(serialize = "T: Float + serde::Serialize", deserialize = "T: Float + serde::Deserialize<'de>"))
)]
pub struct Rprop<T> {
    common: Common,
    etas: (f64, f64),
    step_sizes: (f64, f64),
    progress: Progress,
    prev: Buf<T>,
    step_size: Buf<T>,
}

impl<T: Float> Rprop<T> {
    /// Rprop with initial step size `lr` and PyTorch's defaults.
    ///
    /// ```
    /// let opt = gradus::Rprop::<f32>::new(1e-2);
    /// # let _ = opt;
    /// ```
    pub fn new(lr: T) -> Self {
        Rprop {
            common: Common::new(to_f64(lr)),
            etas: (0.5, 1.2),
            step_sizes: (1e-6, 50.0),
            progress: Progress::default(),
            prev: Buf::new(),
            step_size: Buf::new(),
        }
    }

    /// Step-size factors on a sign change and on a repeated sign: `0 < minus < 1 < plus`
    /// (default 0.5, 1.2).
    ///
    /// ```
    /// let opt = gradus::Rprop::new(1e-2_f64).etas(0.4, 1.5);
    /// # let _ = opt;
    /// ```
    pub fn etas(mut self, minus: T, plus: T) -> Self {
        self.etas = (to_f64(minus), to_f64(plus));
        self
    }

    /// The value set by [`etas`](Rprop::etas) (default (0.5, 1.2)).
    ///
    /// ```
    /// let opt = gradus::Rprop::new(0.1_f64).etas(0.4, 1.1);
    /// assert_eq!(opt.get_etas(), (0.4, 1.1));
    /// ```
    pub fn get_etas(&self) -> (T, T) {
        (cast(self.etas.0), cast(self.etas.1))
    }

    /// Smallest and largest step size: `0 <= min <= max` (default 1e-6, 50).
    ///
    /// ```
    /// let opt = gradus::Rprop::new(1e-2_f64).step_sizes(1e-8, 1.0);
    /// # let _ = opt;
    /// ```
    pub fn step_sizes(mut self, min: T, max: T) -> Self {
        self.step_sizes = (to_f64(min), to_f64(max));
        self
    }

    /// The value set by [`step_sizes`](Rprop::step_sizes) (default (1e-6, 50)).
    ///
    /// ```
    /// let opt = gradus::Rprop::new(0.1_f64).step_sizes(1e-5, 10.0);
    /// assert_eq!(opt.get_step_sizes(), (1e-5, 10.0));
    /// ```
    pub fn get_step_sizes(&self) -> (T, T) {
        (cast(self.step_sizes.0), cast(self.step_sizes.1))
    }

    common_setters!(Rprop);
}

impl<T: Float + Send + Sync> Rule<T> for Rprop<T> {
    fn elementwise(&self) -> bool {
        true
    }

    crate::optim::state_fields!(required: [prev, step_size], optional: []);

    fn validate(&self) -> Result<(), Error> {
        let (minus, plus) = self.etas;
        kernel::require(minus > 0.0 && minus < 1.0, "etas.0", minus, "0 < eta_minus < 1")?;
        kernel::require(plus > 1.0 && plus.is_finite(), "etas.1", plus, "a finite eta_plus > 1")?;
        let (lo, hi) = self.step_sizes;
        kernel::non_negative("step_sizes.0", lo)?;
        kernel::non_negative("step_sizes.1", hi)?;
        kernel::require(lo <= hi, "step_sizes.1", hi, "step_size_max >= step_size_min")
    }

    fn update(&mut self, params: &mut [T], grads: &[T]) {
        let n = params.len();
        self.progress.begin(n);
        self.prev.ensure(params, T::zero());
        self.step_size.ensure(params, cast(self.common.lr));
        let k = RpropKernel {
            sign: self.common.sign(),
            minus: cast(self.etas.0),
            plus: cast(self.etas.1),
            lo: cast(self.step_sizes.0),
            hi: cast(self.step_sizes.1),
        };
        apply(&k, (params, grads, self.prev.get_mut(), self.step_size.get_mut()));
    }

    fn clear(&mut self) {
        self.prev.free();
        self.step_size.free();
    }
}

impl_optimizer!(Rprop);

struct RpropKernel<T> {
    sign: T,
    minus: T,
    plus: T,
    lo: T,
    hi: T,
}

type L4<'a, T> = (&'a mut [T], &'a [T], &'a mut [T], &'a mut [T]);

impl<'a, T: Float + Send + Sync> Kernel<L4<'a, T>> for RpropKernel<T> {
    type Output = ();
    #[inline(always)]
    fn run<const FMA: bool>(&self, (p, g, prev, size): L4<'a, T>) {
        for (((p, &g), prev), size) in p.iter_mut().zip(g).zip(prev.iter_mut()).zip(size.iter_mut()) {
            let g = g * self.sign;
            let s = g * *prev;
            let flipped = s < T::zero();
            let f = if s > T::zero() {
                self.plus
            } else if flipped {
                self.minus
            } else {
                T::one()
            };
            *size = (*size * f).max(self.lo).min(self.hi);
            let g = if flipped { T::zero() } else { g };
            *p = *p + (-sign(g)) * *size;
            *prev = g;
        }
    }
}
