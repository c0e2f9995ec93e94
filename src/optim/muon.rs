//! Muon: `torch.optim.Muon`, momentum orthogonalized by a Newton–Schulz iteration.

use alloc::vec;
use alloc::vec::Vec;

use num_traits::Float;

use crate::gemm::{gemm, Mat};
use crate::kernel::{self, cast, sqrt, sum_sq, to_f64, Common, Lerp};
use crate::optim::{impl_optimizer, momentum_is, Progress, Rule};
use crate::state::Buf;
use crate::Error;

/// How [`Muon`] scales its learning rate by the matrix's shape `(m, n)`: torch's `adjust_lr_fn`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum AdjustLr {
    /// `sqrt(max(1, m/n))`, Keller Jordan's (torch's `None` or `"original"`, the default).
    #[default]
    Original,
    /// `0.2 * sqrt(max(m, n))`, Moonshot's: an update with AdamW's RMS (`"match_rms_adamw"`).
    MatchRmsAdamW,
    /// `sqrt(m/n)` (`"spectral_unclamped"`).
    SpectralUnclamped,
}

/// Muon: `torch.optim.Muon` (`torch/optim/_muon.py::_single_tensor_muon`), for the 2-D weight
/// matrices of hidden layers (give embeddings, biases and norms to [`AdamW`](crate::AdamW) in
/// another [`Groups`](crate::Groups) group).
///
/// Per step of an `m x n` matrix, in the order the code computes it:
///
/// ```text
/// buf = lerp(buf, g, 1 - momentum)                 // an EMA, as torch's code (not its docstring)
/// u   = nesterov ? lerp(g, buf, momentum) : buf
/// X   = m > n ? u^T : u                            // iterate on the wide orientation
/// X   = X / max(norm_F(X), eps)
/// ns_steps times:  G = X X^T;  B = b*G + c*(G G);  X = a*X + B X    // (a, b, c) = ns_coefficients
/// X   = m > n ? X^T : X
/// p   = p * (1 - lr*weight_decay)                  // decoupled, with the unadjusted lr
/// p   = p + (-(lr * ratio)) * X                    // ratio from adjust_lr_fn
/// ```
///
/// **Precision.** torch runs the Newton–Schulz iteration in bfloat16 whatever the parameter's
/// type; here it runs in `T` (through `matrixmultiply` for `f32` and `f64`). In float64 this
/// rule reproduces torch's float64 iteration to 1e-9; against torch's own bfloat16 iteration
/// it differs by up to about 2% of the parameters' displacement (the recordings measure it).
///
/// The matrix's shape comes from [`shape`](Muon::shape) or, inside `Groups`, from the layout;
/// anything but two dimensions is an error. Defaults (torch's): lr 1e-3, `weight_decay` 0.1,
/// `momentum` 0.95, `nesterov` true, `ns_coefficients` (3.4445, -4.775, 2.0315), `eps` 1e-7,
/// `ns_steps` 5, [`AdjustLr::Original`]. Muon's own buffers are sized by the first step; each
/// matrix product then allocates `matrixmultiply`'s packing buffer (three a Newton–Schulz
/// iteration), the one exception to this crate's no-allocation-after-the-first-step rule.
///
/// Reference: Jordan et al. (2024), "Muon: An optimizer for hidden layers in neural networks";
/// Liu et al. (2025), "Muon is Scalable for LLM Training".
///
/// ```
/// use gradus::{Muon, Optimizer};
/// let mut opt = Muon::new(0.02_f64).shape(&[3, 4]);
/// let mut w = vec![0.1; 12];
/// let g: Vec<f64> = (0..12).map(|i| (i as f64 * 0.7).sin()).collect();
/// opt.step(&mut w, &g)?;
/// assert!(w.iter().all(|x| x.is_finite()));
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(bound(serialize = "T: Float + serde::Serialize", deserialize = "T: Float + serde::Deserialize<'de>"))
)]
pub struct Muon<T> {
    common: Common,
    weight_decay: f64,
    momentum: f64,
    nesterov: bool,
    ns_coefficients: (f64, f64, f64),
    eps: f64,
    ns_steps: usize,
    adjust_lr_fn: AdjustLr,
    shape: Option<Vec<usize>>,
    progress: Progress,
    momentum_buffer: Buf<T>,
    /// Scratch of the iteration: `X`, the next `X`, `G = X X^T`, `B`.
    #[cfg_attr(feature = "serde", serde(skip, default = "no_scratch"))]
    scratch: [Vec<T>; 4],
}

/// Empty scratch buffers (sized by the first step).
fn no_scratch<T>() -> [Vec<T>; 4] {
    [Vec::new(), Vec::new(), Vec::new(), Vec::new()]
}

