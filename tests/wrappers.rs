//! optax's wrappers around any rule: `Lookahead`, `MultiSteps`, `ApplyIfFinite`, replayed from
//! optax's recordings at relative 1e-9, and their all-or-nothing contract.

mod common;

use gradus::*;
use serde_json::Value;

const TOL: f64 = 1e-9;

fn recorded(name: &str) -> Vec<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("recorded").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str::<Value>(&text).unwrap().as_array().unwrap().clone()
}

/// `optax.sgd` or `optax.adam` from its resolved keywords, in the optax form.
fn inner(name: &str, h: &Value) -> Box<dyn Optimizer<f64>> {
    let lr = common::f(&h["learning_rate"]);
    let keys: Vec<&str> = h.as_object().unwrap().keys().map(String::as_str).collect();
    match name {
        "optax.sgd" => {
            for k in keys {
                assert!(["learning_rate", "momentum", "nesterov", "accumulator_dtype"].contains(&k), "sgd key {k}");
            }
            assert!(h["accumulator_dtype"].is_null());
            let mut o = Sgd::new(lr).form(Form::Optax).nesterov(h["nesterov"].as_bool().unwrap());
            if let Some(m) = h["momentum"].as_f64() {
                o = o.momentum(m);
            }
            Box::new(o)
        }
        "optax.adam" => {
            for k in keys {
                assert!(
                    ["learning_rate", "b1", "b2", "eps", "eps_root", "mu_dtype", "nesterov"].contains(&k),
                    "adam key {k}"
                );
            }
            assert!(h["mu_dtype"].is_null());
            Box::new(
                Adam::new(lr)
                    .form(Form::Optax)
                    .betas(common::f(&h["b1"]), common::f(&h["b2"]))
                    .eps(common::f(&h["eps"]))
                    .eps_root(common::f(&h["eps_root"]))
                    .nesterov(h["nesterov"].as_bool().unwrap()),
            )
        }
        n => panic!("unknown inner optimizer {n}"),
    }
}

fn check_all(results: Vec<(String, f64)>) {
    for (id, e) in &results {
        eprintln!("{id}: {e:.2e}");
    }
    let bad: Vec<_> = results.iter().filter(|(_, e)| e.is_nan() || *e > TOL).collect();
    assert!(bad.is_empty(), "{} of {} fail: {bad:?}", bad.len(), results.len());
}

#[test]
fn lookahead_matches_optax() {
    // the shared recording, and ours with reset_state (scripts/record_optax_wrappers.py)
    let cases = [recorded("optax_lookahead.json"), recorded("optax_lookahead_options.json")].concat();
    assert!(cases.len() >= 10);
    let mut results = Vec::new();
    for case in &cases {
        let h = &case["hyper_resolved"];
        let fast = inner(h["fast_optimizer"].as_str().unwrap(), &h["fast_optimizer_hyper_resolved"]);
        let mut opt = Lookahead::new(fast, h["sync_period"].as_u64().unwrap(), common::f(&h["slow_step_size"]))
            .reset_state(h["reset_state"].as_bool().unwrap());
        let mut x = common::floats(&case["init"]);
        let mut g = vec![0.0; x.len()];
        let every = case["record_every"].as_u64().unwrap() as usize;
        let mut worst = 0.0_f64;
        for k in 0..case["steps"].as_u64().unwrap() as usize {
            common::problem_grad(case, k, &x, &mut g);
            opt.step(&mut x, &g).unwrap();
            if (k + 1) % every == 0 {
                let j = (k + 1) / every - 1;
                worst = worst.max(common::rel_err(&x, &common::floats(&case["trajectory"][j])));
                worst = worst.max(common::rel_err(opt.slow_params(), &common::floats(&case["slow_trajectory"][j])));
            }
        }
        results.push((case["id"].to_string(), worst));
    }
    check_all(results);
}

