//! SparseAdam: `torch.optim.SparseAdam`, for embedding tables whose gradient touches few rows.

use alloc::vec::Vec;

use num_traits::Float;

use crate::kernel::{self, bias_correction, cast, sqrt, to_f64, Common};
use crate::optim::{common_setters, impl_optimizer, momentum_is, setters, Progress, Rule};
use crate::state::Buf;
use crate::Error;

/// SparseAdam: `torch.optim.SparseAdam` (`torch/optim/_functional.py::sparse_adam`), Adam's
/// moments and update applied only to the rows a sparse gradient touches.
///
/// The parameters are a `rows x cols` table (its [`shape`](SparseAdam::shape), or the tensor's
/// shape inside [`Groups`](crate::Groups)); [`step_rows`](SparseAdam::step_rows) takes the
/// indices of the rows a step touches and one row of gradient values per index, as
/// `nn.Embedding(sparse=True)` produces. Rows listed twice have their values summed (torch
/// coalesces the sparse gradient); rows not listed keep their parameters and moments. For
/// each touched row, in the order the code computes it (`t` counts every step, an empty one too):
///
/// ```text
/// g     = maximize ? -v : v                 // the row's coalesced values
/// m_old = m;  dm = (g - m_old)*(1 - beta1);  m = m_old + dm
/// s_old = s;  ds = (g*g - s_old)*(1 - beta2); s = s_old + ds
/// step  = lr * sqrt(1 - beta2^t) / (1 - beta1^t)      // in f64
/// p     = p + (-step) * ((dm + m_old) / (sqrt(ds + s_old) + eps))
/// ```
///
/// [`Optimizer::step`](crate::Optimizer::step) with a dense gradient touches every row.
/// Defaults (torch's): lr 1e-3, `betas` (0.9, 0.999), `eps` 1e-8.
///
/// ```
/// use gradus::SparseAdam;
/// // an embedding table of 4 rows of 2
/// let mut table = vec![0.0_f32; 8];
/// let mut opt = SparseAdam::new(0.1).shape(&[4, 2]);
/// opt.step_rows(&mut table, &[1, 3], &[0.5, -0.5, 1.0, 1.0])?;
/// assert_eq!(&table[0..2], &[0.0, 0.0]); // row 0 untouched
/// assert!(table[2] < 0.0 && table[3] > 0.0);
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(bound(serialize = "T: Float + serde::Serialize", deserialize = "T: Float + serde::Deserialize<'de>"))
)]
pub struct SparseAdam<T> {
    common: Common,
    beta1: f64,
    beta2: f64,
    eps: f64,
    shape: Option<Vec<usize>>,
    progress: Progress,
    exp_avg: Buf<T>,
    exp_avg_sq: Buf<T>,
    /// Scratch of `step_rows`: `(row, position)` pairs sorted by row, to coalesce duplicates.
    #[cfg_attr(feature = "serde", serde(skip))]
    order: Vec<(usize, usize)>,
}

impl<T: Float> SparseAdam<T> {
    /// SparseAdam with learning rate `lr` and torch's defaults.
    ///
    /// ```
    /// let opt = gradus::SparseAdam::<f32>::new(1e-3).shape(&[10_000, 64]);
    /// # let _ = opt;
    /// ```
    pub fn new(lr: T) -> Self {
        SparseAdam {
            common: Common::new(to_f64(lr)),
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            shape: None,
            progress: Progress::default(),
            exp_avg: Buf::new(),
            exp_avg_sq: Buf::new(),
            order: Vec::new(),
        }
    }

    setters! {
        SparseAdam;
        /// Decay rates of the first and second moments, each in `[0, 1)` (default 0.9, 0.999).
        betas / get_betas(beta1: T, beta2: T) = (0.8, 0.99);
        /// Term added to the denominator, `> 0` (default 1e-8).
        eps / get_eps(eps: T) = (1e-6);
    }

    /// The table's shape `[rows, cols]` (any shape whose first dimension counts the rows: the
    /// rest make up a row).
    ///
    /// ```
    /// let opt = gradus::SparseAdam::<f64>::new(1e-3).shape(&[8, 3]);
    /// assert_eq!(opt.get_shape(), Some(&[8, 3][..]));
    /// ```
    pub fn shape(mut self, shape: &[usize]) -> Self {
        self.shape = Some(shape.to_vec());
        self
    }

    /// The shape set by [`shape`](SparseAdam::shape) (or by the `Groups` it is in).
    ///
    /// ```
    /// assert_eq!(gradus::SparseAdam::<f64>::new(1e-3).get_shape(), None);
    /// ```
    pub fn get_shape(&self) -> Option<&[usize]> {
        self.shape.as_deref()
    }

    common_setters!(SparseAdam);

    /// `(rows, cols)` of the table.
    fn table(&self) -> Option<(usize, usize)> {
        let shape = self.shape.as_ref()?;
        let (&rows, rest) = shape.split_first()?;
        Some((rows, rest.iter().product()))
    }

