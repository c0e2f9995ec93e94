//! Stochastic gradient descent with momentum: `torch.optim.SGD`.

use num_traits::Float;

use crate::kernel::{self, apply, cast, mul_add, to_f64, Common, Kernel};
use crate::optim::{common_setters, impl_optimizer, momentum_is, setters, Form, Prep, Progress, Rule};
use crate::state::Buf;
use crate::Error;

/// Stochastic gradient descent, optionally with momentum, dampening, Nesterov momentum and L2
/// weight decay: `torch.optim.SGD` (single-tensor path, `foreach=False`).
///
/// Per element, in the order the code computes it (`t` is the 1-based step):
///
/// ```text
/// g  = maximize ? -grad : grad
/// g  = g + weight_decay * p
/// if momentum != 0:
///     buf = (t == 1 and no initial_buffer) ? g : buf*momentum + (1 - dampening)*g
///     g   = nesterov ? g + momentum*buf : buf
/// p  = p + (-lr)*g
/// ```
///
/// Defaults (PyTorch's): `momentum` 0, `dampening` 0, `nesterov` false, `weight_decay` 0.
/// [`initial_buffer`](Sgd::initial_buffer) starts the momentum buffer at a value instead of at
/// the first gradient: with `dampening = momentum` this is the textbook exponential average
/// `buf = beta*buf + (1-beta)*g` of the fast.ai notebook.
///
/// On CPUs with FMA the multiply-adds above run as fused multiply-adds (one rounding each; see
/// [`simd`](crate::simd)): results differ from the portable path only in those roundings.
///
/// Reference: `torch.optim.SGD`, `torch/optim/sgd.py::_single_tensor_sgd`; Sutskever et al.
/// (2013) for the momentum form.
///
/// ```
/// use gradus::{Optimizer, Sgd};
/// let mut opt = Sgd::new(0.1).momentum(0.9).nesterov(true);
/// let mut x = [3.0_f64, -2.0];
/// for _ in 0..200 {
///     let g = [2.0 * x[0], 2.0 * x[1]]; // gradient of |x|^2
///     opt.step(&mut x, &g)?;
/// }
/// assert!(x.iter().all(|v| v.abs() < 1e-6));
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(bound(serialize = "T: Float + serde::Serialize", deserialize = "T: Float + serde::Deserialize<'de>"))
)]
pub struct Sgd<T> {
    common: Common,
    momentum: f64,
    dampening: f64,
    nesterov: bool,
    weight_decay: f64,
    initial_buffer: Option<f64>,
    #[cfg_attr(feature = "serde", serde(default))]
    form: Form,
    progress: Progress,
    momentum_buffer: Buf<T>,
}

impl<T: Float> Sgd<T> {
    /// SGD with learning rate `lr` and PyTorch's defaults for everything else.
    ///
    /// ```
    /// use gradus::{Optimizer, Sgd};
    /// let mut opt = Sgd::new(0.5_f32);
    /// let mut p = [1.0_f32];
    /// opt.step(&mut p, &[1.0])?;
    /// assert_eq!(p, [0.5]);
    /// # Ok::<(), gradus::Error>(())
    /// ```
    pub fn new(lr: T) -> Self {
        Sgd {
            common: Common::new(to_f64(lr)),
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
            initial_buffer: None,
            form: Form::Torch,
            progress: Progress::default(),
            momentum_buffer: Buf::new(),
        }
    }

    setters! {
        Sgd;
        /// Momentum factor, `>= 0` (default 0: plain SGD).
        momentum / get_momentum(momentum: T) = (0.9);
        /// L2 penalty added to the gradient, `>= 0` (default 0).
        weight_decay / get_weight_decay(weight_decay: T) = (1e-4);
    }

    /// Dampening of the gradient's contribution to the momentum buffer, `>= 0` (default 0).
    ///
    /// ```
    /// let opt = gradus::Sgd::new(0.01_f64).momentum(0.9).dampening(0.9);
    /// # let _ = opt;
    /// ```
    pub fn dampening(mut self, dampening: T) -> Self {
        self.dampening = to_f64(dampening);
        self
    }

