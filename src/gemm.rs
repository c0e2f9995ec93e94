//! Matrix products for the matrix rules (Muon's Newton–Schulz iteration): `matrixmultiply`'s
//! `sgemm`/`dgemm` for `f32` and `f64`, a plain triple loop for any other float.
//!
//! `matrixmultiply` takes raw pointers and strides; this module checks every dimension and
//! stride against the slices' lengths before handing them over, which is what makes the calls
//! sound.
#![allow(unsafe_code)]

use core::any::TypeId;

use num_traits::Float;

/// A matrix operand: its elements and (row stride, column stride).
#[derive(Clone, Copy)]
pub(crate) struct Mat<'a, T> {
    pub(crate) data: &'a [T],
    pub(crate) rs: usize,
    pub(crate) cs: usize,
}

impl<'a, T> Mat<'a, T> {
    /// A row-major `rows x cols` matrix.
    pub(crate) fn rows(data: &'a [T], cols: usize) -> Self {
        Mat { data, rs: cols, cs: 1 }
    }

    /// The transpose of a row-major matrix with `cols` columns.
    pub(crate) fn transposed(data: &'a [T], cols: usize) -> Self {
        Mat { data, rs: 1, cs: cols }
    }

    /// Whether every element of an `r x c` view lies inside the slice.
    fn covers(&self, r: usize, c: usize) -> bool {
        r == 0 || c == 0 || (r - 1) * self.rs + (c - 1) * self.cs < self.data.len()
    }
}

/// `c = alpha * a @ b + beta * c` with `a` `m x k`, `b` `k x n` and `c` row-major `m x n`
/// (BLAS `gemm`; with `beta == 0` the old `c` is not read).
///
/// # Panics
///
/// If an operand is smaller than its dimensions say: a bug of the caller, never of the input
/// (the rules size their buffers from the validated shape).
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm<T: Float + 'static>(
    m: usize,
    k: usize,
    n: usize,
    alpha: T,
    a: Mat<'_, T>,
    b: Mat<'_, T>,
    beta: T,
    c: &mut [T],
) {
    assert!(a.covers(m, k) && b.covers(k, n) && c.len() >= m * n, "gemm operands smaller than their dimensions");
    if m == 0 || n == 0 {
        return;
    }
    let (rsa, csa, rsb, csb) = (a.rs as isize, a.cs as isize, b.rs as isize, b.cs as isize);
    if TypeId::of::<T>() == TypeId::of::<f64>() {
        let f = |x: T| x.to_f64().unwrap_or(0.0);
        // SAFETY: `T` is `f64` (same type id), so the casts reinterpret nothing; the asserts
        // above keep every element dgemm addresses, `i*rs + j*cs` for i < rows and j < cols of
        // each operand, inside its slice; `c` is exclusively borrowed and does not alias `a`, `b`.
        unsafe {
            matrixmultiply::dgemm(
                m,
                k,
                n,
                f(alpha),
                a.data.as_ptr() as *const f64,
                rsa,
                csa,
                b.data.as_ptr() as *const f64,
                rsb,
                csb,
                f(beta),
                c.as_mut_ptr() as *mut f64,
                n as isize,
                1,
            );
        }
    } else if TypeId::of::<T>() == TypeId::of::<f32>() {
        let f = |x: T| x.to_f32().unwrap_or(0.0);
        // SAFETY: as above, with `T` being `f32`.
        unsafe {
            matrixmultiply::sgemm(
                m,
                k,
                n,
                f(alpha),
                a.data.as_ptr() as *const f32,
                rsa,
                csa,
                b.data.as_ptr() as *const f32,
                rsb,
                csb,
                f(beta),
                c.as_mut_ptr() as *mut f32,
                n as isize,
                1,
            );
        }
    } else {
        for i in 0..m {
            for j in 0..n {
                let mut sum = T::zero();
                for l in 0..k {
                    sum = sum + a.data[i * a.rs + l * a.cs] * b.data[l * b.rs + j * b.cs];
                }
                let old = if beta == T::zero() { T::zero() } else { beta * c[i * n + j] };
                c[i * n + j] = alpha * sum + old;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    /// The same product through the fallback loop, for any float: here `f64` wrapped so that it
    /// is not `f64`'s type id.
    fn naive(m: usize, k: usize, n: usize, a: &[f64], b: &[f64]) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|l| a[i * k + l] * b[l * n + j]).sum();
            }
        }
        c
    }

    #[test]
    fn products_and_transposes() {
        let (m, k, n) = (3, 4, 5);
        let a: Vec<f64> = (0..m * k).map(|i| i as f64 * 0.5 - 2.0).collect();
        let b: Vec<f64> = (0..k * n).map(|i| (i % 7) as f64 - 3.0).collect();
        let mut c = vec![1.0; m * n];
        gemm(m, k, n, 1.0, Mat::rows(&a, k), Mat::rows(&b, n), 0.0, &mut c);
        assert_eq!(c, naive(m, k, n, &a, &b)); // small integers and halves: exact
                                               // a @ a^T, and beta
        let mut g = vec![1.0; m * m];
        gemm(m, k, m, 2.0, Mat::rows(&a, k), Mat::transposed(&a, k), 3.0, &mut g);
        let at: Vec<f64> = (0..k * m).map(|i| a[(i % m) * k + i / m]).collect();
        let want: Vec<f64> = naive(m, k, m, &a, &at).iter().map(|x| 2.0 * x + 3.0).collect();
        assert_eq!(g, want);
        // f32 takes sgemm
        let a32: Vec<f32> = a.iter().map(|&x| x as f32).collect();
        let b32: Vec<f32> = b.iter().map(|&x| x as f32).collect();
        let mut c32 = vec![0.0_f32; m * n];
        gemm(m, k, n, 1.0, Mat::rows(&a32, k), Mat::rows(&b32, n), 0.0, &mut c32);
        assert!(c32.iter().zip(naive(m, k, n, &a, &b)).all(|(&x, y)| x as f64 == y));
    }
}
