//! Adafactor: `torch.optim.Adafactor`, with a factored second moment for matrices.

use alloc::vec::Vec;

use num_traits::Float;

use crate::kernel::{self, cast, sqrt, sum_sq, to_f64, Common, Lerp};
use crate::optim::{common_setters, impl_optimizer, Progress, Rule};
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
    progress: Progress,
    /// Vector path: `v` (numel). Matrix path: `r` for every row of every matrix.
    row_var: Buf<T>,
    /// Matrix path: `c` for every column of every matrix.
    col_var: Buf<T>,
}

/// How a tensor is stepped: `batch` matrices of `m x n`, or a vector (`m = 1`, not factored).
#[derive(Clone, Copy, Debug)]
struct Factoring {
    batch: usize,
    m: usize,
    n: usize,
    factored: bool,
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
            progress: Progress::default(),
            row_var: Buf::new(),
            col_var: Buf::new(),
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

    /// The clipping threshold of the update's RMS, `> 0` (default 1).
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
        kernel::non_negative("weight_decay", self.weight_decay)
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
    }

    fn set_shape(&mut self, shape: &[usize]) {
        self.shape = Some(shape.to_vec());
    }
}

impl_optimizer!(Adafactor);
