//! Exact checkpoints (`serde` feature): every rule and schedule survives a JSON round trip, and
//! training resumed from the checkpoint equals the uninterrupted run bit for bit.
#![cfg(feature = "serde")]

use gradus::*;
use serde::{de::DeserializeOwned, Serialize};

fn grads(k: usize, x: &[f64]) -> Vec<f64> {
    x.iter().enumerate().map(|(i, &v)| (1.0 + i as f64) * v + ((k * 7 + i) as f64).sin() * 0.1).collect()
}

fn resume_equals_uninterrupted<O>(name: &str, make: impl Fn() -> O)
where
    O: Optimizer<f64> + Serialize + DeserializeOwned,
{
    let init = vec![0.7, -1.3, 2.1, 0.05, -0.4];
    // uninterrupted
    let mut a = make();
    let mut xa = init.clone();
    for k in 0..20 {
        let g = grads(k, &xa);
        a.step(&mut xa, &g).unwrap();
    }
    // 9 steps, checkpoint (optimizer and params) through JSON, 11 more
    let mut b = make();
    let mut xb = init.clone();
    for k in 0..9 {
        let g = grads(k, &xb);
        b.step(&mut xb, &g).unwrap();
    }
    let json = serde_json::to_string(&(&b, &xb)).unwrap();
    drop(b);
    let (mut c, mut xc): (O, Vec<f64>) = serde_json::from_str(&json).unwrap();
    assert_eq!(serde_json::to_string(&(&c, &xc)).unwrap(), json, "{name}: JSON round trip is not exact");
    for k in 9..20 {
        let g = grads(k, &xc);
        c.step(&mut xc, &g).unwrap();
    }
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&xa), bits(&xc), "{name}: resumed run differs");
    assert_eq!(c.steps(), 20);
}

#[test]
fn every_rule_resumes_bit_for_bit() {
    resume_equals_uninterrupted("Sgd", || Sgd::new(0.05).momentum(0.9).nesterov(true).weight_decay(0.01));
    resume_equals_uninterrupted("Adam", || Adam::new(0.05).amsgrad(true));
    resume_equals_uninterrupted("Adam textbook", || Adam::new(0.05).bias_correction(false).initial_moments(1.0, 1.0));
    resume_equals_uninterrupted("AdamW", || AdamW::new(0.05));
    resume_equals_uninterrupted("RmsProp", || RmsProp::new(0.01).momentum(0.5).centered(true));
    resume_equals_uninterrupted("Adagrad", || Adagrad::new(0.1).lr_decay(0.01));
    resume_equals_uninterrupted("Adadelta", || Adadelta::new(1.0));
    resume_equals_uninterrupted("Adamax", || Adamax::new(0.05));
    resume_equals_uninterrupted("NAdam", || NAdam::new(0.05));
    resume_equals_uninterrupted("RAdam", || RAdam::new(0.05));
    resume_equals_uninterrupted("Rprop", || Rprop::new(0.01));
    resume_equals_uninterrupted("Asgd", || Asgd::new(0.05).t0(5.0));
    resume_equals_uninterrupted("Lion", || Lion::new(0.01));
    resume_equals_uninterrupted("AdaBelief", || AdaBelief::new(0.05).nesterov(true));
    resume_equals_uninterrupted("Yogi", || Yogi::new(0.05));
    resume_equals_uninterrupted("Lamb", || Lamb::new(0.05).weight_decay(0.01));
}

fn schedule_resumes<S>(name: &str, make: impl Fn() -> S, metric: bool)
where
    S: Schedule<f64> + Serialize + DeserializeOwned,
{
    let run = |s: &mut S, opt: &mut Sgd<f64>, range: std::ops::Range<usize>, lrs: &mut Vec<u64>| {
        for k in range {
            lrs.push(opt.learning_rate().to_bits());
            let m = metric.then_some(1.0 / (1.0 + (k % 5) as f64));
            s.step(opt, m).unwrap();
        }
    };
    let (mut a, mut oa, mut la) = (make(), Sgd::new(0.1).momentum(0.9), Vec::new());
    a.start(&mut oa).unwrap();
    run(&mut a, &mut oa, 0..40, &mut la);
    let (mut b, mut ob, mut lb) = (make(), Sgd::new(0.1).momentum(0.9), Vec::new());
    b.start(&mut ob).unwrap();
    run(&mut b, &mut ob, 0..17, &mut lb);
    let json = serde_json::to_string(&(&b, &ob)).unwrap();
    let (mut c, mut oc): (S, Sgd<f64>) = serde_json::from_str(&json).unwrap();
    run(&mut c, &mut oc, 17..40, &mut lb);
    assert_eq!(la, lb, "{name}: resumed schedule differs");
}

