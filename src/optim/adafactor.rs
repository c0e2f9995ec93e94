//! Adafactor: `torch.optim.Adafactor` and `optax.adafactor`, with a factored second moment
//! for matrices.

use alloc::vec::Vec;

use num_traits::Float;

use crate::kernel::{self, cast, sqrt, sum_sq, to_f64, Common, Lerp};
use crate::optim::{common_setters, form_setters, impl_optimizer, Form, Progress, Rule};
use crate::state::Buf;
use crate::Error;

/// Adafactor: `torch.optim.Adafactor` (`torch/optim/_adafactor.py::_single_tensor_adafactor`).
/// For a matrix (a tensor of 2 or more dimensions, factored over its last two) it keeps one
/// second-moment value per row and per column, `O(m + n)` memory instead of Adam's `O(m*n)`;
/// for a vector, one per element. There is no first moment.
///
/// Per step, with `t` the step count (as a float), `g` the gradient (negated with `maximize`),
/// `eps1` defaulting to `T::epsilon()` (torch's `finfo(dtype).eps`), in the order the code
/// computes it (scalars in `f64`):
///
/// ```text
/// w     = t^beta2_decay
/// rho   = min(lr, 1/sqrt(t))
/// alpha = max(eps2, norm2(p)/sqrt(numel)) * rho         // p before the weight decay
/// p     = p * (1 - lr*weight_decay)                     // if weight_decay != 0
/// vector:   v = lerp(v, g*g, w);  var = v
/// matrix:   r = lerp(r, norm2(row of g)^2 / n, w)        // per row, m values
///           c = lerp(c, norm2(column of g)^2 / m, w)     // per column, n values
///           var_ij = (r_i * c_j) / max(mean(r), eps1)
/// u     = (1/sqrt(max(var, eps1*eps1))) * g
/// denom = max(1, norm2(u) / (sqrt(numel) * d))
/// p     = p + (-alpha/denom) * u
/// ```
///
/// The shape comes from [`shape`](Adafactor::shape) or, inside [`Groups`](crate::Groups), from
/// the tensor's layout; without one the tensor is a vector. Defaults (torch's): lr 1e-2,
/// `beta2_decay` -0.8, `eps` (None, 1e-3), `d` 1, `weight_decay` 0.
///
/// **optax form.** With [`form(Form::Optax)`](Adafactor::form) the rule is `optax.adafactor`
/// (`scale_by_factored_rms`, `clip_by_block_rms`, `scale(lr)`, `scale_by_param_block_rms`,
/// `ema`, `add_decayed_weights`, `scale(-1)`), with `k` the steps before (0-based):
///
/// ```text
/// beta = 1 - f32(k + 1 - decay_offset)^(-f32(decay_rate))       // in float32, as optax
/// q    = g*g + eps1
/// factored (2+ dims, factored, second largest dim >= min_dim_size_to_factor; L the largest
/// axis, S the second largest):
///     vS = beta*vS + f32(1 - beta)*mean_L(q);  vL = beta*vL + f32(1 - beta)*mean_S(q)
///     u  = g * (vS/mean_S(vS))^-0.5 * vL^-0.5
/// else: v = beta*v + f32(1 - beta)*q;  u = g * v^-0.5
/// u = u / max(1, rms(u)/d);  u = lr*u;  u = u*max(rms(p), eps2)    // multiply_by_parameter_scale
/// if momentum: mu = (1 - momentum)*u + momentum*mu;  u = mu
/// if weight_decay_rate: u = u + weight_decay_rate*p                 // not multiplied by lr
/// p = p + (-u)
/// ```
///
/// optax's momentum is kept in `T` (its default `dtype_momentum` is float32).
///
/// Reference: Shazeer & Stern (2018), "Adafactor: Adaptive Learning Rates with Sublinear Memory
/// Cost".
///
/// ```
/// use gradus::{Adafactor, Optimizer};
/// let mut opt = Adafactor::new(1e-2_f64).shape(&[2, 3]);
/// let mut w = vec![0.5; 6];
/// for _ in 0..100 {
///     let g: Vec<f64> = w.iter().map(|x| 2.0 * x).collect();
///     opt.step(&mut w, &g)?;
/// }
/// assert!(w.iter().all(|x| x.abs() < 0.5));
/// assert_eq!(opt.state_len(), 2 + 3); // one value per row and per column
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(bound(serialize = "T: Float + serde::Serialize", deserialize = "T: Float + serde::Deserialize<'de>"))
)]
pub struct Adafactor<T> {
    common: Common,
    beta2_decay: f64,
    eps1: Option<f64>,
    eps2: f64,
    d: f64,
    weight_decay: f64,
    shape: Option<Vec<usize>>,
    #[cfg_attr(feature = "serde", serde(default))]
    optax: OptaxAdafactor,
    progress: Progress,
    /// Vector path: `v` (numel). Matrix path: `r` for every row of every matrix.
    row_var: Buf<T>,
    /// Matrix path: `c` for every column of every matrix.
    col_var: Buf<T>,
    /// The optax form's momentum (`ema`), with `momentum` set.
    #[cfg_attr(feature = "serde", serde(default = "Buf::new"))]
    momentum_buf: Buf<T>,
    /// The optax form's per-step means (sized by the first step).
    #[cfg_attr(feature = "serde", serde(skip, default = "Vec::new"))]
    scratch: Vec<T>,
}

