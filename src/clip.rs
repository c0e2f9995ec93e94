//! Gradient clipping, as `torch.nn.utils.clip_grad_value_` and `clip_grad_norm_`.

use num_traits::Float;

use crate::kernel::{cast, sqrt, sum_sq};
use crate::Error;

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

/// Scales `grads` in place so that their global L2 norm is at most `max_norm`
/// (`torch.nn.utils.clip_grad_norm_`) and returns the norm before clipping.
///
/// As PyTorch: `total = sqrt(sum g_i^2)` (accumulated in `f64`), `coef = max_norm / (total + 1e-6)`,
/// and if `coef < 1` every element is multiplied by `coef`.
///
/// # Errors
///
/// With `error_if_nonfinite`, a NaN or infinite norm returns [`Error::NonFiniteNorm`] and leaves
/// `grads` untouched (PyTorch's `error_if_nonfinite=True`). Without it a non-finite norm scales
/// nothing (`coef` is not `< 1`) and is returned as is. A negative or NaN `max_norm` is an
/// [`Error::InvalidHyperparameter`].
///
/// ```
/// let mut g = [3.0_f64, 4.0];
/// let norm = gradus::clip_grad_norm(&mut g, 1.0, true)?;
/// assert_eq!(norm, 5.0);
/// assert!((g[0] - 0.6).abs() < 1e-6 && (g[1] - 0.8).abs() < 1e-6);
/// # Ok::<(), gradus::Error>(())
/// ```
pub fn clip_grad_norm<T: Float>(grads: &mut [T], max_norm: T, error_if_nonfinite: bool) -> Result<T, Error> {
    let max = crate::kernel::to_f64(max_norm);
    crate::kernel::non_negative("max_norm", max)?;
    let total = sqrt(sum_sq(grads));
    if !total.is_finite() && error_if_nonfinite {
        return Err(Error::NonFiniteNorm { norm: total });
    }
    let coef = max / (total + 1e-6);
    if coef < 1.0 {
        let c: T = cast(coef);
        for g in grads.iter_mut() {
            *g = *g * c;
        }
    }
    Ok(cast(total))
}
