//! Every recorded PyTorch / optax trajectory is reproduced to relative 1e-9 in f64
//! (criterion of `golden/README.md`). Set `DESCENT_SIMD=scalar|avx2|avx512` to run a given
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
    let mut opt = descent::Adam::new(0.1_f64).bias_correction(false);
    let mut x = common::floats(&case["init"]);
    let mut g = vec![0.0; x.len()];
    common::problem_grad(&case, 0, &x, &mut g);
    descent::Optimizer::step(&mut opt, &mut x, &g).unwrap();
    let want = common::floats(&case["trajectory"][0]);
    assert!(common::rel_err(&x, &want) > 1e-3);
}