#[test]
fn every_schedule_resumes_bit_for_bit() {
    schedule_resumes("StepLr", || StepLr::new(7, 0.5), false);
    schedule_resumes("MultiStepLr", || MultiStepLr::new(&[5, 20, 30], 0.3), false);
    schedule_resumes("ExponentialLr", || ExponentialLr::new(0.97), false);
    schedule_resumes("CosineAnnealingLr", || CosineAnnealingLr::new(15, 0.001), false);
    schedule_resumes("CosineAnnealingWarmRestarts", || CosineAnnealingWarmRestarts::new(6, 2, 0.0), false);
    schedule_resumes("LinearLr", || LinearLr::new(0.25, 1.0, 25), false);
    schedule_resumes("OneCycleLr", || OneCycleLr::new(0.3, 60), false);
    schedule_resumes("ReduceLrOnPlateau", || ReduceLrOnPlateau::new(PlateauMode::Min, 0.5, 2).cooldown(1), true);
    schedule_resumes("CyclicLr", || CyclicLr::new(0.01, 0.1, 4).mode(CyclicMode::Triangular2), false);
    schedule_resumes("CyclicLr ExpRange", || CyclicLr::new(0.01, 0.1, 3).mode(CyclicMode::ExpRange).gamma(0.9), false);
}

#[test]
fn a_cyclic_lr_with_a_scale_fn_cannot_be_saved_and_says_so() {
    let s = CyclicLr::new(0.01, 0.1, 4).scale_fn(|x| 1.0 / x, ScaleMode::Cycle);
    let e = serde_json::to_string(&s).unwrap_err().to_string();
    assert!(e.contains("scale_fn") && e.contains("cannot be serialized"), "{e}");
    let nested = Chained::<f64>::new(vec![Box::new(s)]);
    let e = serde_json::to_string(&nested).unwrap_err().to_string();
    assert!(e.contains("scale_fn"), "{e}");
}

#[test]
fn spike_annealing_resumes() {
    let s = SpikeAnnealing::new(2.0, 4.0, 123.5);
    let json = serde_json::to_string(&s).unwrap();
    assert_eq!(serde_json::from_str::<SpikeAnnealing>(&json).unwrap(), s);
}

#[test]
fn f32_state_round_trips_exactly() {
    let mut a = Adam::<f32>::new(0.01);
    let mut x = vec![0.1_f32, 1e-30, -3.4e38, 7.0];
    a.step(&mut x, &[1e-20, 3.0, -0.5, 1e18]).unwrap(); // g^2 stays finite in f32
    let json = serde_json::to_string(&a).unwrap();
    let b: Adam<f32> = serde_json::from_str(&json).unwrap();
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
}

/// Every state buffer of a rule's checkpoint cut short (to one element and to none) and its step
/// count zeroed: each tampering is `Error::CorruptState` naming the field, from `validate` and
/// from `step`, with nothing written — never a silent reset.
fn tampering_is_an_error<O>(name: &str, make: impl Fn() -> O)
where
    O: Optimizer<f64> + Serialize + DeserializeOwned,
{
    let mut opt = make();
    let mut x = vec![0.7, -1.3, 2.1, 0.05, -0.4];
    for k in 0..3 {
        let g = grads(k, &x);
        opt.step(&mut x, &g).unwrap();
    }
    let json: serde_json::Value = serde_json::to_value(&opt).unwrap();
    // a wrapper's state (AdamW's) sits in its inner rule
    let root = if json.get("inner").is_some() { "/inner" } else { "" };
    let fields: Vec<String> = json
        .pointer(root)
        .unwrap()
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, v)| v.as_array().is_some_and(|a| a.len() == x.len()))
        .map(|(k, _)| k.clone())
        .collect();
    assert!(!fields.is_empty(), "{name}: no state buffer found");
    let mut tampered = Vec::new();
    for field in &fields {
        for keep in [1, 0] {
            let mut v = json.clone();
            v.pointer_mut(&format!("{root}/{field}")).unwrap().as_array_mut().unwrap().truncate(keep);
            tampered.push((format!("{field} cut to {keep}"), v));
        }
    }
    let mut v = json.clone();
    *v.pointer_mut(&format!("{root}/progress/step")).unwrap() = serde_json::json!(0);
    tampered.push(("progress.step zeroed".into(), v));
    for (what, v) in tampered {
        let Ok(mut bad) = serde_json::from_value::<O>(v) else { continue }; // refused on load: fine too
        let e = bad.validate().expect_err(&format!("{name}: {what} loads and validates"));
        assert!(matches!(e, Error::CorruptState { .. }), "{name}: {what}: {e}");
        let before = x.clone();
        let g = grads(3, &x);
        assert!(matches!(bad.step(&mut x, &g), Err(Error::CorruptState { .. })), "{name}: {what} steps");
        assert_eq!(x, before);
    }
}

