//! Learning-rate schedules reproduce `torch.optim.lr_scheduler`'s recorded sequences to
//! relative 1e-12, driving an optimizer on the quadratic problem as the recording did.

mod common;

use gradus::*;
use serde_json::Value;

fn cases() -> Vec<Value> {
    let text = std::fs::read_to_string(common::data_dir().join("schedulers.json")).unwrap();
    serde_json::from_str::<Value>(&text).unwrap().as_array().unwrap().clone()
}

/// The recorded cases of the schedules added later (`tests/recorded/schedulers2.json`).
fn cases2() -> Vec<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("recorded").join("schedulers2.json");
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str::<Value>(&text).unwrap().as_array().unwrap().clone()
}

/// A recorded `lr_lambda`'s Python source as a Rust function (panics on one it does not know).
fn lambda(src: &str) -> fn(u64) -> f64 {
    match src {
        "lambda epoch: 0.95" => |_| 0.95,
        "lambda epoch: 0.5 if epoch % 10 == 0 else 1.0" => |e| if e % 10 == 0 { 0.5 } else { 1.0 },
        "lambda epoch: min(1.0, (epoch+1)/10)" => |e| f64::min(1.0, (e + 1) as f64 / 10.0),
        "lambda epoch: 0.5 ** (epoch // 20)" => |e| 0.5_f64.powf((e / 20) as f64),
        s => panic!("unknown lr_lambda {s}"),
    }
}

