//! Matrix products for the matrix rules (Muon's Newton–Schulz iteration), written for a
//! workspace the caller keeps: after the first step of a given shape nothing is allocated.
//!
//! `c = alpha * a @ b + beta * c`: `b`'s columns are packed into panels `NR` wide (each read in
//! order, from L1/L2, against every block of `MR` rows of `a`), and an `MR x NR` register tile
//! accumulates a block against a panel over the whole depth `k`. The last panel and the last
//! block are padded with zeros, so every element takes that one path. The loops run through the
//! SIMD dispatch of [`crate::simd`], so the tile's multiply-adds are vector FMAs on the AVX2 and
//! AVX-512 paths. No crate we found takes a caller's workspace (`matrixmultiply`, `gemm` and
//! `faer` allocate their packing buffers in every call), hence this module. A Muon step on
//! GPT-2 tiny's shapes takes 0.94x its time with `matrixmultiply` (`docs/benchmarks.md`).
//!
//! Every element is `alpha * (sum over l = 0..k, in order, of a[i][l] * b[l][j]) + beta * c`,
//! whatever the blocking, the panel width or the instruction set; the paths differ only where
//! the FMA paths fuse `a * b + sum` into one rounding (as the elementwise loops do).

use alloc::vec::Vec;

use num_traits::Float;

use crate::kernel::{mul_add, Kernel};
use crate::simd::{self, Level};

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

/// Rows of `c` computed together: each element of `b` read is used for four rows of `c`.
const MR: usize = 4;

/// `c = alpha * a @ b + beta * c` with `a` `m x k`, `b` `k x n` and `c` row-major `m x n`
/// (BLAS `gemm`; with `beta == 0` the old `c` is not read). `work` is grown to what the product
/// needs and otherwise left as it is: pass the same vector every step and nothing is allocated.
///
/// # Panics
///
/// If an operand is smaller than its dimensions say: a bug of the caller, never of the input
/// (the rules size their buffers from the validated shape).
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm<T: Float + Send + Sync>(
    m: usize,
    k: usize,
    n: usize,
    alpha: T,
    a: Mat<'_, T>,
    b: Mat<'_, T>,
    beta: T,
    c: &mut [T],
    work: &mut Vec<T>,
) {
    assert!(a.covers(m, k) && b.covers(k, n) && c.len() >= m * n, "gemm operands smaller than their dimensions");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        // an empty sum: `alpha * 0 + beta * c`
        for v in &mut c[..m * n] {
            *v = if beta == T::zero() { alpha * T::zero() } else { alpha * T::zero() + beta * *v };
        }
        return;
    }
    // the panel width: two vectors of the path's registers, or one on AVX-512 (a 4 x 32 f32
    // tile there is not kept in registers: 13x slower, docs/benchmarks.md)
    match (core::mem::size_of::<T>(), simd::level()) {
        (4, Level::Scalar) => product::<T, 8>(m, k, n, alpha, a, b, beta, c, work),
        (4, _) => product::<T, 16>(m, k, n, alpha, a, b, beta, c, work),
        (8, Level::Scalar) => product::<T, 4>(m, k, n, alpha, a, b, beta, c, work),
        _ => product::<T, 8>(m, k, n, alpha, a, b, beta, c, work),
    }
}

#[allow(clippy::too_many_arguments)]
fn product<T: Float + Send + Sync, const NR: usize>(
    m: usize,
    k: usize,
    n: usize,
    alpha: T,
    a: Mat<'_, T>,
    b: Mat<'_, T>,
    beta: T,
    c: &mut [T],
    work: &mut Vec<T>,
) {
    // the workspace: `a` row-major (when it is not), `b` in panels, `a`'s last rows padded to a
    // whole block, and the tile the sums leave the registers through
    let a_len = if a.cs == 1 && a.rs == k { 0 } else { m * k };
    let (panels, whole) = (n.div_ceil(NR), m / MR * MR);
    let need = a_len + panels * NR * k + MR * k + MR * NR;
    if work.len() < need {
        work.resize(need, T::zero());
    }
    let (a_buf, rest) = work.split_at_mut(a_len);
    let (packed, rest) = rest.split_at_mut(panels * NR * k);
    let (a_last, tile) = rest.split_at_mut(MR * k);
    for (i, row) in a_buf.chunks_exact_mut(k).enumerate() {
        for (l, v) in row.iter_mut().enumerate() {
            *v = a.data[i * a.rs + l * a.cs];
        }
    }
    let a_rows: &[T] = if a_len > 0 { a_buf } else { &a.data[..m * k] };
    // rows past the last whole block, then zeros: the tile computes them like the others
    a_last.fill(T::zero());
    a_last[..(m - whole) * k].copy_from_slice(&a_rows[whole * k..]);
    // panel p holds, for l in 0..k, b[l][p*NR .. p*NR + NR], zeros past column n: the tile reads
    // it in order (filled along `b`'s rows, or along its columns when it is a transpose)
    for (p, panel) in packed.chunks_exact_mut(NR * k).enumerate() {
        let cols = NR.min(n - p * NR);
        if b.cs == 1 {
            for (l, row) in panel.chunks_exact_mut(NR).enumerate() {
                let from = l * b.rs + p * NR;
                row[..cols].copy_from_slice(&b.data[from..from + cols]);
                row[cols..].fill(T::zero());
            }
        } else {
            for row in panel.chunks_exact_mut(NR) {
                row[cols..].fill(T::zero());
            }
            for j in 0..cols {
                let col = (p * NR + j) * b.cs;
                for (l, row) in panel.chunks_exact_mut(NR).enumerate() {
                    row[j] = b.data[col + l * b.rs];
                }
            }
        }
    }
    let job = Product::<T, NR> { m, k, n, alpha, beta, a: a_rows, a_last, packed };
    simd::dispatch(&job, (&mut c[..m * n], &mut tile[..MR * NR]));
}