#[test]
fn tampered_checkpoints_are_errors_for_every_rule() {
    tampering_is_an_error("Sgd", || Sgd::new(0.05).momentum(0.9));
    tampering_is_an_error("Adam", || Adam::new(0.05).amsgrad(true));
    tampering_is_an_error("AdamW", || AdamW::new(0.05));
    tampering_is_an_error("RmsProp", || RmsProp::new(0.01).centered(true).momentum(0.5));
    tampering_is_an_error("Adagrad", || Adagrad::new(0.05));
    tampering_is_an_error("Adadelta", || Adadelta::new(1.0));
    tampering_is_an_error("Adamax", || Adamax::new(0.05));
    tampering_is_an_error("NAdam", || NAdam::new(0.05));
    tampering_is_an_error("RAdam", || RAdam::new(0.05));
    tampering_is_an_error("Rprop", || Rprop::new(0.05));
    tampering_is_an_error("Asgd", || Asgd::new(0.05));
    tampering_is_an_error("Lion", || Lion::new(0.01));
    tampering_is_an_error("AdaBelief", || AdaBelief::new(0.05));
    tampering_is_an_error("Yogi", || Yogi::new(0.05));
    tampering_is_an_error("Lamb", || Lamb::new(0.05));
    tampering_is_an_error("SparseAdam", || SparseAdam::new(0.05));
    tampering_is_an_error("Adafactor", || Adafactor::new(0.05));
    tampering_is_an_error("ScheduleFreeAdamW", || ScheduleFreeAdamW::new(0.05).decay_at_z(true).weight_decay(0.01));
    tampering_is_an_error("ScheduleFreeSgd", || ScheduleFreeSgd::new(0.05));
    tampering_is_an_error("Adan", || Adan::new(0.05));
    tampering_is_an_error("Adopt", || Adopt::new(0.05));
    tampering_is_an_error("AdEmaMix", || AdEmaMix::new(0.05));
    tampering_is_an_error("SimplifiedAdEmaMix", || SimplifiedAdEmaMix::new(0.005));
    tampering_is_an_error("Lars", || Lars::new(1.0));
    tampering_is_an_error("NovoGrad", || NovoGrad::new(0.05));
    tampering_is_an_error("Prodigy", || Prodigy::new(1.0));
    tampering_is_an_error("Sm3", || Sm3::new(0.05));
    tampering_is_an_error("OptimisticGd", || OptimisticGd::new(0.05));
}

#[test]
fn a_tampered_prodigy_estimate_is_an_error() {
    let mut opt = Prodigy::new(1.0_f64);
    let mut x = vec![0.7, -1.3, 2.1];
    for k in 0..3 {
        let g = grads(k, &x);
        opt.step(&mut x, &g).unwrap();
    }
    let json = serde_json::to_value(&opt).unwrap();
    for (field, value) in
        [("d", serde_json::json!(-1.0)), ("d", serde_json::json!(0.0)), ("num", serde_json::json!("NaN"))]
    {
        let mut v = json.clone();
        v[field] = value.clone();
        let Ok(mut bad) = serde_json::from_value::<Prodigy<f64>>(v) else { continue };
        assert!(bad.validate().is_err(), "{field} = {value} validates");
        let before = x.clone();
        let g = grads(3, &x);
        assert!(bad.step(&mut x, &g).is_err(), "{field} = {value} steps");
        assert_eq!(x, before);
    }
}

#[test]
fn non_finite_state_survives_a_json_round_trip() {
    // an f32 second moment overflows from a finite gradient: (1e30)^2 is infinite in f32
    let mut opt = Adam::new(1e-3_f32);
    let mut p = [1.0_f32, 2.0];
    opt.step(&mut p, &[1e30, 1.0]).unwrap();
    assert!(opt.second_moment().unwrap()[0].is_infinite());
    let json = serde_json::to_string(&opt).unwrap();
    assert!(json.contains("\"inf\""), "{json}");
    let back: Adam<f32> = serde_json::from_str(&json).unwrap();
    assert_eq!(serde_json::to_string(&back).unwrap(), json);
    assert!(back.second_moment().unwrap()[0].is_infinite());
    // NaN and -inf too (a state that went non-finite with check_finite(false))
    let mut sgd = Sgd::new(0.1_f64).momentum(0.9).check_finite(false);
    let mut q = [0.0, 0.0, 0.0];
    sgd.step(&mut q, &[f64::NAN, f64::NEG_INFINITY, 1.0]).unwrap();
    let json = serde_json::to_string(&sgd).unwrap();
    let back: Sgd<f64> = serde_json::from_str(&json).unwrap();
    assert_eq!(serde_json::to_string(&back).unwrap(), json);
    assert!(json.contains("\"NaN\"") && json.contains("\"-inf\""), "{json}");
    // and a string that is no state value is an error on load
    let bad = json.replace("\"NaN\"", "\"nan?\"");
    assert!(serde_json::from_str::<Sgd<f64>>(&bad).is_err());
}

