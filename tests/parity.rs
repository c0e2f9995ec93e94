//! Every recorded PyTorch / optax trajectory is reproduced to relative 1e-9 in f64
//! (criterion of `golden/README.md`). Set `GRADUS_SIMD=scalar|avx2|avx512` to run a given
//! dispatch path; `tests/simd_paths.rs` runs all of them in one go.

mod common;

use std::collections::BTreeMap;

const TOL: f64 = 1e-9;

#[test]
fn every_recorded_case_matches() {
    let cases = common::golden_cases();
    let mut per_rule: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for case in &cases {
        let err = common::replay(case);
        *per_rule.entry(case["optimizer"].as_str().unwrap().to_string()).or_default() += 1;
        if err.is_nan() || err > TOL {
            failures.push(format!("{}: max rel err {err:.3e}", case["id"]));
        }
    }
    eprintln!("replayed {} cases: {per_rule:?}", cases.len());
    // the vendored shared recordings (125 cases) and every option of each torch rule
    // (tests/data/torch_options.json, 68)
    assert!(cases.len() >= 193, "{} cases: a vendored file is missing", cases.len());
    assert!(failures.is_empty(), "{} of {} cases fail:\n{}", failures.len(), cases.len(), failures.join("\n"));
    // every rule of the crate is covered by recorded data
    for rule in [
        "SGD",
        "Adam",
        "AdamW",
        "RMSprop",
        "Adagrad",
        "Adadelta",
        "Adamax",
        "NAdam",
        "RAdam",
        "Rprop",
        "ASGD",
        "optax.adam",
        "optax.lion",
        "optax.adabelief",
        "optax.yogi",
        "optax.lamb",
    ] {
        assert!(per_rule.get(rule).copied().unwrap_or(0) > 0, "no recorded case for {rule}");
    }
}

#[test]
fn a_wrong_formula_is_caught() {
    // The criterion has teeth: Adam without bias correction misses the recorded Adam trajectory.
    let case = common::golden_cases().into_iter().find(|c| c["id"] == "Adam-lr-quadratic").unwrap();
    let mut opt = gradus::Adam::new(0.1_f64).bias_correction(false);
    let mut x = common::floats(&case["init"]);
    let mut g = vec![0.0; x.len()];
    common::problem_grad(&case, 0, &x, &mut g);
    gradus::Optimizer::step(&mut opt, &mut x, &g).unwrap();
    let want = common::floats(&case["trajectory"][0]);
    assert!(common::rel_err(&x, &want) > 1e-3);
}

#[test]
fn adam_optax_form_reproduces_optax_adam() {
    // A negligible eps_root selects Adam's optax operation order; it must meet the optax.adam
    // recordings as the PyTorch order does.
    let cases: Vec<_> = common::golden_cases().into_iter().filter(|c| c["optimizer"] == "optax.adam").collect();
    assert!(!cases.is_empty());
    for case in &cases {
        let h = &case["hyper_resolved"];
        let mut opt = gradus::Adam::new(common::f(&h["learning_rate"]))
            .betas(common::f(&h["b1"]), common::f(&h["b2"]))
            .eps(common::f(&h["eps"]))
            .eps_root(1e-300);
        let mut x = common::floats(&case["init"]);
        let mut g = vec![0.0; x.len()];
        let every = case["record_every"].as_u64().unwrap() as usize;
        let mut worst = 0.0_f64;
        for k in 0..case["steps"].as_u64().unwrap() as usize {
            common::problem_grad(case, k, &x, &mut g);
            gradus::Optimizer::step(&mut opt, &mut x, &g).unwrap();
            if (k + 1) % every == 0 {
                worst = worst.max(common::rel_err(&x, &common::floats(&case["trajectory"][(k + 1) / every - 1])));
            }
        }
        assert!(worst <= TOL, "{}: {worst:e}", case["id"]);
    }
}

#[test]
fn adam_optax_nesterov_first_step_by_hand() {
    // t = 1 from zero moments: m = (1-b1) g, v = (1-b2) g^2,
    // m_hat = b1 m / (1 - b1^2) + (1 - b1) g / (1 - b1), v_hat = g^2
    let (lr, b1, b2, eps, g) = (0.1_f64, 0.9_f64, 0.999_f64, 1e-8_f64, 0.5_f64);
    let mut opt = gradus::Adam::new(lr).betas(b1, b2).eps(eps).nesterov(true);
    let mut p = [1.0];
    gradus::Optimizer::step(&mut opt, &mut p, &[g]).unwrap();
    let m = (1.0 - b1) * g;
    let m_hat = b1 * (m / (1.0 - b1 * b1)) + (1.0 - b1) * (g / (1.0 - b1));
    let v_hat = ((1.0 - b2) * (g * g)) / (1.0 - b2);
    let want = 1.0 + (-lr) * (m_hat / (v_hat.sqrt() + eps));
    assert!((p[0] - want).abs() <= 1e-15, "{} vs {want}", p[0]);
}