#[test]
fn multi_steps_matches_optax() {
    // the shared recording, and ours summing the gradients (use_grad_mean=False,
    // scripts/record_optax_wrappers.py)
    let cases = [recorded("optax_MultiSteps.json"), recorded("optax_MultiSteps_options.json")].concat();
    assert!(cases.len() >= 8);
    let mut results = Vec::new();
    for case in &cases {
        let h = &case["hyper_resolved"];
        assert!(h["should_skip_update_fn"].is_null());
        let dtype = match h["accumulator_dtype"].as_str() {
            Some("float32") => Dtype::F32,
            None | Some("float64") => Dtype::F64,
            Some(d) => panic!("unknown dtype {d}"),
        };
        let mut opt = MultiSteps::new(
            inner(h["opt"].as_str().unwrap(), &h["opt_hyper_resolved"]),
            h["every_k_schedule"].as_u64().unwrap(),
        )
        .use_grad_mean(h["use_grad_mean"].as_bool().unwrap())
        .accumulator_dtype(dtype);
        let mut x = common::floats(&case["init"]);
        let mut g = vec![0.0; x.len()];
        let every = case["record_every"].as_u64().unwrap() as usize;
        let mut worst = 0.0_f64;
        for k in 0..case["steps"].as_u64().unwrap() as usize {
            common::problem_grad(case, k, &x, &mut g);
            opt.step(&mut x, &g).unwrap();
            if (k + 1) % every == 0 {
                worst = worst.max(common::rel_err(&x, &common::floats(&case["trajectory"][(k + 1) / every - 1])));
            }
        }
        results.push((case["id"].to_string(), worst));
    }
    check_all(results);
}

#[test]
fn multi_steps_of_four_equals_one_step_on_the_mean_and_is_all_or_nothing() {
    let grads = [[1.0, -2.0], [3.0, 0.5], [-1.0, 1.5], [0.25, 2.0]];
    let mean: Vec<f64> = (0..2).map(|i| grads.iter().map(|g| g[i]).sum::<f64>() / 4.0).collect();
    let mut acc = MultiSteps::new(Adam::new(0.1), 4).accumulator_dtype(Dtype::F64);
    let mut p = [1.0, 1.0];
    for g in &grads {
        acc.step(&mut p, g).unwrap();
    }
    let mut one = Adam::new(0.1);
    let mut q = [1.0, 1.0];
    one.step(&mut q, &mean).unwrap();
    assert!(p.iter().zip(&q).all(|(a, b)| (a - b).abs() < 1e-15), "{p:?} {q:?}");
    assert_eq!((acc.steps(), acc.inner().steps()), (4, 1));
    // a NaN mid-window is an error when it arrives, with nothing accumulated
    let before = acc.clone();
    assert!(matches!(acc.step(&mut p, &[f64::NAN, 0.0]), Err(Error::NonFiniteGradient { index: 0, .. })));
    assert_eq!(acc, before);
    assert!(matches!(acc.step(&mut p, &[1.0]), Err(Error::LengthMismatch { .. })));
    // every schedule drives the inner rule
    let mut s = StepLr::new(1, 0.5);
    s.step(&mut acc, None).unwrap();
    assert_eq!(acc.inner().learning_rate(), 0.05);
}

#[test]
fn lookahead_keeps_the_contract_and_composes_with_groups() {
    let layout = Layout::new().tensor("w", &[2, 2]).tensor("b", &[2]);
    let groups = Groups::new(layout.clone()).group(&["w"], AdamW::new(1e-2)).group(&["b"], Sgd::new(0.1));
    let mut opt = Lookahead::new(groups, 3, 0.5);
    let mut p = vec![1.0; layout.len()];
    for k in 0..7 {
        let g: Vec<f64> = (0..layout.len()).map(|i| ((i + k) as f64).sin()).collect();
        opt.step(&mut p, &g).unwrap();
    }
    assert_eq!(opt.slow_params().len(), layout.len());
    let (before, state) = (p.clone(), opt.clone());
    let mut bad = vec![0.1; layout.len()];
    bad[5] = f64::INFINITY;
    assert!(matches!(opt.step(&mut p, &bad), Err(Error::NonFiniteGradient { index: 5, .. })));
    assert_eq!(p, before);
    // the state too: the failed step left it as the copy taken before
    let (mut a, mut b, mut twin) = (p.clone(), p.clone(), state);
    let g = vec![0.2; layout.len()];
    for _ in 0..4 {
        opt.step(&mut a, &g).unwrap();
        twin.step(&mut b, &g).unwrap();
    }
    assert_eq!(a, b);
    assert_eq!(opt.slow_params(), twin.slow_params());
    assert!(Lookahead::new(Sgd::new(0.1_f64), 0, 0.5).validate().is_err());
    assert!(Lookahead::new(Sgd::new(0.1_f64), 2, 1.5).validate().is_err());
    // the learning rate and schedules reach the inner rule's groups
    opt.set_learning_rate(0.01);
    assert_eq!(opt.group_learning_rate(1), Some(0.01));
}