#[test]
fn a_prodigy_group_resumes_exactly_and_its_shared_estimate_is_checked() {
    // one Prodigy group over two tensors: one estimate, held by both
    let layout = Layout::new().tensor("w", &[2, 2]).tensor("b", &[2]);
    let make = || Groups::new(layout.clone()).group(&["w", "b"], Prodigy::new(1.0_f64).weight_decay(0.1));
    let (mut opt, mut x) = (make(), vec![0.3, -0.7, 1.1, 0.2, -0.4, 0.9]);
    for k in 0..5 {
        let g = grads(k, &x);
        opt.step(&mut x, &g).unwrap();
    }
    let saved = serde_json::to_value(&opt).unwrap();
    let mut resumed: Groups<f64> = serde_json::from_value(saved.clone()).unwrap();
    let mut y = x.clone();
    for k in 5..10 {
        let (g, h) = (grads(k, &x), grads(k, &y));
        opt.step(&mut x, &g).unwrap();
        resumed.step(&mut y, &h).unwrap();
    }
    assert_eq!(x, y);
    // a checkpoint whose tensors disagree on the estimate was altered: an error naming both
    for field in ["d", "num"] {
        let mut tampered = saved.clone();
        let v = &mut tampered["tensors"]["b"]["Prodigy"][field];
        *v = serde_json::json!(v.as_f64().unwrap() * 2.0);
        let e = serde_json::from_value::<Groups<f64>>(tampered).unwrap_err().to_string();
        assert!(e.contains("`w` and `b`") && e.contains("different estimates"), "{field}: {e}");
    }
}

#[test]
fn sequential_and_chained_resume_bit_for_bit() {
    // warm-up then cosine, switching at step 10 (before the checkpoint at 17), nested in a chain
    let warmup_cosine = || -> Sequential<f64> {
        Sequential::new(vec![Box::new(LinearLr::new(0.1, 1.0, 10)), Box::new(CosineAnnealingLr::new(30, 0.0))], &[10])
    };
    schedule_resumes("Sequential", warmup_cosine, false);
    schedule_resumes(
        "Sequential, switching after the checkpoint",
        || Sequential::new(vec![Box::new(ConstantLr::new(0.5, 30)), Box::new(ExponentialLr::new(0.9))], &[25]),
        false,
    );
    schedule_resumes(
        "Chained",
        move || Chained::new(vec![Box::new(warmup_cosine()), Box::new(StepLr::new(7, 0.5))]),
        false,
    );
}

#[test]
fn a_sequential_with_a_closure_names_it_when_it_cannot_be_saved() {
    let s: Sequential<f64> =
        Sequential::new(vec![Box::new(LambdaLr::new(|t| 1.0 / (1.0 + t as f64))), Box::new(StepLr::new(5, 0.5))], &[3]);
    let e = serde_json::to_string(&s).unwrap_err().to_string();
    assert!(e.contains("LambdaLr") && e.contains("cannot be serialized"), "{e}");
    // a tampered kind is an error naming it
    let saved = serde_json::to_value(Chained::<f64>::new(vec![Box::new(StepLr::new(5, 0.5))])).unwrap();
    let mut bad = saved.clone();
    bad["schedules"][0] = serde_json::json!({"NoSuchLr": {}});
    let e = serde_json::from_value::<Chained<f64>>(bad).unwrap_err().to_string();
    assert!(e.contains("NoSuchLr"), "{e}");
    // a member with an invalid hyperparameter is an error as it loads, naming it
    let mut bad = saved.clone();
    bad["schedules"][0]["StepLr"]["gamma"] = serde_json::json!(-1.0);
    let e = serde_json::from_value::<Chained<f64>>(bad).unwrap_err().to_string();
    assert!(e.contains("StepLr") && e.contains("gamma"), "{e}");
}

