//! Muon: `torch.optim.Muon` and `optax.contrib.muon`, momentum orthogonalized by a
//! Newton–Schulz iteration.

use alloc::vec;
use alloc::vec::Vec;

use num_traits::Float;

use crate::gemm::{gemm, Mat};
use crate::kernel::{self, cast, sqrt, sum_sq, to_f64, Common, Lerp, OptaxMomentum};
use crate::optim::{form_setters, impl_optimizer, momentum_is, Form, Progress, Rule};
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

/// How the optax form of [`Muon`] scales the matrix before (and in the first step of) the
/// Newton–Schulz iteration: optax's `preconditioning`. `A = X X^T` below.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Preconditioning {
    /// `X / (norm_F(X) + eps)` (optax's `"frobenius"`, the default).
    #[default]
    Frobenius,
    /// `X / (sigma_max(X) + eps)`, the largest singular value (`"spectral"`).
    Spectral,
    /// In the first iteration `s_i = 1/sqrt(max(sum_j |A_ij|, eps))`, `X = diag(s) X`,
    /// `A = diag(s) A diag(s)` (almost-orthogonal-layer rescaling, `"aol"`).
    Aol,
    /// In the first iteration `s = 1/sqrt(max(norm_F(A), eps))`, `X = s X`, `A = s^2 A`
    /// (`"schatten"`).
    Schatten,
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
/// type; here it runs in `T` (the crate's own blocked product, vector FMAs on the AVX2 and AVX-512
/// paths). In float64 this
/// rule reproduces torch's float64 iteration to 1e-9; against torch's own bfloat16 iteration
/// it differs by up to about 2% of the parameters' displacement (the recordings measure it).
///
/// The matrix's shape comes from [`shape`](Muon::shape) or, inside `Groups`, from the layout;
/// anything but two dimensions is an error. Defaults (torch's): lr 1e-3, `weight_decay` 0.1,
/// `momentum` 0.95, `nesterov` true, `ns_coefficients` (3.4445, -4.775, 2.0315), `eps` 1e-7,
/// `ns_steps` 5, [`AdjustLr::Original`]. Muon's buffers, the matrix products' packing workspace
/// included, are sized by the first step: later steps allocate nothing.
///
/// **optax form.** With [`form(Form::Optax)`](Muon::form) the rule is `optax.contrib.muon` on a
/// 2-D parameter (`scale_by_muon`, `scale_by_shape`, `add_decayed_weights`, `scale(-lr)`):
///
/// ```text
/// mu  = (1 - momentum)*g + momentum*mu
/// u   = nesterov ? momentum*(mu/(1 - momentum^(t+1))) + (1 - momentum)*(g/(1 - momentum^t))
///                : mu/(1 - momentum^t)
/// X   = m > n ? u^T : u
/// X   = preconditioned X (Preconditioning; Frobenius: X/(norm_F(X) + eps))
/// per row (a, b, c) of ns_coeffs (or ns_steps times ns_coefficients):
///       A = X X^T;  X = a*X + (b*A + c*(A A)) X
/// O   = m > n ? X^T : X
/// if adaptive: O = <u, O>_F * O
/// s   = consistent_rms ? sqrt(max(m, n))*consistent_rms : sqrt(max(1, n/m))
/// p   = p + (-lr)*(s*O + weight_decay*p)
/// ```
///
/// optax's defaults differ from torch's: eps 1e-8 added to the norm (torch: `max(norm, 1e-7)`),
/// weight decay 0 applied as `-lr*wd*p`, and the width scale `sqrt(max(1, n/m))` of
/// `fan_out/fan_in` (torch's `Original` is `sqrt(max(1, m/n))`).
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
    #[cfg_attr(feature = "serde", serde(default))]
    form: Form,
    #[cfg_attr(feature = "serde", serde(default))]
    ns_table: Option<Vec<[f64; 3]>>,
    #[cfg_attr(feature = "serde", serde(default))]
    adaptive: bool,
    #[cfg_attr(feature = "serde", serde(default))]
    preconditioning: Preconditioning,
    #[cfg_attr(feature = "serde", serde(default))]
    consistent_rms: Option<f64>,
    progress: Progress,
    momentum_buffer: Buf<T>,
    /// Scratch of the iteration: `X`, the next `X`, `G = X X^T`, `B`, the momentum `u` kept for
    /// the adaptive form's `<u, O>`, and the matrix products' packing workspace.
    #[cfg_attr(feature = "serde", serde(skip, default = "no_scratch"))]
    scratch: [Vec<T>; 6],
}

