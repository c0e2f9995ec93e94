//! `Layout` and `Groups`: torch's param groups reproduced from recordings (every tensor, every
//! group's lr, every clip norm at relative 1e-9 / 1e-12), and the all-or-nothing contract over
//! every tensor of a model.

mod common;

use gradus::*;
use proptest::prelude::*;
use serde_json::Value;

const TOL: f64 = 1e-9;
const LR_TOL: f64 = 1e-12;

fn recorded(name: &str) -> Vec<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("recorded").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str::<Value>(&text).unwrap().as_array().unwrap().clone()
}

/// Adds the group `names` with the torch rule `optimizer` configured by `h` (a
/// `hyper_resolved` entry). Panics on a key it does not know, so that no recorded option is
/// silently ignored.
fn add_group(groups: Groups<f64>, optimizer: &str, names: &[&str], h: &serde_json::Map<String, Value>) -> Groups<f64> {
    const IGNORED: &[&str] = &["foreach", "fused", "capturable", "differentiable", "params"];
    let known: &[&str] = match optimizer {
        "SGD" => &["lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"],
        _ => &["lr", "betas", "eps", "weight_decay", "amsgrad", "maximize", "decoupled_weight_decay"],
    };
    for k in h.keys() {
        assert!(known.contains(&&k[..]) || IGNORED.contains(&&k[..]), "unknown hyperparameter {k} of {optimizer}");
    }
    let num = |k: &str| common::f(&h[k]);
    let flag = |k: &str| h.get(k).and_then(Value::as_bool).unwrap_or(false);
    let betas = || {
        let b = common::floats(&h["betas"]);
        (b[0], b[1])
    };
    match optimizer {
        "SGD" => groups.group(
            names,
            Sgd::new(num("lr"))
                .momentum(num("momentum"))
                .dampening(num("dampening"))
                .weight_decay(num("weight_decay"))
                .nesterov(flag("nesterov"))
                .maximize(flag("maximize")),
        ),
        "Adam" => {
            let (b1, b2) = betas();
            groups.group(
                names,
                Adam::new(num("lr"))
                    .betas(b1, b2)
                    .eps(num("eps"))
                    .weight_decay(num("weight_decay"))
                    .amsgrad(flag("amsgrad"))
                    .maximize(flag("maximize"))
                    .decoupled_weight_decay(flag("decoupled_weight_decay")),
            )
        }
        "AdamW" => {
            let (b1, b2) = betas();
            groups.group(
                names,
                AdamW::new(num("lr"))
                    .betas(b1, b2)
                    .eps(num("eps"))
                    .weight_decay(num("weight_decay"))
                    .amsgrad(flag("amsgrad"))
                    .maximize(flag("maximize")),
            )
        }
        o => panic!("unknown optimizer {o}"),
    }
}

