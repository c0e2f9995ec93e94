//! Runtime selection of the instruction set the fused loops are compiled for.
//!
//! Every rule's loop is compiled three times on x86-64: for the build target (SSE2 by default),
//! for AVX2 + FMA and for AVX-512F. The first step detects what the CPU supports (cached in an
//! atomic) and later steps jump straight to that copy, whatever their size: an element's result
//! never depends on the length of the slice it is in, so a model's tensors stepped one by one (in
//! [`Groups`](crate::Groups)) get the same bits as one flat step.
//!
//! The wide copies fuse the multiply-adds of the PyTorch-family loops (SGD, Adam/AdamW in
//! PyTorch's form, RMSprop, Adagrad, Adamax, NAdam, RAdam) into FMA instructions, as a C compiler
//! does with `-O3 -march=native`: a step then rounds once where the portable copy rounds twice.
//! Results differ from the portable path in the last bits of single roundings, far inside the
//! 1e-9 parity tolerance; every other rule is bit-identical on every path. The parity tests run on
//! each copy: `GRADUS_SIMD=scalar|avx2|avx512 cargo test`,
//! and `tests/simd_paths.rs` compares the paths directly. Within one path results do not depend
//! on the chunking (`rayon`) or on where a slice starts in memory.
//!
//! Without `std` (no runtime detection) or off x86-64, only the build-target copy exists.
//!
//! ```
//! use gradus::simd::{self, Level};
//! let detected = simd::level();
//! simd::force(Level::Scalar); // e.g. to compare paths in a test
//! assert_eq!(simd::level(), Level::Scalar);
//! simd::force(detected);
//! ```
#![allow(unsafe_code)]

use core::sync::atomic::{AtomicU8, Ordering};

use crate::kernel::Kernel;

/// An instruction-set level the fused loops can run at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// The build target's instructions (SSE2 on the default x86-64 target).
    Scalar,
    /// AVX2 with FMA (the PyTorch-family loops fuse their multiply-adds).
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

/// The best level this CPU supports (ignores [`force`] and `GRADUS_SIMD`).
///
/// ```
/// let best = gradus::simd::detect();
/// assert!(best >= gradus::simd::Level::Scalar);
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

/// The level steps run at: the forced one if any, else `GRADUS_SIMD` (`scalar`, `avx2`,
/// `avx512`; capped at what the CPU supports), else [`detect`].
///
/// ```
/// let l = gradus::simd::level();
/// assert!(l <= gradus::simd::detect());
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
    let env = from_env();
    let chosen = env.map_or(best, |l| l.min(best));
    LEVEL.store(chosen.code(), Ordering::Relaxed);
    chosen
}

#[cfg(feature = "std")]
fn from_env() -> Option<Level> {
    match std::env::var("GRADUS_SIMD").ok()?.to_ascii_lowercase().as_str() {
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
/// in force. Meant for tests and benchmarks that compare paths (results differ between levels
/// only in the fused roundings described in the [module docs](self)).
///
/// ```
/// use gradus::simd::{self, Level};
/// assert_eq!(simd::force(Level::Scalar), Level::Scalar);
/// simd::force(simd::detect());
/// ```
pub fn force(level: Level) -> Level {
    let l = level.min(detect());
    LEVEL.store(l.code(), Ordering::Relaxed);
    l
}

/// Runs `kernel` over `lanes` on the level in force, whatever their length (the result of an
/// element must not depend on its slice's length).
#[inline(always)]
pub(crate) fn dispatch<K: Kernel<L>, L>(kernel: &K, lanes: L) -> K::Output {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    {
        match level() {
            // SAFETY: `level()` never reports a level above `detect()`, which checked with
            // `is_x86_feature_detected!` that this CPU supports every feature the function enables.
            Level::Avx512 => return unsafe { x86::avx512(kernel, lanes) },
            // SAFETY: as above, AVX2 and FMA were detected at run time.
            Level::Avx2 => return unsafe { x86::avx2(kernel, lanes) },
            Level::Scalar => {}
        }
    }
    kernel.run::<false>(lanes)
}

#[cfg(all(feature = "std", target_arch = "x86_64"))]
mod x86 {
    use crate::kernel::Kernel;

    /// The kernel's `#[inline(always)]` body is compiled here with AVX2 and FMA enabled.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn avx2<L, K: Kernel<L>>(kernel: &K, lanes: L) -> K::Output {
        kernel.run::<true>(lanes)
    }

    /// The kernel's `#[inline(always)]` body is compiled here with AVX-512F enabled.
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) fn avx512<L, K: Kernel<L>>(kernel: &K, lanes: L) -> K::Output {
        kernel.run::<true>(lanes)
    }
}
