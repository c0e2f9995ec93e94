//! Every SIMD dispatch path gives bit-identical results: the recorded golden cases and long
//! random slices (which exercise the vector bodies and remainders) are replayed on each level
//! this CPU supports and compared bit for bit with the portable path.
//!
//! One test function only: the forced level is process-wide.

mod common;

use descent::simd::{self, Level};
use descent::*;

fn rules() -> Vec<Box<dyn Optimizer<f32>>> {
    vec![
        Box::new(Sgd::new(0.01).momentum(0.9).weight_decay(0.01)),
        Box::new(Sgd::new(0.01).momentum(0.9).nesterov(true)),
        Box::new(Sgd::new(0.01)),
        Box::new(Adam::new(0.01)),
        Box::new(Adam::new(0.01).amsgrad(true).maximize(true)),
        Box::new(Adam::new(0.5).bias_correction(false).initial_moments(1.0, 1.0)),
        Box::new(AdamW::new(0.01)),
        Box::new(RmsProp::new(0.01)),
        Box::new(RmsProp::new(0.01).centered(true).momentum(0.5)),
        Box::new(RmsProp::new(0.01).momentum(0.5)),
        Box::new(RmsProp::new(0.01).centered(true)),
        Box::new(Adagrad::new(0.1)),
        Box::new(Adadelta::new(1.0)),
        Box::new(Adamax::new(0.01)),
        Box::new(NAdam::new(0.01)),
        Box::new(RAdam::new(0.01)),
        Box::new(Rprop::new(0.01)),
        Box::new(Asgd::new(0.01).t0(3.0)),
        Box::new(Lion::new(0.01)),
        Box::new(AdaBelief::new(0.01).nesterov(true)),
        Box::new(Yogi::new(0.01)),
        Box::new(Lamb::new(0.01)),
    ]
}

/// Deterministic pseudo-random values in [-1, 1).
fn noise(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn long_runs() -> Vec<Vec<u32>> {
    let n = 1037; // not a multiple of any vector width
    rules()
        .into_iter()
        .enumerate()
        .map(|(r, mut opt)| {
            let mut p = noise(n, r as u64);
            for k in 0..12 {
                let g = noise(n, 1000 + k);
                opt.step(&mut p, &g).unwrap();
            }
            p.iter().map(|v| v.to_bits()).collect()
        })
        .collect()
}

fn golden_runs() -> Vec<Vec<u64>> {
    common::golden_cases()
        .iter()
        .map(|case| {
            let mut opt = common::build::<f64>(case);
            let mut x = common::floats(&case["init"]);
            let mut g = vec![0.0; x.len()];
            for k in 0..case["steps"].as_u64().unwrap() as usize {
                common::problem_grad(case, k, &x, &mut g);
                opt.step(&mut x, &g).unwrap();
            }
            x.iter().map(|v| v.to_bits()).collect()
        })
        .collect()
}

#[test]
fn every_dispatch_path_is_bit_identical() {
    let best = simd::detect();
    assert_eq!(simd::force(Level::Scalar), Level::Scalar);
    let (long, golden) = (long_runs(), golden_runs());
    let mut checked = vec![Level::Scalar];
    for level in [Level::Avx2, Level::Avx512] {
        if level > best {
            continue;
        }
        assert_eq!(simd::force(level), level);
        assert_eq!(long_runs(), long, "{level:?}: long random slices differ from the portable path");
        assert_eq!(golden_runs(), golden, "{level:?}: golden cases differ from the portable path");
        // and they still meet the recorded trajectories
        for case in common::golden_cases() {
            assert!(common::replay(&case) <= 1e-9, "{level:?}: {}", case["id"]);
        }
        checked.push(level);
    }
    simd::force(best);
    eprintln!("bit-identical on {checked:?} (CPU best: {best:?})");
}
