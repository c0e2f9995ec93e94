//! Every SIMD dispatch path computes what the portable path computes: the recorded golden cases
//! and long random slices (which exercise the vector bodies and remainders) are replayed on each
//! level this CPU supports.
//!
//! The wide paths fuse multiply-adds in the PyTorch-family loops (`kernel::mul_add`): there the
//! results differ from the portable path by single roundings, so the golden cases must still meet
//! the recordings at 1e-9 and long f64 runs must agree with the portable path at 1e-9. Every other
//! rule must stay bit-identical.
//!
//! One test function only: the forced level is process-wide.

mod common;

use gradus::simd::{self, Level};
use gradus::*;
use num_traits::Float;

/// The rules under test, and whether their loop fuses multiply-adds on the wide paths.
fn rules<T: Float + Send + Sync + 'static>() -> Vec<(Box<dyn Optimizer<T>>, bool)> {
    let c = |x: f64| T::from(x).unwrap();
    vec![
        (Box::new(Sgd::new(c(0.01)).momentum(c(0.9)).weight_decay(c(0.01))), true),
        (Box::new(Sgd::new(c(0.01)).momentum(c(0.9)).nesterov(true)), true),
        (Box::new(Sgd::new(c(0.01))), true),
        (Box::new(Adam::new(c(0.01))), true),
        (Box::new(Adam::new(c(0.01)).amsgrad(true).maximize(true)), true),
        (Box::new(Adam::new(c(0.5)).bias_correction(false).initial_moments(c(1.0), c(1.0))), false),
        (Box::new(Adam::new(c(0.01)).eps_root(c(1e-8))), false),
        (Box::new(AdamW::new(c(0.01))), true),
        (Box::new(RmsProp::new(c(0.01))), true),
        (Box::new(RmsProp::new(c(0.01)).centered(true).momentum(c(0.5))), true),
        (Box::new(RmsProp::new(c(0.01)).momentum(c(0.5))), true),
        (Box::new(RmsProp::new(c(0.01)).centered(true)), true),
        (Box::new(Adagrad::new(c(0.1))), true),
        (Box::new(Adadelta::new(c(1.0))), false),
        (Box::new(Adamax::new(c(0.01))), true),
        (Box::new(NAdam::new(c(0.01))), true),
        (Box::new(RAdam::new(c(0.01))), true),
        (Box::new(Rprop::new(c(0.01))), false),
        (Box::new(Asgd::new(c(0.01)).t0(c(3.0))), false),
        (Box::new(Lion::new(c(0.01))), false),
        (Box::new(AdaBelief::new(c(0.01)).nesterov(true)), false),
        (Box::new(Yogi::new(c(0.01))), false),
        (Box::new(Lamb::new(c(0.01))), false),
    ]
}

/// Deterministic pseudo-random values in [-1, 1).
fn noise<T: Float>(n: usize, seed: u64) -> Vec<T> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            T::from(((s >> 40) as f64 / (1u64 << 24) as f64) * 2.0 - 1.0).unwrap()
        })
        .collect()
}

/// 12 steps of every rule on 1037 parameters (not a multiple of any vector width).
fn long_runs<T: Float + Send + Sync + 'static>() -> Vec<Vec<T>> {
    let n = 1037;
    rules::<T>()
        .into_iter()
        .enumerate()
        .map(|(r, (mut opt, _))| {
            let mut p = noise(n, r as u64);
            for k in 0..12 {
                let g = noise(n, 1000 + k);
                opt.step(&mut p, &g).unwrap();
            }
            p
        })
        .collect()
}

/// The golden criterion: largest `|a - b| / max(|a|, |b|, 1e-3)`.
fn max_rel<T: Float>(a: &[T], b: &[T]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let (x, y) = (x.to_f64().unwrap(), y.to_f64().unwrap());
            common::rel(x, y)
        })
        .fold(0.0, f64::max)
}

fn bits<T: Float>(v: &[T]) -> Vec<u64> {
    v.iter().map(|x| x.to_f64().unwrap().to_bits()).collect()
}

#[test]
fn every_dispatch_path_meets_the_recordings() {
    let best = simd::detect();
    assert_eq!(simd::force(Level::Scalar), Level::Scalar);
    let (portable32, portable64) = (long_runs::<f32>(), long_runs::<f64>());
    let fused: Vec<bool> = rules::<f64>().into_iter().map(|(_, f)| f).collect();
    let mut checked = vec![Level::Scalar];
    for level in [Level::Avx2, Level::Avx512] {
        if level > best {
            continue;
        }
        assert_eq!(simd::force(level), level);
        let (wide32, wide64) = (long_runs::<f32>(), long_runs::<f64>());
        for r in 0..fused.len() {
            if fused[r] {
                let d = max_rel(&wide64[r], &portable64[r]);
                assert!(d <= 1e-9, "{level:?}, rule {r}: f64 differs from the portable path by {d:e}");
                // f32 roundings: a wrong coefficient would differ by far more
                let d = max_rel(&wide32[r], &portable32[r]);
                assert!(d <= 1e-4, "{level:?}, rule {r}: f32 differs from the portable path by {d:e}");
            } else {
                assert_eq!(bits(&wide32[r]), bits(&portable32[r]), "{level:?}, rule {r} (f32) is not bit-identical");
                assert_eq!(bits(&wide64[r]), bits(&portable64[r]), "{level:?}, rule {r} (f64) is not bit-identical");
            }
        }
        // every golden case, now run on this path even though it has only 2 to 7 parameters
        for case in common::golden_cases() {
            let err = common::replay(&case);
            assert!(err <= 1e-9, "{level:?}: {} is off by {err:e}", case["id"]);
        }
        checked.push(level);
    }
    simd::force(best);
    eprintln!("checked {checked:?} (CPU best: {best:?})");
}