fn layout_of(case: &Value) -> Layout {
    case["tensors"].as_array().unwrap().iter().fold(Layout::new(), |l, t| {
        let shape: Vec<usize> = t["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
        l.tensor(t["name"].as_str().unwrap(), &shape)
    })
}

fn groups_of(case: &Value) -> Groups<f64> {
    let optimizer = case["optimizer"].as_str().unwrap();
    let hypers = case["hyper_resolved"].as_array().unwrap();
    case["groups"].as_array().unwrap().iter().zip(hypers).fold(Groups::new(layout_of(case)), |g, (group, h)| {
        let names: Vec<&str> = group["params"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
        add_group(g, optimizer, &names, h.as_object().unwrap())
    })
}

fn scheduler_of(case: &Value) -> Option<Box<dyn Schedule<f64>>> {
    let s = case["scheduler"].as_object()?;
    let h = &s["hyper"];
    let num = |k: &str, d: f64| h.get(k).map_or(d, common::f);
    let int = |k: &str| h[k].as_u64().unwrap();
    for k in h.as_object().unwrap().keys() {
        assert!(
            ["T_max", "eta_min", "start_factor", "end_factor", "total_iters", "max_lr", "total_steps"]
                .contains(&&k[..]),
            "unknown scheduler option {k}"
        );
    }
    Some(match s["class"].as_str().unwrap() {
        "CosineAnnealingLR" => Box::new(CosineAnnealingLr::new(int("T_max"), num("eta_min", 0.0))),
        "LinearLR" => Box::new(LinearLr::new(
            num("start_factor", 1.0 / 3.0),
            num("end_factor", 1.0),
            h["total_iters"].as_u64().unwrap(),
        )),
        "OneCycleLR" => Box::new(OneCycleLr::with_max_lrs(&common::floats(&h["max_lr"]), int("total_steps"))),
        c => panic!("unknown scheduler {c}"),
    })
}

fn norm_of(clip: &Value) -> Norm {
    match common::f(&clip["norm_type"]) {
        1.0 => Norm::L1,
        2.0 => Norm::L2,
        p if p.is_infinite() && p > 0.0 => Norm::Inf,
        p => Norm::P(p),
    }
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-3)
}

/// Replays a param-group case through `Groups` on the flat buffer; returns the worst relative
/// errors of (parameters, learning rates, clip norms).
fn replay(case: &Value) -> (f64, f64, f64) {
    let layout = layout_of(case);
    let mut opt = groups_of(case);
    let mut schedule = scheduler_of(case);
    let mut params = vec![0.0; layout.len()];
    for t in case["tensors"].as_array().unwrap() {
        layout.view_mut(&mut params, t["name"].as_str().unwrap()).unwrap().copy_from_slice(&common::floats(&t["init"]));
    }
    if let Some(s) = schedule.as_mut() {
        s.start(&mut opt).unwrap();
    }
    let (mut worst, mut worst_lr, mut worst_clip) = (0.0_f64, 0.0_f64, 0.0_f64);
    let mut grads = vec![0.0; layout.len()];
    for k in 0..case["steps"].as_u64().unwrap() as usize {
        for (name, _, range) in layout.iter() {
            grads[range].copy_from_slice(&common::floats(&case["grads"][k][name]));
        }
        if let Some(clip) = case["clip"].as_object() {
            let total = clip_grad_norm(&mut grads, common::f(&clip["max_norm"]), norm_of(&case["clip"])).unwrap();
            worst_clip = worst_clip.max(rel(total, common::f(&case["clip_norms"][k])));
        }
        for (g, want) in common::floats(&case["lrs"][k]).iter().enumerate() {
            worst_lr = worst_lr.max(rel(opt.group_lr(g).unwrap(), *want));
        }
        if let Some(m) = case.get("momentums") {
            for (g, want) in common::floats(&m[k]).iter().enumerate() {
                worst_lr = worst_lr.max(rel(opt.group_momentum(g).unwrap(), *want));
            }
        }
        opt.step(&mut params, &grads).unwrap();
        if let Some(s) = schedule.as_mut() {
            s.step(&mut opt, None).unwrap();
        }
        for (name, _, range) in layout.iter() {
            let want = common::floats(&case["trajectory"][k][name]);
            worst = worst.max(common::rel_err(&params[range], &want));
        }
    }
    (worst, worst_lr, worst_clip)
}

#[test]
fn recorded_param_groups_match() {
    let cases = recorded("torch_param_groups.json");
    assert!(cases.len() >= 5);
    let mut failures = Vec::new();
    for case in &cases {
        let (p, lr, clip) = replay(case);
        eprintln!("{}: params {p:.2e}, lrs {lr:.2e}, clip norms {clip:.2e}", case["id"]);
        if !(p <= TOL && lr <= LR_TOL && clip <= TOL) {
            failures.push(format!("{}: params {p:.3e}, lrs {lr:.3e}, clip {clip:.3e}", case["id"]));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // the criterion has teeth: one group's weight decay forgotten misses the recording
    let case = cases.iter().find(|c| c["id"] == "groups-AdamW-plain-model_fixed").unwrap();
    let mut wrong = case.clone();
    wrong["hyper_resolved"][0]["weight_decay"] = serde_json::json!(0.0);
    assert!(replay(&wrong).0 > 1e-6);
}

#[test]
fn step_tensors_equals_the_flat_step() {
    let case = &recorded("torch_param_groups.json")[4];
    let layout = layout_of(case);
    let (mut flat, mut split) = (groups_of(case), groups_of(case));
    let mut params: Vec<f64> = (0..layout.len()).map(|i| (i as f64 * 0.37).sin()).collect();
    let mut tensors: Vec<Vec<f64>> = layout.split(&params).unwrap().into_iter().map(<[f64]>::to_vec).collect();
    for k in 0..5 {
        let grads: Vec<f64> = (0..layout.len()).map(|i| ((i + k) as f64 * 0.91).cos()).collect();
        flat.step(&mut params, &grads).unwrap();
        let mut refs: Vec<&mut [f64]> = tensors.iter_mut().map(|t| &mut t[..]).collect();
        split.step_tensors(&mut refs, &layout.split(&grads).unwrap()).unwrap();
    }
    assert_eq!(tensors.concat(), params);
    assert_eq!(split.steps(), 5);
}

/// The four tensors of the recordings, AdamW with decay on the matrices and Adam (AMSGrad) on
/// the biases.
fn model() -> (Layout, Groups<f64>) {
    let layout = Layout::new().tensor("w1", &[4, 3]).tensor("b1", &[3]).tensor("w2", &[3, 2]).tensor("b2", &[2]);
    let opt = Groups::new(layout.clone())
        .group(&["w1", "w2"], AdamW::new(1e-2).weight_decay(0.1))
        .group(&["b1", "b2"], Adam::new(3e-3).amsgrad(true));
    (layout, opt)
}

fn bits(x: &[f64]) -> Vec<u64> {
    x.iter().map(|v| v.to_bits()).collect()
}

/// `reset` forgets what every group's steps learned: after it the model steps bit for bit as a
/// fresh copy (a mutation survivor: `Groups::reset` emptied passed every other test).
#[test]
fn a_reset_model_steps_as_a_fresh_one() {
    let (layout, mut used) = model();
    let n = layout.len();
    let mut p: Vec<f64> = (0..n).map(|i| 0.1 * i as f64 - 0.5).collect();
    for k in 0..3 {
        let g: Vec<f64> = (0..n).map(|i| ((i + k) as f64 * 0.7).cos() * 40.0).collect();
        used.step(&mut p, &g).unwrap();
    }
    used.reset();
    assert_eq!(used.steps(), 0);
    let (_, mut fresh) = model();
    let (mut a, mut b) = (vec![0.25; n], vec![0.25; n]);
    for k in 0..3 {
        let g: Vec<f64> = (0..n).map(|i| ((i * k) as f64 * 0.3).sin()).collect();
        used.step(&mut a, &g).unwrap();
        fresh.step(&mut b, &g).unwrap();
        assert_eq!(bits(&a), bits(&b), "step {k}: a reset model steps differently from a fresh one");
    }
}

/// `opt` after a failed step behaves bit for bit as `pristine` (the same optimizer before it).
fn assert_untouched(opt: &mut Groups<f64>, mut pristine: Groups<f64>, params: &[f64], before: &[f64]) {
    assert_eq!(bits(params), bits(before), "parameters changed by a failed step");
    assert_eq!(opt.steps(), pristine.steps());
    let (mut a, mut b) = (before.to_vec(), before.to_vec());
    let g: Vec<f64> = (0..a.len()).map(|i| (i as f64 * 1.3).sin()).collect();
    for _ in 0..3 {
        opt.step(&mut a, &g).unwrap();
        pristine.step(&mut b, &g).unwrap();
    }
    assert_eq!(bits(&a), bits(&b), "state changed by a failed step");
}

#[test]
fn a_nan_in_the_last_tensor_changes_nothing() {
    let (layout, mut opt) = model();
    let mut params: Vec<f64> = (0..layout.len()).map(|i| i as f64 * 0.1).collect();
    let g: Vec<f64> = vec![0.5; layout.len()];
    opt.step(&mut params, &g).unwrap();
    let (before, pristine) = (params.clone(), opt.clone());
    let mut bad = g.clone();
    *bad.last_mut().unwrap() = f64::NAN;
    let e = opt.step(&mut params, &bad).unwrap_err();
    assert!(matches!(e, Error::NonFiniteGradient { index, .. } if index == layout.len() - 1), "{e}");
    assert_eq!(layout.locate(layout.len() - 1), Some(("b2", 1)));
    assert_untouched(&mut opt, pristine, &params, &before);
    // the same through step_tensors
    let pristine = opt.clone();
    let before = params.clone();
    let mut tensors: Vec<Vec<f64>> = layout.split(&params).unwrap().into_iter().map(<[f64]>::to_vec).collect();
    let mut refs: Vec<&mut [f64]> = tensors.iter_mut().map(|t| &mut t[..]).collect();
    assert!(opt.step_tensors(&mut refs, &layout.split(&bad).unwrap()).is_err());
    assert_eq!(tensors.concat(), before);
    assert_untouched(&mut opt, pristine, &params, &before);
}

#[test]
fn an_invalid_hyperparameter_in_the_last_group_changes_nothing() {
    let layout = Layout::new().tensor("w1", &[4, 3]).tensor("b1", &[3]).tensor("w2", &[3, 2]).tensor("b2", &[2]);
    let build = |wd: f64| {
        Groups::new(layout.clone())
            .group(&["w1", "w2"], AdamW::new(1e-2).weight_decay(0.1))
            .group(&["b1", "b2"], AdamW::new(3e-3).weight_decay(wd))
    };
    let mut bad = build(-1.0);
    let mut params: Vec<f64> = (0..layout.len()).map(|i| i as f64 * 0.1).collect();
    let before = params.clone();
    let e = bad.step(&mut params, &vec![0.5; layout.len()]).unwrap_err();
    assert_eq!(
        e,
        Error::InvalidGroupHyperparameter {
            group: 1,
            name: "weight_decay",
            value: -1.0,
            expected: "a finite value >= 0"
        }
    );
    assert_eq!(e.to_string(), "group 1: invalid hyperparameter `weight_decay` = -1: a finite value >= 0");
    assert_eq!(bad.validate(), Err(e));
    assert_untouched(&mut build(0.0), build(0.0), &params, &before);
    assert_eq!(bad.steps(), 0);
    // a bad learning rate set on one group later is caught the same way
    let (_, mut opt) = model();
    assert!(opt.set_group_learning_rate(1, -1.0));
    let pristine = {
        let (_, mut p) = model();
        p.set_group_learning_rate(1, 3e-3);
        p
    };
    let e = opt.step(&mut params, &vec![0.5; layout.len()]).unwrap_err();
    assert!(matches!(e, Error::InvalidGroupHyperparameter { group: 1, name: "lr", .. }), "{e}");
    opt.set_group_learning_rate(1, 3e-3);
    assert_untouched(&mut opt, pristine, &params, &before);
}

#[test]
fn wrong_lengths_change_nothing() {
    let (layout, mut opt) = model();
    let mut params = vec![1.0; layout.len()];
    let e = opt.step(&mut params[1..], &vec![0.5; layout.len() - 1]).unwrap_err();
    assert_eq!(e, Error::ShapeMismatch { what: "params (the layout's length)", expected: 23, found: 22 });
    let e = opt.step(&mut params, &vec![0.5; layout.len() - 1]).unwrap_err();
    assert_eq!(e, Error::LengthMismatch { params: 23, grads: 22 });
    let mut w1 = vec![1.0; 12];
    let mut b1 = vec![1.0; 2];
    let (mut w2, mut b2) = (vec![1.0; 6], vec![1.0; 2]);
    let grads: Vec<&[f64]> = vec![&[0.5; 12], &[0.5; 3], &[0.5; 6], &[0.5; 2]];
    let e = opt.step_tensors(&mut [&mut w1, &mut b1, &mut w2, &mut b2], &grads).unwrap_err();
    assert_eq!(e, Error::TensorLength { name: TensorName::new("b1"), expected: 3, found: 2 });
    assert_eq!(e.to_string(), "tensor `b1`: the layout gives it 3 elements but 2 were passed");
    let e = opt.step_tensors(&mut [&mut w1], &grads[..1]).unwrap_err();
    assert!(matches!(e, Error::TensorLength { expected: 4, found: 1, .. }));
    assert_eq!(w1, vec![1.0; 12]);
    assert_eq!(opt.steps(), 0);
}

#[test]
fn structure_errors_name_the_tensor() {
    let layout = Layout::new().tensor("w", &[2, 2]).tensor("b", &[2]);
    let g = |opt: Groups<f32>| opt.validate().unwrap_err();
    let e = g(Groups::new(layout.clone()).group(&["w"], Sgd::new(0.1)));
    assert_eq!(e.to_string(), "tensor `b` is in no group: add it to one with `Groups::group`");
    let e = g(Groups::new(layout.clone()).group(&["w", "b"], Sgd::new(0.1)).group(&["b"], Adam::new(0.1)));
    assert_eq!(e, Error::TensorInTwoGroups { name: TensorName::new("b"), first: 0, second: 1 });
    let e = g(Groups::new(layout.clone()).group(&["w", "bias"], Sgd::new(0.1)));
    assert_eq!(e.to_string(), "group 0 names tensor `bias`, which the layout does not have");
    let e = g(Groups::new(layout.clone()).group(&["w", "b"], Sgd::new(0.1)).group(&[], Sgd::new(0.1)));
    assert_eq!(e, Error::EmptyGroup { group: 1 });
    let e = g(Groups::new(Layout::new().tensor("w", &[2]).tensor("w", &[3])).group(&["w"], Sgd::new(0.1)));
    assert_eq!(e, Error::DuplicateTensor { name: TensorName::new("w") });
    let e = g(Groups::new(Layout::new().tensor("w", &[0, 3])).group(&["w"], Sgd::new(0.1)));
    assert_eq!(e, Error::EmptyTensor { name: TensorName::new("w"), elements: 0 });
    let e = g(Groups::new(Layout::new().tensor("w", &[usize::MAX, 2])).group(&["w"], Sgd::new(0.1)));
    assert!(matches!(e, Error::EmptyTensor { elements: usize::MAX, .. }));
    // and the step says the same, writing nothing
    let mut opt = Groups::new(layout).group(&["w"], Sgd::new(0.1_f32));
    let mut p = [1.0_f32; 6];
    assert!(matches!(opt.step(&mut p, &[1.0; 6]), Err(Error::UngroupedTensor { .. })));
    assert_eq!(p, [1.0; 6]);
}

#[test]
fn different_rules_in_different_groups_and_a_rule_of_your_own() {
    /// Plain gradient descent written by a user.
    #[derive(Clone)]
    struct Plain(f64, u64);
    impl Optimizer<f64> for Plain {
        fn step(&mut self, p: &mut [f64], g: &[f64]) -> Result<(), Error> {
            self.check(p, g)?;
            p.iter_mut().zip(g).for_each(|(p, g)| *p -= self.0 * g);
            self.1 += 1;
            Ok(())
        }
        fn learning_rate(&self) -> f64 {
            self.0
        }
        fn set_learning_rate(&mut self, lr: f64) {
            self.0 = lr;
        }
        fn reset(&mut self) {
            self.1 = 0;
        }
        fn steps(&self) -> u64 {
            self.1
        }
    }
    let layout = Layout::new().tensor("emb", &[5, 2]).tensor("w", &[2, 2]).tensor("b", &[2]);
    let mut opt = Groups::new(layout.clone())
        .group(&["emb"], Plain(0.5, 0))
        .group(&["w"], Lion::new(1e-3))
        .group(&["b"], Sgd::new(0.1).momentum(0.9));
    let mut params = vec![1.0; layout.len()];
    opt.step(&mut params, &vec![1.0; layout.len()]).unwrap();
    assert_eq!(layout.view(&params, "emb").unwrap(), &[0.5; 10]);
    assert_eq!(layout.view(&params, "b").unwrap(), &[0.9; 2]);
    assert_eq!(opt.rule("emb").unwrap().steps(), 1);
    assert_eq!(opt.groups(), 3);
    assert_eq!(
        (opt.group_tensors(0), opt.group_tensors(2)),
        (Some(&["emb".to_string()][..]), Some(&["b".to_string()][..]))
    );
    assert_eq!(opt.group_tensors(3), None);
    assert_eq!(Optimizer::momentum(&opt), None); // group 0 (the custom rule) has none
    assert_eq!(opt.group_momentum(2), Some(0.9));
    opt.set_learning_rate(0.25);
    assert!((0..3).all(|g| opt.group_lr(g) == Some(0.25)));
    // `set_momentum` sets the groups that have one and says whether all have: not here
    assert!(!Optimizer::set_momentum(&mut opt, 0.5));
    assert_eq!(opt.group_momentum(2), Some(0.5));
    // every group has one, for one, two and three groups
    let sgd = || Sgd::new(0.1).momentum(0.9);
    for mut all in [
        Groups::new(layout.clone()).group(&["emb", "w", "b"], sgd()),
        Groups::new(layout.clone()).group(&["emb"], sgd()).group(&["w", "b"], sgd()),
        Groups::new(layout.clone()).group(&["emb"], sgd()).group(&["w"], sgd()).group(&["b"], sgd()),
    ] {
        assert!(Optimizer::set_momentum(&mut all, 0.5), "{} groups", all.groups());
        assert!((0..all.groups()).all(|g| all.group_momentum(g) == Some(0.5)));
    }
}

#[test]
fn schedules_drive_every_group_from_its_own_base_rate() {
    // A Groups with a schedule equals one optimizer per group, each with its own copy of the
    // schedule: torch's schedulers over param groups.
    let layout = Layout::new().tensor("w", &[3]).tensor("b", &[2]);
    type Make = Box<dyn Fn() -> Box<dyn Schedule<f64>>>;
    let schedules: Vec<(&str, Make)> = vec![
        ("StepLr", Box::new(|| Box::new(StepLr::new(3, 0.5)))),
        ("MultiStepLr", Box::new(|| Box::new(MultiStepLr::new(&[2, 5], 0.1)))),
        ("ExponentialLr", Box::new(|| Box::new(ExponentialLr::new(0.9)))),
        ("CosineAnnealingLr", Box::new(|| Box::new(CosineAnnealingLr::new(4, 1e-4)))),
        ("CosineAnnealingWarmRestarts", Box::new(|| Box::new(CosineAnnealingWarmRestarts::new(3, 2, 1e-4)))),
        ("LinearLr", Box::new(|| Box::new(LinearLr::new(0.1, 1.0, 5)))),
        ("OneCycleLr", Box::new(|| Box::new(OneCycleLr::new(0.5, 12)))),
        (
            "Sequential",
            Box::new(|| {
                Box::new(Sequential::new(
                    vec![Box::new(LinearLr::new(0.1, 1.0, 3)), Box::new(CosineAnnealingLr::new(6, 0.0))],
                    &[3],
                ))
            }),
        ),
        ("ReduceLrOnPlateau", Box::new(|| Box::new(ReduceLrOnPlateau::new(PlateauMode::Min, 0.5, 1)))),
    ];
    for (name, make) in schedules {
        let rules = [Sgd::new(0.1).momentum(0.9), Sgd::new(0.02).momentum(0.8)];
        let mut opt = Groups::new(layout.clone()).group(&["w"], rules[0].clone()).group(&["b"], rules[1].clone());
        let mut alone: Vec<Sgd<f64>> = rules.to_vec();
        let mut s = make();
        let mut each: Vec<Box<dyn Schedule<f64>>> = vec![make(), make()];
        s.start(&mut opt).unwrap();
        for (o, s) in alone.iter_mut().zip(&mut each) {
            s.start(o).unwrap();
        }
        for k in 0..12 {
            let metric = Some(1.0 + (k / 4) as f64 * 0.0);
            s.step(&mut opt, metric).unwrap();
            for (o, s) in alone.iter_mut().zip(&mut each) {
                s.step(o, metric).unwrap();
            }
            for (g, o) in alone.iter().enumerate() {
                assert_eq!(opt.group_lr(g), Some(o.learning_rate()), "{name}, step {k}, group {g}");
                assert_eq!(opt.group_momentum(g), Optimizer::momentum(o), "{name}, step {k}, group {g}");
            }
        }
    }
    // OneCycleLr with one max_lr per group
    let mut opt = Groups::new(layout.clone()).group(&["w"], Adam::new(0.1)).group(&["b"], Adam::new(0.1));
    let mut s = OneCycleLr::with_max_lrs(&[0.1, 0.01], 10);
    s.start(&mut opt).unwrap();
    let (mut a, mut b) = (Adam::new(0.1), Adam::new(0.1));
    let (mut sa, mut sb) = (OneCycleLr::new(0.1, 10), OneCycleLr::new(0.01, 10));
    sa.start(&mut a).unwrap();
    sb.start(&mut b).unwrap();
    for _ in 0..9 {
        s.step(&mut opt, None).unwrap();
        sa.step(&mut a, None).unwrap();
        sb.step(&mut b, None).unwrap();
        assert_eq!((opt.group_lr(0), opt.group_lr(1)), (Some(a.learning_rate()), Some(b.learning_rate())));
        assert_eq!(opt.group_momentum(1), Optimizer::momentum(&b));
    }
    let mut wrong = OneCycleLr::with_max_lrs(&[0.1, 0.2, 0.3], 10);
    assert!(matches!(
        Schedule::<f64>::start(&mut wrong, &mut opt),
        Err(Error::InvalidHyperparameter { name: "max_lrs", .. })
    ));
}

#[cfg(feature = "serde")]
#[test]
fn a_checkpoint_round_trips_and_resumes_bit_for_bit() {
    let (layout, mut opt) = model();
    let mut params: Vec<f64> = (0..layout.len()).map(|i| (i as f64).sin()).collect();
    let grad = |k: usize| -> Vec<f64> { (0..layout.len()).map(|i| ((i * 7 + k) as f64).cos()).collect() };
    for k in 0..5 {
        opt.step(&mut params, &grad(k)).unwrap();
    }
    let json = serde_json::to_string(&opt).unwrap();
    assert!(json.contains("\"w1\"") && json.contains("\"b2\""), "state keyed by tensor name");
    let saved: Groups<f64> = serde_json::from_str(&json).unwrap();
    let (_, mut resumed) = model();
    resumed.restore(saved).unwrap();
    let mut p2 = params.clone();
    for k in 5..10 {
        opt.step(&mut params, &grad(k)).unwrap();
        resumed.step(&mut p2, &grad(k)).unwrap();
    }
    assert_eq!(bits(&params), bits(&p2));
    assert_eq!(resumed.steps(), 10);
    // into a different layout: a typed error naming the first mismatch
    let other = Layout::new().tensor("w1", &[4, 3]).tensor("b1", &[4]).tensor("w2", &[3, 2]).tensor("b2", &[2]);
    let mut elsewhere = Groups::new(other).group(&["w1", "w2"], AdamW::new(1e-2)).group(&["b1", "b2"], Adam::new(1e-3));
    let e = elsewhere.restore(serde_json::from_str(&json).unwrap()).unwrap_err();
    assert_eq!(
        e,
        Error::LayoutMismatch {
            index: 1,
            what: "shape",
            expected: TensorName::new("b1"),
            found: TensorName::new("b1")
        }
    );
    let renamed = Layout::new().tensor("w1", &[4, 3]).tensor("bias1", &[3]).tensor("w2", &[3, 2]).tensor("b2", &[2]);
    let mut elsewhere =
        Groups::new(renamed).group(&["w1", "w2"], AdamW::new(1e-2)).group(&["bias1", "b2"], Adam::new(1e-3));
    let e = elsewhere.restore(serde_json::from_str(&json).unwrap()).unwrap_err();
    assert!(matches!(e, Error::LayoutMismatch { index: 1, what: "name", .. }), "{e}");
    // a checkpoint missing a tensor's state is an error, not a silent reset
    let mut v: Value = serde_json::from_str(&json).unwrap();
    v["tensors"].as_object_mut().unwrap().remove("w2");
    let e = serde_json::from_value::<Groups<f64>>(v).unwrap_err();
    assert!(e.to_string().contains("`w2`"), "{e}");
}

type AddGroup = Box<dyn Fn(&[&str], Groups<f64>) -> Groups<f64>>;
type Bare = Box<dyn Fn() -> Box<dyn Optimizer<f64>>>;

/// Elementwise rules as a group and as the bare rule, with the same hyperparameters.
fn elementwise_rules() -> Vec<(&'static str, AddGroup, Bare)> {
    macro_rules! rule {
        ($name:literal, $make:expr) => {
            (
                $name,
                Box::new(|n: &[&str], g: Groups<f64>| g.group(n, $make)) as AddGroup,
                Box::new(|| Box::new($make) as Box<dyn Optimizer<f64>>) as Bare,
            )
        };
    }
    vec![
        rule!("Sgd", Sgd::new(0.05).momentum(0.9).nesterov(true)),
        rule!("Adam", Adam::new(0.01).amsgrad(true)),
        rule!("AdamW", AdamW::new(0.01)),
        rule!("RmsProp", RmsProp::new(0.01).centered(true)),
        rule!("Adagrad", Adagrad::new(0.1)),
        rule!("Lion", Lion::new(0.01)),
        rule!("NAdam", NAdam::new(0.01)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// One group over every tensor equals the bare rule over the flat buffer, bit for bit
    /// (for the elementwise rules, whose per-tensor states partition the flat one).
    #[test]
    fn one_group_equals_the_bare_rule(
        sizes in prop::collection::vec(1usize..40, 1..5),
        seed in 0u64..1000,
        steps in 1usize..6,
    ) {
        let names: Vec<String> = (0..sizes.len()).map(|i| format!("t{i}")).collect();
        let layout = names.iter().zip(&sizes).fold(Layout::new(), |l, (n, &s)| l.tensor(n, &[s]));
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let n = layout.len();
        for (name, add, bare) in elementwise_rules() {
            let mut groups = add(&refs, Groups::new(layout.clone()));
            let mut bare_rule = bare();
            let mut a: Vec<f64> = (0..n).map(|i| ((i as u64 * 31 + seed) as f64 * 0.01).sin()).collect();
            let mut b = a.clone();
            for k in 0..steps {
                let g: Vec<f64> = (0..n).map(|i| ((i as u64 * 17 + seed + k as u64) as f64 * 0.3).cos()).collect();
                groups.step(&mut a, &g).unwrap();
                bare_rule.step(&mut b, &g).unwrap();
            }
            prop_assert_eq!(bits(&a), bits(&b), "{}", name);
        }
    }

    /// Splitting the tensors into several groups with equal hyperparameters equals one group.
    #[test]
    fn equal_groups_equal_one_group(
        sizes in prop::collection::vec(1usize..30, 2..6),
        cut in 1usize..5,
        seed in 0u64..1000,
    ) {
        let cut = cut.min(sizes.len() - 1);
        let names: Vec<String> = (0..sizes.len()).map(|i| format!("t{i}")).collect();
        let layout = names.iter().zip(&sizes).fold(Layout::new(), |l, (n, &s)| l.tensor(n, &[s, 2]));
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let n = layout.len();
        for (name, add, _) in elementwise_rules() {
            let mut one = add(&refs, Groups::new(layout.clone()));
            let mut two = add(&refs[cut..], add(&refs[..cut], Groups::new(layout.clone())));
            let mut a: Vec<f64> = (0..n).map(|i| ((i as u64 * 13 + seed) as f64 * 0.02).sin()).collect();
            let mut b = a.clone();
            for k in 0..4u64 {
                let g: Vec<f64> = (0..n).map(|i| ((i as u64 * 7 + seed + k) as f64 * 0.4).cos()).collect();
                one.step(&mut a, &g).unwrap();
                two.step(&mut b, &g).unwrap();
            }
            prop_assert_eq!(bits(&a), bits(&b), "{}", name);
        }
    }
}

/// A group of a rule from outside the crate's list (here a wrapper) prints as `Custom(..)`;
/// `eval_params` with lengths that do not match the layout leaves `out` alone, whichever of the
/// two is wrong (gaps found by mutation testing).
#[test]
fn a_wrapped_rule_prints_and_mismatched_eval_lengths_write_nothing() {
    let layout = Layout::new().tensor("w", &[2, 2]).tensor("b", &[2]);
    let opt = Groups::new(layout).group(&["w"], MultiSteps::new(Adam::new(0.1_f64), 2)).group(&["b"], Sgd::new(0.1));
    assert!(format!("{opt:?}").contains("Custom(..)"), "{opt:?}");
    let params = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let mut out = [7.0; 5];
    opt.eval_params(&params, &mut out);
    assert_eq!(out, [7.0; 5], "a short out");
    let mut out = [7.0; 6];
    opt.eval_params(&params[..5], &mut out);
    assert_eq!(out, [7.0; 6], "short params");
    opt.eval_params(&params, &mut out);
    assert_eq!(out, params, "matching lengths: the evaluation point of SGD and MultiSteps is the params");
}