/// Empty scratch buffers (sized by the first step).
fn no_scratch<T>() -> [Vec<T>; 6] {
    [Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new()]
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
            form: Form::Torch,
            ns_table: None,
            adaptive: false,
            preconditioning: Preconditioning::Frobenius,
            consistent_rms: None,
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

    form_setters!(
        Muon,
        "torch.optim.Muon",
        "optax.contrib.muon",
        "`momentum` (optax's `beta`) 0.95, `nesterov` true, `eps` 1e-8, `weight_decay` 0, `ns_coefficients` (3.4445, -4.775, 2.0315), `ns_steps` 5, `adaptive` false, [`Preconditioning::Frobenius`], `consistent_rms` None; `adjust_lr_fn` has no optax keyword"
    );

    fn optax_defaults(mut self) -> Self {
        self.eps = 1e-8;
        self.weight_decay = 0.0;
        self
    }

    /// optax's `ns_coeffs` table (optax form only): one Newton–Schulz iteration per row
    /// `[a, b, c]`, replacing [`ns_coefficients`](Muon::ns_coefficients) and
    /// [`ns_steps`](Muon::ns_steps) (optax's presets such as `"dion"` resolve to such rows).
    ///
    /// ```
    /// use gradus::{Form, Muon};
    /// let rows = [[3.4445, -4.775, 2.0315], [1.5, -0.5, 0.0]];
    /// let opt = Muon::<f64>::new(0.02).form(Form::Optax).ns_coeffs(&rows);
    /// assert_eq!(opt.get_ns_coeffs(), Some(rows.to_vec()));
    /// ```
    pub fn ns_coeffs(mut self, rows: &[[T; 3]]) -> Self {
        self.ns_table = Some(rows.iter().map(|r| r.map(to_f64)).collect());
        self
    }

    /// The table set by [`ns_coeffs`](Muon::ns_coeffs) (default `None`).
    ///
    /// ```
    /// assert_eq!(gradus::Muon::<f64>::new(0.02).get_ns_coeffs(), None);
    /// ```
    pub fn get_ns_coeffs(&self) -> Option<Vec<[T; 3]>> {
        self.ns_table.as_ref().map(|t| t.iter().map(|r| r.map(cast)).collect())
    }

    /// optax's `adaptive` (optax form only): scale the orthogonalized update by `<u, O>`, the
    /// dual norm of the momentum (default `false`).
    ///
    /// ```
    /// let opt = gradus::Muon::<f64>::new(0.02).form(gradus::Form::Optax).adaptive(true);
    /// assert!(opt.get_adaptive());
    /// ```
    pub fn adaptive(mut self, adaptive: bool) -> Self {
        self.adaptive = adaptive;
        self
    }

    /// The value set by [`adaptive`](Muon::adaptive).
    ///
    /// ```
    /// assert!(!gradus::Muon::<f64>::new(0.02).get_adaptive());
    /// ```
    pub fn get_adaptive(&self) -> bool {
        self.adaptive
    }

    /// optax's `preconditioning` (optax form only; default [`Preconditioning::Frobenius`]).
    ///
    /// ```
    /// use gradus::{Form, Muon, Preconditioning};
    /// let opt = Muon::<f64>::new(0.02).form(Form::Optax).preconditioning(Preconditioning::Aol);
    /// assert_eq!(opt.get_preconditioning(), Preconditioning::Aol);
    /// ```
    pub fn preconditioning(mut self, preconditioning: Preconditioning) -> Self {
        self.preconditioning = preconditioning;
        self
    }

    /// The value set by [`preconditioning`](Muon::preconditioning).
    ///
    /// ```
    /// assert_eq!(gradus::Muon::<f64>::new(0.02).get_preconditioning(), gradus::Preconditioning::Frobenius);
    /// ```
    pub fn get_preconditioning(&self) -> Preconditioning {
        self.preconditioning
    }

    /// optax's `consistent_rms` (optax form only): `Some(r)` scales the update by
    /// `sqrt(max(m, n))*r` instead of `sqrt(max(1, n/m))` (default `None`).
    ///
    /// ```
    /// let opt = gradus::Muon::<f64>::new(0.02).form(gradus::Form::Optax).consistent_rms(Some(0.2));
    /// assert_eq!(opt.get_consistent_rms(), Some(0.2));
    /// ```
    pub fn consistent_rms(mut self, consistent_rms: Option<T>) -> Self {
        self.consistent_rms = consistent_rms.map(to_f64);
        self
    }

    /// The value set by [`consistent_rms`](Muon::consistent_rms).
    ///
    /// ```
    /// assert_eq!(gradus::Muon::<f64>::new(0.02).get_consistent_rms(), None);
    /// ```
    pub fn get_consistent_rms(&self) -> Option<T> {
        self.consistent_rms.map(cast)
    }

    /// The learning-rate ratio of an `m x n` matrix.
    fn ratio(&self, m: usize, n: usize) -> f64 {
        let (a, b) = (m as f64, n as f64);
        if self.form == Form::Optax {
            return match self.consistent_rms {
                Some(r) => sqrt(f64::max(a, b)) * r,
                None => sqrt(f64::max(1.0, b / a)),
            };
        }
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
        if let Some(rows) = &self.ns_table {
            for r in rows {
                for &v in r {
                    kernel::finite("ns_coeffs", v)?;
                }
            }
        }
        if let Some(r) = self.consistent_rms {
            kernel::finite("consistent_rms", r)?;
        }
        if self.form == Form::Optax {
            kernel::require(
                self.adjust_lr_fn == AdjustLr::Original,
                "adjust_lr_fn",
                1.0,
                "its default: optax.contrib.muon scales by consistent_rms or sqrt(max(1, n/m))",
            )?;
        } else {
            let expected = "its default: an optax.contrib.muon keyword, for form(Form::Optax) only";
            kernel::require(self.ns_table.is_none(), "ns_coeffs", 1.0, expected)?;
            kernel::require(!self.adaptive, "adaptive", 1.0, expected)?;
            kernel::require(self.preconditioning == Preconditioning::Frobenius, "preconditioning", 1.0, expected)?;
            kernel::require(
                self.consistent_rms.is_none(),
                "consistent_rms",
                self.consistent_rms.unwrap_or(0.0),
                expected,
            )?;
        }
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
        let t = self.progress.begin(params.len());
        self.momentum_buffer.ensure(params, T::zero());
        let (rows, cols) = if m > n { (n, m) } else { (m, n) };
        let optax = self.form == Form::Optax;
        let ratio = self.ratio(m, n);
        let kept = if self.adaptive { rows * cols } else { 0 };
        // (the packing workspace sizes itself in its first product)
        for (buf, size) in self.scratch.iter_mut().zip([rows * cols, rows * cols, rows * rows, rows * rows, kept]) {
            if buf.len() != size {
                *buf = vec![T::zero(); size];
            }
        }
        let [x, next, gram, b_mat, u0, work] = &mut self.scratch;
        // momentum, then the matrix to orthogonalize, laid out wide (rows <= cols)
        let buf = self.momentum_buffer.get_mut();
        let at = |k: usize| if m > n { (k % n) * cols + k / n } else { k };
        if optax {
            let mom = OptaxMomentum::<T>::new(self.momentum, t, self.nesterov, true);
            for (k, (mu, &g)) in buf.iter_mut().zip(grads).enumerate() {
                x[at(k)] = mom.update(g, mu);
            }
        } else {
            let ema = Lerp::<T>::new(1.0 - self.momentum);
            let mix = Lerp::<T>::new(self.momentum);
            for (k, (b, &g)) in buf.iter_mut().zip(grads).enumerate() {
                *b = ema.at::<false>(*b, g);
                x[at(k)] = if self.nesterov { mix.at::<false>(g, *b) } else { *b };
            }
        }
        // the dual norm <u, O> of the adaptive form needs u after the iteration
        if self.adaptive {
            u0.copy_from_slice(x);
        }
        let eps: T = cast(self.eps);
        let first_scaled = if optax {
            precondition(self.preconditioning, rows, cols, eps, x, gram, b_mat, work)
        } else {
            let norm: T = cast(sqrt(sum_sq(x)));
            divide(x, norm.max(eps));
            false
        };
        let default = [self.ns_coefficients.0, self.ns_coefficients.1, self.ns_coefficients.2];
        let table: &[[f64; 3]] = match &self.ns_table {
            Some(rows) if optax => rows,
            _ => core::slice::from_ref(&default),
        };
        let steps = if optax && self.ns_table.is_some() { table.len() } else { self.ns_steps };
        for it in 0..steps {
            let [a, b, c] = if table.len() == 1 { table[0] } else { table[it] };
            let (a, b, c): (T, T, T) = (cast(a), cast(b), cast(c));
            if !(it == 0 && first_scaled) {
                gram_of(rows, cols, x, gram, work);
            }
            // B = c*(G G) + b*G
            b_mat.copy_from_slice(gram);
            gemm(rows, rows, rows, c, Mat::rows(gram, rows), Mat::rows(gram, rows), b, b_mat, work);
            // X = B X + a*X
            next.copy_from_slice(x);
            gemm(rows, rows, cols, T::one(), Mat::rows(b_mat, rows), Mat::rows(x, cols), a, next, work);
            core::mem::swap(x, next);
        }
        let dual =
            if self.adaptive { u0.iter().zip(x.iter()).fold(T::zero(), |acc, (&u, &o)| acc + u * o) } else { T::one() };
        if optax {
            let (neg_lr, s, wd): (T, T, T) = (cast(-self.common.lr), cast(ratio), cast(self.weight_decay));
            for (k, p) in params.iter_mut().enumerate() {
                let o = dual * x[at(k)];
                *p = *p + neg_lr * (s * o + wd * *p);
            }
        } else {
            let decay: T = cast(1.0 - self.common.lr * self.weight_decay);
            let step: T = cast(-(self.common.lr * ratio));
            for (k, p) in params.iter_mut().enumerate() {
                *p = *p * decay + step * x[at(k)];
            }
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

/// The largest eigenvalue of the symmetric `n x n` matrix `a` (destroyed), by cyclic Jacobi
/// rotations until the off-diagonal part vanishes at the working precision.
fn largest_eigenvalue<T: Float>(a: &mut [T], n: usize) -> T {
    for _sweep in 0..64 {
        let mut off = T::zero();
        for i in 0..n {
            for j in (i + 1)..n {
                off = off + a[i * n + j] * a[i * n + j];
            }
        }
        let diag = (0..n).fold(T::zero(), |acc, i| acc + a[i * n + i] * a[i * n + i]);
        if off <= diag * T::epsilon() * T::epsilon() {
            break;
        }
        for p in 0..n {
            for q in (p + 1)..n {
                let apq = a[p * n + q];
                if apq == T::zero() {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (apq + apq);
                let sign = if theta >= T::zero() { T::one() } else { -T::one() };
                let t = sign / (theta.abs() + (theta * theta + T::one()).sqrt());
                let c = T::one() / (t * t + T::one()).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
            }
        }
    }
    (0..n).fold(T::neg_infinity(), |acc, i| acc.max(a[i * n + i]))
}

/// The optax form's preconditioning of the wide `rows x cols` matrix `x`. Returns `true` when
/// it left the first iteration's `A = X X^T` (rescaled) in `gram`.
#[allow(clippy::too_many_arguments)]
fn precondition<T: Float + Send + Sync>(
    kind: Preconditioning,
    rows: usize,
    cols: usize,
    eps: T,
    x: &mut [T],
    gram: &mut [T],
    spare: &mut [T],
    work: &mut Vec<T>,
) -> bool {
    match kind {
        Preconditioning::Frobenius => {
            let norm: T = cast(sqrt(sum_sq(x)));
            divide(x, norm + eps);
            false
        }
        Preconditioning::Spectral => {
            gram_of(rows, cols, x, gram, work);
            // the eigenvalue search destroys `gram`: the first iteration recomputes it
            let sigma = largest_eigenvalue(gram, rows).max(T::zero()).sqrt();
            divide(x, sigma + eps);
            false
        }
        Preconditioning::Aol => {
            gram_of(rows, cols, x, gram, work);
            let scale = &mut spare[..rows];
            for (i, s) in scale.iter_mut().enumerate() {
                let sum = gram[i * rows..(i + 1) * rows].iter().fold(T::zero(), |acc, v| acc + v.abs());
                *s = T::one() / sum.max(eps).sqrt();
            }
            for (i, &si) in scale.iter().enumerate() {
                x[i * cols..(i + 1) * cols].iter_mut().for_each(|v| *v = *v * si);
                for (a, &sj) in gram[i * rows..(i + 1) * rows].iter_mut().zip(scale.iter()) {
                    *a = *a * (si * sj);
                }
            }
            true
        }
        Preconditioning::Schatten => {
            gram_of(rows, cols, x, gram, work);
            let norm: T = cast(sqrt(sum_sq(gram)));
            let s = T::one() / norm.max(eps).sqrt();
            x.iter_mut().for_each(|v| *v = *v * s);
            let s2 = s * s;
            gram.iter_mut().for_each(|v| *v = *v * s2);
            true
        }
    }
}

/// `gram = X X^T` of the row-major `rows x cols` matrix `x`.
fn gram_of<T: Float + Send + Sync>(rows: usize, cols: usize, x: &[T], gram: &mut [T], work: &mut Vec<T>) {
    gemm(rows, cols, rows, T::one(), Mat::rows(x, cols), Mat::transposed(x, cols), T::zero(), gram, work);
}

/// `x = x / d`, elementwise.
fn divide<T: Float>(x: &mut [T], d: T) {
    x.iter_mut().for_each(|v| *v = *v / d);
}