#[test]
fn sequential_and_chained_are_send_sync_clone_debug() {
    fn traits<S: Send + Sync + Clone + std::fmt::Debug>(_: &S) {}
    let s: Sequential<f64> =
        Sequential::new(vec![Box::new(LinearLr::new(0.1, 1.0, 5)), Box::new(CosineAnnealingLr::new(10, 0.0))], &[5]);
    let c: Chained<f64> = Chained::new(vec![Box::new(s.clone()), Box::new(LambdaLr::new(|_| 1.0))]);
    traits(&s);
    traits(&c);
    // a clone steps as the original does, on another thread
    let (mut a, mut oa) = (s.clone(), Sgd::new(1.0_f64));
    let lrs = std::thread::spawn(move || {
        (0..12)
            .map(|_| {
                a.step(&mut oa, None).unwrap();
                oa.learning_rate()
            })
            .collect::<Vec<f64>>()
    })
    .join()
    .unwrap();
    let (mut b, mut ob) = (s, Sgd::new(1.0_f64));
    let here: Vec<f64> = (0..12)
        .map(|_| {
            b.step(&mut ob, None).unwrap();
            ob.learning_rate()
        })
        .collect();
    assert_eq!(lrs, here);
    let shown = format!("{c:?}");
    assert!(shown.contains("Sequential") && shown.contains("LambdaLr"), "{shown}");
}

/// Every leaf of a schedule's checkpoint (each number, list and flag, nested ones included)
/// tampered in turn: to 0, -1, 0.5, 1e300 and `null`, a list emptied and grown by one, a flag
/// flipped. Every tampering either is refused (on load, by `validate`, or by the next `step`,
/// with the optimizer's rate untouched) or is a state the schedule can continue from; the
/// fields whose every tampering is accepted are exactly `free`, each a value with no invalid
/// setting (a step counter, a flag that only skips a no-op).
fn schedule_tampering_is_refused<S>(name: &str, make: impl Fn() -> S, metric: bool, free: &[&str])
where
    S: Schedule<f64> + Serialize + DeserializeOwned,
{
    // an optimizer with a momentum (for momentum cycling) and a second moment (for SpikeAnnealing)
    let opt = || {
        let mut a = Adam::new(0.1);
        a.step(&mut [1.0, 2.0], &[0.5, -0.25]).unwrap();
        a
    };
    let m = |k: usize| metric.then_some(1.0 / (1.0 + (k % 5) as f64));
    let mut s = make();
    let mut o = opt();
    s.start(&mut o).unwrap();
    for k in 0..3 {
        s.step(&mut o, m(k)).unwrap();
    }
    let saved = serde_json::to_value(&s).unwrap();
    let mut undetected = Vec::new();
    // a schedule's lists (base rates, milestones) are settings: their elements are tampered too
    for (path, tamperings) in tamperings(&saved, true) {
        let mut detected = false;
        for t in tamperings {
            let mut v = saved.clone();
            *v.pointer_mut(&path).unwrap() = t.clone();
            let Ok(mut bad) = serde_json::from_value::<S>(v) else {
                detected = true;
                continue;
            };
            if bad.validate().is_err() {
                detected = true;
                continue;
            }
            // a state that validates steps on from the optimizer it was saved with, or is
            // refused by the step with the rate untouched
            let mut o2 = o.clone();
            let before = o2.learning_rate().to_bits();
            match bad.step(&mut o2, m(3)) {
                Err(_) => {
                    assert_eq!(
                        o2.learning_rate().to_bits(),
                        before,
                        "{name}: {path} = {t}: a failed step set the rate"
                    );
                    detected = true;
                }
                Ok(()) => {
                    let lr = o2.learning_rate();
                    assert!(lr.is_finite() && lr >= 0.0, "{name}: {path} = {t} loads, validates and sets lr {lr}");
                }
            }
        }
        if !detected {
            undetected.push(path);
        }
    }
    let free: Vec<String> = free.iter().map(|s| s.to_string()).collect();
    assert_eq!(undetected, free, "{name}: the fields whose tampering goes unnoticed");
}

