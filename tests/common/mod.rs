//! Shared helpers of the integration tests: the recorded golden cases and how to replay them.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gradus::*;
use serde_json::Value;

/// The notebook's 29 inputs.
pub const NOTEBOOK_X: [f64; 29] = [
    14., 86., 28., 51., 28., 29., 72., 62., 84., 15., 42., 62., 47., 35., 9., 38., 44., 99., 13., 21., 28., 20., 8.,
    64., 99., 70., 27., 17., 8.,
];

pub fn notebook_y() -> Vec<f64> {
    NOTEBOOK_X.iter().map(|x| 30.0 + 2.0 * x).collect()
}

pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("data")
}

/// The shared golden directory next to the repository, when present (it may hold more cases
/// than the vendored copy).
pub fn shared_golden() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("shared").join("golden");
    p.is_dir().then_some(p)
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            json_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "json") {
            out.push(p);
        }
    }
}

/// Every recorded trajectory case: the vendored `tests/data/` plus `../shared/golden/` when
/// present, deduplicated by id (the shared copy wins).
pub fn golden_cases() -> Vec<Value> {
    let mut files = Vec::new();
    json_files(&data_dir(), &mut files);
    if let Some(shared) = shared_golden() {
        json_files(&shared, &mut files);
    }
    let mut by_id = BTreeMap::new();
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        if !(name.starts_with("torch_") || name.starts_with("optax_")) {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for case in v.as_array().expect("a list of cases") {
            by_id.insert(case["id"].as_str().unwrap().to_string(), case.clone());
        }
    }
    by_id.into_values().collect()
}

pub fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

pub fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(f).collect()
}

/// Keys of `hyper_resolved` that select a code path or dtype policy, not the math.
const IGNORED: &[&str] = &["foreach", "fused", "capturable", "differentiable", "mu_dtype", "mask"];

