//! Adadelta: `torch.optim.Adadelta`.

use num_traits::Float;

use crate::kernel::{self, apply, cast, to_f64, Common, Kernel};
use crate::optim::{common_setters, impl_optimizer, setters, Prep, Progress, Rule};
use crate::state::Buf;
use crate::Error;

/// Adadelta: `torch.optim.Adadelta` (single-tensor path).
///
/// Per element, in the order the code computes it:
///
/// ```text
/// g     = maximize ? -grad : grad
/// g     = g + weight_decay*p
/// s     = s*rho + ((1 - rho)*g)*g
/// delta = (sqrt(acc + eps) / sqrt(s + eps)) * g
/// acc   = acc*rho + ((1 - rho)*delta)*delta
/// p     = p + (-lr)*delta
/// ```
///
/// Defaults (PyTorch's): `lr` is the constructor's (PyTorch uses 1.0), `rho` 0.9, `eps` 1e-6,
/// `weight_decay` 0.
///
/// Reference: Zeiler (2012); `torch/optim/adadelta.py::_single_tensor_adadelta`.
///
/// ```
/// use gradus::{Adadelta, Optimizer};
/// let mut opt = Adadelta::new(1.0_f64);
/// let mut x = [1.0];
/// for _ in 0..50 {
///     let g = [2.0 * x[0]];
///     opt.step(&mut x, &g)?;
/// }
/// assert!(x[0] < 1.0);
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(bound(serialize = "T: Float + serde::Serialize", deserialize = "T: Float + serde::Deserialize<'de>"))
)]
pub struct Adadelta<T> {
    common: Common,
    rho: f64,
    eps: f64,
    weight_decay: f64,
    progress: Progress,
    square_avg: Buf<T>,
    acc_delta: Buf<T>,
}

impl<T: Float> Adadelta<T> {
    /// Adadelta with learning rate `lr` (PyTorch's default is 1.0) and PyTorch's other defaults.
    ///
    /// ```
    /// let opt = gradus::Adadelta::<f32>::new(1.0);
    /// # let _ = opt;
    /// ```
    pub fn new(lr: T) -> Self {
        Adadelta {
            common: Common::new(to_f64(lr)),
            rho: 0.9,
            eps: 1e-6,
            weight_decay: 0.0,
            progress: Progress::default(),
            square_avg: Buf::new(),
            acc_delta: Buf::new(),
        }
    }

    setters! {
        Adadelta;
        /// Decay of the running averages, in `[0, 1]` (default 0.9).
        rho / get_rho(rho: T) = (0.95);
        /// Term added inside both square roots, `>= 0` (default 1e-6).
        eps / get_eps(eps: T) = (1e-8);
        /// L2 penalty added to the gradient, `>= 0` (default 0).
        weight_decay / get_weight_decay(weight_decay: T) = (1e-4);
    }

    common_setters!(Adadelta);
}

impl<T: Float + Send + Sync> Rule<T> for Adadelta<T> {
    fn elementwise(&self) -> bool {
        true
    }

    crate::optim::state_fields!(required: [square_avg, acc_delta], optional: []);

    fn validate(&self) -> Result<(), Error> {
        kernel::unit_closed("rho", self.rho)?;
        kernel::non_negative("eps", self.eps)?;
        kernel::non_negative("weight_decay", self.weight_decay)
    }

    fn update(&mut self, params: &mut [T], grads: &[T]) {
        let n = params.len();
        self.progress.begin(n);
        self.square_avg.ensure(params, T::zero());
        self.acc_delta.ensure(params, T::zero());
        let k = AdadeltaKernel {
            prep: Prep::new(&self.common, self.weight_decay, false),
            rho: cast(self.rho),
            one_minus_rho: cast(1.0 - self.rho),
            eps: cast(self.eps),
            neg_lr: cast(-self.common.lr),
        };
        apply(&k, (params, grads, self.square_avg.get_mut(), self.acc_delta.get_mut()));
    }

    fn clear(&mut self) {
        self.square_avg.free();
        self.acc_delta.free();
    }

    fn second_moment(&self) -> Option<&[T]> {
        self.progress.len.map(|_| self.square_avg.get())
    }
}

impl_optimizer!(Adadelta);

struct AdadeltaKernel<T> {
    prep: Prep<T>,
    rho: T,
    one_minus_rho: T,
    eps: T,
    neg_lr: T,
}

type L4<'a, T> = (&'a mut [T], &'a [T], &'a mut [T], &'a mut [T]);

impl<'a, T: Float + Send + Sync> Kernel<L4<'a, T>> for AdadeltaKernel<T> {
    type Output = ();
    #[inline(always)]
    fn run<const FMA: bool>(&self, (p, g, s, acc): L4<'a, T>) {
        for (((p, &g), s), acc) in p.iter_mut().zip(g).zip(s.iter_mut()).zip(acc.iter_mut()) {
            let (q, g) = self.prep.grad(*p, g);
            *s = *s * self.rho + (self.one_minus_rho * g) * g;
            let std = (*s + self.eps).sqrt();
            let delta = ((*acc + self.eps).sqrt() / std) * g;
            *acc = *acc * self.rho + (self.one_minus_rho * delta) * delta;
            *p = q + self.neg_lr * delta;
        }
    }
}