#[test]
fn tampered_schedules_are_refused_field_by_field() {
    schedule_tampering_is_refused("StepLr", || StepLr::new(7, 0.5), false, &[]);
    schedule_tampering_is_refused("MultiStepLr", || MultiStepLr::new(&[5, 20, 30], 0.3), false, &[]);
    schedule_tampering_is_refused("ExponentialLr", || ExponentialLr::new(0.97), false, &[]);
    schedule_tampering_is_refused("CosineAnnealingLr", || CosineAnnealingLr::new(15, 0.001), false, &[]);
    schedule_tampering_is_refused(
        "CosineAnnealingWarmRestarts",
        || CosineAnnealingWarmRestarts::new(6, 2, 0.0),
        false,
        &[],
    );
    schedule_tampering_is_refused("LinearLr", || LinearLr::new(0.25, 1.0, 25), false, &[]);
    schedule_tampering_is_refused("OneCycleLr", || OneCycleLr::new(0.3, 60), false, &[]);
    schedule_tampering_is_refused(
        "ReduceLrOnPlateau",
        || ReduceLrOnPlateau::new(PlateauMode::Min, 0.5, 2).cooldown(1),
        true,
        &["/best"],
    );
    schedule_tampering_is_refused("ConstantLr", || ConstantLr::new(0.5, 5), false, &[]);
    schedule_tampering_is_refused("PolynomialLr", || PolynomialLr::new(10, 2.0), false, &[]);
    schedule_tampering_is_refused(
        "CyclicLr",
        || CyclicLr::new(0.01, 0.1, 4).cycle_momentum(Some((0.8, 0.9))),
        false,
        &[],
    );
    schedule_tampering_is_refused("SwaLr", || SwaLr::new(0.05, 5), false, &[]);
    schedule_tampering_is_refused("SpikeAnnealing", SpikeAnnealing::notebook, false, &[]);
    schedule_tampering_is_refused(
        "Sequential",
        || -> Sequential<f64> {
            Sequential::new(vec![Box::new(LinearLr::new(0.1, 1.0, 2)), Box::new(CosineAnnealingLr::new(30, 0.0))], &[2])
        },
        false,
        &[],
    );
    schedule_tampering_is_refused(
        "Chained",
        || -> Chained<f64> { Chained::new(vec![Box::new(StepLr::new(2, 0.5)), Box::new(ExponentialLr::new(0.9))]) },
        false,
        &[],
    );
}

/// The leaves of an optimizer's checkpoint (each number, string, flag and list, nested ones
/// included) and, for each, the tamperings tried: a number to 0, -1, 0.5, 1e300 and `null`, a
/// list emptied and grown by one, a flag flipped, a string to another. A state buffer (a list of
/// numbers) is tampered as a whole, in its length: its elements are the training's values, any
/// float (an overflowed moment is `inf`), and are not checked unless `elements` (a schedule's
/// lists, which are settings).
fn tamperings(saved: &serde_json::Value, elements: bool) -> Vec<(String, Vec<serde_json::Value>)> {
    fn leaves(v: &serde_json::Value, at: String, elements: bool, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(o) => o.iter().for_each(|(k, v)| leaves(v, format!("{at}/{k}"), elements, out)),
            serde_json::Value::Array(a) => {
                out.push(at.clone());
                if elements || !a.iter().all(|v| v.is_number() || v.is_string()) {
                    a.iter().enumerate().for_each(|(i, v)| leaves(v, format!("{at}/{i}"), elements, out));
                }
            }
            _ => out.push(at),
        }
    }
    let mut paths = Vec::new();
    leaves(saved, String::new(), elements, &mut paths);
    paths
        .into_iter()
        .map(|path| {
            let leaf = saved.pointer(&path).unwrap();
            let mut ts: Vec<serde_json::Value> = match leaf {
                serde_json::Value::Array(a) => {
                    let mut grown = a.clone();
                    grown.extend(a.last().cloned());
                    vec![serde_json::json!([]), serde_json::Value::Array(grown)]
                }
                serde_json::Value::Bool(b) => vec![serde_json::json!(!b)],
                serde_json::Value::String(_) => vec![serde_json::json!("tampered")],
                _ => [0.0, -1.0, 0.5, 1e300].into_iter().map(|x| serde_json::json!(x)).collect(),
            };
            ts.push(serde_json::Value::Null);
            ts.retain(|t| t != leaf);
            (path, ts)
        })
        .collect()
}

/// Every leaf of an optimizer's checkpoint tampered in turn (see `tamperings`): each tampering
/// is refused on load, by `validate`, or by the next `step` with params and state untouched, or
/// is a valid state the optimizer steps on from. The fields whose every tampering is accepted
/// are exactly `free`: flags and values with no invalid setting.
fn optimizer_tampering_is_refused<O>(name: &str, make: impl Fn() -> O, x0: &[f64], free: &[&str])
where
    O: Optimizer<f64> + Serialize + DeserializeOwned,
{
    let mut opt = make();
    let mut x = x0.to_vec();
    for k in 0..3 {
        let g = grads(k, &x);
        opt.step(&mut x, &g).unwrap();
    }
    let saved = serde_json::to_value(&opt).unwrap();
    let mut undetected = Vec::new();
    for (path, ts) in tamperings(&saved, false) {
        let mut detected = false;
        for t in ts {
            let mut v = saved.clone();
            *v.pointer_mut(&path).unwrap() = t.clone();
            let Ok(mut bad) = serde_json::from_value::<O>(v) else {
                detected = true;
                continue;
            };
            if bad.validate().is_err() {
                detected = true;
                continue;
            }
            let mut y = x.clone();
            let before = serde_json::to_value(&bad).unwrap();
            let g = grads(3, &y);
            // a step that succeeds ran a valid configuration, if not the saved one (it may well
            // diverge: lr 1e300)
            if let Err(e) = bad.step(&mut y, &g) {
                assert_eq!(y, x, "{name}: {path} = {t}: a failed step ({e}) wrote the params");
                assert_eq!(
                    serde_json::to_value(&bad).unwrap(),
                    before,
                    "{name}: {path} = {t}: a failed step changed the state"
                );
                detected = true;
            }
        }
        if !detected {
            undetected.push(path);
        }
    }
    let free: Vec<String> = free.iter().map(|s| s.to_string()).collect();
    assert_eq!(undetected, free, "{name}: the fields whose tampering goes unnoticed");
}