/// The optax form's settings (`optax.adafactor`'s keywords the torch form does not have).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct OptaxAdafactor {
    form: Form,
    min_dim_size_to_factor: usize,
    decay_rate: f64,
    decay_offset: u64,
    multiply_by_parameter_scale: bool,
    momentum: Option<f64>,
    weight_decay_rate: Option<f64>,
    factored: bool,
}

impl Default for OptaxAdafactor {
    fn default() -> Self {
        OptaxAdafactor {
            form: Form::Torch,
            min_dim_size_to_factor: 128,
            decay_rate: 0.8,
            decay_offset: 0,
            multiply_by_parameter_scale: true,
            momentum: None,
            weight_decay_rate: None,
            factored: true,
        }
    }
}

/// Where element `k` of a tensor lands in optax's factored statistics: `v_row` (the shape
/// without the largest axis `d0`), `v_col` (without the second largest `d1`) and the mean of
/// `v_row` over `d1` (without both).
#[derive(Clone, Copy, Debug)]
struct Axes {
    d0: usize,
    d1: usize,
}

impl Axes {
    /// optax's `_factored_dims`: `None` unless factoring applies.
    fn of(shape: &[usize], factored: bool, min_dim: usize) -> Option<Axes> {
        if !factored || shape.len() < 2 {
            return None;
        }
        // numpy's argsort of the sizes (ties in axis order); the last two are d1, d0
        let (mut d0, mut d1) = (usize::MAX, usize::MAX);
        for a in 0..shape.len() {
            if d0 == usize::MAX || shape[a] >= shape[d0] {
                d1 = d0;
                d0 = a;
            } else if d1 == usize::MAX || shape[a] >= shape[d1] {
                d1 = a;
            }
        }
        if shape[d1] < min_dim {
            return None;
        }
        Some(Axes { d0, d1 })
    }

    /// `(row, col, mean)` indices of element `k`.
    #[inline]
    fn index(&self, shape: &[usize], mut k: usize) -> (usize, usize, usize) {
        let (mut r, mut c, mut m) = (0, 0, 0);
        let (mut rs, mut cs, mut ms) = (1, 1, 1);
        for a in (0..shape.len()).rev() {
            let (size, i) = (shape[a], k % shape[a]);
            k /= size;
            if a != self.d0 {
                r += i * rs;
                rs *= size;
            }
            if a != self.d1 {
                c += i * cs;
                cs *= size;
            }
            if a != self.d0 && a != self.d1 {
                m += i * ms;
                ms *= size;
            }
        }
        (r, c, m)
    }
}

/// How a tensor is stepped: `batch` matrices of `m x n`, or a vector (`m = 1`, not factored).
#[derive(Clone, Copy, Debug)]
struct Factoring {
    batch: usize,
    m: usize,
    n: usize,
    factored: bool,
}