#[test]
fn apply_if_finite_skips_and_counts_then_errors() {
    let mut opt = ApplyIfFinite::new(Adam::new(0.1_f64), 2);
    let mut p = [1.0, 2.0];
    opt.step(&mut p, &[0.1, 0.1]).unwrap();
    let (after_good, inner_state) = (p, opt.inner().clone());
    for n in 1..=2 {
        opt.step(&mut p, &[f64::NAN, 0.1]).unwrap();
        assert_eq!((p, opt.notfinite_count(), opt.last_finite()), (after_good, n, false));
        assert_eq!(opt.inner(), &inner_state);
    }
    // a third in a row is an error, still with nothing written
    assert!(matches!(opt.step(&mut p, &[0.1, f64::INFINITY]), Err(Error::NonFiniteGradient { index: 1, .. })));
    assert_eq!(p, after_good);
    opt.step(&mut p, &[0.1, 0.1]).unwrap();
    assert_eq!((opt.notfinite_count(), opt.total_notfinite(), opt.inner().steps()), (0, 2, 2));
    // with an inner rule that does not scan, the wrapper still does
    let mut fast = ApplyIfFinite::new(Sgd::new(0.1_f64).check_finite(false), 1);
    let mut q = [1.0];
    fast.step(&mut q, &[f64::NAN]).unwrap();
    assert_eq!(q, [1.0]);
    assert!(matches!(fast.step(&mut q, &[1.0, 2.0]), Err(Error::LengthMismatch { .. })));
}

/// Replays a schedulefree case: the train-mode trajectory `y` and `eval_trajectory` `x`.
fn replay_schedule_free<O: Optimizer<f64>>(case: &Value, mut opt: O, eval: impl Fn(&O, &[f64], &mut [f64])) -> f64 {
    let mut y = common::floats(&case["init"]);
    let (mut g, mut x) = (vec![0.0; y.len()], vec![0.0; y.len()]);
    let every = case["record_every"].as_u64().unwrap() as usize;
    let mut worst = 0.0_f64;
    for k in 0..case["steps"].as_u64().unwrap() as usize {
        common::problem_grad(case, k, &y, &mut g);
        opt.step(&mut y, &g).unwrap();
        if (k + 1) % every == 0 {
            let j = (k + 1) / every - 1;
            eval(&opt, &y, &mut x);
            worst = worst.max(common::rel_err(&y, &common::floats(&case["trajectory"][j])));
            worst = worst.max(common::rel_err(&x, &common::floats(&case["eval_trajectory"][j])));
        }
    }
    worst
}

