//! Bounded fuzzing: every rule driven with arbitrary hyperparameters (NaN, infinities,
//! negatives, huge values), arbitrary lengths and arbitrary gradient values. Nothing may panic;
//! a failed step must leave the parameters bit for bit as they were.
//!
//! `cargo test --release --test fuzz` runs 512 cases; set `GRADUS_FUZZ_CASES` for a long run,
//! e.g. `GRADUS_FUZZ_CASES=2000000 cargo test --release --test fuzz -- --nocapture`.

use gradus::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn any_float() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -2.0..2.0f64,
        1 => Just(0.0),
        1 => Just(-0.0),
        1 => Just(1.0),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(f64::MAX),
        1 => Just(f64::MIN_POSITIVE),
        1 => Just(1e-310),
        1 => prop::num::f64::ANY,
    ]
}

/// Rule `i` with every setter fed from `h` and `b`.
fn build(i: usize, h: &[f64], b: &[bool]) -> Box<dyn Optimizer<f64>> {
    let lr = h[0];
    match i % 40 {
        0 => Box::new(
            Sgd::new(lr)
                .momentum(h[1])
                .dampening(h[2])
                .nesterov(b[0])
                .weight_decay(h[3])
                .maximize(b[1])
                .initial_buffer(h[4])
                .check_finite(b[2]),
        ),
        1 => Box::new(
            Adam::new(lr)
                .betas(h[1], h[2])
                .eps(h[3])
                .weight_decay(h[4])
                .amsgrad(b[0])
                .maximize(b[1])
                .decoupled_weight_decay(b[2])
                .bias_correction(b[3])
                .initial_moments(h[5], h[6])
                .eps_root(if b[0] { h[6] } else { 0.0 })
                .nesterov(b[1] && b[3])
                .check_finite(b[4]),
        ),
        2 => Box::new(AdamW::new(lr).betas(h[1], h[2]).eps(h[3]).weight_decay(h[4]).amsgrad(b[0]).check_finite(b[4])),
        3 => Box::new(
            RmsProp::new(lr)
                .alpha(h[1])
                .eps(h[2])
                .weight_decay(h[3])
                .momentum(h[4])
                .centered(b[0])
                .maximize(b[1])
                .initial_square_avg(h[5])
                .check_finite(b[4]),
        ),
        4 => Box::new(
            Adagrad::new(lr)
                .lr_decay(h[1])
                .weight_decay(h[2])
                .initial_accumulator_value(h[3])
                .eps(h[4])
                .check_finite(b[4]),
        ),
        5 => Box::new(Adadelta::new(lr).rho(h[1]).eps(h[2]).weight_decay(h[3]).check_finite(b[4])),
        6 => Box::new(Adamax::new(lr).betas(h[1], h[2]).eps(h[3]).weight_decay(h[4]).check_finite(b[4])),
        7 => Box::new(
            NAdam::new(lr)
                .betas(h[1], h[2])
                .eps(h[3])
                .weight_decay(h[4])
                .momentum_decay(h[5])
                .decoupled_weight_decay(b[0])
                .check_finite(b[4]),
        ),
        8 => Box::new(
            RAdam::new(lr)
                .betas(h[1], h[2])
                .eps(h[3])
                .weight_decay(h[4])
                .decoupled_weight_decay(b[0])
                .check_finite(b[4]),
        ),
        9 => Box::new(
            Rprop::new(lr).etas(h[1], 1.0 + h[2]).step_sizes(h[3], 1.0 + h[4]).maximize(b[1]).check_finite(b[4]),
        ),
        10 => Box::new(Asgd::new(lr).lambd(h[1]).alpha(h[2]).t0(h[3]).weight_decay(h[4]).check_finite(b[4])),
        11 => Box::new(Lion::new(lr).betas(h[1], h[2]).weight_decay(h[3]).check_finite(b[4])),
        12 => Box::new(AdaBelief::new(lr).betas(h[1], h[2]).eps(h[3]).eps_root(h[4]).nesterov(b[0]).check_finite(b[4])),
        13 => Box::new(Yogi::new(lr).betas(h[1], h[2]).eps(h[3]).initial_accumulator_value(h[4]).check_finite(b[4])),
        14 => Box::new(Lamb::new(lr).betas(h[1], h[2]).eps(h[3]).eps_root(h[4]).weight_decay(h[5]).check_finite(b[4])),
        15 => Box::new(SparseAdam::new(lr).betas(h[1], h[2]).eps(h[3]).maximize(b[1]).check_finite(b[4])),
        16 => {
            let opt = Adafactor::new(lr)
                .beta2_decay(-h[1])
                .eps(b[2].then_some(h[2]), h[3])
                .d(h[4])
                .weight_decay(h[5])
                .maximize(b[1])
                .check_finite(b[4]);
            // a matrix of 20 elements, or a vector of any length
            Box::new(if b[0] { opt.shape(&[5, 4]) } else { opt })
        }
        18 => Box::new(
            ScheduleFreeAdamW::new(lr)
                .betas(h[1], h[2])
                .eps(h[3])
                .weight_decay(h[4])
                .decay_at_z(b[0])
                .warmup_steps((h[5] * 10.0) as u64)
                .r(h[6])
                .check_finite(b[4]),
        ),
        19 => Box::new(ScheduleFreeSgd::new(lr).momentum(h[1]).weight_decay(h[2]).r(h[3]).check_finite(b[4])),
        20 => Box::new(
            Adan::new(lr).betas(h[1], h[2], h[3]).eps(h[4]).eps_root(h[5]).weight_decay(h[6]).check_finite(b[4]),
        ),
        21 => Box::new(Adopt::new(lr).betas(h[1], h[2]).eps(h[3]).nesterov(b[0]).use_clipping(b[1]).check_finite(b[4])),
        22 => Box::new(
            AdEmaMix::new(lr).betas(h[1], h[2], h[3]).alpha(h[4]).eps(h[5]).weight_decay(h[6]).check_finite(b[4]),
        ),
        23 => Box::new(
            Lars::new(lr)
                .weight_decay(h[1])
                .trust_coefficient(h[2])
                .eps(h[3])
                .momentum(h[4])
                .nesterov(b[0])
                .trust_ratio_mask(b[1])
                .check_finite(b[4]),
        ),
        24 => {
            Box::new(NovoGrad::new(lr).betas(h[1], h[2]).eps(h[3]).eps_root(h[4]).weight_decay(h[5]).check_finite(b[4]))
        }
        25 => Box::new(Fromage::new(lr).min_norm(h[1]).check_finite(b[4])),
        26 => Box::new(Lookahead::new(Adam::new(lr).betas(h[1], h[2]), ((h[3] * 5.0) as u64).saturating_add(1), h[4])),
        27 => Box::new(
            MultiSteps::new(Sgd::new(lr).momentum(h[1]), ((h[2] * 4.0) as u64).saturating_add(1)).use_grad_mean(b[0]),
        ),
        29 => Box::new(
            Prodigy::new(lr)
                .betas(h[1], h[2])
                .eps(h[3])
                .estim_lr0(h[4])
                .estim_lr_coef(h[5])
                .weight_decay(h[6])
                .safeguard_warmup(b[0])
                .check_finite(b[4]),
        ),
        30 => Box::new(
            SimplifiedAdEmaMix::new(lr).betas(h[1], h[2]).alpha(h[3]).eps(h[4]).eps_root(h[5]).weight_decay(h[6]),
        ),
        31 => Box::new(Sm3::new(lr).momentum(h[1]).check_finite(b[4])),
        32 => Box::new(SignSgd::new(lr).check_finite(b[4])),
        33 => Box::new(OptimisticGd::new(lr).alpha(h[1]).beta(h[2]).check_finite(b[4])),
        34 => Box::new(PolyakSgd::new(lr).scaling(h[1]).f_min(h[2]).eps(h[3]).maximize(b[1]).check_finite(b[4])),
        35 => Box::new(ApplyIfFinite::new(Adam::new(lr).betas(h[1], h[2]), (h[3] * 4.0) as u64)),
        // a model of two tensors: the step must be all-or-nothing across both groups
        36 => Box::new(
            Groups::new(Layout::new().tensor("w", &[2, 2]).tensor("b", &[1]))
                .group(&["w"], AdamW::new(lr).betas(h[1], h[2]).weight_decay(h[3]))
                .group(&["b"], Prodigy::new(lr).weight_decay(h[4])),
        ),
        // optax's forms; setters optax has no keyword for make the step an error
        37 => match (h[5] * 7.0) as usize {
            0 => Box::new(Sgd::new(lr).form(Form::Optax).momentum(h[1]).nesterov(b[0])),
            1 => Box::new(Adam::new(lr).form(Form::Optax).betas(h[1], h[2]).eps(h[3]).eps_root(h[4]).nesterov(b[0])),
            2 => Box::new(RmsProp::new(lr).form(Form::Optax).alpha(h[1]).eps(h[2]).momentum(h[3]).centered(b[0])),
            3 => Box::new(Adagrad::new(lr).form(Form::Optax).eps(h[1]).initial_accumulator_value(h[2])),
            4 => Box::new(RAdam::new(lr).form(Form::Optax).betas(h[1], h[2]).eps(h[3]).threshold(h[4] * 10.0)),
            5 => Box::new(Adamax::new(lr).form(Form::Optax).betas(h[1], h[2]).eps(h[3]).weight_decay(h[4])),
            _ => Box::new(NAdam::new(lr).form(Form::Optax).betas(h[1], h[2]).eps(h[3]).eps_root(h[4])),
        },
        38 => {
            if b[2] {
                Box::new(
                    Muon::new(lr)
                        .form(Form::Optax)
                        .momentum(h[1])
                        .nesterov(b[0])
                        .adaptive(b[1])
                        .eps(h[2])
                        .weight_decay(h[3])
                        .shape(&[4, 5]),
                )
            } else {
                Box::new(
                    Adafactor::new(lr)
                        .form(Form::Optax)
                        .decay_rate(h[1])
                        .momentum(if b[0] { Some(h[2]) } else { None })
                        .multiply_by_parameter_scale(b[1])
                        .shape(&[5, 4]),
                )
            }
        }
        39 => {
            if b[2] {
                Box::new(
                    ScheduleFreeAdamW::new(lr).form(Form::Optax).betas(h[1], h[2]).warmup_steps((h[3] * 5.0) as u64),
                )
            } else {
                Box::new(ScheduleFreeSgd::new(lr).form(Form::Optax).momentum(h[1]).weight_decay(h[2]))
            }
        }
        // the distributed wrappers, over a job of one process (which steps the gradient as it is)
        #[cfg(feature = "std")]
        40 => Box::new(DataParallel::new(Adam::new(lr).betas(h[1], h[2]).amsgrad(b[0]), SingleProcess)),
        #[cfg(feature = "std")]
        41 => {
            let groups = |lr: f64, h: &[f64]| {
                Groups::new(Layout::new().tensor("w", &[3, 2]).tensor("b", &[2]))
                    .group(&["w"], Adam::new(lr).betas(h[1], h[2]).weight_decay(h[3]))
                    .group(&["b"], Lamb::new(lr).weight_decay(h[4]))
            };
            // a configuration ZeroSharded refuses to shard: a valid one, then the fuzzed rate
            let mut opt = ZeroSharded::new(groups(lr, h), SingleProcess)
                .unwrap_or_else(|_| ZeroSharded::new(groups(0.1, &[0.0, 0.9, 0.99, 0.0, 0.0]), SingleProcess).unwrap());
            opt.set_learning_rate(lr);
            Box::new(opt)
        }
        _ => Box::new(
            Muon::new(lr)
                .weight_decay(h[1])
                .momentum(h[2])
                .nesterov(b[0])
                .ns_coefficients(h[3], -h[4], h[5])
                .eps(h[6])
                .ns_steps((h[1] * 10.0) as usize)
                // 16 x 20 reaches the matrix products' register tiles (4 x 16), the others their
                // edge loops only
                .shape(if b[3] {
                    &[16, 20]
                } else if b[1] {
                    &[4, 5]
                } else {
                    &[5, 4]
                })
                .check_finite(b[4]),
        ),
    }
}