    /// Steps the rows `rows` of `params` with the gradient rows `grads` (`rows.len()` rows of
    /// `cols` values, in the order of `rows`). A step with no rows still counts (it moves
    /// nothing).
    ///
    /// # Errors
    ///
    /// Before anything is written: [`Error::InvalidHyperparameter`]; [`Error::MissingShape`]
    /// without a shape; [`Error::ShapeMismatch`] if `params` is not `rows*cols` long or `grads`
    /// not `rows.len()*cols`; [`Error::RowOutOfRange`] for an index past the last row;
    /// [`Error::StateMismatch`]; [`Error::NonFiniteGradient`] (index into `grads`) unless
    /// `check_finite(false)`.
    ///
    /// ```
    /// use gradus::{Error, SparseAdam};
    /// let mut opt = SparseAdam::new(0.1_f64).shape(&[4, 2]);
    /// let mut table = vec![0.0; 8];
    /// let e = opt.step_rows(&mut table, &[4], &[1.0, 1.0]).unwrap_err();
    /// assert_eq!(e, Error::RowOutOfRange { index: 0, row: 4, rows: 4 });
    /// opt.step_rows(&mut table, &[2, 2], &[1.0, 0.0, 1.0, 0.0])?; // row 2 gets [2, 0]
    /// # Ok::<(), Error>(())
    /// ```
    pub fn step_rows(&mut self, params: &mut [T], rows: &[usize], grads: &[T]) -> Result<(), Error>
    where
        T: Send + Sync,
    {
        kernel::non_negative("lr", self.common.lr)?;
        Rule::validate(self)?;
        let (n_rows, cols) = self.table().ok_or(Error::MissingShape { rule: "SparseAdam" })?;
        let len = n_rows * cols;
        if params.len() != len {
            return Err(Error::ShapeMismatch {
                what: "params (rows * cols of the shape)",
                expected: len,
                found: params.len(),
            });
        }
        if grads.len() != rows.len() * cols {
            return Err(Error::ShapeMismatch {
                what: "grads (one row of cols values per listed row)",
                expected: rows.len() * cols,
                found: grads.len(),
            });
        }
        if let Some(index) = rows.iter().position(|&r| r >= n_rows) {
            return Err(Error::RowOutOfRange { index, row: rows[index], rows: n_rows });
        }
        if let Some(expected) = self.progress.len {
            if expected != len {
                return Err(Error::StateMismatch { expected, found: len });
            }
        }
        if self.common.check_finite {
            kernel::check_all_finite(grads)?;
        }
        let t = self.progress.begin(len);
        self.exp_avg.ensure(params, T::zero());
        self.exp_avg_sq.ensure(params, T::zero());
        if rows.is_empty() {
            return Ok(());
        }
        // coalesce: every distinct row once, its values summed in the order given
        self.order.clear();
        self.order.extend(rows.iter().enumerate().map(|(k, &r)| (r, k)));
        self.order.sort_unstable();
        let coef = self.coefficients(t);
        let (m, s) = (self.exp_avg.get_mut(), self.exp_avg_sq.get_mut());
        let mut k = 0;
        while k < self.order.len() {
            let row = self.order[k].0;
            let run = self.order[k..].iter().take_while(|(r, _)| *r == row).count();
            let at = row * cols;
            for j in 0..cols {
                let mut g = grads[self.order[k].1 * cols + j];
                for &(_, pos) in &self.order[k + 1..k + run] {
                    g = g + grads[pos * cols + j];
                }
                let i = at + j;
                coef.update(&mut params[i], g, &mut m[i], &mut s[i]);
            }
            k += run;
        }
        Ok(())
    }

    fn coefficients(&self, t: u64) -> Coef<T> {
        let (bc1, bc2) = (bias_correction(self.beta1, t), bias_correction(self.beta2, t));
        Coef {
            sign: self.common.sign(),
            one_minus_beta1: cast(1.0 - self.beta1),
            one_minus_beta2: cast(1.0 - self.beta2),
            eps: cast(self.eps),
            neg_step: cast(-(self.common.lr * sqrt(bc2) / bc1)),
        }
    }
}

/// The per-step coefficients, in `T`.
struct Coef<T> {
    sign: T,
    one_minus_beta1: T,
    one_minus_beta2: T,
    eps: T,
    neg_step: T,
}

impl<T: Float> Coef<T> {
    #[inline(always)]
    fn update(&self, p: &mut T, g: T, m: &mut T, s: &mut T) {
        let g = g * self.sign;
        let m_old = *m;
        let dm = (g - m_old) * self.one_minus_beta1;
        *m = m_old + dm;
        let s_old = *s;
        let ds = (g * g - s_old) * self.one_minus_beta2;
        *s = s_old + ds;
        let numer = dm + m_old;
        let denom = (ds + s_old).sqrt() + self.eps;
        *p = *p + self.neg_step * (numer / denom);
    }
}

impl<T: Float + Send + Sync> Rule<T> for SparseAdam<T> {
    crate::optim::state_fields!(required: [exp_avg, exp_avg_sq], optional: []);

    fn validate(&self) -> Result<(), Error> {
        kernel::unit("beta1", self.beta1)?;
        kernel::unit("beta2", self.beta2)?;
        kernel::positive("eps", self.eps)
    }

    /// A dense gradient: every row touched.
    fn update(&mut self, params: &mut [T], grads: &[T]) {
        let t = self.progress.begin(params.len());
        self.exp_avg.ensure(params, T::zero());
        self.exp_avg_sq.ensure(params, T::zero());
        let coef = self.coefficients(t);
        let (m, s) = (self.exp_avg.get_mut(), self.exp_avg_sq.get_mut());
        for (((p, &g), m), s) in params.iter_mut().zip(grads).zip(m.iter_mut()).zip(s.iter_mut()) {
            coef.update(p, g, m, s);
        }
    }

    fn clear(&mut self) {
        self.exp_avg.free();
        self.exp_avg_sq.free();
    }

    fn second_moment(&self) -> Option<&[T]> {
        self.progress.len.map(|_| self.exp_avg_sq.get())
    }

    fn set_shape(&mut self, shape: &[usize]) {
        self.shape = Some(shape.to_vec());
    }

    momentum_is!(beta1);
}

impl_optimizer!(SparseAdam);
