//! Gradient clipping, as `torch.nn.utils.clip_grad_value_` and `clip_grad_norm_`, over one flat
//! buffer (a whole model's gradient laid out by a [`Layout`](crate::Layout)) or a list of
//! tensors.

use num_traits::Float;

use crate::kernel::{cast, sqrt, sum_sq, to_f64};
use crate::Error;

/// Which vector norm [`clip_grad_norm`] measures: torch's `norm_type`.
///
/// ```
/// use gradus::{clip_grad_norm, Norm};
/// let g = [3.0_f64, -4.0];
/// assert_eq!(clip_grad_norm(&mut g.clone(), 100.0, Norm::L1)?, 7.0);
/// assert_eq!(clip_grad_norm(&mut g.clone(), 100.0, Norm::L2)?, 5.0);
/// assert_eq!(clip_grad_norm(&mut g.clone(), 100.0, Norm::Inf)?, 4.0);
/// assert_eq!(clip_grad_norm(&mut g.clone(), 100.0, Norm::P(1.0))?, 7.0);
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Norm {
    /// `sum |g_i|` (`norm_type=1`).
    L1,
    /// `sqrt(sum g_i^2)` (`norm_type=2`, torch's default), accumulated in `f64`.
    L2,
    /// `max |g_i|` (`norm_type=inf`).
    Inf,
    /// `(sum |g_i|^p)^(1/p)` for any other `p` torch's `vector_norm` takes: `P(f64::INFINITY)`
    /// is [`Inf`](Norm::Inf), `P(f64::NEG_INFINITY)` is `min |g_i|`, `P(0.0)` counts the
    /// non-zero elements. A NaN `p` is an [`Error::InvalidHyperparameter`].
    P(f64),
}

impl Norm {
    /// The norm of `x`, in `f64`.
    fn of<T: Float>(self, x: &[T]) -> f64 {
        match self {
            Norm::L2 => sqrt(sum_sq(x)),
            other => other.of_abs(x.iter().map(|&v| to_f64(v).abs())),
        }
    }

    /// The norm of the magnitudes `abs`.
    fn of_abs(self, abs: impl Iterator<Item = f64>) -> f64 {
        match self {
            Norm::L2 => sqrt(abs.map(|a| a * a).sum()),
            Norm::L1 => abs.sum(),
            Norm::Inf => abs.fold(0.0, f64::max),
            Norm::P(p) if p == f64::INFINITY => abs.fold(0.0, f64::max),
            Norm::P(p) if p == f64::NEG_INFINITY => abs.fold(f64::INFINITY, f64::min),
            Norm::P(0.0) => abs.filter(|&a| a != 0.0).count() as f64,
            Norm::P(p) => Float::powf(abs.map(|a| Float::powf(a, p)).sum::<f64>(), 1.0 / p),
        }
    }

    fn validate(self) -> Result<(), Error> {
        match self {
            Norm::P(p) if p.is_nan() => Err(Error::InvalidHyperparameter {
                name: "norm",
                value: p,
                expected: "a norm order p that is not NaN (use Norm::L1, L2, Inf or P(p))",
            }),
            _ => Ok(()),
        }
    }
}

/// Clamps every element of `grads` to `[-clip, clip]` in place
/// (`torch.nn.utils.clip_grad_value_`). A negative `clip` is taken by its magnitude; NaN
/// elements stay NaN.
///
/// ```
/// let mut g = [3.0_f32, -0.5, -7.0];
/// gradus::clip_grad_value(&mut g, 1.0);
/// assert_eq!(g, [1.0, -0.5, -1.0]);
/// ```
pub fn clip_grad_value<T: Float>(grads: &mut [T], clip: T) {
    let c = clip.abs();
    for g in grads.iter_mut() {
        if *g > c {
            *g = c;
        } else if *g < -c {
            *g = -c;
        }
    }
}