#[test]
fn schedule_free_matches_the_schedulefree_package() {
    let mut results = Vec::new();
    for file in [
        "schedulefree_AdamWScheduleFree.json",
        "schedulefree_AdamWScheduleFreeReference.json",
        "schedulefree_SGDScheduleFree.json",
        "schedulefree_SGDScheduleFreeReference.json",
        // ours (scripts/record_schedulefree_options.py): weight decay, betas, eps, momentum, r,
        // weight_lr_power, decay_at_z
        "schedulefree_options.json",
    ] {
        for case in recorded(file) {
            let h = &case["hyper_resolved"];
            for k in h.as_object().unwrap().keys() {
                assert!(
                    [
                        "lr",
                        "betas",
                        "eps",
                        "r",
                        "warmup_steps",
                        "weight_lr_power",
                        "weight_decay",
                        "decay_at_z",
                        "momentum"
                    ]
                    .contains(&&k[..]),
                    "unknown key {k}"
                );
            }
            let num = |k: &str| common::f(&h[k]);
            let warmup = h["warmup_steps"].as_u64().unwrap();
            let err = if case["optimizer"].as_str().unwrap().starts_with("schedulefree.AdamW") {
                let b = common::floats(&h["betas"]);
                let opt = ScheduleFreeAdamW::new(num("lr"))
                    .betas(b[0], b[1])
                    .eps(num("eps"))
                    .weight_decay(num("weight_decay"))
                    .decay_at_z(h.get("decay_at_z").and_then(Value::as_bool).unwrap_or(false))
                    .warmup_steps(warmup)
                    .r(num("r"))
                    .weight_lr_power(num("weight_lr_power"));
                replay_schedule_free(&case, opt, |o, y, x| o.eval_params(y, x))
            } else {
                let opt = ScheduleFreeSgd::new(num("lr"))
                    .momentum(num("momentum"))
                    .weight_decay(num("weight_decay"))
                    .warmup_steps(warmup)
                    .r(num("r"))
                    .weight_lr_power(num("weight_lr_power"));
                replay_schedule_free(&case, opt, |o, y, x| o.eval_params(y, x))
            };
            results.push((case["id"].to_string(), err));
        }
    }
    assert!(results.len() >= 72);
    check_all(results);
}

#[test]
fn schedule_free_matches_optax_contrib() {
    let mut results = Vec::new();
    for file in [
        "optax_contrib_schedule_free_adamw.json",
        "optax_contrib_schedule_free_sgd.json",
        // ours (scripts/record_optax_schedule_free.py): betas, eps, weight_lr_power, b1, decay
        "optax_contrib_schedule_free_options.json",
    ] {
        for case in recorded(file) {
            let h = &case["hyper_resolved"];
            let known =
                ["learning_rate", "warmup_steps", "b1", "b2", "eps", "weight_decay", "weight_lr_power", "state_dtype"];
            for (k, v) in h.as_object().unwrap() {
                assert!(known.contains(&&k[..]), "unknown key {k}");
                if k == "state_dtype" {
                    assert!(v.is_null());
                }
            }
            let num = |k: &str| common::f(&h[k]);
            let warmup = h["warmup_steps"].as_u64();
            let err = if case["optimizer"] == "optax.contrib.schedule_free_adamw" {
                let mut opt = ScheduleFreeAdamW::new(num("learning_rate"))
                    .form(Form::Optax)
                    .betas(num("b1"), num("b2"))
                    .eps(num("eps"))
                    .weight_decay(num("weight_decay"))
                    .weight_lr_power(num("weight_lr_power"));
                if let Some(w) = warmup {
                    opt = opt.warmup_steps(w);
                }
                replay_schedule_free(&case, opt, |o, y, x| o.eval_params(y, x))
            } else {
                let mut opt = ScheduleFreeSgd::new(num("learning_rate"))
                    .form(Form::Optax)
                    .momentum(num("b1"))
                    .weight_lr_power(num("weight_lr_power"));
                if let Some(w) = warmup {
                    opt = opt.warmup_steps(w);
                }
                if let Some(wd) = h["weight_decay"].as_f64() {
                    opt = opt.weight_decay(wd);
                }
                replay_schedule_free(&case, opt, |o, y, x| o.eval_params(y, x))
            };
            results.push((case["id"].to_string(), err));
        }
    }
    assert!(results.len() >= 22);
    check_all(results);
}