/// Builds the optimizer a case describes, generic over the float type. Panics on a
/// hyperparameter it does not know (so a new recorded option cannot be silently ignored).
pub fn build<T: num_traits::Float + Send + Sync + 'static>(case: &Value) -> Box<dyn Optimizer<T>> {
    let name = case["optimizer"].as_str().unwrap();
    let h = case["hyper_resolved"].as_object().unwrap();
    let mut used: Vec<&str> = IGNORED.to_vec();
    let mut get = |k: &'static str| -> Option<&Value> {
        used.push(k);
        h.get(k).filter(|v| !v.is_null())
    };
    let t = |v: &Value| T::from(f(v)).unwrap();
    let pair = |v: &Value| {
        let a = v.as_array().unwrap();
        (t(&a[0]), t(&a[1]))
    };
    let b = |v: Option<&Value>| v.and_then(Value::as_bool).unwrap_or(false);
    let opt: Box<dyn Optimizer<T>> = match name {
        "SGD" => {
            let mut o = Sgd::new(t(get("lr").unwrap()))
                .momentum(t(get("momentum").unwrap()))
                .dampening(t(get("dampening").unwrap()))
                .weight_decay(t(get("weight_decay").unwrap()))
                .nesterov(b(get("nesterov")));
            o = o.maximize(b(get("maximize")));
            Box::new(o)
        }
        "Adam" | "AdamW" => {
            let (b1, b2) = pair(get("betas").unwrap());
            let mut o = Adam::new(t(get("lr").unwrap()))
                .betas(b1, b2)
                .eps(t(get("eps").unwrap()))
                .weight_decay(t(get("weight_decay").unwrap()))
                .amsgrad(b(get("amsgrad")))
                .maximize(b(get("maximize")));
            let decoupled = b(get("decoupled_weight_decay")) || name == "AdamW";
            o = o.decoupled_weight_decay(decoupled);
            if name == "AdamW" {
                let (b1, b2) = pair(&h["betas"]);
                let w = AdamW::new(t(&h["lr"]))
                    .betas(b1, b2)
                    .eps(t(&h["eps"]))
                    .weight_decay(t(&h["weight_decay"]))
                    .amsgrad(b(h.get("amsgrad")))
                    .maximize(b(h.get("maximize")))
                    .decoupled_weight_decay(decoupled);
                Box::new(w)
            } else {
                Box::new(o)
            }
        }
        "RMSprop" => Box::new(
            RmsProp::new(t(get("lr").unwrap()))
                .alpha(t(get("alpha").unwrap()))
                .eps(t(get("eps").unwrap()))
                .weight_decay(t(get("weight_decay").unwrap()))
                .momentum(t(get("momentum").unwrap()))
                .centered(b(get("centered")))
                .maximize(b(get("maximize"))),
        ),
        "Adagrad" => Box::new(
            Adagrad::new(t(get("lr").unwrap()))
                .lr_decay(t(get("lr_decay").unwrap()))
                .weight_decay(t(get("weight_decay").unwrap()))
                .initial_accumulator_value(t(get("initial_accumulator_value").unwrap()))
                .eps(t(get("eps").unwrap()))
                .maximize(b(get("maximize"))),
        ),
        "Adadelta" => Box::new(
            Adadelta::new(t(get("lr").unwrap()))
                .rho(t(get("rho").unwrap()))
                .eps(t(get("eps").unwrap()))
                .weight_decay(t(get("weight_decay").unwrap()))
                .maximize(b(get("maximize"))),
        ),
        "Adamax" => {
            let (b1, b2) = pair(get("betas").unwrap());
            Box::new(
                Adamax::new(t(get("lr").unwrap()))
                    .betas(b1, b2)
                    .eps(t(get("eps").unwrap()))
                    .weight_decay(t(get("weight_decay").unwrap()))
                    .maximize(b(get("maximize"))),
            )
        }
        "NAdam" => {
            let (b1, b2) = pair(get("betas").unwrap());
            Box::new(
                NAdam::new(t(get("lr").unwrap()))
                    .betas(b1, b2)
                    .eps(t(get("eps").unwrap()))
                    .weight_decay(t(get("weight_decay").unwrap()))
                    .momentum_decay(t(get("momentum_decay").unwrap()))
                    .decoupled_weight_decay(b(get("decoupled_weight_decay")))
                    .maximize(b(get("maximize"))),
            )
        }
        "RAdam" => {
            let (b1, b2) = pair(get("betas").unwrap());
            Box::new(
                RAdam::new(t(get("lr").unwrap()))
                    .betas(b1, b2)
                    .eps(t(get("eps").unwrap()))
                    .weight_decay(t(get("weight_decay").unwrap()))
                    .decoupled_weight_decay(b(get("decoupled_weight_decay")))
                    .maximize(b(get("maximize"))),
            )
        }
        "Rprop" => {
            let (m, p) = pair(get("etas").unwrap());
            let (lo, hi) = pair(get("step_sizes").unwrap());
            Box::new(Rprop::new(t(get("lr").unwrap())).etas(m, p).step_sizes(lo, hi).maximize(b(get("maximize"))))
        }
        "ASGD" => Box::new(
            Asgd::new(t(get("lr").unwrap()))
                .lambd(t(get("lambd").unwrap()))
                .alpha(t(get("alpha").unwrap()))
                .t0(t(get("t0").unwrap()))
                .weight_decay(t(get("weight_decay").unwrap()))
                .maximize(b(get("maximize"))),
        ),
        "optax.adam" => Box::new(
            Adam::new(t(get("learning_rate").unwrap()))
                .betas(t(get("b1").unwrap()), t(get("b2").unwrap()))
                .eps(t(get("eps").unwrap()))
                .eps_root(get("eps_root").map_or(T::zero(), t))
                .nesterov(b(get("nesterov"))),
        ),
        "optax.lion" => Box::new(
            Lion::new(t(get("learning_rate").unwrap()))
                .betas(t(get("b1").unwrap()), t(get("b2").unwrap()))
                .weight_decay(t(get("weight_decay").unwrap())),
        ),
        "optax.adabelief" => Box::new(
            AdaBelief::new(t(get("learning_rate").unwrap()))
                .betas(t(get("b1").unwrap()), t(get("b2").unwrap()))
                .eps(t(get("eps").unwrap()))
                .eps_root(t(get("eps_root").unwrap()))
                .nesterov(b(get("nesterov"))),
        ),
        "optax.yogi" => {
            let mut o = Yogi::new(t(get("learning_rate").unwrap()))
                .betas(t(get("b1").unwrap()), t(get("b2").unwrap()))
                .eps(t(get("eps").unwrap()));
            if let Some(v) = get("initial_accumulator_value") {
                o = o.initial_accumulator_value(t(v));
            }
            if let Some(v) = get("eps_root") {
                o = o.eps_root(t(v));
            }
            Box::new(o)
        }
        "optax.lamb" => Box::new(
            Lamb::new(t(get("learning_rate").unwrap()))
                .betas(t(get("b1").unwrap()), t(get("b2").unwrap()))
                .eps(t(get("eps").unwrap()))
                .eps_root(t(get("eps_root").unwrap()))
                .weight_decay(t(get("weight_decay").unwrap())),
        ),
        other => panic!("unknown optimizer {other}"),
    };
    if name != "AdamW" {
        let unknown: Vec<&String> = h.keys().filter(|k| !used.contains(&k.as_str())).collect();
        assert!(unknown.is_empty(), "{}: unhandled hyperparameters {unknown:?}", case["id"]);
    }
    opt
}