/// [`clip_grad_value`] over tensors held in separate buffers.
///
/// ```
/// let (mut w, mut b) = ([3.0_f32, -0.5], [-7.0_f32]);
/// gradus::clip_grad_value_tensors(&mut [&mut w, &mut b], 1.0);
/// assert_eq!((w, b), ([1.0, -0.5], [-1.0]));
/// ```
pub fn clip_grad_value_tensors<T: Float>(grads: &mut [&mut [T]], clip: T) {
    for g in grads.iter_mut() {
        clip_grad_value(g, clip);
    }
}

/// Scales `grads` in place so that their norm is at most `max_norm` and returns the norm before
/// clipping: `torch.nn.utils.clip_grad_norm_(parameters, max_norm, norm_type,
/// error_if_nonfinite=True)`. Over a whole model's flat buffer it is the global norm over all
/// its tensors.
///
/// As PyTorch: `total = norm(grads)` (in `f64`), `coef = min(max_norm / (total + 1e-6), 1)`,
/// and every element is multiplied by `coef` (cast to `T`; a no-op when it is 1).
///
/// # Errors
///
/// A NaN or infinite total returns [`Error::NonFiniteNorm`] and leaves `grads` untouched (a
/// non-finite gradient would otherwise become NaN everywhere). A negative or non-finite
/// `max_norm`, or a NaN norm order, is an [`Error::InvalidHyperparameter`].
///
/// ```
/// use gradus::{clip_grad_norm, Error, Norm};
/// let mut g = [3.0_f64, 4.0];
/// let norm = clip_grad_norm(&mut g, 1.0, Norm::L2)?;
/// assert_eq!(norm, 5.0);
/// assert!((g[0] - 0.6).abs() < 1e-6 && (g[1] - 0.8).abs() < 1e-6);
/// let mut bad = [1.0, f64::INFINITY];
/// assert_eq!(clip_grad_norm(&mut bad, 1.0, Norm::L2), Err(Error::NonFiniteNorm { norm: f64::INFINITY }));
/// # Ok::<(), Error>(())
/// ```
pub fn clip_grad_norm<T: Float>(grads: &mut [T], max_norm: T, norm: Norm) -> Result<T, Error> {
    let max = to_f64(max_norm);
    crate::kernel::non_negative("max_norm", max)?;
    norm.validate()?;
    let total = norm.of(grads);
    scale(core::iter::once(grads), max, total)
}

/// [`clip_grad_norm`] over tensors held in separate buffers: torch's over a list of parameters,
/// the total being the norm of the tensors' norms.
///
/// ```
/// use gradus::{clip_grad_norm_tensors, Norm};
/// let (mut w, mut b) = ([3.0_f64], [4.0_f64]);
/// assert_eq!(clip_grad_norm_tensors(&mut [&mut w, &mut b], 1.0, Norm::L2)?, 5.0);
/// assert!((w[0] - 0.6).abs() < 1e-6 && (b[0] - 0.8).abs() < 1e-6);
/// # Ok::<(), gradus::Error>(())
/// ```
pub fn clip_grad_norm_tensors<T: Float>(grads: &mut [&mut [T]], max_norm: T, norm: Norm) -> Result<T, Error> {
    let max = to_f64(max_norm);
    crate::kernel::non_negative("max_norm", max)?;
    norm.validate()?;
    let total = norm.of_abs(grads.iter().map(|g| norm.of(g)));
    scale(grads.iter_mut().map(|g| &mut **g), max, total)
}

fn scale<'a, T: Float + 'a>(grads: impl Iterator<Item = &'a mut [T]>, max: f64, total: f64) -> Result<T, Error> {
    if !total.is_finite() {
        return Err(Error::NonFiniteNorm { norm: total });
    }
    let coef = f64::min(max / (total + 1e-6), 1.0);
    if coef < 1.0 {
        let c: T = cast(coef);
        for g in grads {
            for x in g.iter_mut() {
                *x = *x * c;
            }
        }
    }
    Ok(cast(total))
}
