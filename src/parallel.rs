//! The `rayon` feature: elementwise updates split into chunks run on rayon's pool.

use crate::kernel::{run, Kernel, Lanes};

/// Below this many elements a step runs serially: splitting costs more than it saves.
const THRESHOLD: usize = 1 << 16;

/// Whether `n` elements are worth splitting over the pool: at least the threshold, and more
/// than one thread to run on.
pub(crate) fn worth_splitting(n: usize) -> bool {
    n >= THRESHOLD && rayon::current_num_threads() > 1
}

/// Splits `lanes` in halves until pieces are below the threshold and runs `kernel` on each
/// piece through the SIMD dispatch. Every element sees exactly the serial operations, so the
/// result is bit-identical to a serial step.
pub(crate) fn split<L: Lanes, K: Kernel<L, Output = ()>>(kernel: &K, lanes: L) {
    reduce(kernel, lanes, |(), ()| ())
}

/// Whether `kernel` holds on every piece of `lanes`, split as [`split`] does: the non-finite
/// scan of a large gradient runs on the pool too.
pub(crate) fn all<L: Lanes, K: Kernel<L, Output = bool>>(kernel: &K, lanes: L) -> bool {
    reduce(kernel, lanes, |a, b| a && b)
}

/// Runs `kernel` on halves of `lanes` in parallel, recursively down to the threshold, and merges
/// the pieces' outputs with `merge`.
fn reduce<L: Lanes, K: Kernel<L>>(kernel: &K, lanes: L, merge: fn(K::Output, K::Output) -> K::Output) -> K::Output
where
    K::Output: Send,
{
    let n = lanes.elements();
    if n < 2 * THRESHOLD {
        return run(kernel, lanes);
    }
    // Cut at a multiple of 64 elements so that chunks stay aligned to cache lines.
    let mid = (n / 2) & !63;
    let (a, b) = lanes.split_at(mid);
    let (a, b) = rayon::join(|| reduce(kernel, a, merge), || reduce(kernel, b, merge));
    merge(a, b)
}
