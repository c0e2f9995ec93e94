//! The fast.ai lesson-5 notebook's five results, through the public API (`fit` with the
//! built-in model and loss), equal the recorded full-precision values to relative 1e-9.

mod common;

use gradus::*;
use serde_json::Value;

fn golden() -> Value {
    let text = std::fs::read_to_string(common::data_dir().join("notebook.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn run<O: Optimizer<f64>>(mut opt: O, schedule: Option<&mut dyn Schedule<f64>>) -> ([f64; 2], f64) {
    let y = common::notebook_y();
    let mut params = [1.0, 1.0];
    let mut options = FitOptions::new(50);
    if let Some(s) = schedule {
        options = options.schedule(s, Interval::Epoch);
    }
    let report = fit(&Linear::new(1), &SquaredError, &mut opt, &mut params, &common::NOTEBOOK_X, &y, options).unwrap();
    assert_eq!(report.epochs.len(), 50);
    (params, report.final_lr)
}

fn check(name: &str, got: [f64; 2]) {
    let g = golden();
    let want = [common::f(&g[name]["b"]), common::f(&g[name]["w"])];
    let err = common::rel_err(&got, &want);
    assert!(err <= 1e-9, "{name}: got {got:?}, notebook {want:?}, rel err {err:e}");
}

#[test]
fn sgd() {
    check("sgd", run(Sgd::new(1e-4), None).0);
}

#[test]
fn momentum() {
    check("momentum", run(Sgd::new(1e-4).momentum(0.9).dampening(0.9).initial_buffer(1.0), None).0);
}

#[test]
fn rmsprop() {
    check("rmsprop", run(RmsProp::new(0.02).alpha(0.9).eps(0.0).initial_square_avg(1.0), None).0);
}

fn notebook_adam(beta_r: f64) -> Adam<f64> {
    Adam::new(1.0).betas(0.9, beta_r).eps(0.0).bias_correction(false).initial_moments(1.0, 1.0)
}

#[test]
fn adam() {
    check("adam", run(notebook_adam(0.9), None).0);
}

#[test]
fn adam_with_annealing() {
    let mut anneal = SpikeAnnealing::notebook();
    let (params, lr) = run(notebook_adam(0.95), Some(&mut anneal));
    check("adam_annealing", params);
    assert_eq!(lr, common::f(&golden()["adam_annealing"]["lr"]));
}

#[test]
fn annealing_without_a_second_moment_is_an_error() {
    let mut anneal = SpikeAnnealing::notebook();
    let y = common::notebook_y();
    let mut params = [1.0, 1.0];
    let before = params;
    let err = fit(
        &Linear::new(1),
        &SquaredError,
        &mut Sgd::new(1e-4),
        &mut params,
        &common::NOTEBOOK_X,
        &y,
        FitOptions::new(5).schedule(&mut anneal, Interval::Epoch),
    )
    .unwrap_err();
    assert_eq!(err, Error::NoSecondMoment);
    assert_eq!(params, before, "params restored to the start");
}

#[test]
fn annealing_works_with_other_second_moment_rules() {
    for opt in [
        Box::new(RmsProp::new(0.02).alpha(0.9)) as Box<dyn Optimizer<f64>>,
        Box::new(Adagrad::new(0.5)),
        Box::new(AdamW::new(0.5)),
        Box::new(Yogi::new(0.5)),
    ] {
        let mut anneal = SpikeAnnealing::notebook();
        let (p, _) = run(opt, Some(&mut anneal));
        assert!(p.iter().all(|v| v.is_finite()));
    }
}

/// The textbook form (`bias_correction(false)`) with an `eps` that matters, against its formula
/// written out (the notebook runs it with `eps` 0, so `eps`'s place was untested: found by
/// mutation testing).
#[test]
fn textbook_adam_adds_eps_to_the_root() {
    let (lr, b1, b2, eps) = (0.1, 0.9, 0.99, 0.5);
    let mut opt = Adam::new(lr).betas(b1, b2).eps(eps).bias_correction(false);
    let (mut p, mut m, mut v) = ([1.0, -2.0, 3.0], [0.0; 3], [0.0; 3]);
    let mut want = p;
    for k in 0..5 {
        let g = [0.5 * p[0] + k as f64, -p[1], 2.0 * p[2]];
        opt.step(&mut p, &g).unwrap();
        for i in 0..3 {
            m[i] = b1 * m[i] + (1.0 - b1) * g[i];
            v[i] = b2 * v[i] + (1.0 - b2) * (g[i] * g[i]);
            want[i] -= (lr / (v[i].sqrt() + eps)) * m[i];
        }
        assert_eq!(p, want, "step {k}");
    }
}