/// A schedule from a `class` name and its resolved arguments (the composites recursively).
fn schedule2(class: &str, h: &Value) -> Box<dyn DynSchedule<f64>> {
    let num = |k: &str| common::f(&h[k]);
    let int = |k: &str| h[k].as_u64().unwrap_or_else(|| panic!("{class}: {k}"));
    let strategy = |k: &str| match h[k].as_str().unwrap() {
        "cos" => AnnealStrategy::Cos,
        "linear" => AnnealStrategy::Linear,
        s => panic!("unknown anneal_strategy {s}"),
    };
    match class {
        "ConstantLR" => Box::new(ConstantLr::new(num("factor"), int("total_iters"))),
        "PolynomialLR" => Box::new(PolynomialLr::new(int("total_iters"), num("power"))),
        "ExponentialLR" => Box::new(ExponentialLr::new(num("gamma"))),
        "StepLR" => Box::new(StepLr::new(int("step_size"), num("gamma"))),
        "LinearLR" => Box::new(LinearLr::new(num("start_factor"), num("end_factor"), int("total_iters"))),
        "CosineAnnealingLR" => Box::new(CosineAnnealingLr::new(int("T_max"), num("eta_min"))),
        "MultiplicativeLR" => Box::new(MultiplicativeLr::new(lambda(h["lr_lambda"].as_str().unwrap()))),
        "LambdaLR" => Box::new(LambdaLr::new(lambda(h["lr_lambda"].as_str().unwrap()))),
        "SWALR" => {
            Box::new(SwaLr::new(num("swa_lr"), int("anneal_epochs")).anneal_strategy(strategy("anneal_strategy")))
        }
        "CyclicLR" => {
            assert!(h["scale_fn"].is_null(), "a recorded scale_fn");
            let mode = match h["mode"].as_str().unwrap() {
                "triangular" => CyclicMode::Triangular,
                "triangular2" => CyclicMode::Triangular2,
                "exp_range" => CyclicMode::ExpRange,
                m => panic!("unknown mode {m}"),
            };
            let mut c =
                CyclicLr::new(num("base_lr"), num("max_lr"), int("step_size_up")).mode(mode).gamma(num("gamma"));
            if let Some(d) = h["step_size_down"].as_u64() {
                c = c.step_size_down(d);
            }
            let cycle = h["cycle_momentum"].as_bool().unwrap();
            Box::new(c.cycle_momentum(cycle.then(|| (num("base_momentum"), num("max_momentum")))))
        }
        "ChainedScheduler" => Box::new(Chained::new(
            h["schedulers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| schedule2(s["class"].as_str().unwrap(), &s["hyper_resolved"]))
                .collect(),
        )),
        "SequentialLR" => {
            let subs = h["schedulers"].as_array().unwrap();
            let milestones: Vec<u64> =
                h["milestones"].as_array().unwrap().iter().map(|m| m.as_u64().unwrap()).collect();
            Box::new(Sequential::new(
                subs.iter().map(|s| schedule2(s["class"].as_str().unwrap(), &s["hyper_resolved"])).collect(),
                &milestones,
            ))
        }
        c => panic!("unknown scheduler {c}"),
    }
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
    let all = cases();
    assert!(all.len() >= 8);
    for case in &all {
        replay(case, schedule(case));
    }
}

#[test]
fn recorded_sequences_of_the_later_schedules_match() {
    let all = cases2();
    assert!(all.len() >= 10);
    for case in &all {
        let sched = schedule2(case["scheduler"].as_str().unwrap(), &case["hyper_resolved"]);
        replay(case, sched);
    }
}

/// Drives SGD on the quadratic problem with `sched` as the recording did, comparing every lr
/// (and momentum, and metric) at relative 1e-12.
fn replay(case: &Value, mut sched: Box<dyn Schedule<f64>>) {
    let a = [1.0, 10.0, 100.0, 0.5, 3.0];
    {
        let id = case["id"].as_str().unwrap();
        let mut opt = optimizer(case);
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
    assert_eq!(err, Error::MissingMetric);
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

/// torch's OneCycleLR phases, written out for one group: `(lr, momentum)` at step `t`.
fn one_cycle_reference(t: u64, max_lr: f64, total: u64, three_phase: bool, linear: bool) -> (f64, f64) {
    let (pct_start, div, final_div, base_m, max_m) = (0.3, 25.0, 1e4, 0.85, 0.95);
    let initial = max_lr / div;
    let min_lr = initial / final_div;
    let total = total as f64;
    let phases: Vec<(f64, f64, f64, f64, f64)> = if three_phase {
        vec![
            (pct_start * total - 1.0, initial, max_lr, max_m, base_m),
            (2.0 * pct_start * total - 2.0, max_lr, initial, base_m, max_m),
            (total - 1.0, initial, min_lr, max_m, max_m),
        ]
    } else {
        vec![(pct_start * total - 1.0, initial, max_lr, max_m, base_m), (total - 1.0, max_lr, min_lr, base_m, max_m)]
    };
    let anneal = |a: f64, b: f64, pct: f64| {
        if linear {
            (b - a) * pct + a
        } else {
            b + (a - b) / 2.0 * ((std::f64::consts::PI * pct).cos() + 1.0)
        }
    };
    let mut start = 0.0;
    for (i, &(end, l0, l1, m0, m1)) in phases.iter().enumerate() {
        if t as f64 <= end || i == phases.len() - 1 {
            let pct = (t as f64 - start) / (end - start);
            return (anneal(l0, l1, pct), anneal(m0, m1, pct));
        }
        start = end;
    }
    unreachable!()
}

#[test]
fn one_cycle_three_phase_and_linear_follow_torch() {
    for (three, linear) in [(false, false), (false, true), (true, false), (true, true)] {
        let strategy = if linear { AnnealStrategy::Linear } else { AnnealStrategy::Cos };
        let mut opt = Sgd::new(0.1_f64).momentum(0.9);
        let mut s = OneCycleLr::new(0.5, 20).three_phase(three).anneal_strategy(strategy);
        s.start(&mut opt).unwrap();
        for t in 0..=20 {
            let (lr, m) = one_cycle_reference(t, 0.5, 20, three, linear);
            assert!((opt.learning_rate() - lr).abs() <= 1e-15, "three {three} linear {linear} t {t}");
            assert!((Optimizer::momentum(&opt).unwrap() - m).abs() <= 1e-15);
            if t < 20 {
                s.step(&mut opt, None).unwrap();
            }
        }
        // torch raises past total_steps; so does this
        assert_eq!(s.step(&mut opt, None), Err(Error::ScheduleFinished { steps: 21, total_steps: 20 }));
    }
}

#[test]
fn plateau_threshold_modes_and_per_group_floors() {
    // rel: 1.0 -> 0.9999 is not an improvement of 1e-4 relative... abs with 0.5: 1.0 -> 0.6 is not either
    let run = |s: ReduceLrOnPlateau, metrics: &[f64]| {
        let mut opt = Sgd::new(1.0_f64);
        let mut s = s;
        for &m in metrics {
            Schedule::<f64>::step(&mut s, &mut opt, Some(m)).unwrap();
        }
        opt.learning_rate()
    };
    let metrics = [1.0, 0.6, 0.3, 0.2];
    let rel = ReduceLrOnPlateau::new(PlateauMode::Min, 0.5, 0);
    assert_eq!(run(rel.clone(), &metrics), 1.0); // every step improves relatively
    let abs = ReduceLrOnPlateau::new(PlateauMode::Min, 0.5, 0).threshold(0.5).threshold_mode(ThresholdMode::Abs);
    // 0.6 is not below 1.0 - 0.5 (cut to 0.5), 0.3 is (best 0.3), 0.2 is not below -0.2 (0.25)
    assert_eq!(run(abs, &metrics), 0.25);
    let max_abs = ReduceLrOnPlateau::new(PlateauMode::Max, 0.5, 0).threshold(0.1).threshold_mode(ThresholdMode::Abs);
    assert_eq!(run(max_abs, &[1.0, 1.05, 1.2]), 0.5);
    // per-group floors
    let layout = Layout::new().tensor("w", &[1]).tensor("b", &[1]);
    let mut opt = Groups::new(layout).group(&["w"], Sgd::new(1.0_f64)).group(&["b"], Sgd::new(1.0));
    let mut s = ReduceLrOnPlateau::new(PlateauMode::Min, 0.1, 0).min_lrs(&[0.5, 0.0]);
    for m in [1.0, 1.0, 1.0] {
        s.step(&mut opt, Some(m)).unwrap();
    }
    assert_eq!((opt.group_lr(0), opt.group_lr(1)), (Some(0.5), Some(0.1f64 * 0.1)));
    let mut wrong = ReduceLrOnPlateau::new(PlateauMode::Min, 0.1, 0).min_lrs(&[0.5, 0.0, 0.0]);
    assert!(matches!(wrong.step(&mut opt, Some(1.0)), Err(Error::InvalidHyperparameter { name: "min_lrs", .. })));
}

#[test]
fn cyclic_modes_and_scale_functions() {
    let lrs = |s: CyclicLr, n: usize| {
        let mut opt = Sgd::new(0.5_f64);
        let mut s = s.cycle_momentum(None);
        s.start(&mut opt).unwrap();
        (0..n)
            .map(|_| {
                let l = opt.learning_rate();
                s.step(&mut opt, None).unwrap();
                l
            })
            .collect::<Vec<f64>>()
    };
    // triangular2 halves the amplitude each cycle (peaks at steps 2, 6, 10)
    let t2 = lrs(CyclicLr::new(0.0, 1.0, 2).mode(CyclicMode::Triangular2), 11);
    assert_eq!([t2[2], t2[6], t2[10]], [1.0, 0.5, 0.25]);
    // a custom scale function on the cycle number equals triangular2's
    let custom = lrs(CyclicLr::new(0.0, 1.0, 2).scale_fn(|c| 1.0 / 2f64.powf(c - 1.0), ScaleMode::Cycle), 11);
    assert_eq!(custom, t2);
    // exp_range scales by gamma^t
    let e = lrs(CyclicLr::new(0.0, 1.0, 2).mode(CyclicMode::ExpRange).gamma(0.5), 3);
    assert_eq!(e[2], 0.25);
    // momentum cycling needs a momentum (torch's check: SGD always has one, Adagrad none)
    let mut adagrad = Adagrad::new(0.1_f64);
    assert!(matches!(
        CyclicLr::new(0.01, 0.1, 5).start(&mut adagrad),
        Err(Error::InvalidHyperparameter { name: "cycle_momentum", .. })
    ));
}

#[test]
fn chained_and_sequential_validate_their_parts() {
    let bad: Chained<f64> = Chained::new(vec![Box::new(StepLr::new(0, 0.5))]);
    assert!(matches!(bad.validate(), Err(Error::InvalidHyperparameter { name: "step_size", .. })));
    let empty: Chained<f64> = Chained::new(vec![]);
    assert!(empty.validate().is_err());
    let seq: Sequential<f64> =
        Sequential::new(vec![Box::new(StepLr::new(1, 0.5)), Box::new(LinearLr::new(2.0, 1.0, 3))], &[4]);
    assert!(matches!(seq.validate(), Err(Error::InvalidHyperparameter { name: "start_factor", .. })));
}

#[test]
fn per_group_lambdas_and_momenta() {
    let layout = Layout::new().tensor("w", &[2]).tensor("b", &[1]);
    let two = || {
        Groups::new(layout.clone())
            .group(&["w"], Sgd::new(1.0_f64).momentum(0.9))
            .group(&["b"], Sgd::new(0.5).momentum(0.9))
    };
    // LambdaLr: each group its own function of its own base rate
    let mut opt = two();
    let mut s = LambdaLr::per_group(vec![Box::new(|t| 0.5_f64.powi(t as i32)), Box::new(|_| 2.0)]);
    s.start(&mut opt).unwrap();
    for _ in 0..3 {
        s.step(&mut opt, None).unwrap();
    }
    assert_eq!((opt.group_lr(0), opt.group_lr(1)), (Some(0.125), Some(1.0)));
    let mut wrong = LambdaLr::per_group(vec![Box::new(|_| 1.0), Box::new(|_| 1.0), Box::new(|_| 1.0)]);
    wrong.start(&mut opt).unwrap();
    assert!(matches!(wrong.step(&mut opt, None), Err(Error::InvalidHyperparameter { name: "lr_lambda", .. })));
    let mut opt = two();
    let mut m = MultiplicativeLr::per_group(vec![Box::new(|_| 0.5), Box::new(|_| 1.0)]);
    m.start(&mut opt).unwrap();
    m.step(&mut opt, None).unwrap();
    assert_eq!((opt.group_lr(0), opt.group_lr(1)), (Some(0.5), Some(0.5)));
    // momenta per group: each group cycles between its own pair
    let mut opt = two();
    let mut c = CyclicLr::new(0.1, 1.0, 2).momenta_per_group(&[(0.8, 0.9), (0.5, 0.6)]);
    c.start(&mut opt).unwrap();
    assert_eq!((opt.group_momentum(0), opt.group_momentum(1)), (Some(0.9), Some(0.6)));
    c.step(&mut opt, None).unwrap();
    c.step(&mut opt, None).unwrap(); // the peak: base momenta
    assert_eq!((opt.group_momentum(0), opt.group_momentum(1)), (Some(0.8), Some(0.5)));
    let mut opt = two();
    let mut o = OneCycleLr::new(1.0, 10).momenta_per_group(&[(0.85, 0.95), (0.7, 0.8)]);
    o.start(&mut opt).unwrap();
    assert_eq!((opt.group_momentum(0), opt.group_momentum(1)), (Some(0.95), Some(0.8)));
    let mut o = OneCycleLr::new(1.0, 10).momenta_per_group(&[(0.85, 0.95)]);
    assert!(matches!(o.start(&mut two()), Err(Error::InvalidHyperparameter { name: "momenta_per_group", .. })));
}
