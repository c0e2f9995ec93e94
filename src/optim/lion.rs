//! Lion: `optax.lion`.

use num_traits::Float;

use crate::kernel::{self, apply, cast, sign, to_f64, Common, Ema, Kernel};
use crate::optim::{common_setters, impl_optimizer, momentum_is, setters, Progress, Rule};
use crate::state::Buf;
use crate::Error;

/// Lion (evolved sign momentum): `optax.lion` = `scale_by_lion` + `add_decayed_weights` +
/// `scale_by_learning_rate`.
///
/// Per element, in the order the code computes it:
///
/// ```text
/// g = maximize ? -grad : grad
/// u = sign((1 - beta1)*g + beta1*m)
/// m = (1 - beta2)*g + beta2*m
/// u = u + weight_decay*p                  // optax adds the decay to the update
/// p = p + (-lr)*u
/// ```
///
/// Defaults (optax's): `betas` (0.9, 0.99), `weight_decay` 1e-3.
///
/// Reference: Chen et al. (2023), "Symbolic Discovery of Optimization Algorithms";
/// `optax/_src/alias.py::lion`, `optax/_src/transform.py::scale_by_lion`.
///
/// ```
/// use gradus::{Lion, Optimizer};
/// let mut opt = Lion::new(0.01_f64).weight_decay(0.0);
/// let mut p = [1.0];
/// opt.step(&mut p, &[3.0])?;
/// assert_eq!(p[0], 0.99); // a signed step of exactly lr
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(bound(serialize = "T: Float + serde::Serialize", deserialize = "T: Float + serde::Deserialize<'de>"))
)]
pub struct Lion<T> {
    common: Common,
    beta1: f64,
    beta2: f64,
    weight_decay: f64,
    progress: Progress,
    mu: Buf<T>,
}

impl<T: Float> Lion<T> {
    /// Lion with learning rate `lr` and optax's defaults.
    ///
    /// ```
    /// let opt = gradus::Lion::<f32>::new(1e-4);
    /// # let _ = opt;
    /// ```
    pub fn new(lr: T) -> Self {
        Lion {
            common: Common::new(to_f64(lr)),
            beta1: 0.9,
            beta2: 0.99,
            weight_decay: 1e-3,
            progress: Progress::default(),
            mu: Buf::new(),
        }
    }

    setters! {
        Lion;
        /// Interpolation factor of the update and decay of the momentum, each in `[0, 1]`
        /// (default 0.9, 0.99).
        betas / get_betas(beta1: T, beta2: T) = (0.95, 0.98);
        /// Decoupled weight decay added to the update, `>= 0` (default 1e-3).
        weight_decay / get_weight_decay(weight_decay: T) = (0.0);
    }

    common_setters!(Lion);
}

impl<T: Float + Send + Sync> Rule<T> for Lion<T> {
    fn elementwise(&self) -> bool {
        true
    }

    crate::optim::state_fields!(required: [mu], optional: []);

    fn validate(&self) -> Result<(), Error> {
        kernel::unit_closed("beta1", self.beta1)?;
        kernel::unit_closed("beta2", self.beta2)?;
        kernel::non_negative("weight_decay", self.weight_decay)
    }

    fn update(&mut self, params: &mut [T], grads: &[T]) {
        let n = params.len();
        self.progress.begin(n);
        self.mu.ensure(params, T::zero());
        let k = LionKernel {
            sign: self.common.sign(),
            interp: Ema::new(self.beta1),
            ema: Ema::new(self.beta2),
            weight_decay: cast(self.weight_decay),
            neg_lr: cast(-self.common.lr),
        };
        apply(&k, (params, grads, self.mu.get_mut()));
    }

    fn clear(&mut self) {
        self.mu.free();
    }

    momentum_is!(beta1);
}

impl_optimizer!(Lion);

struct LionKernel<T> {
    sign: T,
    interp: Ema<T>,
    ema: Ema<T>,
    weight_decay: T,
    neg_lr: T,
}

type L3<'a, T> = (&'a mut [T], &'a [T], &'a mut [T]);

impl<'a, T: Float + Send + Sync> Kernel<L3<'a, T>> for LionKernel<T> {
    type Output = ();
    #[inline(always)]
    fn run<const FMA: bool>(&self, (p, g, m): L3<'a, T>) {
        for ((p, &g), m) in p.iter_mut().zip(g).zip(m.iter_mut()) {
            let g = g * self.sign;
            let u = sign(self.interp.at(*m, g));
            *m = self.ema.at(*m, g);
            let u = u + self.weight_decay * *p;
            *p = *p + self.neg_lr * u;
        }
    }
}
