//! Learning-rate schedules reproduce `torch.optim.lr_scheduler`'s recorded sequences to
//! relative 1e-12, driving an optimizer on the quadratic problem as the recording did.

mod common;

use gradus::*;
use serde_json::Value;

fn cases() -> Vec<Value> {
    let text = std::fs::read_to_string(common::data_dir().join("schedulers.json")).unwrap();
    serde_json::from_str::<Value>(&text).unwrap().as_array().unwrap().clone()
}

fn schedule(case: &Value) -> Box<dyn Schedule<f64>> {
    let h = &case["hyper"];
    let num = |k: &str, d: f64| h.get(k).map_or(d, common::f);
    let int = |k: &str, d: u64| h.get(k).map_or(d, |v| v.as_u64().unwrap());
    match case["scheduler"].as_str().unwrap() {
        "StepLR" => Box::new(StepLr::new(int("step_size", 0), num("gamma", 0.1))),
        "MultiStepLR" => {
            let m: Vec<u64> = h["milestones"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
            Box::new(MultiStepLr::new(&m, num("gamma", 0.1)))
        }
        "ExponentialLR" => Box::new(ExponentialLr::new(num("gamma", 0.0))),
        "CosineAnnealingLR" => Box::new(CosineAnnealingLr::new(int("T_max", 0), num("eta_min", 0.0))),
        "CosineAnnealingWarmRestarts" => {
            Box::new(CosineAnnealingWarmRestarts::new(int("T_0", 0), int("T_mult", 1), num("eta_min", 0.0)))
        }
        "LinearLR" => {
            Box::new(LinearLr::new(num("start_factor", 1.0 / 3.0), num("end_factor", 1.0), int("total_iters", 5)))
        }
        "OneCycleLR" => Box::new(
            OneCycleLr::new(num("max_lr", 0.0), int("total_steps", 0))
                .pct_start(num("pct_start", 0.3))
                .div_factors(num("div_factor", 25.0), num("final_div_factor", 1e4)),
        ),
        "ReduceLROnPlateau" => {
            let mode =
                if h.get("mode").and_then(Value::as_str) == Some("max") { PlateauMode::Max } else { PlateauMode::Min };
            Box::new(
                ReduceLrOnPlateau::new(mode, num("factor", 0.1), int("patience", 10))
                    .threshold(num("threshold", 1e-4))
                    .cooldown(int("cooldown", 0))
                    .min_lr(num("min_lr", 0.0)),
            )
        }
        s => panic!("unknown scheduler {s}"),
    }
}

fn optimizer(case: &Value) -> Box<dyn Optimizer<f64>> {
    let h = &case["optimizer_hyper"];
    let lr = common::f(&h["lr"]);
    match case["optimizer"].as_str().unwrap() {
        "SGD" => Box::new(Sgd::new(lr).momentum(h.get("momentum").map_or(0.0, common::f))),
        "Adam" => Box::new(Adam::new(lr)),
        o => panic!("unknown optimizer {o}"),
    }
}

#[test]
fn recorded_sequences_match() {
    let a = [1.0, 10.0, 100.0, 0.5, 3.0];
    let all = cases();
    assert!(all.len() >= 8);
    for case in &all {
        let id = case["id"].as_str().unwrap();
        let mut opt = optimizer(case);
        let mut sched = schedule(case);
        sched.start(&mut opt).unwrap();
        let mut x = vec![1.0, 2.0, 3.0, 4.0, 5.0]; // reproduces the recorded metrics
        let mut g = vec![0.0; 5];
        let lrs = common::floats(&case["lrs"]);
        for k in 0..case["steps"].as_u64().unwrap() as usize {
            let lr = opt.learning_rate();
            assert!((lr - lrs[k]).abs() <= 1e-12 * lrs[k].abs(), "{id} step {k}: lr {lr} vs {}", lrs[k]);
            if let Some(m) = case.get("momentums") {
                let want = common::f(&m[k]);
                let got = Optimizer::momentum(&*opt).unwrap();
                assert!((got - want).abs() <= 1e-12 * want, "{id} step {k}: momentum {got} vs {want}");
            }
            let metric: f64 = 0.5 * (0..5).map(|i| a[i] * x[i] * x[i]).sum::<f64>();
            if let Some(m) = case.get("metrics") {
                let want = common::f(&m[k]);
                assert!(
                    (metric - want).abs() <= 1e-9 * want.abs().max(1e-3),
                    "{id} step {k}: metric {metric} vs {want}"
                );
            }
            for i in 0..5 {
                g[i] = a[i] * x[i];
            }
            opt.step(&mut x, &g).unwrap();
            sched.step(&mut opt, Some(metric)).unwrap();
        }
    }
}

#[test]
fn warmup_then_cosine_in_fit() {
    let x: Vec<f64> = (0..10).map(|i| i as f64 / 10.0).collect();
    let y: Vec<f64> = x.iter().map(|x| 1.0 + 2.0 * x).collect();
    let mut s: Sequential<f64> =
        Sequential::new(vec![Box::new(LinearLr::new(0.1, 1.0, 3)), Box::new(CosineAnnealingLr::new(7, 0.0))], &[3]);
    let mut p = [0.0, 0.0];
    let r = fit(
        &Linear::new(1),
        &SquaredError,
        &mut Sgd::new(0.1),
        &mut p,
        &x,
        &y,
        FitOptions::new(10).schedule(&mut s, Interval::Epoch),
    )
    .unwrap();
    let lrs: Vec<f64> = r.epochs.iter().map(|e| e.lr).collect();
    // warm-up rises to the base rate, then cosine decays to 0 at epoch 10
    assert!(lrs[0] < lrs[1] && lrs[1] < lrs[2]);
    assert!((lrs[2] - 0.1).abs() < 1e-15, "{lrs:?}");
    assert!(lrs[3..].windows(2).all(|w| w[1] < w[0]), "{lrs:?}");
    assert!(lrs[9].abs() < 1e-15, "{lrs:?}");
}

#[test]
fn one_cycle_without_momentum_is_an_error() {
    let mut opt = Adagrad::new(0.1_f64);
    let err = OneCycleLr::new(0.1, 10).start(&mut opt).unwrap_err();
    assert!(matches!(err, Error::InvalidHyperparameter { name: "cycle_momentum", .. }));
    OneCycleLr::new(0.1, 10).cycle_momentum(None).start(&mut opt).unwrap();
}

#[test]
fn plateau_needs_a_metric() {
    let mut opt = Sgd::new(0.1_f64);
    let err = ReduceLrOnPlateau::new(PlateauMode::Min, 0.5, 1).step(&mut opt, None).unwrap_err();
    assert!(matches!(err, Error::InvalidHyperparameter { name: "metric", .. }));
}

#[test]
fn invalid_schedule_parameters_are_errors() {
    let mut opt = Sgd::new(0.1_f64);
    assert!(StepLr::new(0, 0.5).step(&mut opt, None).is_err());
    assert!(CosineAnnealingLr::new(0, 0.0).start(&mut opt).is_err());
    assert!(LinearLr::new(0.0, 1.0, 5).start(&mut opt).is_err());
    assert!(Sequential::<f64>::new(vec![Box::new(StepLr::new(1, 0.5))], &[3]).start(&mut opt).is_err());
    assert_eq!(opt.learning_rate(), 0.1);
}