impl<T: Float> Muon<T> {
    /// Muon with learning rate `lr` and torch's defaults.
    ///
    /// ```
    /// let opt = gradus::Muon::<f32>::new(0.02).shape(&[768, 3072]);
    /// # let _ = opt;
    /// ```
    pub fn new(lr: T) -> Self {
        Muon {
            common: Common::new(to_f64(lr)),
            weight_decay: 0.1,
            momentum: 0.95,
            nesterov: true,
            ns_coefficients: (3.4445, -4.775, 2.0315),
            eps: 1e-7,
            ns_steps: 5,
            adjust_lr_fn: AdjustLr::Original,
            shape: None,
            progress: Progress::default(),
            momentum_buffer: Buf::new(),
            scratch: no_scratch(),
        }
    }

    crate::optim::setters! {
        Muon;
        /// Decoupled weight decay `p *= 1 - lr*weight_decay`, `>= 0` (default 0.1).
        weight_decay / get_weight_decay(weight_decay: T) = (0.01);
        /// The momentum, in `[0, 1)` (default 0.95).
        momentum / get_momentum(momentum: T) = (0.9);
        /// Nesterov momentum (default `true`).
        nesterov / get_nesterov(nesterov: bool) = (false);
        /// The Newton–Schulz iteration's stabilizer: the matrix is divided by `max(norm, eps)`,
        /// `>= 0` (default 1e-7).
        eps / get_eps(eps: T) = (1e-6);
    }

    /// The coefficients `(a, b, c)` of the Newton–Schulz polynomial `a X + b (X X^T) X + c (X X^T)^2 X`
    /// (default (3.4445, -4.775, 2.0315)).
    ///
    /// ```
    /// let opt = gradus::Muon::<f64>::new(0.02).ns_coefficients(1.5, -0.5, 0.0).ns_steps(8);
    /// assert_eq!(opt.get_ns_coefficients(), (1.5, -0.5, 0.0));
    /// ```
    pub fn ns_coefficients(mut self, a: T, b: T, c: T) -> Self {
        self.ns_coefficients = (to_f64(a), to_f64(b), to_f64(c));
        self
    }

    /// The value set by [`ns_coefficients`](Muon::ns_coefficients).
    ///
    /// ```
    /// assert_eq!(gradus::Muon::<f64>::new(0.02).get_ns_coefficients(), (3.4445, -4.775, 2.0315));
    /// ```
    pub fn get_ns_coefficients(&self) -> (T, T, T) {
        let (a, b, c) = self.ns_coefficients;
        (cast(a), cast(b), cast(c))
    }

    /// Newton–Schulz iterations per step, below 100 as torch requires (default 5).
    ///
    /// ```
    /// let opt = gradus::Muon::<f64>::new(0.02).ns_steps(3);
    /// assert_eq!(opt.get_ns_steps(), 3);
    /// ```
    pub fn ns_steps(mut self, ns_steps: usize) -> Self {
        self.ns_steps = ns_steps;
        self
    }

    /// The value set by [`ns_steps`](Muon::ns_steps).
    ///
    /// ```
    /// assert_eq!(gradus::Muon::<f64>::new(0.02).get_ns_steps(), 5);
    /// ```
    pub fn get_ns_steps(&self) -> usize {
        self.ns_steps
    }

    /// How the learning rate scales with the shape (default [`AdjustLr::Original`]).
    ///
    /// ```
    /// use gradus::{AdjustLr, Muon};
    /// let opt = Muon::<f64>::new(0.02).adjust_lr_fn(AdjustLr::MatchRmsAdamW);
    /// assert_eq!(opt.get_adjust_lr_fn(), AdjustLr::MatchRmsAdamW);
    /// ```
    pub fn adjust_lr_fn(mut self, adjust: AdjustLr) -> Self {
        self.adjust_lr_fn = adjust;
        self
    }

    /// The value set by [`adjust_lr_fn`](Muon::adjust_lr_fn).
    ///
    /// ```
    /// assert_eq!(gradus::Muon::<f64>::new(0.02).get_adjust_lr_fn(), gradus::AdjustLr::Original);
    /// ```
    pub fn get_adjust_lr_fn(&self) -> AdjustLr {
        self.adjust_lr_fn
    }

    /// The matrix's shape `[m, n]`.
    ///
    /// ```
    /// let opt = gradus::Muon::<f64>::new(0.02).shape(&[256, 1024]);
    /// assert_eq!(opt.get_shape(), Some(&[256, 1024][..]));
    /// ```
    pub fn shape(mut self, shape: &[usize]) -> Self {
        self.shape = Some(shape.to_vec());
        self
    }

    /// The shape set by [`shape`](Muon::shape) (or by the `Groups` it is in).
    ///
    /// ```
    /// assert_eq!(gradus::Muon::<f64>::new(0.02).get_shape(), None);
    /// ```
    pub fn get_shape(&self) -> Option<&[usize]> {
        self.shape.as_deref()
    }

    /// Whether `step` scans the gradient for NaN and infinities first (default `true`); see
    /// [`Adam::check_finite`](crate::Adam::check_finite).
    ///
    /// ```
    /// let opt = gradus::Muon::<f64>::new(0.02).check_finite(false);
    /// assert!(!opt.get_check_finite());
    /// ```
    pub fn check_finite(mut self, check: bool) -> Self {
        self.common.check_finite = check;
        self
    }