/// The product, over `a` row-major (its last rows padded in `a_last`) and `b` packed.
struct Product<'a, T, const NR: usize> {
    m: usize,
    k: usize,
    n: usize,
    alpha: T,
    beta: T,
    a: &'a [T],
    a_last: &'a [T],
    packed: &'a [T],
}

impl<'a, 'c, T: Float + Send + Sync, const NR: usize> Kernel<(&'c mut [T], &'c mut [T])> for Product<'a, T, NR> {
    type Output = ();

    #[inline(always)]
    fn run<const FMA: bool>(&self, (c, tile): (&'c mut [T], &'c mut [T])) {
        let (m, k, n) = (self.m, self.k, self.n);
        // each panel (in L1/L2) against every block of MR rows: MR x NR sums in registers over l
        for (p, panel) in self.packed.chunks_exact(NR * k).enumerate() {
            let (j0, cols) = (p * NR, NR.min(n - p * NR));
            for i0 in (0..m).step_by(MR) {
                let a = if i0 + MR <= m { &self.a[i0 * k..(i0 + MR) * k] } else { self.a_last };
                let (a01, a23) = a.split_at(2 * k);
                let ((a0, a1), (a2, a3)) = (a01.split_at(k), a23.split_at(k));
                let mut acc = [[T::zero(); NR]; MR];
                // (zipped: no bounds check in the loop over l)
                for ((((y, &x0), &x1), &x2), &x3) in panel.chunks_exact(NR).zip(a0).zip(a1).zip(a2).zip(a3) {
                    let Ok(y) = <&[T; NR]>::try_from(y) else { continue };
                    let x = [x0, x1, x2, x3];
                    for r in 0..MR {
                        for j in 0..NR {
                            acc[r][j] = mul_add::<T, FMA>(x[r], y[j], acc[r][j]);
                        }
                    }
                }
                // through the tile: indexing `acc` by a loop LLVM does not unroll would keep it
                // in memory (and the loop above scalar)
                for r in 0..MR {
                    let Ok(dst) = <&mut [T; NR]>::try_from(&mut tile[r * NR..(r + 1) * NR]) else { continue };
                    *dst = acc[r];
                }
                // `c = alpha * sum + beta * c` for the block's rows and the panel's columns
                for (r, sums) in tile.chunks_exact(NR).take(m - i0).enumerate() {
                    let row = &mut c[(i0 + r) * n + j0..(i0 + r) * n + j0 + cols];
                    if self.beta == T::zero() {
                        row.iter_mut().zip(sums).for_each(|(v, &s)| *v = self.alpha * s);
                    } else {
                        row.iter_mut().zip(sums).for_each(|(v, &s)| *v = self.alpha * s + self.beta * *v);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// The product by its definition, summing over `l` in order.
    fn naive(m: usize, k: usize, n: usize, a: &[f64], b: &[f64]) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).fold(0.0, |s, l| s + a[i * k + l] * b[l * n + j]);
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
        let mut work = Vec::new();
        gemm(m, k, n, 1.0, Mat::rows(&a, k), Mat::rows(&b, n), 0.0, &mut c, &mut work);
        assert_eq!(c, naive(m, k, n, &a, &b)); // small integers and halves: exact
                                               // a @ a^T, and beta
        let mut g = vec![1.0; m * m];
        gemm(m, k, m, 2.0, Mat::rows(&a, k), Mat::transposed(&a, k), 3.0, &mut g, &mut work);
        let at: Vec<f64> = (0..k * m).map(|i| a[(i % m) * k + i / m]).collect();
        let want: Vec<f64> = naive(m, k, m, &a, &at).iter().map(|x| 2.0 * x + 3.0).collect();
        assert_eq!(g, want);
        // f32
        let a32: Vec<f32> = a.iter().map(|&x| x as f32).collect();
        let b32: Vec<f32> = b.iter().map(|&x| x as f32).collect();
        let mut c32 = vec![0.0_f32; m * n];
        gemm(m, k, n, 1.0, Mat::rows(&a32, k), Mat::rows(&b32, n), 0.0, &mut c32, &mut Vec::new());
        assert!(c32.iter().zip(naive(m, k, n, &a, &b)).all(|(&x, y)| x as f64 == y));
    }

    /// Every shape around the tile and panel edges, and blocks of `a` smaller than `m`, against
    /// the definition (integers: exact whatever the order), with `beta` reading the old `c` and
    /// `beta == 0` ignoring a NaN in it.
    #[test]
    fn every_edge_of_the_blocking() {
        let mut work = Vec::new();
        for (m, k, n) in [(1, 1, 1), (5, 3, 17), (4, 7, 16), (9, 1, 33), (13, 70_000, 3), (2, 0, 3), (33, 5, 65)] {
            let a: Vec<f64> = (0..m * k).map(|i| ((i * 7) % 5) as f64 - 2.0).collect();
            let b: Vec<f64> = (0..k * n).map(|i| ((i * 3) % 4) as f64 - 1.0).collect();
            let want = naive(m, k, n, &a, &b);
            let mut c = vec![f64::NAN; m * n];
            gemm(m, k, n, 1.0, Mat::rows(&a, k), Mat::rows(&b, n), 0.0, &mut c, &mut work);
            assert_eq!(c, want, "{m}x{k}x{n}");
            let mut c2: Vec<f64> = (0..m * n).map(|i| i as f64).collect();
            gemm(m, k, n, -2.0, Mat::rows(&a, k), Mat::rows(&b, n), 0.5, &mut c2, &mut work);
            let want2: Vec<f64> = want.iter().enumerate().map(|(i, w)| -2.0 * w + 0.5 * i as f64).collect();
            assert_eq!(c2, want2, "{m}x{k}x{n} with beta");
            let a32: Vec<f32> = a.iter().map(|&x| x as f32).collect();
            let b32: Vec<f32> = b.iter().map(|&x| x as f32).collect();
            let mut c32 = vec![0.0_f32; m * n];
            gemm(m, k, n, 1.0, Mat::rows(&a32, k), Mat::rows(&b32, n), 0.0, &mut c32, &mut Vec::new());
            assert!(c32.iter().zip(&want).all(|(&x, &y)| x as f64 == y), "{m}x{k}x{n} f32");
        }
        // the workspace grows to the largest product and is reused after
        let cap = work.capacity();
        let (a, b) = (vec![1.0; 4], vec![1.0; 4]);
        gemm(2, 2, 2, 1.0, Mat::rows(&a, 2), Mat::rows(&b, 2), 0.0, &mut [0.0; 4], &mut work);
        assert_eq!(work.capacity(), cap);
    }

    /// A row in a block of four and the same row alone (a block padded with zeros) get the same
    /// bits, on every path, for values whose sums round: padding changes nothing.
    #[test]
    fn padded_blocks_give_the_same_bits() {
        let detected = simd::level();
        for level in [Level::Scalar, Level::Avx2, Level::Avx512] {
            simd::force(level);
            let (m, k, n) = (9, 37, 41);
            let a: Vec<f32> = (0..m * k).map(|i| ((i * 37 % 101) as f32 * 0.173).sin()).collect();
            let b: Vec<f32> = (0..k * n).map(|i| ((i * 53 % 97) as f32 * 0.311).cos()).collect();
            let mut c = vec![0.0_f32; m * n];
            let mut work = Vec::new();
            gemm(m, k, n, 1.5, Mat::rows(&a, k), Mat::rows(&b, n), 0.0, &mut c, &mut work);
            for i in 0..m {
                let mut row = vec![0.0_f32; n];
                gemm(1, k, n, 1.5, Mat::rows(&a[i * k..(i + 1) * k], k), Mat::rows(&b, n), 0.0, &mut row, &mut work);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&row), bits(&c[i * n..(i + 1) * n]), "{level:?} row {i}");
            }
        }
        simd::force(detected);
    }
}