/// Setters of the optax form's keywords, stored in `self.optax`.
macro_rules! optax_setters {
    ($( $(#[$doc:meta])* $name:ident / $getter:ident($arg:ident: $($ty:tt)+) = $ex:expr; )*) => {$(
        $(#[$doc])*
        ///
        /// ```
        #[doc = concat!("let opt = gradus::Adafactor::<f64>::new(1.0).form(gradus::Form::Optax).", stringify!($name), "(", stringify!($ex), ");")]
        #[doc = concat!("assert_eq!(opt.", stringify!($getter), "(), ", stringify!($ex), ");")]
        /// ```
        pub fn $name(mut self, $arg: $($ty)+) -> Self {
            self.optax.$arg = optax_store!($($ty)+; $arg);
            self
        }

        #[doc = concat!("The value set by [`", stringify!($name), "`](Self::", stringify!($name), ").")]
        ///
        /// ```
        #[doc = concat!("let opt = gradus::Adafactor::<f64>::new(1.0).form(gradus::Form::Optax).", stringify!($name), "(", stringify!($ex), ");")]
        #[doc = concat!("assert_eq!(opt.", stringify!($getter), "(), ", stringify!($ex), ");")]
        /// ```
        pub fn $getter(&self) -> $($ty)+ {
            optax_load!($($ty)+; self.optax.$arg)
        }
    )*};
}

macro_rules! optax_store {
    (T; $x:ident) => {
        to_f64($x)
    };
    (Option<T>; $x:ident) => {
        $x.map(to_f64)
    };
    ($t:ty; $x:ident) => {
        $x
    };
}

macro_rules! optax_load {
    (T; $x:expr) => {
        cast($x)
    };
    (Option<T>; $x:expr) => {
        $x.map(cast)
    };
    ($t:ty; $x:expr) => {
        $x
    };
}

impl<T: Float> Adafactor<T> {
    /// Adafactor with learning rate `lr` (torch's default is 1e-2) and torch's other defaults.
    ///
    /// ```
    /// let opt = gradus::Adafactor::<f32>::new(1e-2);
    /// # let _ = opt;
    /// ```
    pub fn new(lr: T) -> Self {
        Adafactor {
            common: Common::new(to_f64(lr)),
            beta2_decay: -0.8,
            eps1: None,
            eps2: 1e-3,
            d: 1.0,
            weight_decay: 0.0,
            shape: None,
            optax: OptaxAdafactor::default(),
            progress: Progress::default(),
            row_var: Buf::new(),
            col_var: Buf::new(),
            momentum_buf: Buf::new(),
            scratch: Vec::new(),
        }
    }

    /// The decay exponent of the second moment's running average, `<= 0` (default -0.8): the
    /// average's weight on the new value at step `t` is `t^beta2_decay`.
    ///
    /// ```
    /// let opt = gradus::Adafactor::<f64>::new(1e-2).beta2_decay(-0.5);
    /// assert_eq!(opt.get_beta2_decay(), -0.5);
    /// ```
    pub fn beta2_decay(mut self, beta2_decay: T) -> Self {
        self.beta2_decay = to_f64(beta2_decay);
        self
    }

    /// The value set by [`beta2_decay`](Adafactor::beta2_decay).
    ///
    /// ```
    /// assert_eq!(gradus::Adafactor::<f64>::new(1e-2).get_beta2_decay(), -0.8);
    /// ```
    pub fn get_beta2_decay(&self) -> T {
        cast(self.beta2_decay)
    }

    /// torch's `eps = (eps1, eps2)`: `eps1` floors the second moment (`None`: `T::epsilon()`),
    /// `eps2` floors the parameters' RMS in the step size (default (None, 1e-3)).
    ///
    /// ```
    /// let opt = gradus::Adafactor::<f64>::new(1e-2).eps(Some(1e-30), 1e-3);
    /// assert_eq!(opt.get_eps(), (Some(1e-30), 1e-3));
    /// ```
    pub fn eps(mut self, eps1: Option<T>, eps2: T) -> Self {
        self.eps1 = eps1.map(to_f64);
        self.eps2 = to_f64(eps2);
        self
    }

    /// The values set by [`eps`](Adafactor::eps).
    ///
    /// ```
    /// assert_eq!(gradus::Adafactor::<f64>::new(1e-2).get_eps(), (None, 1e-3));
    /// ```
    pub fn get_eps(&self) -> (Option<T>, T) {
        (self.eps1.map(cast), cast(self.eps2))
    }

    /// The clipping threshold of the update's RMS (default 1): at least 1 in torch's form, as
    /// `torch.optim.Adafactor` requires, and `> 0` in optax's, where it is `clipping_threshold`.
    ///
    /// ```
    /// let opt = gradus::Adafactor::<f64>::new(1e-2).d(1.5);
    /// assert_eq!(opt.get_d(), 1.5);
    /// ```
    pub fn d(mut self, d: T) -> Self {
        self.d = to_f64(d);
        self
    }

    /// The value set by [`d`](Adafactor::d).
    ///
    /// ```
    /// assert_eq!(gradus::Adafactor::<f64>::new(1e-2).get_d(), 1.0);
    /// ```
    pub fn get_d(&self) -> T {
        cast(self.d)
    }

    /// Decoupled weight decay `p *= 1 - lr*weight_decay`, `>= 0` (default 0).
    ///
    /// ```
    /// let opt = gradus::Adafactor::<f64>::new(1e-2).weight_decay(0.1);
    /// assert_eq!(opt.get_weight_decay(), 0.1);
    /// ```
    pub fn weight_decay(mut self, weight_decay: T) -> Self {
        self.weight_decay = to_f64(weight_decay);
        self
    }

    /// The value set by [`weight_decay`](Adafactor::weight_decay).
    ///
    /// ```
    /// assert_eq!(gradus::Adafactor::<f64>::new(1e-2).get_weight_decay(), 0.0);
    /// ```
    pub fn get_weight_decay(&self) -> T {
        cast(self.weight_decay)
    }

    /// The tensor's shape: 2 or more dimensions factor the second moment over the last two.
    ///
    /// ```
    /// let opt = gradus::Adafactor::<f64>::new(1e-2).shape(&[768, 3072]);
    /// assert_eq!(opt.get_shape(), Some(&[768, 3072][..]));
    /// ```
    pub fn shape(mut self, shape: &[usize]) -> Self {
        self.shape = Some(shape.to_vec());
        self
    }

    /// The shape set by [`shape`](Adafactor::shape) (or by the `Groups` it is in).
    ///
    /// ```
    /// assert_eq!(gradus::Adafactor::<f64>::new(1e-2).get_shape(), None);
    /// ```
    pub fn get_shape(&self) -> Option<&[usize]> {
        self.shape.as_deref()
    }

    /// Elements of second-moment state held now: `m + n` per matrix, `numel` for a vector.
    ///
    /// ```
    /// use gradus::{Adafactor, Optimizer};
    /// let mut opt = Adafactor::new(1e-2_f32).shape(&[1000, 500]);
    /// opt.step(&mut vec![0.1; 500_000], &vec![0.01; 500_000])?;
    /// assert_eq!(opt.state_len(), 1500);
    /// # Ok::<(), gradus::Error>(())
    /// ```
    pub fn state_len(&self) -> usize {
        self.row_var.get().len() + self.col_var.get().len()
    }

    fn optax_defaults(mut self) -> Self {
        self.eps1 = Some(1e-30);
        self
    }

    form_setters!(
        Adafactor,
        "torch.optim.Adafactor",
        "optax.adafactor",
        "`min_dim_size_to_factor` 128, `decay_rate` 0.8, `decay_offset` 0, `multiply_by_parameter_scale` true, `d` (optax's `clipping_threshold`) 1, `momentum` None, `weight_decay_rate` None, `eps` (Some(1e-30), 1e-3) (optax's `eps` and the fixed parameter-scale floor), `factored` true; `beta2_decay`, `weight_decay` and `maximize` have no optax keyword. optax's `learning_rate=None` is `new(1.0)`";
        optax.form
    );

    optax_setters! {
        /// optax's `min_dim_size_to_factor` (optax form only): a matrix is factored only if its
        /// second largest dimension is at least this (default 128).
        min_dim_size_to_factor / get_min_dim_size_to_factor(min_dim_size_to_factor: usize) = 4;
        /// optax's `decay_rate` (optax form only): the second-moment decay is
        /// `1 - (k + 1 - decay_offset)^(-decay_rate)`, in float32 (default 0.8).
        decay_rate / get_decay_rate(decay_rate: T) = 0.5;
        /// optax's `decay_offset` (optax form only; default 0). The decay is NaN while
        /// `k + 1 <= decay_offset`, as in optax.
        decay_offset / get_decay_offset(decay_offset: u64) = 0;
        /// optax's `multiply_by_parameter_scale` (optax form only): scale the step by
        /// `max(rms(p), eps2)` (default `true`).
        multiply_by_parameter_scale / get_multiply_by_parameter_scale(multiply_by_parameter_scale: bool) = false;
        /// optax's `momentum` (optax form only): an EMA of the updates without debiasing
        /// (default None).
        momentum / get_momentum(momentum: Option<T>) = Some(0.9);
        /// optax's `weight_decay_rate` (optax form only): `+ weight_decay_rate*p`, not
        /// multiplied by the learning rate (default None).
        weight_decay_rate / get_weight_decay_rate(weight_decay_rate: Option<T>) = Some(1e-3);
        /// optax's `factored` (optax form only; default `true`).
        factored / get_factored(factored: bool) = false;
    }

    common_setters!(Adafactor);

    fn factoring(&self, len: usize) -> Factoring {
        match self.shape.as_deref() {
            Some(s) if s.len() >= 2 => {
                let (m, n) = (s[s.len() - 2], s[s.len() - 1]);
                Factoring { batch: s[..s.len() - 2].iter().product(), m, n, factored: true }
            }
            _ => Factoring { batch: 1, m: 1, n: len, factored: false },
        }
    }
}

impl<T: Float + Send + Sync> Rule<T> for Adafactor<T> {
    fn check_state(&self, n: usize) -> Result<(), Error> {
        if self.optax.form == Form::Optax {
            let (rows, cols) = match self.optax_axes(n) {
                Some((shape, ax)) => (n / shape[ax.d0], n / shape[ax.d1]),
                None => (n, 0),
            };
            crate::optim::state_len("row_var", self.row_var.get().len(), rows)?;
            crate::optim::state_len("col_var", self.col_var.get().len(), cols)?;
            let mu = if self.optax.momentum.is_some() { n } else { 0 };
            return crate::optim::state_len("momentum_buf", self.momentum_buf.get().len(), mu);
        }
        let f = self.factoring(n);
        let (rows, cols) = if f.factored { (f.batch * f.m, f.batch * f.n) } else { (n, 0) };
        crate::optim::state_len("row_var", self.row_var.get().len(), rows)?;
        crate::optim::state_len("col_var", self.col_var.get().len(), cols)
    }

    fn validate(&self) -> Result<(), Error> {
        kernel::require(
            self.beta2_decay <= 0.0 && self.beta2_decay.is_finite(),
            "beta2_decay",
            self.beta2_decay,
            "a finite value <= 0",
        )?;
        if let Some(e) = self.eps1 {
            kernel::non_negative("eps1", e)?;
        }
        kernel::non_negative("eps2", self.eps2)?;
        kernel::positive("d", self.d)?;
        kernel::non_negative("weight_decay", self.weight_decay)?;
        let o = &self.optax;
        if o.form == Form::Optax {
            let expected = "its default: optax.adafactor has no such keyword";
            kernel::require(self.beta2_decay == -0.8, "beta2_decay", self.beta2_decay, expected)?;
            kernel::require(self.weight_decay == 0.0, "weight_decay", self.weight_decay, expected)?;
            kernel::require(!self.common.maximize, "maximize", 1.0, expected)?;
            kernel::finite("decay_rate", o.decay_rate)?;
            if let Some(m) = o.momentum {
                kernel::unit("momentum", m)?;
            }
            if let Some(w) = o.weight_decay_rate {
                kernel::non_negative("weight_decay_rate", w)?;
            }
        } else {
            kernel::require(self.d >= 1.0, "d", self.d, "at least 1 (torch.optim.Adafactor's clipping threshold)")?;
            let expected = "its default: an optax.adafactor keyword, for form(Form::Optax) only";
            let d = OptaxAdafactor::default();
            kernel::require(
                o.min_dim_size_to_factor == d.min_dim_size_to_factor,
                "min_dim_size_to_factor",
                o.min_dim_size_to_factor as f64,
                expected,
            )?;
            kernel::require(o.decay_rate == d.decay_rate, "decay_rate", o.decay_rate, expected)?;
            kernel::require(o.decay_offset == 0, "decay_offset", o.decay_offset as f64, expected)?;
            kernel::require(o.multiply_by_parameter_scale, "multiply_by_parameter_scale", 0.0, expected)?;
            kernel::require(o.momentum.is_none(), "momentum", o.momentum.unwrap_or(0.0), expected)?;
            kernel::require(
                o.weight_decay_rate.is_none(),
                "weight_decay_rate",
                o.weight_decay_rate.unwrap_or(0.0),
                expected,
            )?;
            kernel::require(o.factored, "factored", 0.0, expected)?;
        }
        Ok(())
    }

    fn check_input(&self, len: usize) -> Result<(), Error> {
        match &self.shape {
            Some(s) if s.iter().product::<usize>() != len => Err(Error::ShapeMismatch {
                what: "params (the product of the shape)",
                expected: s.iter().product(),
                found: len,
            }),
            _ => Ok(()),
        }
    }

    fn update(&mut self, params: &mut [T], grads: &[T]) {
        if self.optax.form == Form::Optax {
            return self.optax_update(params, grads);
        }
        let len = params.len();
        let t = self.progress.begin(len) as f64;
        let f = self.factoring(len);
        let eps1 = self.eps1.unwrap_or_else(|| to_f64(T::epsilon()));
        let lr = self.common.lr;
        let w = Float::powf(t, self.beta2_decay);
        let rho = f64::min(lr, 1.0 / Float::powf(t, 0.5));
        let alpha = f64::max(self.eps2, sqrt(sum_sq(params)) / Float::powf(len as f64, 0.5)) * rho;
        let decay: T = cast(1.0 - lr * self.weight_decay);
        let lerp = Lerp::<T>::new(w);
        let sign = self.common.sign();
        let floor: T = cast(eps1 * eps1);
        // the second moment, then the update's norm, then the step (u recomputed per element)
        let u_sq = if f.factored {
            let (m, n) = (f.m, f.n);
            if self.row_var.get().len() != f.batch * m {
                self.row_var.ensure(&params[..f.batch * m], T::zero());
                self.col_var.ensure(&params[..f.batch * n], T::zero());
            }
            let (rows, cols) = (self.row_var.get_mut(), self.col_var.get_mut());
            let (inv_n, inv_m): (T, T) = (cast(n as f64), cast(m as f64));
            let eps1_t: T = cast(eps1);
            let mut u_sq = 0.0_f64;
            for b in 0..f.batch {
                let g = &grads[b * m * n..(b + 1) * m * n];
                let (r, c) = (&mut rows[b * m..(b + 1) * m], &mut cols[b * n..(b + 1) * n]);
                for (i, r) in r.iter_mut().enumerate() {
                    let row = &g[i * n..(i + 1) * n];
                    let norm = row.iter().fold(T::zero(), |s, &x| s + x * x).sqrt();
                    *r = lerp.at::<false>(*r, norm * norm / inv_n);
                }
                for (j, c) in c.iter_mut().enumerate() {
                    let norm = (0..m).fold(T::zero(), |s, i| s + g[i * n + j] * g[i * n + j]).sqrt();
                    *c = lerp.at::<false>(*c, norm * norm / inv_m);
                }
                let mean = r.iter().fold(T::zero(), |s, &x| s + x) / inv_m;
                let denom = mean.max(eps1_t);
                for (i, &ri) in r.iter().enumerate() {
                    for (j, &cj) in c.iter().enumerate() {
                        let var = (ri * cj) / denom;
                        let u = (T::one() / var.max(floor).sqrt()) * (g[i * n + j] * sign);
                        u_sq += to_f64(u * u);
                    }
                }
            }
            u_sq
        } else {
            self.row_var.ensure(params, T::zero());
            let v = self.row_var.get_mut();
            let mut u_sq = 0.0_f64;
            for (v, &g) in v.iter_mut().zip(grads) {
                let g = g * sign;
                *v = lerp.at::<false>(*v, g * g);
                let u = (T::one() / (*v).max(floor).sqrt()) * g;
                u_sq += to_f64(u * u);
            }
            u_sq
        };
        let denom = f64::max(1.0, sqrt(u_sq) / (Float::powf(len as f64, 0.5) * self.d));
        let step: T = cast(-alpha / denom);
        let decays = self.weight_decay != 0.0;
        if f.factored {
            let (m, n) = (f.m, f.n);
            let eps1_t: T = cast(eps1);
            let inv_m: T = cast(m as f64);
            let (rows, cols) = (self.row_var.get(), self.col_var.get());
            for b in 0..f.batch {
                let (r, c) = (&rows[b * m..(b + 1) * m], &cols[b * n..(b + 1) * n]);
                let denom_r = (r.iter().fold(T::zero(), |s, &x| s + x) / inv_m).max(eps1_t);
                let block = b * m * n..(b + 1) * m * n;
                let (p, g) = (&mut params[block.clone()], &grads[block]);
                for (i, &ri) in r.iter().enumerate() {
                    for (j, &cj) in c.iter().enumerate() {
                        let var = (ri * cj) / denom_r;
                        let u = (T::one() / var.max(floor).sqrt()) * (g[i * n + j] * sign);
                        let k = i * n + j;
                        let x = if decays { p[k] * decay } else { p[k] };
                        p[k] = x + step * u;
                    }
                }
            }
        } else {
            let v = self.row_var.get();
            for ((p, &g), &v) in params.iter_mut().zip(grads).zip(v) {
                let u = (T::one() / v.max(floor).sqrt()) * (g * sign);
                let x = if decays { *p * decay } else { *p };
                *p = x + step * u;
            }
        }
    }

    fn clear(&mut self) {
        self.row_var.free();
        self.col_var.free();
        self.momentum_buf.free();
    }

    fn set_shape(&mut self, shape: &[usize]) {
        self.shape = Some(shape.to_vec());
    }
}

impl<T: Float + Send + Sync> Adafactor<T> {
    /// The shape and factored axes of the optax form for `n` parameters (`None`: unfactored).
    fn optax_axes(&self, n: usize) -> Option<(&[usize], Axes)> {
        let shape = self.shape.as_deref().filter(|s| s.iter().product::<usize>() == n)?;
        Axes::of(shape, self.optax.factored, self.optax.min_dim_size_to_factor).map(|a| (shape, a))
    }

    /// `optax.adafactor`, in its operation order (the type's docs).
    fn optax_update(&mut self, params: &mut [T], grads: &[T]) {
        let n = params.len();
        let k = self.progress.begin(n) - 1;
        let o = self.optax;
        // the decay, in float32 as optax computes it
        let t = (k as f32 + 1.0) - o.decay_offset as f32;
        let beta = 1.0_f32 - t.powf(-(o.decay_rate as f32));
        let (b, omb): (T, T) = (cast(f64::from(beta)), cast(f64::from(1.0_f32 - beta)));
        let eps: T = cast(self.eps1.unwrap_or(1e-30));
        let axes = self.optax_axes(n).map(|(_, a)| a);
        let shape: &[usize] = self.shape.as_deref().unwrap_or(&[]);
        let mut u_sq = T::zero();
        match axes {
            Some(ax) => {
                let (nr, nc) = (n / shape[ax.d0], n / shape[ax.d1]);
                let nm = nr / shape[ax.d1];
                self.row_var.ensure(&params[..nr], T::zero());
                self.col_var.ensure(&params[..nc], T::zero());
                if self.scratch.len() != nr + nc + nm {
                    self.scratch = alloc::vec![T::zero(); nr + nc + nm];
                }
                let (sr, rest) = self.scratch.split_at_mut(nr);
                let (sc, mean) = rest.split_at_mut(nc);
                sr.iter_mut().chain(sc.iter_mut()).chain(mean.iter_mut()).for_each(|v| *v = T::zero());
                for (i, &g) in grads.iter().enumerate() {
                    let (r, c, _) = ax.index(shape, i);
                    let q = g * g + eps;
                    sr[r] = sr[r] + q;
                    sc[c] = sc[c] + q;
                }
                let (l, s): (T, T) = (cast(shape[ax.d0] as f64), cast(shape[ax.d1] as f64));
                let (vr, vc) = (self.row_var.get_mut(), self.col_var.get_mut());
                for (v, &q) in vr.iter_mut().zip(sr.iter()) {
                    *v = b * *v + omb * (q / l);
                }
                for (v, &q) in vc.iter_mut().zip(sc.iter()) {
                    *v = b * *v + omb * (q / s);
                }
                // the mean of v_row over d1, per remaining index (each v_row entry once: d0 index 0)
                let d0_stride: usize = shape[ax.d0 + 1..].iter().product();
                for i in 0..n {
                    let (r, _, m) = ax.index(shape, i);
                    if i / d0_stride % shape[ax.d0] == 0 {
                        mean[m] = mean[m] + vr[r];
                    }
                }
                mean.iter_mut().for_each(|v| *v = *v / s);
                for (i, &g) in grads.iter().enumerate() {
                    let (r, c, m) = ax.index(shape, i);
                    let u = g * (vr[r] / mean[m]).powf(cast(-0.5)) * vc[c].powf(cast(-0.5));
                    u_sq = u_sq + u * u;
                }
            }
            None => {
                self.row_var.ensure(params, T::zero());
                for (v, &g) in self.row_var.get_mut().iter_mut().zip(grads) {
                    *v = b * *v + omb * (g * g + eps);
                    let u = g * v.powf(cast(-0.5));
                    u_sq = u_sq + u * u;
                }
            }
        }
        let count: T = cast(n as f64);
        let clip = T::one().max((u_sq / count).sqrt() / cast(self.d));
        let lr: T = cast(self.common.lr);
        let scale = if o.multiply_by_parameter_scale {
            let p_sq = params.iter().fold(T::zero(), |acc, &p| acc + p * p);
            (p_sq / count).sqrt().max(cast(self.eps2))
        } else {
            T::one()
        };
        let momentum: Option<(T, T)> = o.momentum.map(|m| (cast(m), cast(1.0 - m)));
        if momentum.is_some() {
            self.momentum_buf.ensure(params, T::zero());
        }
        let wd: Option<T> = o.weight_decay_rate.map(cast);
        let (vr, vc, mu) = (self.row_var.get(), self.col_var.get(), self.momentum_buf.get_mut());
        let mean = &self.scratch[self.scratch.len().min(vr.len() + vc.len())..];
        for (i, (p, &g)) in params.iter_mut().zip(grads).enumerate() {
            let mut u = match axes {
                Some(ax) => {
                    let (r, c, m) = ax.index(shape, i);
                    g * (vr[r] / mean[m]).powf(cast(-0.5)) * vc[c].powf(cast(-0.5))
                }
                None => g * vr[i].powf(cast(-0.5)),
            };
            u = u / clip;
            u = lr * u;
            if o.multiply_by_parameter_scale {
                u = u * scale;
            }
            if let Some((m, omm)) = momentum {
                mu[i] = omm * u + m * mu[i];
                u = mu[i];
            }
            if let Some(wd) = wd {
                u = u + wd * *p;
            }
            *p = *p + -u;
        }
    }
}

impl_optimizer!(Adafactor);