/// The gradient of a case's problem at `x`, for step `k` (0-based).
pub fn problem_grad<T: num_traits::Float>(case: &Value, k: usize, x: &[T], g: &mut [T]) {
    let c = |v: f64| T::from(v).unwrap();
    match case["problem"].as_str().unwrap() {
        "quadratic" => {
            let a = [1.0, 10.0, 100.0, 0.5, 3.0];
            for i in 0..x.len() {
                g[i] = c(a[i]) * x[i];
            }
        }
        "rosenbrock2" => {
            let (px, py) = (x[0], x[1]);
            let t = py - px * px;
            g[0] = (c(-2.0) * (c(1.0) - px)) - ((c(400.0) * px) * t);
            g[1] = c(200.0) * t;
        }
        "matrix_quadratic" => {
            // g = A * X elementwise: the recorded `A`, or optax's A_ij = 0.5*(1 + ((2i + 3j) mod 7))
            let a: Vec<f64> = match case.get("A") {
                Some(a) => floats(a),
                None => {
                    let cols = case["shape"][1].as_u64().unwrap() as usize;
                    (0..x.len()).map(|k| 0.5 * (1 + (2 * (k / cols) + 3 * (k % cols)) % 7) as f64).collect()
                }
            };
            for i in 0..x.len() {
                g[i] = c(a[i]) * x[i];
            }
        }
        "fixed_grads" | "matrix_fixed" => {
            let row = &case["grads"][k];
            for i in 0..x.len() {
                g[i] = c(f(&row[i]));
            }
        }
        "seed_linear" => {
            let j = k % 29;
            let xj = c(NOTEBOOK_X[j]);
            let yj = c(30.0) + c(2.0) * xj;
            let r = (x[0] + x[1] * xj) - yj;
            g[0] = c(2.0) * r;
            g[1] = g[0] * xj;
        }
        p => panic!("unknown problem {p}"),
    }
}

/// The README's pass criterion for one row.
pub fn rel_err(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "compared vectors differ in length");
    a.iter().zip(b).map(|(&a, &b)| rel(a, b)).fold(0.0, f64::max)
}

/// `|a - b| / max(|a|, |b|, 1e-3)`, the recordings' metric, for one element; infinite when
/// exactly one of the two is NaN or infinite (`f64::max` would drop a NaN: a NaN result would
/// pass every comparison), 0 when both are the same non-finite value.
pub fn rel(a: f64, b: f64) -> f64 {
    if a == b || (a.is_nan() && b.is_nan()) {
        0.0
    } else if !a.is_finite() || !b.is_finite() {
        f64::INFINITY
    } else {
        (a - b).abs() / a.abs().max(b.abs()).max(1e-3)
    }
}

/// Replays a case in `f64`; returns the worst relative error over all recorded rows.
pub fn replay(case: &Value) -> f64 {
    let mut opt = build::<f64>(case);
    let mut x = floats(&case["init"]);
    let steps = case["steps"].as_u64().unwrap() as usize;
    let every = case["record_every"].as_u64().unwrap() as usize;
    let traj = case["trajectory"].as_array().unwrap();
    assert_eq!(traj.len(), steps / every, "{}", case["id"]);
    let mut g = vec![0.0; x.len()];
    let mut worst = 0.0_f64;
    for k in 0..steps {
        problem_grad(case, k, &x, &mut g);
        opt.step(&mut x, &g).unwrap_or_else(|e| panic!("{} step {k}: {e}", case["id"]));
        if (k + 1) % every == 0 {
            let want = floats(&traj[(k + 1) / every - 1]);
            worst = worst.max(rel_err(&x, &want));
        }
    }
    worst
}
