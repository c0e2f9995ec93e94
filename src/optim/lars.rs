//! LARS: `optax.lars`.

use num_traits::Float;

use crate::kernel::{self, cast, norm2, to_f64, Common};
use crate::optim::{impl_optimizer, momentum_is, Progress, Rule};
use crate::state::Buf;
use crate::Error;

/// LARS (layer-wise adaptive rate scaling): `optax.lars`. The slice is one layer: inside
/// [`Groups`](crate::Groups) every tensor gets its own trust ratio.
///
/// ```text
/// u = g + weight_decay*p                          // if weight_decay_mask
/// u = u * (trust_coefficient*|p| / (|u| + eps))   // if trust_ratio_mask; 1 if |p| or |u| is 0
/// u = (-lr) * u
/// t = u + momentum*t;  update = nesterov ? u + momentum*t : t
/// p = p + update
/// ```
///
/// Defaults (optax's): `weight_decay` 0, `trust_coefficient` 0.001, `eps` 0, `momentum` 0.9,
/// `nesterov` false, both masks on.
///
/// Reference: You et al. (2017), "Large Batch Training of Convolutional Networks".
///
/// ```
/// use gradus::{Lars, Optimizer};
/// let mut opt = Lars::new(1.0_f64);
/// let mut p = [3.0, 4.0];
/// opt.step(&mut p, &[1.0, 0.0])?; // a step of 0.001 * |p| = 0.005 along -g
/// assert!((p[0] - 2.995).abs() < 1e-12);
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(bound(serialize = "T: Float + serde::Serialize", deserialize = "T: Float + serde::Deserialize<'de>"))
)]
pub struct Lars<T> {
    common: Common,
    weight_decay: f64,
    weight_decay_mask: bool,
    trust_coefficient: f64,
    eps: f64,
    trust_ratio_mask: bool,
    momentum: f64,
    nesterov: bool,
    progress: Progress,
    trace: Buf<T>,
}

impl<T: Float> Lars<T> {
    /// LARS with learning rate `lr` and optax's defaults.
    ///
    /// ```
    /// let opt = gradus::Lars::<f32>::new(1.0);
    /// # let _ = opt;
    /// ```
    pub fn new(lr: T) -> Self {
        Lars {
            common: Common::new(to_f64(lr)),
            weight_decay: 0.0,
            weight_decay_mask: true,
            trust_coefficient: 0.001,
            eps: 0.0,
            trust_ratio_mask: true,
            momentum: 0.9,
            nesterov: false,
            progress: Progress::default(),
            trace: Buf::new(),
        }
    }

    crate::optim::setters! {
        Lars;
        /// Weight decay added to the gradient, `>= 0` (default 0).
        weight_decay / get_weight_decay(weight_decay: T) = (1e-4);
        /// Whether the weight decay applies to this tensor (optax's `weight_decay_mask`, default `true`).
        weight_decay_mask / get_weight_decay_mask(weight_decay_mask: bool) = (false);
        /// The trust coefficient, `>= 0` (default 0.001).
        trust_coefficient / get_trust_coefficient(trust_coefficient: T) = (0.01);
        /// Added to the update's norm, `>= 0` (default 0).
        eps / get_eps(eps: T) = (1e-8);
        /// Whether the trust ratio applies to this tensor (optax's `trust_ratio_mask`, default `true`).
        trust_ratio_mask / get_trust_ratio_mask(trust_ratio_mask: bool) = (false);
        /// The momentum of the trace, `>= 0` (default 0.9).
        momentum / get_momentum(momentum: T) = (0.8);
        /// Nesterov momentum (default `false`).
        nesterov / get_nesterov(nesterov: bool) = (true);
    }

    crate::optim::common_setters!(Lars);
}

impl<T: Float + Send + Sync> Rule<T> for Lars<T> {
    crate::optim::state_fields!(required: [trace], optional: []);

    fn validate(&self) -> Result<(), Error> {
        kernel::non_negative("weight_decay", self.weight_decay)?;
        kernel::non_negative("trust_coefficient", self.trust_coefficient)?;
        kernel::non_negative("eps", self.eps)?;
        kernel::non_negative("momentum", self.momentum)
    }

    fn update(&mut self, params: &mut [T], grads: &[T]) {
        self.progress.begin(params.len());
        self.trace.ensure(params, T::zero());
        let s = self.common.sign::<T>();
        let wd: T = cast(if self.weight_decay_mask { self.weight_decay } else { 0.0 });
        let decays = self.weight_decay_mask && self.weight_decay != 0.0;
        // the norm of the decayed gradient, before anything is written
        let u_sq: f64 = if decays {
            params.iter().zip(grads).map(|(&p, &g)| to_f64(g * s + wd * p)).map(|u| u * u).sum()
        } else {
            grads.iter().map(|&g| to_f64(g * s)).map(|u| u * u).sum()
        };
        let (pn, un) = (norm2(params), kernel::sqrt(u_sq));
        let ratio = if !self.trust_ratio_mask || pn == 0.0 || un == 0.0 {
            1.0
        } else {
            self.trust_coefficient * pn / (un + self.eps)
        };
        let (tr, neg_lr, m): (T, T, T) = (cast(ratio), cast(-self.common.lr), cast(self.momentum));
        for ((p, &g), t) in params.iter_mut().zip(grads).zip(self.trace.get_mut().iter_mut()) {
            let mut u = g * s;
            if decays {
                u = u + wd * *p;
            }
            if self.trust_ratio_mask {
                u = u * tr;
            }
            let u = neg_lr * u;
            *t = u + m * *t;
            let update = if self.nesterov { u + m * *t } else { *t };
            *p = *p + update;
        }
    }

    fn clear(&mut self) {
        self.trace.free();
    }

    momentum_is!(momentum);
}

impl_optimizer!(Lars);