    /// The value set by [`check_finite`](Muon::check_finite).
    ///
    /// ```
    /// assert!(gradus::Muon::<f64>::new(0.02).get_check_finite());
    /// ```
    pub fn get_check_finite(&self) -> bool {
        self.common.check_finite
    }

    /// The learning-rate ratio of an `m x n` matrix.
    fn ratio(&self, m: usize, n: usize) -> f64 {
        let (a, b) = (m as f64, n as f64);
        match self.adjust_lr_fn {
            AdjustLr::Original => sqrt(f64::max(1.0, a / b)),
            AdjustLr::MatchRmsAdamW => 0.2 * sqrt(f64::max(a, b)),
            AdjustLr::SpectralUnclamped => sqrt(a / b),
        }
    }
}

impl<T: Float + Send + Sync + 'static> Rule<T> for Muon<T> {
    crate::optim::state_fields!(required: [momentum_buffer], optional: []);

    fn validate(&self) -> Result<(), Error> {
        kernel::non_negative("weight_decay", self.weight_decay)?;
        kernel::unit("momentum", self.momentum)?;
        kernel::non_negative("eps", self.eps)?;
        let (a, b, c) = self.ns_coefficients;
        kernel::finite("ns_coefficients.0", a)?;
        kernel::finite("ns_coefficients.1", b)?;
        kernel::finite("ns_coefficients.2", c)?;
        kernel::require(self.ns_steps < 100, "ns_steps", self.ns_steps as f64, "fewer than 100 (as torch requires)")?;
        match self.shape.as_deref() {
            None => Err(Error::MissingShape { rule: "Muon" }),
            Some(s) if s.len() != 2 => Err(Error::InvalidHyperparameter {
                name: "shape",
                value: s.len() as f64,
                expected: "a 2-D shape [m, n]: Muon steps matrices only (use AdamW for the rest)",
            }),
            Some(_) => Ok(()),
        }
    }

    fn check_input(&self, len: usize) -> Result<(), Error> {
        match self.shape.as_deref() {
            Some([m, n]) if m * n != len => {
                Err(Error::ShapeMismatch { what: "params (m * n of the shape)", expected: m * n, found: len })
            }
            _ => Ok(()),
        }
    }

    fn update(&mut self, params: &mut [T], grads: &[T]) {
        let (m, n) = match self.shape.as_deref() {
            Some(&[m, n]) => (m, n),
            _ => unreachable!("validated: a 2-D shape"),
        };
        self.progress.begin(params.len());
        self.momentum_buffer.ensure(params, T::zero());
        let (rows, cols) = if m > n { (n, m) } else { (m, n) };
        let decay: T = cast(1.0 - self.common.lr * self.weight_decay);
        let step: T = cast(-(self.common.lr * self.ratio(m, n)));
        for (buf, size) in self.scratch.iter_mut().zip([rows * cols, rows * cols, rows * rows, rows * rows]) {
            if buf.len() != size {
                *buf = vec![T::zero(); size];
            }
        }
        let [x, next, gram, b_mat] = &mut self.scratch;
        // momentum, then the matrix to orthogonalize, laid out wide (rows <= cols)
        let ema = Lerp::<T>::new(1.0 - self.momentum);
        let mix = Lerp::<T>::new(self.momentum);
        let buf = self.momentum_buffer.get_mut();
        for (k, (b, &g)) in buf.iter_mut().zip(grads).enumerate() {
            *b = ema.at::<false>(*b, g);
            let u = if self.nesterov { mix.at::<false>(g, *b) } else { *b };
            let (i, j) = (k / n, k % n);
            x[if m > n { j * cols + i } else { k }] = u;
        }
        let norm: T = cast(sqrt(sum_sq(x)));
        let scale = norm.max(cast(self.eps));
        x.iter_mut().for_each(|v| *v = *v / scale);
        let (a, b, c) = self.ns_coefficients;
        let (a, b, c): (T, T, T) = (cast(a), cast(b), cast(c));
        for _ in 0..self.ns_steps {
            gemm(rows, cols, rows, T::one(), Mat::rows(x, cols), Mat::transposed(x, cols), T::zero(), gram);
            // B = c*(G G) + b*G
            b_mat.copy_from_slice(gram);
            gemm(rows, rows, rows, c, Mat::rows(gram, rows), Mat::rows(gram, rows), b, b_mat);
            // X = B X + a*X
            next.copy_from_slice(x);
            gemm(rows, rows, cols, T::one(), Mat::rows(b_mat, rows), Mat::rows(x, cols), a, next);
            core::mem::swap(x, next);
        }
        for (k, p) in params.iter_mut().enumerate() {
            let (i, j) = (k / n, k % n);
            let o = x[if m > n { j * cols + i } else { k }];
            *p = *p * decay + step * o;
        }
    }

    fn clear(&mut self) {
        self.momentum_buffer.free();
        self.scratch = no_scratch();
    }

    fn set_shape(&mut self, shape: &[usize]) {
        self.shape = Some(shape.to_vec());
    }

    momentum_is!(momentum);
}

impl_optimizer!(Muon, 'static);
