//! The torch.optim rules beyond the first batch, replayed from `tests/recorded/` at relative
//! 1e-9: SparseAdam, AveragedModel (`WeightAverage`), Adafactor, L-BFGS, Muon.

mod common;

use gradus::*;
use serde_json::Value;

const TOL: f64 = 1e-9;

fn recorded(name: &str) -> Vec<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("recorded").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str::<Value>(&text).unwrap().as_array().unwrap().clone()
}

/// Checks that `h` (a `hyper_resolved`) has no key outside `known`, so that no recorded option
/// is silently ignored.
fn known_keys(case: &Value, known: &[&str]) {
    const IGNORED: &[&str] = &["foreach", "fused", "capturable", "differentiable"];
    for k in case["hyper_resolved"].as_object().unwrap().keys() {
        assert!(known.contains(&&k[..]) || IGNORED.contains(&&k[..]), "{}: unknown hyperparameter {k}", case["id"]);
    }
}

fn pair(v: &Value) -> (f64, f64) {
    let a = common::floats(v);
    (a[0], a[1])
}

/// The gradient of the problems of this batch (and the first batch's, through `common`).
fn grad(case: &Value, k: usize, x: &[f64], g: &mut [f64]) {
    match case["problem"].as_str().unwrap() {
        "matrix_fixed" => g.copy_from_slice(&common::floats(&case["grads"][k])),
        "matrix_quadratic" => {
            let a = common::floats(&case["A"]);
            for i in 0..x.len() {
                g[i] = a[i] * x[i];
            }
        }
        _ => common::problem_grad(case, k, x, g),
    }
}

/// Steps `opt` through a case's trajectory; the worst relative error of any recorded row.
fn replay(case: &Value, opt: &mut dyn Optimizer<f64>) -> f64 {
    let mut x = common::floats(&case["init"]);
    let mut g = vec![0.0; x.len()];
    let every = case["record_every"].as_u64().unwrap_or(1) as usize;
    let mut worst = 0.0_f64;
    for k in 0..case["steps"].as_u64().unwrap() as usize {
        grad(case, k, &x, &mut g);
        opt.step(&mut x, &g).unwrap_or_else(|e| panic!("{} step {k}: {e}", case["id"]));
        if (k + 1) % every == 0 {
            worst = worst.max(common::rel_err(&x, &common::floats(&case["trajectory"][(k + 1) / every - 1])));
        }
    }
    worst
}

fn assert_all_pass(results: Vec<(String, f64)>, tol: f64) {
    for (id, err) in &results {
        eprintln!("{id}: {err:.2e}");
    }
    let bad: Vec<_> = results.iter().filter(|(_, e)| e.is_nan() || *e > tol).collect();
    assert!(bad.is_empty(), "{} of {} cases fail: {bad:?}", bad.len(), results.len());
}