    /// The value set by [`dampening`](Sgd::dampening) (default 0).
    ///
    /// ```
    /// let opt = gradus::Sgd::new(0.1_f64).dampening(0.1);
    /// assert_eq!(opt.get_dampening(), 0.1);
    /// ```
    pub fn get_dampening(&self) -> T {
        cast(self.dampening)
    }

    /// Nesterov momentum (default `false`); needs `momentum > 0` and `dampening == 0`.
    ///
    /// ```
    /// let opt = gradus::Sgd::new(0.01_f64).momentum(0.9).nesterov(true);
    /// # let _ = opt;
    /// ```
    pub fn nesterov(mut self, nesterov: bool) -> Self {
        self.nesterov = nesterov;
        self
    }

    /// The value set by [`nesterov`](Sgd::nesterov) (default `false`).
    ///
    /// ```
    /// let opt = gradus::Sgd::new(0.1_f64).momentum(0.9).nesterov(true);
    /// assert_eq!(opt.get_nesterov(), true);
    /// ```
    pub fn get_nesterov(&self) -> bool {
        self.nesterov
    }

    /// Starts the momentum buffer at `value` for every element, and applies the running-average
    /// update from the first step (instead of PyTorch's "first buffer = first gradient").
    ///
    /// ```
    /// use gradus::{Optimizer, Sgd};
    /// // the notebook's momentum: s = 0.9*s + 0.1*g, s starting at 1
    /// let mut opt = Sgd::new(1e-4_f64).momentum(0.9).dampening(0.9).initial_buffer(1.0);
    /// let mut p = [1.0];
    /// opt.step(&mut p, &[2.0])?;
    /// assert!((p[0] - (1.0 - 1e-4 * (0.9 + 0.1 * 2.0))).abs() < 1e-15);
    /// # Ok::<(), gradus::Error>(())
    /// ```
    pub fn initial_buffer(mut self, value: T) -> Self {
        self.initial_buffer = Some(to_f64(value));
        self
    }

    /// The value set by [`initial_buffer`](Sgd::initial_buffer) (default `None`: the first gradient).
    ///
    /// ```
    /// let opt = gradus::Sgd::new(0.1_f64).initial_buffer(1.0);
    /// assert_eq!(opt.get_initial_buffer(), Some(1.0));
    /// ```
    pub fn get_initial_buffer(&self) -> Option<T> {
        self.initial_buffer.map(cast)
    }

    /// Selects `torch.optim.SGD` ([`Form::Torch`], the default) or `optax.sgd`
    /// ([`Form::Optax`]: `momentum` None, `nesterov` false; `momentum` and `nesterov` are its
    /// only other keywords, so `dampening`, `weight_decay`, `maximize` and `initial_buffer` must
    /// keep their defaults). The two compute the same update: `m = g + momentum*m`,
    /// `p = p - lr*(nesterov ? g + momentum*m : m)`.
    ///
    /// Call it right after `new`: the optax form starts over from `new(lr)`, so settings made
    /// before it are discarded.
    ///
    /// ```
    /// use gradus::{Form, Sgd};
    /// let opt = Sgd::<f64>::new(0.1).form(Form::Optax).momentum(0.9);
    /// assert_eq!(opt.get_form(), Form::Optax);
    /// ```
    pub fn form(mut self, form: Form) -> Self {
        if form == Form::Optax {
            let lr = self.common.lr;
            self = Sgd::new(cast(lr));
        }
        self.form = form;
        self
    }

    /// The form set by [`form`](Sgd::form).
    ///
    /// ```
    /// assert_eq!(gradus::Sgd::<f64>::new(0.1).get_form(), gradus::Form::Torch);
    /// ```
    pub fn get_form(&self) -> Form {
        self.form
    }