#[derive(Debug, Clone)]
enum Op {
    Step { n: usize, m: usize, seed: usize, offset: usize },
    SetLr(f64),
    Reset,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        // short slices (the portable path and the SIMD dispatch) and long ones (the peeled head
        // before the first cache-line boundary), placed at any offset within a cache line
        8 => (prop_oneof![3 => 0usize..40, 1 => Just(20), 1 => Just(320), 1 => 250usize..700], 0usize..40, 0usize..1000, 0usize..16)
            .prop_map(|(n, m, seed, offset)| Op::Step { n, m, seed, offset }),
        1 => any_float().prop_map(Op::SetLr),
        1 => Just(Op::Reset),
    ]
}

fn check(i: usize, h: &[f64], b: &[bool], values: &[f64], ops: &[Op]) -> Result<u64, TestCaseError> {
    let mut opt = build(i, h, b);
    let mut params: Vec<f64> = Vec::new();
    let mut ok = 0;
    for op in ops {
        match *op {
            Op::SetLr(lr) => opt.set_learning_rate(lr),
            Op::Reset => opt.reset(),
            Op::Step { n, m, seed, offset } => {
                // keep the length most of the time so that the state is exercised
                let n = if params.is_empty() || seed % 7 == 0 { n } else { params.len() };
                let m = if seed % 5 == 0 { m } else { n };
                params.resize(n, 0.5);
                let grads: Vec<f64> = (0..m).map(|k| values[(seed + k) % values.len()]).collect();
                let before: Vec<u64> = params.iter().map(|v| v.to_bits()).collect();
                // the parameters move between steps, so the state follows their alignment
                let mut backing = vec![0.0; n + 16];
                let slot = &mut backing[offset..offset + n];
                slot.copy_from_slice(&params);
                let saved = opt.snapshot();
                let result = opt.step(slot, &grads);
                params.copy_from_slice(slot);
                match result {
                    Ok(()) => ok += 1,
                    Err(e) => {
                        let after: Vec<u64> = params.iter().map(|v| v.to_bits()).collect();
                        prop_assert_eq!(before, after, "rule {}: failed step ({}) changed params", i, e);
                        prop_assert!(!e.to_string().is_empty());
                        // nor the state: the optimizer steps on as a copy taken before does
                        let mut twin = build(i, h, b);
                        let saved = saved.expect("every rule of the crate has a snapshot");
                        prop_assert!(twin.restore(&*saved), "rule {}: its snapshot does not restore", i);
                        let probe: Vec<f64> = (0..n).map(|k| 0.1 * (k as f64 + 1.0)).collect();
                        let (mut p1, mut p2) = (params.clone(), params.clone());
                        let (r1, r2) = (opt.step(&mut p1, &probe), twin.step(&mut p2, &probe));
                        prop_assert_eq!(r1.is_ok(), r2.is_ok(), "rule {}: failed step ({}) changed the state", i, e);
                        // every NaN as one: IEEE 754 leaves a NaN result's sign and payload open,
                        // and the buffers' alignment picks the vector or the scalar copy of a
                        // kernel for an element, which may give different NaNs from the same inputs
                        let bits = |p: &[f64]| {
                            p.iter()
                                .map(|v| if v.is_nan() { f64::NAN.to_bits() } else { v.to_bits() })
                                .collect::<Vec<u64>>()
                        };
                        prop_assert_eq!(bits(&p1), bits(&p2), "rule {}: failed step ({}) changed the state", i, e);
                        prop_assert_eq!(opt.steps(), twin.steps());
                        opt.restore(&*saved);
                    }
                }
            }
        }
    }
    Ok(ok)
}

#[test]
fn no_input_panics_or_corrupts() {
    let cases = std::env::var("GRADUS_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512);
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    // half the cases draw every hyperparameter from a valid-looking range, so that steps
    // succeed and the update loops see arbitrary gradients; the others draw anything
    let hyper = prop_oneof![
        prop::collection::vec(0.0..0.99f64, 7),
        prop::collection::vec(prop_oneof![3 => 0.0..0.99f64, 1 => any_float()], 7),
    ];
    let strategy = (
        0usize..42,
        hyper,
        prop::collection::vec(any::<bool>(), 5),
        // half the cases' gradients are finite, so that steps get past the finiteness guard
        prop_oneof![prop::collection::vec(-2.0..2.0f64, 1..16), prop::collection::vec(any_float(), 1..16)],
        prop::collection::vec(op(), 1..12),
    );
    let start = std::time::Instant::now();
    let steps = std::cell::Cell::new(0u64);
    runner
        .run(&strategy, |(i, h, b, values, ops)| {
            steps.set(steps.get() + check(i, &h, &b, &values, &ops)?);
            Ok(())
        })
        .unwrap();
    eprintln!("fuzz: {cases} cases, {} successful steps, {:.1?}", steps.get(), start.elapsed());
}