#[test]
fn sparse_adam_matches_torch() {
    // the shared recording, and ours with eps and maximize (scripts/record_torch_options.py)
    let cases = [recorded("torch_SparseAdam.json"), recorded("torch_SparseAdam_options.json")].concat();
    assert!(cases.len() >= 6);
    let mut results = Vec::new();
    for case in &cases {
        known_keys(case, &["lr", "betas", "eps", "maximize"]);
        let h = &case["hyper_resolved"];
        let (b1, b2) = pair(&h["betas"]);
        let shape: Vec<usize> =
            case["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
        let mut opt = SparseAdam::new(common::f(&h["lr"]))
            .betas(b1, b2)
            .eps(common::f(&h["eps"]))
            .maximize(h["maximize"].as_bool().unwrap())
            .shape(&shape);
        let mut x = common::floats(&case["init"]);
        let mut worst = 0.0_f64;
        for (k, step) in case["sparse_grads"].as_array().unwrap().iter().enumerate() {
            let entries = step.as_array().unwrap();
            let rows: Vec<usize> = entries.iter().map(|e| e[0].as_u64().unwrap() as usize).collect();
            let values: Vec<f64> = entries.iter().flat_map(|e| common::floats(&e[1])).collect();
            opt.step_rows(&mut x, &rows, &values).unwrap();
            worst = worst.max(common::rel_err(&x, &common::floats(&case["trajectory"][k])));
        }
        assert_eq!(opt.steps(), case["steps"].as_u64().unwrap());
        results.push((case["id"].to_string(), worst));
    }
    assert_all_pass(results, TOL);
}

#[test]
fn sparse_adam_steps_only_listed_rows_and_rejects_bad_rows() {
    let mut opt = SparseAdam::new(0.1_f64).shape(&[4, 2]);
    let mut table = vec![1.0; 8];
    // duplicates are summed: [1, 1] twice is [2, 2] once
    let mut twin = opt.clone();
    let mut table2 = table.clone();
    opt.step_rows(&mut table, &[2, 2], &[1.0, 1.0, 1.0, 1.0]).unwrap();
    twin.step_rows(&mut table2, &[2], &[2.0, 2.0]).unwrap();
    assert_eq!(table, table2);
    assert_eq!(&table[..4], &[1.0; 4]);
    // an empty step counts and moves nothing
    opt.step_rows(&mut table, &[], &[]).unwrap();
    assert_eq!((opt.steps(), &table[..]), (2, &table2[..]));
    // bad rows, lengths, values, shape: errors with nothing written
    let before = (table.clone(), opt.clone());
    assert_eq!(opt.step_rows(&mut table, &[0, 9], &[0.0; 4]), Err(Error::RowOutOfRange { index: 1, row: 9, rows: 4 }));
    // one row of 2 values per listed row: 1 row, 2 values expected
    assert!(matches!(
        opt.step_rows(&mut table, &[0], &[0.0; 3]),
        Err(Error::ShapeMismatch { expected: 2, found: 3, .. })
    ));
    assert!(matches!(
        opt.step_rows(&mut table, &[0, 1, 3], &[0.0; 4]),
        Err(Error::ShapeMismatch { expected: 6, found: 4, .. })
    ));
    assert!(matches!(opt.step_rows(&mut table[..6], &[0], &[0.0; 2]), Err(Error::ShapeMismatch { .. })));
    assert!(matches!(
        opt.step_rows(&mut table, &[1], &[0.0, f64::NAN]),
        Err(Error::NonFiniteGradient { index: 1, .. })
    ));
    assert_eq!((table.clone(), opt.clone()), before);
    let mut shapeless = SparseAdam::new(0.1_f64);
    assert_eq!(shapeless.step_rows(&mut table, &[0], &[0.0; 2]), Err(Error::MissingShape { rule: "SparseAdam" }));
    // inside Groups the layout gives the shape
    let layout = Layout::new().tensor("emb", &[4, 2]);
    let mut groups = Groups::new(layout).group(&["emb"], SparseAdam::new(0.1_f64));
    let mut p = vec![1.0; 8];
    groups.step(&mut p, &[0.5; 8]).unwrap();
    assert_eq!(groups.rule("emb").unwrap().steps(), 1);
}

#[test]
fn weight_average_matches_averaged_model() {
    let cases = recorded("torch_AveragedModel.json");
    assert!(cases.len() >= 6);
    let mut results = Vec::new();
    for case in &cases {
        let mut opt = common::build::<f64>(case);
        let mut avg = match case["averaging"]["kind"].as_str().unwrap() {
            "swa" => WeightAverage::swa(),
            "ema" => WeightAverage::ema(common::f(&case["averaging"]["decay"])),
            k => panic!("unknown averaging {k}"),
        };
        let start = case["avg_start"].as_u64().unwrap() as usize;
        let mut x = common::floats(&case["init"]);
        let mut g = vec![0.0; x.len()];
        let mut worst = 0.0_f64;
        for k in 0..case["steps"].as_u64().unwrap() as usize {
            grad(case, k, &x, &mut g);
            opt.step(&mut x, &g).unwrap();
            worst = worst.max(common::rel_err(&x, &common::floats(&case["trajectory"][k])));
            if k >= start {
                avg.update(&x).unwrap();
                worst = worst.max(common::rel_err(avg.averaged(), &common::floats(&case["averaged"][k - start])));
            }
        }
        assert_eq!(avg.count(), case["n_averaged"].as_u64().unwrap());
        results.push((case["id"].to_string(), worst));
    }
    assert_all_pass(results, TOL);
}

fn shape_of(case: &Value) -> Vec<usize> {
    case["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect()
}

fn adafactor(case: &Value) -> Adafactor<f64> {
    known_keys(case, &["lr", "beta2_decay", "eps", "d", "weight_decay", "maximize"]);
    let h = &case["hyper_resolved"];
    let eps = h["eps"].as_array().unwrap();
    Adafactor::new(common::f(&h["lr"]))
        .beta2_decay(common::f(&h["beta2_decay"]))
        .eps(eps[0].as_f64(), common::f(&eps[1]))
        .d(common::f(&h["d"]))
        .weight_decay(common::f(&h["weight_decay"]))
        .maximize(h["maximize"].as_bool().unwrap())
        .shape(&shape_of(case))
}

#[test]
fn adafactor_matches_torch() {
    // the shared recording, and ours with beta2_decay, eps, d and maximize, and over a 3-D tensor
    // (scripts/record_torch_options.py)
    let cases = [recorded("torch_Adafactor.json"), recorded("torch_Adafactor_options.json")].concat();
    assert!(cases.len() >= 37);
    let results = cases.iter().map(|case| (case["id"].to_string(), replay(case, &mut adafactor(case)))).collect();
    assert_all_pass(results, TOL);
}

#[test]
fn adafactor_state_is_one_value_per_row_and_column() {
    // O(m + n) bytes of state per matrix: measured on the state it holds after a step
    for (m, n) in [(4, 6), (64, 3), (300, 200)] {
        let mut opt = Adafactor::new(1e-2_f32).shape(&[m, n]);
        let mut p = vec![0.5_f32; m * n];
        opt.step(&mut p, &vec![0.1; m * n]).unwrap();
        assert_eq!(opt.state_len(), m + n);
        assert_eq!(opt.state_len() * std::mem::size_of::<f32>(), 4 * (m + n));
    }
    // a 3-D tensor factors each of its matrices
    let mut opt = Adafactor::new(1e-2_f64).shape(&[3, 4, 5]);
    opt.step(&mut [0.5; 60], &[0.1; 60]).unwrap();
    assert_eq!(opt.state_len(), 3 * (4 + 5));
    // and a vector keeps one per element
    let mut opt = Adafactor::new(1e-2_f64);
    opt.step(&mut [0.5; 7], &[0.1; 7]).unwrap();
    assert_eq!(opt.state_len(), 7);
    // a shape that does not fit the parameters is an error with nothing written
    let mut opt = Adafactor::new(1e-2_f64).shape(&[2, 3]);
    let mut p = vec![1.0; 5];
    assert!(matches!(opt.step(&mut p, &[0.1; 5]), Err(Error::ShapeMismatch { expected: 6, found: 5, .. })));
    assert_eq!(p, vec![1.0; 5]);
}

/// The loss and gradient of an L-BFGS case's problem, in the recording's operation order.
fn lbfgs_objective(case: &Value, x: &[f64], g: &mut [f64]) -> f64 {
    common::problem_grad(case, 0, x, g);
    match case["problem"].as_str().unwrap() {
        "quadratic" => {
            let a = [1.0, 10.0, 100.0, 0.5, 3.0];
            let mut s = 0.0;
            for i in 0..x.len() {
                s += (a[i] * x[i]) * x[i];
            }
            0.5 * s
        }
        "rosenbrock2" => {
            let (u, t) = (1.0 - x[0], x[1] - x[0] * x[0]);
            u * u + (100.0 * t) * t
        }
        p => panic!("unknown problem {p}"),
    }
}

fn lbfgs(case: &Value) -> Lbfgs<f64> {
    known_keys(
        case,
        &[
            "lr",
            "max_iter",
            "max_eval",
            "tolerance_grad",
            "tolerance_change",
            "history_size",
            "line_search_fn",
            "maximize",
        ],
    );
    let h = &case["hyper_resolved"];
    let int = |k: &str| h[k].as_u64().unwrap() as usize;
    let line_search = match h["line_search_fn"].as_str() {
        None => None,
        Some("strong_wolfe") => Some(LineSearch::StrongWolfe),
        Some(l) => panic!("unknown line search {l}"),
    };
    Lbfgs::new(common::f(&h["lr"]))
        .max_iter(int("max_iter"))
        .max_eval(int("max_eval"))
        .tolerance_grad(common::f(&h["tolerance_grad"]))
        .tolerance_change(common::f(&h["tolerance_change"]))
        .history_size(int("history_size"))
        .line_search_fn(line_search)
        .maximize(h["maximize"].as_bool().unwrap_or(false))
}

#[test]
fn lbfgs_matches_torch_with_losses_and_counts() {
    // the shared recording, and ours with history_size, tolerances, lr, max_eval and one- and
    // two-iteration steps (scripts/record_lbfgs_options.py)
    let cases = [recorded("torch_LBFGS.json"), recorded("torch_LBFGS_options.json")].concat();
    assert!(cases.len() >= 25);
    let mut results = Vec::new();
    for case in &cases {
        let mut opt = lbfgs(case);
        let mut x = common::floats(&case["init"]);
        let mut worst = 0.0_f64;
        for j in 0..case["steps"].as_u64().unwrap() as usize {
            let loss = opt.step(&mut x, |p, g| lbfgs_objective(case, p, g)).unwrap();
            worst = worst.max(common::rel_err(&x, &common::floats(&case["trajectory"][j])));
            worst = worst.max(common::rel_err(&[loss], &[common::f(&case["losses"][j])]));
            assert_eq!(opt.func_evals(), case["func_evals"][j].as_u64().unwrap(), "{} step {j}", case["id"]);
            assert_eq!(opt.n_iters(), case["n_iters"][j].as_u64().unwrap(), "{} step {j}", case["id"]);
        }
        results.push((case["id"].to_string(), worst));
    }
    assert_all_pass(results, TOL);
}

#[test]
fn lbfgs_restores_everything_on_a_non_finite_closure() {
    let rosen = |p: &[f64], g: &mut [f64]| {
        let (x, y) = (p[0], p[1]);
        g[0] = -2.0 * (1.0 - x) - 400.0 * x * (y - x * x);
        g[1] = 200.0 * (y - x * x);
        (1.0 - x).powi(2) + 100.0 * (y - x * x).powi(2)
    };
    let mut opt = Lbfgs::new(1.0).line_search_fn(Some(LineSearch::StrongWolfe)).max_iter(3);
    let mut p = [-1.2, 1.0];
    opt.step(&mut p, rosen).unwrap();
    let (before, pristine) = (p, opt.clone());
    // the second evaluation of the next step goes wrong (inside its line search)
    let mut calls = 0;
    let e = opt
        .step(&mut p, |q, g| {
            calls += 1;
            let l = rosen(q, g);
            if calls == 2 {
                g[1] = f64::NAN;
            }
            l
        })
        .unwrap_err();
    assert!(matches!(e, Error::NonFiniteClosure { what: "gradient", index: 1, .. }), "{e}");
    assert_eq!(p, before);
    assert_eq!(opt, pristine);
    let e = opt.step(&mut p, |_, _| f64::INFINITY).unwrap_err();
    assert!(matches!(e, Error::NonFiniteClosure { what: "loss", .. }));
    assert_eq!((p, opt.func_evals()), (before, pristine.func_evals()));
    // bad settings and lengths are errors before the closure runs
    assert!(matches!(opt.step(&mut [1.0, 2.0, 3.0], rosen), Err(Error::StateMismatch { expected: 2, found: 3 })));
    assert!(Lbfgs::new(1.0).history_size(0).step(&mut p, rosen).is_err());
    assert_eq!(Lbfgs::new(1.0).step(&mut [], rosen), Err(Error::EmptyData { what: "params" }));
}

fn muon(case: &Value) -> Muon<f64> {
    known_keys(
        case,
        &["lr", "weight_decay", "momentum", "nesterov", "ns_coefficients", "eps", "ns_steps", "adjust_lr_fn"],
    );
    let h = &case["hyper_resolved"];
    let ns = common::floats(&h["ns_coefficients"]);
    let adjust = match h["adjust_lr_fn"].as_str() {
        None | Some("original") => AdjustLr::Original,
        Some("match_rms_adamw") => AdjustLr::MatchRmsAdamW,
        Some("spectral_unclamped") => AdjustLr::SpectralUnclamped,
        Some(a) => panic!("unknown adjust_lr_fn {a}"),
    };
    Muon::new(common::f(&h["lr"]))
        .weight_decay(common::f(&h["weight_decay"]))
        .momentum(common::f(&h["momentum"]))
        .nesterov(h["nesterov"].as_bool().unwrap())
        .ns_coefficients(ns[0], ns[1], ns[2])
        .eps(common::f(&h["eps"]))
        .ns_steps(h["ns_steps"].as_u64().unwrap() as usize)
        .adjust_lr_fn(adjust)
        .shape(&shape_of(case))
}

#[test]
fn muon_matches_torch_float64_iteration() {
    // the shared recording, and ours with weight_decay, ns_steps, ns_coefficients, eps and
    // adjust_lr_fn "spectral_unclamped"
    // (scripts/record_torch_options.py)
    let cases = [recorded("torch_Muon.json"), recorded("torch_Muon_options.json")].concat();
    assert!(cases.len() >= 23);
    let results = cases.iter().map(|case| (case["id"].to_string(), replay(case, &mut muon(case)))).collect();
    assert_all_pass(results, TOL);
}

#[test]
fn muon_is_within_the_loose_bound_of_torch_bfloat16_iteration() {
    // torch's own Muon iterates in bfloat16; the recordings' README advises, for an iteration in
    // float64: per row, max_i |a_i - b_i| <= 0.05 * displacement_scale
    let cases = recorded("torch_Muon_bfloat16.json");
    assert!(cases.len() >= 4);
    for case in &cases {
        let mut opt = muon(case);
        let scale = common::f(&case["displacement_scale"]);
        let mut x = common::floats(&case["init"]);
        let mut g = vec![0.0; x.len()];
        for k in 0..case["steps"].as_u64().unwrap() as usize {
            grad(case, k, &x, &mut g);
            opt.step(&mut x, &g).unwrap();
            let want = common::floats(&case["trajectory"][k]);
            let dev = x.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, |m, d| {
                if d.is_nan() {
                    f64::INFINITY
                } else {
                    m.max(d)
                }
            });
            assert!(dev <= 0.05 * scale, "{} step {k}: {dev} > 0.05 * {scale}", case["id"]);
        }
    }
}

#[test]
fn muon_takes_matrices_only_and_works_in_f32_and_in_groups() {
    let mut p = vec![0.5; 6];
    let e = Muon::new(0.02_f64).shape(&[6]).step(&mut p, &[0.1; 6]).unwrap_err();
    assert!(matches!(e, Error::InvalidHyperparameter { name: "shape", .. }), "{e}");
    assert_eq!(Muon::new(0.02_f64).step(&mut p, &[0.1; 6]), Err(Error::MissingShape { rule: "Muon" }));
    assert!(matches!(Muon::new(0.02_f64).shape(&[2, 2]).step(&mut p, &[0.1; 6]), Err(Error::ShapeMismatch { .. })));
    // the error gives the length the shape needs, m * n
    let e = Muon::new(0.02_f64).shape(&[2, 4]).step(&mut p, &[0.1; 6]).unwrap_err();
    assert_eq!(e, Error::ShapeMismatch { what: "params (m * n of the shape)", expected: 8, found: 6 });
    assert_eq!(p, vec![0.5; 6]);
    // f32 (sgemm) agrees with f64 (dgemm) to f32 precision, and the generic fallback runs too
    let g: Vec<f64> = (0..24).map(|i| ((i * 7 % 11) as f64 - 5.0) * 0.1).collect();
    let (mut a, mut b) = (vec![0.3_f64; 24], vec![0.3_f32; 24]);
    let (mut m64, mut m32) = (Muon::new(0.02_f64).shape(&[4, 6]), Muon::new(0.02_f32).shape(&[4, 6]));
    for _ in 0..5 {
        m64.step(&mut a, &g).unwrap();
        m32.step(&mut b, &g.iter().map(|&v| v as f32).collect::<Vec<_>>()).unwrap();
    }
    assert!(a.iter().zip(&b).all(|(&x, &y)| (x - y as f64).abs() < 1e-5));
    // inside Groups the layout gives the shape; the rest of the model goes to AdamW
    let layout = Layout::new().tensor("w", &[4, 6]).tensor("b", &[6]);
    let mut opt = Groups::new(layout.clone()).group(&["w"], Muon::new(0.02)).group(&["b"], AdamW::new(1e-3));
    let mut params = vec![0.3; layout.len()];
    let grads: Vec<f64> = (0..layout.len()).map(|i| (i as f64 * 0.37).sin()).collect();
    opt.step(&mut params, &grads).unwrap();
    let mut alone = Muon::new(0.02).shape(&[4, 6]);
    let mut w = vec![0.3; 24];
    alone.step(&mut w, &grads[..24]).unwrap();
    assert_eq!(layout.view(&params, "w").unwrap(), &w[..]);
}

/// ASGD's average once averaging starts (`t0` below the step count), against torch's
/// `_single_tensor_asgd` written out in f64: no recording has `t0` small enough to start it, so
/// a wrong `mu` (found by mutation testing) changed nothing any other test saw.
#[test]
fn asgd_averages_as_torch_once_t0_is_passed() {
    let (lr, lambd, alpha, t0, wd) = (0.01, 1e-3, 0.75, 5.0, 0.01);
    let a = [1.0, 10.0, 100.0, 0.5, 3.0];
    let mut opt = Asgd::new(lr).lambd(lambd).alpha(alpha).t0(t0).weight_decay(wd);
    let mut x = vec![1.0, -2.0, 3.0, -4.0, 5.0];
    // torch: eta = lr, mu = 1; per step: grad += wd*p; p *= 1 - lambd*eta; p += -eta*grad;
    // ax = mu != 1 ? ax + (p - ax)*mu : p; eta = lr / (1 + lambd*lr*step)^alpha;
    // mu = 1 / max(1, step - t0)
    let (mut p, mut ax, mut eta, mut mu) = (x.clone(), vec![0.0; 5], lr, 1.0_f64);
    for step in 1..=30 {
        let g: Vec<f64> = a.iter().zip(&x).map(|(a, x)| a * x).collect();
        opt.step(&mut x, &g).unwrap();
        for i in 0..5 {
            let grad = a[i] * p[i] + wd * p[i];
            p[i] *= 1.0 - lambd * eta;
            p[i] += -eta * grad;
            ax[i] = if mu != 1.0 { ax[i] + (p[i] - ax[i]) * mu } else { p[i] };
        }
        eta = lr / (1.0 + lambd * lr * step as f64).powf(alpha);
        mu = 1.0 / f64::max(1.0, step as f64 - t0);
        assert!(common::rel_err(&x, &p) <= 1e-9, "step {step}: params {x:?} vs {p:?}");
        assert!(common::rel_err(opt.ax(), &ax) <= 1e-9, "step {step}: ax {:?} vs {ax:?}", opt.ax());
        // the coefficients the next step uses, as torch's state holds them
        assert!(common::rel(opt.eta(), eta) <= 1e-12 && opt.mu() == mu, "step {step}: {} {}", opt.eta(), opt.mu());
    }
    assert!(common::rel_err(opt.ax(), &x) > 1e-3, "the average must differ from the params");
}

/// LBFGS stops when the loss changes by less than `tolerance_change` (torch's
/// `abs(loss - prev_loss) < tolerance_change`), though the step is not small: on `f(x) = 0.01 x`
/// with lr 1e-9 the first iteration moves `x` by 1e-11 (above the tolerance 1e-12) and the loss by
/// 1e-13, so torch evaluates the closure twice and stops. No recording stops by this test (a gap
/// found by mutation testing).
#[test]
fn lbfgs_stops_when_the_loss_stops_changing() {
    let mut opt = Lbfgs::new(1e-9_f64).tolerance_grad(0.0).tolerance_change(1e-12);
    let mut x = vec![1.0];
    let calls = std::cell::Cell::new(0);
    opt.step(&mut x, |x: &[f64], g: &mut [f64]| {
        calls.set(calls.get() + 1);
        g[0] = 0.01;
        0.01 * x[0]
    })
    .unwrap();
    assert_eq!(calls.get(), 2, "evaluations");
    assert_eq!(x, [1.0 + 1e-9 * -0.01]);
}

/// LBFGS's two other stop tests, on a closure whose gradient is always (1, 1): without history
/// (`y = 0`, so no pair is kept) each direction is `d = -g`, the first step `t = min(1, 1/|g|_1) lr`
/// and every later one `t = lr`, so the iterations taken show in the point.
/// - A loss that never changes, with `tolerance_change` 0: torch's `abs(loss - prev_loss) <
///   tolerance_change` is `0 < 0`, false, so all `max_iter` iterations run (and the closure is
///   called 5 times: the last iteration does not evaluate it).
/// - A loss that falls by 1 a call, with `tolerance_change` 0.3 and lr 0.5: the first step is
///   `max|d t| = 0.25 <= 0.3`, so torch stops after it (with `t = 0.25`, `d / t` would be 4).
///
/// torch 2.15 gives these points and counts.
#[test]
fn lbfgs_stops_on_the_step_not_on_a_loss_tie() {
    let flat = |_: &[f64], g: &mut [f64]| {
        g.fill(1.0);
        1.0
    };
    let mut opt = Lbfgs::new(1.0_f64).max_iter(5).tolerance_grad(0.0).tolerance_change(0.0);
    let mut x = vec![0.0, 0.0];
    opt.step(&mut x, flat).unwrap();
    assert_eq!((x.clone(), opt.n_iters(), opt.func_evals()), (vec![-4.5, -4.5], 5, 5));

    let calls = std::cell::Cell::new(0.0);
    let falling = |_: &[f64], g: &mut [f64]| {
        calls.set(calls.get() + 1.0);
        g.fill(1.0);
        10.0 - calls.get()
    };
    let mut opt = Lbfgs::new(0.5_f64).max_iter(5).tolerance_grad(0.0).tolerance_change(0.3);
    let mut x = vec![0.0, 0.0];
    opt.step(&mut x, falling).unwrap();
    assert_eq!((x, opt.n_iters(), opt.func_evals()), (vec![-0.25, -0.25], 1, 2));
}

/// torch's Adafactor divides the outer product of the row and column statistics by the rows'
/// mean clamped at `eps1`, then clamps the estimate at `eps1^2`. The first clamp shows only when
/// the rows' mean is below `eps1` while some estimate stays above `eps1^2`: gradients whose mean
/// square (about 1.5 here) is under `eps1` (2) and concentrated in one column (a mutation
/// survivor: the row statistic scaled by `n^2` instead of `1/n`, which that clamp alone sees).
/// A 4x6 matrix, lr 0.05, `eps` (2, 1e-3), column 0 of the gradient `3 - k`, the rest
/// `0.1 (k + 1)`, three steps; torch 2.15.0, float64.
#[test]
fn adafactor_clamps_the_row_mean_at_eps1() {
    let torch = [
        0.4530561741149045,
        0.4446881449573357,
        0.39468814495733573,
        0.3446881449573357,
        0.2946881449573357,
        0.24468814495733573,
        0.15305617411490446,
        0.1446881449573357,
        0.09468814495733567,
        0.04468814495733569,
        -0.005311855042664297,
        -0.055311855042664344,
        -0.14694382588509558,
        -0.1553118550426643,
        -0.20531185504266433,
        -0.2553118550426643,
        -0.30531185504266434,
        -0.3553118550426644,
        -0.4469438258850955,
        -0.45531185504266436,
        -0.5053118550426644,
        -0.5553118550426644,
        -0.6053118550426645,
        -0.6553118550426645,
    ];
    let mut opt = Adafactor::new(0.05_f64).eps(Some(2.0), 1e-3).shape(&[4, 6]);
    let mut p: Vec<f64> = (0..24).map(|k| 0.5 - 0.05 * k as f64).collect();
    for k in 0..3 {
        let g: Vec<f64> = (0..24).map(|i| if i % 6 == 0 { 3.0 - k as f64 } else { 0.1 * (k + 1) as f64 }).collect();
        opt.step(&mut p, &g).unwrap();
    }
    assert!(common::rel_err(&p, &torch) <= TOL, "{p:?}");
}

/// RAdam rectifies only when `rho_t > 5` (torch's test): with `beta2 = 0.8397685748659791`,
/// `rho_6` is exactly 5.0 (as torch and this crate compute it: `powf` both), so step 6 takes the
/// plain bias-corrected step and step 7 the first rectified one. torch 2.15.0, float64, lr 0.1,
/// betas (0.9, beta2), gradients `(0.3 (k + 1), -0.2, 0.1 (-1)^k)` for steps k = 0..6.
#[test]
fn radam_at_rho_exactly_5_does_not_rectify() {
    let torch = [
        [0.97, -1.98, 0.49],
        [0.9242105263157895, -1.96, 0.4905263157894737],
        [0.8621072052825791, -1.94, 0.4871683822101379],
        [0.7831685603276504, -1.92, 0.4876946979996116],
        [0.6868771388727408, -1.9, 0.48565054767361227],
        [0.5727206078915837, -1.88, 0.486176863463086],
        [0.5366382227327859, -1.838651233541406, 0.4800102435643843],
    ];
    let mut opt = RAdam::new(0.1_f64).betas(0.9, 0.8397685748659791);
    let mut p = [1.0, -2.0, 0.5];
    for (k, want) in torch.iter().enumerate() {
        let sign = if k % 2 == 0 { 1.0 } else { -1.0 };
        opt.step(&mut p, &[0.3 * (k + 1) as f64, -0.2, 0.1 * sign]).unwrap();
        assert!(common::rel_err(&p, want) <= TOL, "step {}: {p:?} vs {want:?}", k + 1);
    }
}

/// `Lbfgs::reset` forgets the history, the step length and the counts: the next `step` is a
/// fresh optimizer's (a mutation survivor: `reset` emptied was caught by its doctest only).
#[test]
fn a_reset_lbfgs_steps_as_a_fresh_one() {
    let rosenbrock = |p: &[f64], g: &mut [f64]| {
        let (x, y) = (p[0], p[1]);
        g[0] = -2.0 * (1.0 - x) - 400.0 * x * (y - x * x);
        g[1] = 200.0 * (y - x * x);
        (1.0 - x).powi(2) + 100.0 * (y - x * x).powi(2)
    };
    let new = || Lbfgs::new(1.0_f64).max_iter(4).line_search_fn(Some(LineSearch::StrongWolfe));
    let mut used = new();
    let mut p = vec![-1.2, 1.0];
    used.step(&mut p, rosenbrock).unwrap();
    used.step(&mut p, rosenbrock).unwrap();
    used.reset();
    assert_eq!((used.func_evals(), used.n_iters()), (0, 0));
    let mut fresh = new();
    let (mut a, mut b) = (vec![0.5, -0.5], vec![0.5, -0.5]);
    for _ in 0..2 {
        let (fa, fb) = (used.step(&mut a, rosenbrock).unwrap(), fresh.step(&mut b, rosenbrock).unwrap());
        assert_eq!((fa.to_bits(), a.clone()), (fb.to_bits(), b.clone()));
        assert_eq!((used.func_evals(), used.n_iters()), (fresh.func_evals(), fresh.n_iters()));
    }
}

/// L-BFGS's comparisons at exact ties, on scripted 1-D closures (each call's loss and gradient
/// chosen so that both sides of one comparison are the same float, formed by the same operations
/// in torch and here), against torch 2.15.0 (`scripts/record_lbfgs_ties.py`, which also checks
/// that the comparison turned the other way calls the closure elsewhere):
/// - `ys > 1e-10` with `ys = 1e-10` exactly (lr `1e-10 * 2^30`, `y = -2^-30`): no curvature pair;
/// - `gtd > -tolerance_change` with `gtd = -1` and `tolerance_change` 1: the step is taken;
/// - the extrapolation's Armijo test `f_new > f + c1 t gtd` with the first trial on the line and
///   a flat enough slope: the search ends there;
/// - the zoom's stop `width * max|d| < 1e-9` with the product exactly 1e-9 (lr 1e-9, g = 2): the
///   zoom goes on;
/// - the zoom's Armijo test with its trial on the line, below the bracket's low end: it stops.
///
/// And four cases beside the ties: a zoom that stops at once on a narrow bracket whose ends are
/// both nonzero (`|b1 - b0| max|d| < 1e-9`); a first trial above the Armijo line but below `f`,
/// which brackets; a third extrapolation trial below the Armijo line but above the second, which
/// brackets (`ls_iter > 1 && f_new >= f_prev`); and zoom trials above the Armijo line but below
/// the bracket's low end, which become its high end.
#[test]
fn lbfgs_ties_resolve_as_torch() {
    // f + c1 t gtd from f = 1, gtd = -1, at x = -t: 1 + (c1 t)(-1), which is 1 - c1 t exactly
    let armijo_line = |x: f64| 1.0 - 1e-4 * -x;
    type Script = Box<dyn Fn(f64, usize) -> (f64, f64)>;
    let strong_wolfe = |lr: f64| Lbfgs::new(lr).max_iter(1).max_eval(20).line_search_fn(Some(LineSearch::StrongWolfe));
    let cases: Vec<(&str, Lbfgs<f64>, Script, &[f64])> = vec![
        (
            "curvature",
            Lbfgs::new(1e-10 * 2f64.powi(30)).max_iter(3),
            Box::new(|_, n| [(1.0, 1.0), (0.5, 1.0 - 2f64.powi(-30)), (0.25, 0.5), (0.125, 0.25)][n]),
            &[0.0, -0.1073741824, -0.2147483647, -0.2147483647],
        ),
        (
            "descent",
            Lbfgs::new(1.0).max_iter(3).tolerance_change(1.0),
            Box::new(|_, n| (1.0 - n as f64, 1.0)),
            &[0.0, -1.0, -1.0],
        ),
        (
            "narrow",
            Lbfgs::new(1e-9).max_iter(1).max_eval(40).line_search_fn(Some(LineSearch::StrongWolfe)),
            Box::new(|x, n| match n {
                0 => (0.0, 1.0),
                _ if -x <= 1.1e-9 => (-2.0 * -x, 1.0),
                _ => (1.0, 1.0),
            }),
            &[0.0, -1e-09, -1.1454972243679029e-09, -1e-09],
        ),
        (
            "band_extrapolation",
            strong_wolfe(1.0),
            Box::new(|x, n| if n == 0 { (1.0, 1.0) } else { (1.0 - 0.5 * 1e-4 * -x, 0.5) }),
            &[
                0.0,
                -1.0,
                -0.2616050916529198,
                -0.4176676150980738,
                -0.5407457409685076,
                -0.6378108449625612,
                -0.7143608764709608,
                -0.7747317727334936,
                -0.8223430544498385,
                -0.8598915138401952,
                -0.8895039660104391,
                -0.9128577157453801,
                -0.9312755631950519,
                -0.9458007297541444,
                -0.9572559480768014,
                -0.9662900631959559,
                -0.973414784321935,
                -0.9790336690110779,
                -0.9834649814219966,
                -0.9869597193939474,
                -0.9897158314348188,
                -1.0,
            ],
        ),
        (
            "rise_late",
            strong_wolfe(1.0),
            Box::new(|_, n| if n < 4 { [(0.0, 1.0), (-1.0, 1.0), (-2.0, 1.0), (-1.5, 1.0)][n] } else { (-1.6, 0.0) }),
            &[
                0.0,
                -1.0,
                -10.0,
                -10.09,
                -10.002349468976224,
                -10.000234946897622,
                -10.000000022993266,
                -10.000000002299327,
                -10.000000000229933,
                -10.0,
            ],
        ),
        (
            "armijo_band",
            strong_wolfe(1.0),
            Box::new(|x, n| match n {
                0 => (1.0, 1.0),
                1 => (3.0, 1.0),
                _ => (1.0 - 0.5 * 1e-4 * -x, 0.5),
            }),
            &[
                0.0,
                -1.0,
                -0.05904144815590151,
                -0.015445543456145704,
                -0.02465970084321193,
                -0.03192641163091663,
                -0.03765727593612876,
                -0.04217690065276457,
                -0.045741285794574205,
                -0.04855232481566578,
                -0.05076924023409547,
                -0.05251760229367403,
                -0.05389644149789544,
                -0.054983857883238514,
                -0.055841444751593035,
                -0.05651777743030468,
                -0.05705116466974672,
                -0.05747181852273144,
                -0.05780356561179949,
                -0.05806519671377133,
                -0.05827153110456075,
                -0.05904144815590151,
            ],
        ),
        (
            "armijo_extrapolation",
            strong_wolfe(1.0),
            Box::new(move |x, n| match n {
                0 => (1.0, 1.0),
                1 => (armijo_line(x), -0.5),
                _ => (2.0, 1.0),
            }),
            &[0.0, -1.0, -1.0],
        ),
        (
            "width",
            strong_wolfe(1e-9),
            Box::new(|x, n| if n == 0 { (0.0, 2.0) } else { (5.0 + x, 2.0 + x) }),
            &[0.0, -1e-09, -6.666662146871127e-20, 0.0],
        ),
        (
            "armijo_zoom",
            strong_wolfe(1.0),
            Box::new(move |x, n| match n {
                0 => (1.0, 1.0),
                1 => (3.0, 1.0),
                2 => (armijo_line(x), 0.5),
                _ => (2.0, 1.0),
            }),
            &[0.0, -1.0, -0.05904144815590151, -0.05904144815590151],
        ),
    ];
    for (name, opt, script, torch) in cases {
        let mut x = vec![0.0];
        let mut seen = Vec::new();
        opt.tolerance_grad(0.0)
            .step(&mut x, |x: &[f64], g: &mut [f64]| {
                let (f, grad) = script(x[0], seen.len());
                seen.push(x[0]);
                g[0] = grad;
                f
            })
            .unwrap();
        seen.push(x[0]);
        assert_eq!(seen.len(), torch.len(), "{name}: {seen:?}");
        assert!(common::rel_err(&seen, torch) <= TOL, "{name}: {seen:?}");
    }
}

/// The strong-Wolfe search extrapolates by at most 10x the last step (torch's
/// `max_step = t * 10` bound of `_cubic_interpolate`): on `f(x) = 0.0005 (x - 100)^2` from 0 the
/// first trial (t = 1) is far short of the minimum, the cubic points at t = 1000, and the bound
/// makes the second trial t = 10, x = 1.0 (a gap found by mutation testing).
#[test]
fn strong_wolfe_extrapolates_at_most_ten_times() {
    let mut opt = Lbfgs::new(1.0_f64).line_search_fn(Some(LineSearch::StrongWolfe)).max_iter(4).max_eval(100);
    let mut x = vec![0.0];
    let seen = std::cell::RefCell::new(Vec::new());
    opt.step(&mut x, |x: &[f64], g: &mut [f64]| {
        seen.borrow_mut().push(x[0]);
        g[0] = 0.001 * (x[0] - 100.0);
        0.0005 * (x[0] - 100.0) * (x[0] - 100.0)
    })
    .unwrap();
    let seen = seen.into_inner();
    assert!(seen.len() >= 3, "{seen:?}");
    assert_eq!(seen[..3], [0.0, 0.1, 1.0], "{seen:?}");
}

/// `a x + b x² + c x³ + sin 2x` and its derivative (two of the strong-Wolfe problems).
fn cubic_sine2(x: f64, a: f64, b: f64, c: f64) -> (f64, f64) {
    (a * x + b * x * x + c * x * x * x + (2.0 * x).sin(), a + 2.0 * b * x + 3.0 * c * x * x + 2.0 * (2.0 * x).cos())
}

/// Every point torch's L-BFGS evaluates (`max_iter` 3, strong Wolfe) on ten 1-D problems whose
/// line search takes branches no recorded trajectory takes, recorded from torch 2.15.0 by
/// `scripts/record_strong_wolfe.py`:
/// - `-x + 1.5x² - x³ + 0.02x⁴` from 0, `max_eval` 5: at t = 1 the cubic has no minimizer, so the
///   next trial is the middle of the extrapolation bounds, (1.01 + 10) / 2; the next three are
///   held by the lower bound `t + 0.01 (t - t_prev)`;
/// - `x - 0.1x³ + 0.5 sin 2x` from 1: the zoom moves once to `max(bracket) - eps`;
/// - `x + 2x² - 0.1x³ + sin 5x` from 0.5: the zoom moves twice to `min(bracket) + eps`;
/// - `-2x - 0.5x² + 0.1x³ + 0.5 sin 2x` from 0: the zoom interpolates over a bracket whose first
///   point is the larger (and the second not 0);
/// - `2x - 0.1x² - 0.1x³ + sin 15x` from 0.5: the second extrapolation trial's loss is not below
///   the first's while the slope is still steep, which brackets only from the third trial on
///   (`ls_iter > 1`);
/// - `10x + 10x²` from 0 with `tolerance_change` 2: the zoom goes on over a bracket whose width
///   times `max|d|` is 1, as torch's step passes the line search no `tolerance_change` (it keeps
///   `_strong_wolfe`'s 1e-9; gradus passed its own until this test);
/// - `-2x + 0.5x³ + 2 sin 5x` from 1: the first trial rises above the Armijo line while the
///   slope there is still negative, and brackets at once;
/// - `-3x + 0.2x² + 0.2x³ + sin 8x` from 1: the zoom's first trial passes the Armijo test but is
///   not below the bracket's low end, which alone makes it the bracket's high end;
/// - `a x + b x² + c x³ + sin 2x` from 1 (coefficients from a random search): the zoom moves a
///   trial near the end of a bracket whose lower end is not 0;
/// - `a x + b x² + c x³ + sin 2x` from 0.5 (a random search): the insufficient-progress move picks
///   the nearer end of a bracket narrower than its upper end's value.
///
/// Each point moves by less than 1e-12 when every loss and gradient changes by 1e-15 (the script
/// checks it). (Gaps found by mutation testing: `0.01 *` → `0.01 +` and `bmax - eps` →
/// `bmax + eps` passed every other test.)
#[test]
fn strong_wolfe_trial_points_match_torch() {
    type Problem = (fn(f64) -> (f64, f64), f64, usize, f64, &'static [f64]);
    let problems: [Problem; 10] = [
        (
            |x| (-x + 1.5 * x * x - x * x * x + 0.02 * x.powi(4), -1.0 + 3.0 * x - 3.0 * x * x + 0.08 * x.powi(3)),
            0.0,
            5,
            1e-9,
            &[0.0, 1.0, 5.505, 5.55005, 5.5505005, 5.550505005],
        ),
        (
            |x| (x - 0.1 * x * x * x + 0.5 * (2.0 * x).sin(), 1.0 - 0.3 * x * x + (2.0 * x).cos()),
            1.0,
            100,
            1e-9,
            &[
                1.0,
                0.7161468365471424,
                -1.838531634528576,
                -1.456490944603048,
                -1.2581847964286725,
                -1.0607516331310909,
                -3.042475526802079,
                -1.1659004286765664,
                -1.1225934211862973,
            ],
        ),
        (
            |x| {
                (
                    x + 2.0 * x * x - 0.1 * x * x * x + (5.0 * x).sin(),
                    1.0 + 4.0 * x - 0.3 * x * x + 5.0 * (5.0 * x).cos(),
                )
            },
            0.5,
            100,
            1e-9,
            &[
                0.5,
                1.5,
                0.5609341112876457,
                0.6548407001588812,
                0.7024381431628409,
                0.7821943288465568,
                0.7126380804738252,
                0.7646695637734556,
                0.7646236900215705,
            ],
        ),
        (
            |x| {
                let f = -2.0 * x - 0.5 * x * x + 0.1 * x * x * x + 0.5 * (2.0 * x).sin();
                (f, -2.0 - x + 0.3 * x * x + (2.0 * x).cos())
            },
            0.0,
            100,
            1e-9,
            &[0.0, 1.0, 5.505, 4.774568360903294, 5.101413011903178, 5.134135612225502, 5.103250705446039],
        ),
        (
            |x| {
                let f = 2.0 * x - 0.1 * x * x - 0.1 * x * x * x + (15.0 * x).sin();
                (f, 2.0 - 0.2 * x - 0.3 * x * x + 15.0 * (15.0 * x).cos())
            },
            0.5,
            100,
            1e-9,
            &[
                0.5,
                -0.49999999999999994,
                -5.005,
                -5.05005,
                -5.104758229034323,
                -6.048264558512488,
                -5.278840415021514,
                -5.108179929854492,
                -5.109522249240612,
            ],
        ),
        (|x| (10.0 * x + 10.0 * x * x, 10.0 + 20.0 * x), 0.0, 100, 2.0, &[0.0, -1.0, -0.5]),
        (
            |x| (-2.0 * x + 0.5 * x * x * x + 2.0 * (5.0 * x).sin(), -2.0 + 1.5 * x * x + 10.0 * (5.0 * x).cos()),
            1.0,
            100,
            1e-9,
            &[1.0, 1.618071596685442e-17, 0.9457330407255813, 0.9552294648560709, 0.9551187489060644],
        ),
        (
            |x| {
                let f = -3.0 * x + 0.2 * x * x + 0.2 * x * x * x + (8.0 * x).sin();
                (f, -3.0 + 0.4 * x + 0.6 * x * x + 8.0 * (8.0 * x).cos())
            },
            1.0,
            100,
            1e-9,
            &[
                1.0,
                2.0,
                6.505,
                2.741552251544385,
                2.12895932042908,
                3.008521675975127,
                2.377886956818659,
                2.1465119216358577,
                2.1499797770461644,
            ],
        ),
        (
            |x| cubic_sine2(x, 0.09267498312483102, 0.6360798375510375, -0.07730046849569397),
            1.0,
            100,
            1e-9,
            &[
                1.0,
                0.6993604203544608,
                0.6963540245580054,
                -2.036459754419946,
                -0.3893502789324784,
                -0.5415396010951973,
                -0.6910316164276721,
                -0.5943685368887062,
                -0.5958688870672783,
                -0.5944222766180152,
            ],
        ),
        (
            |x| cubic_sine2(x, -1.270456204114326, -0.8462233423735723, 0.13881488740118814),
            0.5,
            100,
            1e-9,
            &[
                0.5,
                1.4319637692007277,
                3.9909565281076986,
                19.713055868386878,
                4.789354166292952,
                6.281724336502345,
                5.124091323249331,
                8.13956033758728,
                5.190012043687397,
                5.188547809315521,
            ],
        ),
    ];
    // each problem as recorded, and maximized on its negated loss (torch evaluates the same
    // points: the script checks it)
    for ((f, x0, max_eval, tolerance_change, torch), maximize) in problems.iter().flat_map(|p| [(p, false), (p, true)])
    {
        let mut opt = Lbfgs::new(1.0_f64)
            .line_search_fn(Some(LineSearch::StrongWolfe))
            .max_iter(3)
            .max_eval(*max_eval)
            .tolerance_change(*tolerance_change)
            .maximize(maximize);
        let mut x = vec![*x0];
        let seen = std::cell::RefCell::new(Vec::new());
        let sign = if maximize { -1.0 } else { 1.0 };
        let first = opt
            .step(&mut x, |x: &[f64], g: &mut [f64]| {
                seen.borrow_mut().push(x[0]);
                let (loss, grad) = f(x[0]);
                g[0] = sign * grad;
                sign * loss
            })
            .unwrap();
        // the step returns the closure's first loss, as the closure returned it (torch's orig_loss)
        assert_eq!(first, sign * f(*x0).0, "maximize {maximize}");
        let seen = seen.into_inner();
        assert_eq!(seen.len(), torch.len(), "maximize {maximize}: {seen:?}");
        let err = common::rel_err(&seen, torch);
        assert!(err <= TOL, "maximize {maximize}: relative error {err:e}: {seen:?}");
        assert!(common::rel(x[0], *torch.last().unwrap()) <= TOL, "{x:?}");
    }
}