#[test]
fn tampered_groups_and_wrappers_are_refused_field_by_field() {
    let layout = Layout::new().tensor("w", &[2, 3]).tensor("b", &[3]).tensor("h", &[3, 3]);
    let x0: Vec<f64> = (0..18).map(|i| (i as f64 * 0.37).sin()).collect();
    optimizer_tampering_is_refused(
        "Groups",
        || {
            Groups::new(layout.clone())
                .group(&["w"], AdamW::new(0.05).weight_decay(0.1))
                .group(&["b"], Adam::new(0.05))
                .group(&["h"], Muon::new(0.02))
        },
        &x0,
        // a flag with no invalid setting: either is a configuration Muon runs
        &["/groups/2/rule/Muon/consistent_rms"],
    );
    let x0 = [0.7, -1.3, 2.1, 0.05, -0.4];
    optimizer_tampering_is_refused("Lookahead", || Lookahead::new(Adam::new(0.05), 2, 0.5), &x0, &[]);
    optimizer_tampering_is_refused("MultiSteps", || MultiSteps::new(Adam::new(0.05), 2), &x0, &[]);
    optimizer_tampering_is_refused("ApplyIfFinite", || ApplyIfFinite::new(Adam::new(0.05), 3), &x0, &[]);
}

/// A tensor's copy of its group's rule must step with the group's learning rate and momentum:
/// a checkpoint with either one changed alone (to a valid value) is refused (a mutation survivor
/// refused only when both changed).
#[test]
fn a_tensor_stepping_with_another_lr_or_momentum_than_its_group_is_refused() {
    let layout = Layout::new().tensor("w", &[2]).tensor("b", &[1]);
    let mut opt = Groups::<f64>::new(layout).group(&["w", "b"], Sgd::new(0.05).momentum(0.9));
    opt.step(&mut [1.0, 2.0, 3.0], &[0.1, 0.2, 0.3]).unwrap();
    let saved = serde_json::to_value(&opt).unwrap();
    assert!(serde_json::from_value::<Groups<f64>>(saved.clone()).is_ok());
    for (field, value) in [("/tensors/w/Sgd/common/lr", 0.07), ("/tensors/w/Sgd/momentum", 0.8)] {
        let mut tampered = saved.clone();
        *tampered.pointer_mut(field).unwrap_or_else(|| panic!("{field}")) = value.into();
        let e = serde_json::from_value::<Groups<f64>>(tampered).unwrap_err().to_string();
        assert!(e.contains("another learning rate or momentum"), "{field}: {e}");
    }
}

