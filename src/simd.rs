//! Runtime selection of the instruction set the fused loops are compiled for.
//!
//! Every rule's loop is compiled three times on x86-64: for the build target (SSE2 by default),
//! for AVX2 + FMA and for AVX-512F. The first step detects what the CPU supports (cached in an
//! atomic) and later steps jump straight to that copy. The loops never contract `a*b + c` into
//! a fused multiply-add, so all copies give **bit-identical** results; the parity tests run on
//! each of them (`DESCENT_SIMD=scalar|avx2|avx512 cargo test`).
//!
//! Without `std` (no runtime detection) or off x86-64, only the build-target copy exists.
//!
//! ```
//! use descent::simd::{self, Level};
//! let detected = simd::level();
//! simd::force(Level::Scalar); // e.g. to compare paths in a test
//! assert_eq!(simd::level(), Level::Scalar);
//! simd::force(detected);
//! ```
#![allow(unsafe_code)]

use core::sync::atomic::{AtomicU8, Ordering};

use crate::kernel::{Kernel, Len};

/// An instruction-set level the fused loops can run at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// The build target's instructions (SSE2 on the default x86-64 target).
    Scalar,
    /// AVX2 with FMA (the loops do not use FMA contraction; the feature only widens vectors).
    Avx2,
    /// AVX-512F.
    Avx512,
}

const UNKNOWN: u8 = 0;
static LEVEL: AtomicU8 = AtomicU8::new(UNKNOWN);

impl Level {
    fn code(self) -> u8 {
        match self {
            Level::Scalar => 1,
            Level::Avx2 => 2,
            Level::Avx512 => 3,
        }
    }
    #[inline]
    fn from_code(c: u8) -> Level {
        match c {
            3 => Level::Avx512,
            2 => Level::Avx2,
            _ => Level::Scalar,
        }
    }
}

/// The best level this CPU supports (ignores [`force`] and `DESCENT_SIMD`).
///
/// ```
/// let best = descent::simd::detect();
/// assert!(best >= descent::simd::Level::Scalar);
/// ```
pub fn detect() -> Level {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    {
        if std::is_x86_feature_detected!("avx512f") {
            return Level::Avx512;
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            return Level::Avx2;
        }
    }
    Level::Scalar
}

/// The level steps run at: the forced one if any, else `DESCENT_SIMD` (`scalar`, `avx2`,
/// `avx512`; capped at what the CPU supports), else [`detect`].
///
/// ```
/// let l = descent::simd::level();
/// assert!(l <= descent::simd::detect());
/// ```
#[inline]
pub fn level() -> Level {
    let c = LEVEL.load(Ordering::Relaxed);
    if c != UNKNOWN {
        return Level::from_code(c);
    }
    init()
}

#[cold]
fn init() -> Level {
    let best = detect();
    let chosen = from_env().map_or(best, |l| l.min(best));
    LEVEL.store(chosen.code(), Ordering::Relaxed);
    chosen
}

#[cfg(feature = "std")]
fn from_env() -> Option<Level> {
    match std::env::var("DESCENT_SIMD").ok()?.to_ascii_lowercase().as_str() {
        "scalar" | "none" | "off" => Some(Level::Scalar),
        "avx2" => Some(Level::Avx2),
        "avx512" => Some(Level::Avx512),
        _ => None,
    }
}

#[cfg(not(feature = "std"))]
fn from_env() -> Option<Level> {
    None
}

/// Forces a level for the whole process (capped at what the CPU supports); returns the level now
/// in force. Meant for tests and benchmarks that compare paths: results do not depend on it.
///
/// ```
/// use descent::simd::{self, Level};
/// assert_eq!(simd::force(Level::Scalar), Level::Scalar);
/// simd::force(simd::detect());
/// ```
pub fn force(level: Level) -> Level {
    let l = level.min(detect());
    LEVEL.store(l.code(), Ordering::Relaxed);
    l
}

/// Below this many elements the build-target copy runs directly: a call into a wider copy
/// costs more than it saves.
#[cfg_attr(not(feature = "std"), allow(dead_code))]
const SMALL: usize = 32;

#[inline(always)]
pub(crate) fn dispatch<L: Len, K: Kernel<L>>(kernel: &K, lanes: L) -> K::Output {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if lanes.elements() >= SMALL {
        match level() {
            // SAFETY: `level()` never reports a level above `detect()`, which checked with
            // `is_x86_feature_detected!` that this CPU supports every feature the function enables.
            Level::Avx512 => return unsafe { x86::avx512(kernel, lanes) },
            // SAFETY: as above, AVX2 and FMA were detected at run time.
            Level::Avx2 => return unsafe { x86::avx2(kernel, lanes) },
            Level::Scalar => {}
        }
    }
    kernel.run(lanes)
}

#[cfg(all(feature = "std", target_arch = "x86_64"))]
mod x86 {
    use crate::kernel::Kernel;

    /// The kernel's `#[inline(always)]` body is compiled here with AVX2 and FMA enabled.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn avx2<L, K: Kernel<L>>(kernel: &K, lanes: L) -> K::Output {
        kernel.run(lanes)
    }

    /// The kernel's `#[inline(always)]` body is compiled here with AVX-512F enabled.
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) fn avx512<L, K: Kernel<L>>(kernel: &K, lanes: L) -> K::Output {
        kernel.run(lanes)
    }
}