    common_setters!(Sgd);
}

impl<T: Float + Send + Sync> Rule<T> for Sgd<T> {
    fn elementwise(&self) -> bool {
        true
    }

    fn check_state(&self, n: usize) -> Result<(), Error> {
        if self.momentum != 0.0 {
            crate::optim::state_len("momentum_buffer", self.momentum_buffer.get().len(), n)?;
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), Error> {
        kernel::non_negative("momentum", self.momentum)?;
        kernel::non_negative("dampening", self.dampening)?;
        kernel::non_negative("weight_decay", self.weight_decay)?;
        if let Some(b) = self.initial_buffer {
            kernel::finite("initial_buffer", b)?;
        }
        if self.form == Form::Optax {
            let expected = "its default: optax.sgd has no such keyword";
            kernel::require(self.dampening == 0.0, "dampening", self.dampening, expected)?;
            kernel::require(self.weight_decay == 0.0, "weight_decay", self.weight_decay, expected)?;
            kernel::require(!self.common.maximize, "maximize", 1.0, expected)?;
            kernel::require(
                self.initial_buffer.is_none(),
                "initial_buffer",
                self.initial_buffer.unwrap_or(0.0),
                expected,
            )?;
            return Ok(());
        }
        if self.nesterov {
            kernel::require(self.momentum > 0.0, "momentum", self.momentum, "momentum > 0 when nesterov is on")?;
            kernel::require(self.dampening == 0.0, "dampening", self.dampening, "dampening == 0 when nesterov is on")?;
        }
        Ok(())
    }

    fn update(&mut self, params: &mut [T], grads: &[T]) {
        let t = self.progress.begin(params.len());
        let k = SgdKernel {
            prep: Prep::new(&self.common, self.weight_decay, false),
            momentum: cast(self.momentum),
            damp: cast(1.0 - self.dampening),
            first: t == 1 && self.initial_buffer.is_none(),
            nesterov: self.nesterov,
            neg_lr: cast(-self.common.lr),
        };
        if self.momentum == 0.0 {
            apply(&k, (params, grads));
        } else {
            self.momentum_buffer.ensure(params, cast(self.initial_buffer.unwrap_or(0.0)));
            apply(&k, (params, grads, self.momentum_buffer.get_mut()));
        }
    }

    fn clear(&mut self) {
        self.momentum_buffer.free();
    }

    momentum_is!(momentum);
}

impl_optimizer!(Sgd);

struct SgdKernel<T> {
    prep: Prep<T>,
    momentum: T,
    damp: T,
    first: bool,
    nesterov: bool,
    neg_lr: T,
}

impl<'a, T: Float + Send + Sync> Kernel<(&'a mut [T], &'a [T])> for SgdKernel<T> {
    type Output = ();
    #[inline(always)]
    fn run<const FMA: bool>(&self, (p, g): (&'a mut [T], &'a [T])) {
        for (p, &g) in p.iter_mut().zip(g) {
            let (q, g) = self.prep.grad(*p, g);
            *p = mul_add::<T, FMA>(self.neg_lr, g, q);
        }
    }
}

impl<'a, T: Float + Send + Sync> Kernel<(&'a mut [T], &'a [T], &'a mut [T])> for SgdKernel<T> {
    type Output = ();
    #[inline(always)]
    fn run<const FMA: bool>(&self, (p, g, buf): (&'a mut [T], &'a [T], &'a mut [T])) {
        for ((p, &g), b) in p.iter_mut().zip(g).zip(buf.iter_mut()) {
            let (q, g) = self.prep.grad(*p, g);
            let running = mul_add::<T, FMA>(*b, self.momentum, self.damp * g);
            *b = if self.first { g } else { running };
            let d = if self.nesterov { mul_add::<T, FMA>(self.momentum, *b, g) } else { *b };
            *p = mul_add::<T, FMA>(self.neg_lr, d, q);
        }
    }
}