#[test]
fn tampered_rules_are_refused_field_by_field() {
    let x0 = [0.7, -1.3, 2.1, 0.05, -0.4];
    // a starting value of the momentum buffer: any (or none) is a configuration
    optimizer_tampering_is_refused("Sgd", || Sgd::new(0.05).momentum(0.9), &x0, &["/initial_buffer"]);
    optimizer_tampering_is_refused("Adam", || Adam::new(0.05).amsgrad(true), &x0, &[]);
    optimizer_tampering_is_refused("AdamW", || AdamW::new(0.05), &x0, &[]);
    optimizer_tampering_is_refused("RmsProp", || RmsProp::new(0.01).centered(true).momentum(0.5), &x0, &[]);
    optimizer_tampering_is_refused("Adagrad", || Adagrad::new(0.05), &x0, &[]);
    optimizer_tampering_is_refused("Adadelta", || Adadelta::new(1.0), &x0, &[]);
    optimizer_tampering_is_refused("Adamax", || Adamax::new(0.05), &x0, &[]);
    optimizer_tampering_is_refused("NAdam", || NAdam::new(0.05), &x0, &[]);
    optimizer_tampering_is_refused("RAdam", || RAdam::new(0.05), &x0, &[]);
    optimizer_tampering_is_refused("Rprop", || Rprop::new(0.05), &x0, &[]);
    optimizer_tampering_is_refused("Asgd", || Asgd::new(0.05), &x0, &[]);
    optimizer_tampering_is_refused("Lion", || Lion::new(0.01), &x0, &[]);
    optimizer_tampering_is_refused("AdaBelief", || AdaBelief::new(0.05), &x0, &[]);
    optimizer_tampering_is_refused("Yogi", || Yogi::new(0.05), &x0, &[]);
    optimizer_tampering_is_refused("Lamb", || Lamb::new(0.05), &x0, &[]);
    optimizer_tampering_is_refused("SparseAdam", || SparseAdam::new(0.05), &x0, &[]);
    optimizer_tampering_is_refused("Adafactor", || Adafactor::new(0.05), &x0, &[]);
    optimizer_tampering_is_refused(
        "ScheduleFreeAdamW",
        || ScheduleFreeAdamW::new(0.05).decay_at_z(true).weight_decay(0.01),
        &x0,
        &[],
    );
    optimizer_tampering_is_refused("ScheduleFreeSgd", || ScheduleFreeSgd::new(0.05), &x0, &[]);
    optimizer_tampering_is_refused("Adan", || Adan::new(0.05), &x0, &[]);
    optimizer_tampering_is_refused("Adopt", || Adopt::new(0.05), &x0, &[]);
    optimizer_tampering_is_refused("AdEmaMix", || AdEmaMix::new(0.05), &x0, &[]);
    optimizer_tampering_is_refused("SimplifiedAdEmaMix", || SimplifiedAdEmaMix::new(0.005), &x0, &[]);
    optimizer_tampering_is_refused("Lars", || Lars::new(1.0), &x0, &[]);
    optimizer_tampering_is_refused("NovoGrad", || NovoGrad::new(0.05), &x0, &[]);
    optimizer_tampering_is_refused("Prodigy", || Prodigy::new(1.0), &x0, &[]);
    optimizer_tampering_is_refused("Sm3", || Sm3::new(0.05), &x0, &[]);
    optimizer_tampering_is_refused("OptimisticGd", || OptimisticGd::new(0.05), &x0, &[]);
    optimizer_tampering_is_refused("Fromage", || Fromage::new(0.05), &x0, &[]);
    optimizer_tampering_is_refused("SignSgd", || SignSgd::new(0.05), &x0, &[]);
    optimizer_tampering_is_refused("Muon", || Muon::new(0.02).shape(&[5, 1]), &x0, &[]);
}

/// A checkpoint written before a field existed loads with the field's default: Adam's
/// `bias_correction_mu`/`_nu` on, RAdam's `threshold` 5 (found by mutation testing).
#[test]
fn older_checkpoints_load_with_the_new_fields_defaults() {
    let mut v = serde_json::to_value(Adam::<f64>::new(1e-3)).unwrap();
    let o = v.as_object_mut().unwrap();
    o.remove("bias_correction_mu");
    o.remove("bias_correction_nu");
    let a: Adam<f64> = serde_json::from_value(v).unwrap();
    assert!(a.get_bias_correction_mu() && a.get_bias_correction_nu());
    let mut v = serde_json::to_value(RAdam::<f64>::new(1e-3)).unwrap();
    v.as_object_mut().unwrap().remove("threshold");
    let r: RAdam<f64> = serde_json::from_value(v).unwrap();
    assert_eq!(format!("{r:?}"), format!("{:?}", RAdam::<f64>::new(1e-3)));
}

/// A rule keeps (and saves) only the state its options need: RMSprop's momentum buffer exists
/// only with momentum, its mean gradient only when centered, as torch allocates them.
#[test]
fn rmsprop_keeps_only_the_state_its_options_need() {
    let n = 7;
    for (opt, grad_avg, momentum_buffer) in [
        (RmsProp::new(0.01_f64), 0, 0),
        (RmsProp::new(0.01_f64).momentum(0.0), 0, 0),
        (RmsProp::new(0.01_f64).momentum(0.9), 0, n),
        (RmsProp::new(0.01_f64).centered(true), n, 0),
        (RmsProp::new(0.01_f64).centered(true).momentum(0.9), n, n),
        // optax's form too: `momentum=None` and 0 keep no trace
        (RmsProp::new(0.01_f64).form(Form::Optax), 0, 0),
        (RmsProp::new(0.01_f64).form(Form::Optax).momentum(0.0), 0, 0),
        (RmsProp::new(0.01_f64).form(Form::Optax).momentum(0.9), 0, n),
        (RmsProp::new(0.01_f64).form(Form::Optax).centered(true).momentum(0.0), n, 0),
    ] {
        let mut opt = opt;
        opt.step(&mut vec![1.0; n], &vec![0.5; n]).unwrap();
        let saved = serde_json::to_value(&opt).unwrap();
        let len = |k: &str| saved[k].as_array().unwrap().len();
        assert_eq!(
            (len("square_avg"), len("grad_avg"), len("momentum_buffer")),
            (n, grad_avg, momentum_buffer),
            "{opt:?}"
        );
    }
}