#[test]
fn schedule_free_decay_at_z_and_groups() {
    // decay at z (the Reference form) and at y agree without weight decay
    let run = |decay_at_z: bool, wd: f64| {
        let mut opt = ScheduleFreeAdamW::new(0.05_f64).weight_decay(wd).decay_at_z(decay_at_z).warmup_steps(3);
        let mut y = vec![1.0, -2.0, 0.5];
        for k in 0..20 {
            let g: Vec<f64> = y.iter().map(|v| 2.0 * v + (k as f64).sin()).collect();
            opt.step(&mut y, &g).unwrap();
        }
        let mut x = vec![0.0; 3];
        opt.eval_params(&y, &mut x);
        (y, x)
    };
    let (a, b) = (run(false, 0.0), run(true, 0.0));
    assert!(a.0.iter().zip(&b.0).all(|(p, q)| (p - q).abs() < 1e-12));
    assert!(a.1.iter().zip(&b.1).all(|(p, q)| (p - q).abs() < 1e-12));
    assert_ne!(run(false, 0.1).0, run(true, 0.1).0);
    // inside Groups: each tensor its own averaging
    let layout = Layout::new().tensor("w", &[2, 2]).tensor("b", &[2]);
    let mut opt = Groups::new(layout.clone()).group(&["w", "b"], ScheduleFreeAdamW::new(0.01));
    let mut p = vec![0.5; layout.len()];
    opt.step(&mut p, &[0.1; 6]).unwrap();
    assert_eq!(opt.rule("b").unwrap().steps(), 1);
}

/// A snapshot taken after 3 steps, restored after 6 more, steps as the run did from step 3.
fn snapshot_restores<O: Optimizer<f64>>(name: &str, mut opt: O) {
    let g = |k: usize, x: &[f64]| -> Vec<f64> { x.iter().map(|v| 2.0 * v + (k as f64).sin()).collect() };
    let mut x = vec![1.0, -2.0, 0.5, 3.0];
    for k in 0..3 {
        let gk = g(k, &x);
        opt.step(&mut x, &gk).unwrap();
    }
    let (saved, x3) = (opt.snapshot().unwrap_or_else(|| panic!("{name}: no snapshot")), x.clone());
    let mut first = Vec::new();
    for k in 3..9 {
        let gk = g(k, &x);
        opt.step(&mut x, &gk).unwrap();
        first.push(x.clone());
    }
    assert!(opt.restore(&*saved), "{name}: restore refused its own snapshot");
    assert_eq!(opt.steps(), 3, "{name}");
    x = x3;
    for (k, want) in (3..9).zip(&first) {
        let gk = g(k, &x);
        opt.step(&mut x, &gk).unwrap();
        assert_eq!(&x, want, "{name}: step {k} after the restore");
    }
    // another type's snapshot is refused, and changes nothing
    let before = opt.snapshot().unwrap();
    assert!(!opt.restore(&*Sgd::new(0.1_f64).snapshot().unwrap()), "{name}");
    let mut y = x.clone();
    let mut z = x.clone();
    let gk = g(9, &x);
    opt.step(&mut y, &gk).unwrap();
    assert!(opt.restore(&*before));
    opt.step(&mut z, &gk).unwrap();
    assert_eq!(y, z, "{name}");
}

#[test]
fn wrappers_and_groups_snapshot_and_restore() {
    let adam = || Adam::new(0.05_f64);
    snapshot_restores("Lookahead", Lookahead::new(adam(), 2, 0.5));
    snapshot_restores("MultiSteps", MultiSteps::new(adam(), 2));
    snapshot_restores("ApplyIfFinite", ApplyIfFinite::new(adam(), 3));
    snapshot_restores("Lookahead(MultiSteps)", Lookahead::new(MultiSteps::new(adam(), 2), 3, 0.5));
    let layout = Layout::new().tensor("w", &[3]).tensor("b", &[1]);
    snapshot_restores(
        "Groups",
        Groups::new(layout).group(&["w"], AdamW::new(0.05).weight_decay(0.1)).group(&["b"], Prodigy::new(1.0)),
    );
    snapshot_restores("Box<dyn Optimizer>", Box::new(adam()) as Box<dyn Optimizer<f64>>);
}
