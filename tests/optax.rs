//! optax's rules (optax 0.2.8, x64), replayed from `tests/recorded/optax_*.json` at relative
//! 1e-9 through the types that reproduce them.

mod common;

use gradus::*;
use serde_json::Value;

const TOL: f64 = 1e-9;

fn recorded(name: &str) -> Vec<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("recorded").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str::<Value>(&text).unwrap().as_array().unwrap().clone()
}

/// optax's float32 `linear_schedule(0, 5, 20)` of the count, as the recordings' README gives it.
fn alpha_0_to_5_over_20(count: u64) -> f64 {
    let (init, end, steps) = (0.0_f32, 5.0_f32, 20.0_f32);
    let c = (count as f32).clamp(0.0, steps);
    f64::from((init - end) * (1.0 - c / steps) + end)
}

/// `optax.contrib.prodigy` from a case's resolved keywords.
fn prodigy(h: &Value) -> Prodigy<f64> {
    let num = |k: &str| common::f(&h[k]);
    let o = Prodigy::new(num("learning_rate"))
        .betas(common::f(&h["betas"][0]), common::f(&h["betas"][1]))
        .eps(num("eps"))
        .estim_lr0(num("estim_lr0"))
        .estim_lr_coef(num("estim_lr_coef"))
        .weight_decay(num("weight_decay"))
        .safeguard_warmup(h["safeguard_warmup"].as_bool().unwrap());
    if h["beta3"].is_null() {
        o
    } else {
        o.beta3(num("beta3"))
    }
}

/// The rule a case names, from its resolved keywords (panics on one it does not know).
fn build(case: &Value) -> Box<dyn Optimizer<f64>> {
    let h = &case["hyper_resolved"];
    let name = case["optimizer"].as_str().unwrap();
    if matches!(name, "optax.adam" | "optax.lion" | "optax.yogi" | "optax.lamb") {
        // the rules of the first recordings (tests/data): configured as tests/parity.rs does
        return common::build::<f64>(case);
    }
    let num = |k: &str| common::f(&h[k]);
    let flag = |k: &str| h[k].as_bool().unwrap();
    let lr = || num("learning_rate");
    let allowed: &[&str] = match name {
        "optax.sign_sgd" => &["learning_rate"],
        "optax.optimistic_gradient_descent" => &["learning_rate", "alpha", "beta"],
        "optax.fromage" => &["learning_rate", "min_norm"],
        "optax.lars" => &[
            "learning_rate",
            "weight_decay",
            "weight_decay_mask",
            "trust_coefficient",
            "eps",
            "trust_ratio_mask",
            "momentum",
            "nesterov",
        ],
        "optax.novograd" => &["learning_rate", "b1", "b2", "eps", "eps_root", "weight_decay"],
        "optax.contrib.prodigy" => &[
            "learning_rate",
            "betas",
            "beta3",
            "eps",
            "estim_lr0",
            "estim_lr_coef",
            "weight_decay",
            "safeguard_warmup",
        ],
        "optax.sm3" => &["learning_rate", "momentum"],
        "optax.adan" => &["learning_rate", "b1", "b2", "b3", "eps", "eps_root", "weight_decay", "mask"],
        "optax.contrib.adopt" => {
            &["learning_rate", "b1", "b2", "eps", "mu_dtype", "nesterov", "use_clipping", "clip_value_fn"]
        }
        "optax.contrib.ademamix" => {
            &["learning_rate", "b1", "b2", "b3", "alpha", "eps", "eps_root", "mu_dtype", "weight_decay", "mask"]
        }
        "optax.contrib.simplified_ademamix" => {
            &["learning_rate", "b1", "b2", "alpha", "eps", "eps_root", "weight_decay", "mask"]
        }
        "optax.sgd" => &["learning_rate", "momentum", "nesterov", "accumulator_dtype"],
        "optax.rmsprop" => &[
            "learning_rate",
            "decay",
            "eps",
            "initial_scale",
            "eps_in_sqrt",
            "centered",
            "momentum",
            "nesterov",
            "bias_correction",
        ],
        "optax.adagrad" => &["learning_rate", "initial_accumulator_value", "eps"],
        "optax.amsgrad" => {
            &["learning_rate", "b1", "b2", "eps", "eps_root", "mu_dtype", "bias_correction_mu", "bias_correction_nu"]
        }
        "optax.adamaxw" => &["learning_rate", "b1", "b2", "eps", "weight_decay", "mask"],
        "optax.nadamw" => {
            &["learning_rate", "b1", "b2", "eps", "eps_root", "mu_dtype", "weight_decay", "mask", "nesterov"]
        }
        "optax.radam" => &["learning_rate", "b1", "b2", "eps", "eps_root", "threshold", "nesterov"],
        "optax.adabelief" => &["learning_rate", "b1", "b2", "eps", "eps_root", "nesterov"],
        "optax.contrib.muon" => &[
            "learning_rate",
            "ns_coeffs",
            "ns_steps",
            "beta",
            "eps",
            "weight_decay",
            "weight_decay_mask",
            "mu_dtype",
            "nesterov",
            "adaptive",
            "preconditioning",
            "adam_b1",
            "adam_b2",
            "adam_eps_root",
            "adam_weight_decay",
            "adam_learning_rate",
            "muon_weight_dimension_numbers",
            "consistent_rms",
        ],
        "optax.adafactor" => &[
            "learning_rate",
            "min_dim_size_to_factor",
            "decay_rate",
            "decay_offset",
            "multiply_by_parameter_scale",
            "clipping_threshold",
            "momentum",
            "dtype_momentum",
            "weight_decay_rate",
            "eps",
            "factored",
            "weight_decay_mask",
        ],
        n => panic!("no builder for {n}"),
    };
    for (k, v) in h.as_object().unwrap() {
        assert!(allowed.contains(&&k[..]), "{}: unknown keyword {k}", case["id"]);
        let muon_none = ["optax.contrib.muon", "optax.adafactor"].contains(&name)
            && ["weight_decay_mask", "muon_weight_dimension_numbers"].contains(&&k[..]);
        if muon_none || ["mask", "mu_dtype", "accumulator_dtype"].contains(&&k[..]) {
            assert!(v.is_null(), "{}: {k} must be None", case["id"]);
        }
    }
    match name {
        "optax.sign_sgd" => Box::new(SignSgd::new(lr())),
        "optax.optimistic_gradient_descent" => Box::new(OptimisticGd::new(lr()).alpha(num("alpha")).beta(num("beta"))),
        "optax.fromage" => Box::new(Fromage::new(lr()).min_norm(num("min_norm"))),
        "optax.lars" => Box::new(
            Lars::new(lr())
                .weight_decay(num("weight_decay"))
                .weight_decay_mask(flag("weight_decay_mask"))
                .trust_coefficient(num("trust_coefficient"))
                .eps(num("eps"))
                .trust_ratio_mask(flag("trust_ratio_mask"))
                .momentum(num("momentum"))
                .nesterov(flag("nesterov")),
        ),
        "optax.novograd" => Box::new(
            NovoGrad::new(lr())
                .betas(num("b1"), num("b2"))
                .eps(num("eps"))
                .eps_root(num("eps_root"))
                .weight_decay(num("weight_decay")),
        ),
        "optax.sm3" => Box::new(Sm3::new(lr()).momentum(num("momentum"))),
        "optax.contrib.prodigy" => Box::new(prodigy(h)),
        "optax.adan" => Box::new(
            Adan::new(lr())
                .betas(num("b1"), num("b2"), num("b3"))
                .eps(num("eps"))
                .eps_root(num("eps_root"))
                .weight_decay(num("weight_decay")),
        ),
        "optax.contrib.adopt" => {
            let clip = match h["clip_value_fn"].as_str().unwrap() {
                "lambda x: x**0.25" => |x: u64| (x as f64).powf(0.25),
                "lambda x: x**0.5" => |x: u64| (x as f64).powf(0.5),
                f => panic!("unknown clip_value_fn {f}"),
            };
            Box::new(
                Adopt::new(lr())
                    .betas(num("b1"), num("b2"))
                    .eps(num("eps"))
                    .nesterov(flag("nesterov"))
                    .use_clipping(flag("use_clipping"))
                    .clip_value_fn(clip),
            )
        }
        "optax.contrib.ademamix" => {
            let o = AdEmaMix::new(lr())
                .betas(num("b1"), num("b2"), num("b3"))
                .eps(num("eps"))
                .eps_root(num("eps_root"))
                .weight_decay(num("weight_decay"));
            Box::new(match &h["alpha"] {
                Value::String(s) => {
                    assert_eq!(s, "optax.linear_schedule(init_value=0.0, end_value=5.0, transition_steps=20)");
                    o.alpha_fn(alpha_0_to_5_over_20)
                }
                a => o.alpha(common::f(a)),
            })
        }
        "optax.contrib.simplified_ademamix" => Box::new(
            SimplifiedAdEmaMix::new(lr())
                .betas(num("b1"), num("b2"))
                .alpha(num("alpha"))
                .eps(num("eps"))
                .eps_root(num("eps_root"))
                .weight_decay(num("weight_decay")),
        ),
        "optax.sgd" => {
            let mut o = Sgd::new(lr()).form(Form::Optax).nesterov(flag("nesterov"));
            if let Some(m) = h["momentum"].as_f64() {
                o = o.momentum(m);
            }
            Box::new(o)
        }
        "optax.rmsprop" => {
            let mut o = RmsProp::new(lr())
                .form(Form::Optax)
                .alpha(num("decay"))
                .eps(num("eps"))
                .initial_square_avg(num("initial_scale"))
                .eps_in_sqrt(flag("eps_in_sqrt"))
                .centered(flag("centered"))
                .nesterov(flag("nesterov"))
                .bias_correction(flag("bias_correction"));
            if let Some(m) = h["momentum"].as_f64() {
                o = o.momentum(m);
            }
            Box::new(o)
        }
        "optax.adagrad" => Box::new(
            Adagrad::new(lr())
                .form(Form::Optax)
                .initial_accumulator_value(num("initial_accumulator_value"))
                .eps(num("eps")),
        ),
        "optax.amsgrad" => Box::new(
            Adam::new(lr())
                .form(Form::Optax)
                .amsgrad(true)
                .betas(num("b1"), num("b2"))
                .eps(num("eps"))
                .eps_root(num("eps_root"))
                .bias_correction_mu(flag("bias_correction_mu"))
                .bias_correction_nu(flag("bias_correction_nu")),
        ),
        "optax.adamaxw" => Box::new(
            Adamax::new(lr())
                .form(Form::Optax)
                .betas(num("b1"), num("b2"))
                .eps(num("eps"))
                .weight_decay(num("weight_decay")),
        ),
        "optax.nadamw" => {
            assert!(flag("nesterov"), "optax.nadamw is adamw with nesterov=True");
            Box::new(
                NAdam::new(lr())
                    .form(Form::Optax)
                    .betas(num("b1"), num("b2"))
                    .eps(num("eps"))
                    .eps_root(num("eps_root"))
                    .weight_decay(num("weight_decay")),
            )
        }
        "optax.radam" => Box::new(
            RAdam::new(lr())
                .form(Form::Optax)
                .betas(num("b1"), num("b2"))
                .eps(num("eps"))
                .eps_root(num("eps_root"))
                .threshold(num("threshold"))
                .nesterov(flag("nesterov")),
        ),
        "optax.adabelief" => Box::new(
            AdaBelief::new(lr())
                .betas(num("b1"), num("b2"))
                .eps(num("eps"))
                .eps_root(num("eps_root"))
                .nesterov(flag("nesterov")),
        ),
        "optax.contrib.muon" => Box::new(optax_muon(case)),
        "optax.adafactor" => Box::new(optax_adafactor(case)),
        _ => unreachable!(),
    }
}

/// `optax.contrib.muon` from a case's resolved keywords (the AdamW branch is for non-2-D
/// parameters, which these cases do not have).
fn optax_muon(case: &Value) -> Muon<f64> {
    let h = &case["hyper_resolved"];
    let num = |k: &str| common::f(&h[k]);
    let shape: Vec<usize> = case["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
    let precond = match h["preconditioning"].as_str().unwrap() {
        "frobenius" => Preconditioning::Frobenius,
        "spectral" => Preconditioning::Spectral,
        "aol" => Preconditioning::Aol,
        "schatten" => Preconditioning::Schatten,
        p => panic!("unknown preconditioning {p}"),
    };
    let mut o = Muon::new(num("learning_rate"))
        .form(Form::Optax)
        .shape(&shape)
        .ns_steps(h["ns_steps"].as_u64().unwrap() as usize)
        .momentum(num("beta"))
        .eps(num("eps"))
        .weight_decay(num("weight_decay"))
        .nesterov(h["nesterov"].as_bool().unwrap())
        .adaptive(h["adaptive"].as_bool().unwrap())
        .preconditioning(precond)
        .consistent_rms(h["consistent_rms"].as_f64());
    let c = h["ns_coeffs"].as_array().unwrap();
    if c[0].is_array() {
        let rows: Vec<[f64; 3]> = c
            .iter()
            .map(|r| {
                let r = common::floats(r);
                [r[0], r[1], r[2]]
            })
            .collect();
        o = o.ns_coeffs(&rows);
    } else {
        o = o.ns_coefficients(common::f(&c[0]), common::f(&c[1]), common::f(&c[2]));
    }
    o
}

/// `optax.adafactor` from a case's resolved keywords.
fn optax_adafactor(case: &Value) -> Adafactor<f64> {
    let h = &case["hyper_resolved"];
    let num = |k: &str| common::f(&h[k]);
    let lr = h["learning_rate"].as_f64().unwrap_or(1.0);
    let mut o = Adafactor::new(lr)
        .form(Form::Optax)
        .min_dim_size_to_factor(h["min_dim_size_to_factor"].as_u64().unwrap() as usize)
        .decay_rate(num("decay_rate"))
        .decay_offset(h["decay_offset"].as_u64().unwrap())
        .multiply_by_parameter_scale(h["multiply_by_parameter_scale"].as_bool().unwrap())
        .d(h["clipping_threshold"].as_f64().unwrap_or(f64::INFINITY))
        .momentum(h["momentum"].as_f64())
        .weight_decay_rate(h["weight_decay_rate"].as_f64())
        .eps(Some(num("eps")), 1e-3)
        .factored(h["factored"].as_bool().unwrap());
    if h["momentum"].is_number() {
        assert_eq!(h["dtype_momentum"], "float64", "{}: a float32 momentum is not recorded", case["id"]);
    }
    if let Some(shape) = case["shape"].as_array() {
        let shape: Vec<usize> = shape.iter().map(|d| d.as_u64().unwrap() as usize).collect();
        o = o.shape(&shape);
    }
    o
}

fn replay(case: &Value, opt: &mut dyn Optimizer<f64>) -> f64 {
    let mut x = common::floats(&case["init"]);
    let mut g = vec![0.0; x.len()];
    let every = case["record_every"].as_u64().unwrap() as usize;
    let mut worst = 0.0_f64;
    for k in 0..case["steps"].as_u64().unwrap() as usize {
        common::problem_grad(case, k, &x, &mut g);
        opt.step(&mut x, &g).unwrap_or_else(|e| panic!("{} step {k}: {e}", case["id"]));
        if (k + 1) % every == 0 {
            worst = worst.max(common::rel_err(&x, &common::floats(&case["trajectory"][(k + 1) / every - 1])));
        }
    }
    worst
}

#[test]
fn optax_rules_match_their_recordings() {
    let files = [
        "optax_sign_sgd.json",
        "optax_optimistic_gradient_descent.json",
        "optax_fromage.json",
        "optax_lars.json",
        "optax_novograd.json",
        "optax_sm3.json",
        "optax_adan.json",
        "optax_contrib_adopt.json",
        "optax_contrib_ademamix.json",
        "optax_contrib_simplified_ademamix.json",
        "optax_sgd.json",
        "optax_contrib_prodigy.json",
        "optax_rmsprop.json",
        "optax_adagrad.json",
        "optax_amsgrad.json",
        "optax_adamaxw.json",
        "optax_nadamw.json",
        "optax_radam.json",
        "optax_contrib_muon.json",
        "optax_adafactor.json",
        // ours (scripts/record_adafactor_nd.py): factored over 3 and 4 dimensions
        "optax_adafactor_nd.json",
        // ours (scripts/record_optax_options.py): nesterov momentum
        "optax_lars_nesterov.json",
        // ours (scripts/record_muon_options.py): consistent_rms, decay without Nesterov, spectral
        // and Schatten preconditioning, adaptive, ns_steps with ns_coeffs and eps
        "optax_contrib_muon_options.json",
        // ours (scripts/record_optax_options.py): eps outside the square root
        "optax_rmsprop_options.json",
        // ours (scripts/record_optax_options.py): eps_root that matters, nesterov
        "optax_adabelief_options.json",
        // ours (scripts/record_optax_options.py): every other keyword away from its default
        "optax_adam_options.json",
        "optax_lion_options.json",
        "optax_yogi_options.json",
        "optax_lamb_options.json",
        "optax_adan_options.json",
        "optax_amsgrad_options.json",
        "optax_adamaxw_options.json",
        "optax_adagrad_options.json",
        "optax_nadamw_options.json",
        "optax_radam_options.json",
        "optax_novograd_options.json",
        "optax_fromage_options.json",
        "optax_sm3_options.json",
        "optax_contrib_ademamix_options.json",
        "optax_contrib_simplified_ademamix_options.json",
        "optax_contrib_adopt_options.json",
        "optax_lars_options.json",
        "optax_rmsprop_bias_options.json",
    ];
    let mut results = Vec::new();
    for file in files {
        for case in recorded(file) {
            let err = replay(&case, &mut *build(&case));
            results.push((case["id"].as_str().unwrap().to_string(), err));
        }
    }
    for (id, e) in &results {
        eprintln!("{id}: {e:.2e}");
    }
    let bad: Vec<_> = results.iter().filter(|(_, e)| e.is_nan() || *e > TOL).collect();
    assert!(bad.is_empty(), "{} of {} fail: {bad:?}", bad.len(), results.len());
    assert!(results.len() >= 165);
}

#[test]
fn prodigy_estimates_the_recorded_step_size() {
    let cases = recorded("optax_contrib_prodigy.json");
    assert!(cases.len() >= 6);
    for case in cases {
        let mut opt = prodigy(&case["hyper_resolved"]);
        let err = replay(&case, &mut opt);
        assert!(err <= TOL, "{}: trajectory {err:.2e}", case["id"]);
        let state = &case["final_state"];
        let d = common::f(&state[".estim_lr"]);
        let rel = (opt.get_estim_lr() - d).abs() / d.abs().max(1e-3);
        assert!(rel <= TOL, "{}: estim_lr {} != {d} ({rel:.2e})", case["id"], opt.get_estim_lr());
        #[cfg(feature = "serde")]
        {
            let saved = serde_json::to_value(&opt).unwrap();
            for (mine, theirs) in [("m", ".exp_avg"), ("v", ".exp_avg_sq"), ("s", ".grad_sum"), ("x0", ".params0")] {
                let e = common::rel_err(&common::floats(&saved[mine]), &common::floats(&state[theirs]));
                assert!(e <= TOL, "{}: {mine} {e:.2e}", case["id"]);
            }
        }
    }
}

/// The options the shared recordings leave at their defaults (a learning rate other than 1, weight
/// decay, `safeguard_warmup`, `beta3`, everything at once), recorded from optax 0.2.8 by
/// `scripts/record_optax_options.py` with the same problems and ulp-sensitivity cut.
#[test]
fn prodigy_matches_optax_with_every_option() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/recorded/optax_contrib_prodigy_options.json");
    let cases: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let ids: Vec<&str> = cases.iter().map(|c| c["id"].as_str().unwrap()).collect();
    for option in ["-lr-", "-decay-", "-warmup-", "-all-"] {
        assert!(ids.iter().any(|id| id.contains(option)), "no case with {option}: {ids:?}");
    }
    for case in &cases {
        let mut opt = prodigy(&case["hyper_resolved"]);
        let err = replay(case, &mut opt);
        assert!(err <= TOL, "{}: trajectory {err:.2e}", case["id"]);
    }
}

#[test]
fn prodigy_keeps_its_estimate_through_zero_gradients() {
    // optax divides 0/0 here and its estimate becomes NaN; the paper's code skips the step
    let mut opt = Prodigy::new(1.0_f64).weight_decay(0.1);
    let mut x = [1.0, -2.0];
    for _ in 0..3 {
        opt.step(&mut x, &[0.0, 0.0]).unwrap();
    }
    assert_eq!(opt.get_estim_lr(), 1e-6);
    assert!(x.iter().all(|v| v.is_finite()));
    assert!(x[0] < 1.0 && x[0] > 0.99, "weight decay still applies: {x:?}");
    // and it moves once gradients arrive
    for _ in 0..50 {
        let g = [2.0 * x[0], 2.0 * x[1]];
        opt.step(&mut x, &g).unwrap();
    }
    assert!(opt.get_estim_lr() > 1e-6);
}

/// The loss of a Polyak case at `x` for step `k`, in the recording's operation order.
fn polyak_loss(case: &Value, k: usize, x: &[f64]) -> f64 {
    match case["problem"].as_str().unwrap() {
        "quadratic" => {
            let a = [1.0, 10.0, 100.0, 0.5, 3.0];
            let mut s = 0.0;
            for i in 0..x.len() {
                s += (a[i] * x[i]) * x[i];
            }
            0.5 * s
        }
        "seed_linear" => {
            let xj = common::NOTEBOOK_X[k % 29];
            let r = (x[0] + x[1] * xj) - (30.0 + 2.0 * xj);
            r * r
        }
        p => panic!("no loss for {p}"),
    }
}

#[test]
fn polyak_sgd_matches_optax_and_needs_the_loss() {
    // the shared recording, and ours with max_learning_rate, f_min, eps and sps+
    // (scripts/record_optax_options.py)
    let cases = [recorded("optax_polyak_sgd.json"), recorded("optax_polyak_sgd_options.json")].concat();
    assert!(cases.len() >= 7);
    for case in &cases {
        let h = &case["hyper_resolved"];
        let variant = match h["variant"].as_str().unwrap() {
            "sps" => PolyakVariant::Sps,
            "sps+" => PolyakVariant::SpsPlus,
            v => panic!("unknown variant {v}"),
        };
        let mut opt = PolyakSgd::new(common::f(&h["max_learning_rate"]))
            .scaling(common::f(&h["scaling"]))
            .f_min(common::f(&h["f_min"]))
            .eps(common::f(&h["eps"]))
            .variant(variant);
        let mut x = common::floats(&case["init"]);
        let mut g = vec![0.0; x.len()];
        let every = case["record_every"].as_u64().unwrap() as usize;
        let mut worst = 0.0_f64;
        for k in 0..case["steps"].as_u64().unwrap() as usize {
            common::problem_grad(case, k, &x, &mut g);
            let f = polyak_loss(case, k, &x);
            opt.step_with_loss(&mut x, &g, f).unwrap();
            if (k + 1) % every == 0 {
                worst = worst.max(common::rel_err(&x, &common::floats(&case["trajectory"][(k + 1) / every - 1])));
            }
        }
        assert!(worst <= TOL, "{}: {worst:.3e}", case["id"]);
    }
    let mut opt = PolyakSgd::new(1.0_f64);
    let mut p = [1.0];
    assert_eq!(opt.step(&mut p, &[1.0]), Err(Error::LossRequired { rule: "PolyakSgd" }));
    assert!(matches!(opt.step_with_loss(&mut p, &[1.0], f64::NAN), Err(Error::NonFiniteLoss { .. })));
    assert_eq!(p, [1.0]);
}

#[test]
fn muon_preconditionings_agree_on_a_rank_one_matrix() {
    // for a rank-one momentum sigma_max = norm_F, and norm_F(X X^T) = norm_F(X)^2: the spectral
    // and Schatten scalings are the Frobenius one (eps aside), so the steps agree to rounding
    let u = [1.0, -2.0, 0.5, 3.0];
    let v = [0.3, -1.0, 2.0, 0.7, -0.4, 1.1];
    let g: Vec<f64> = (0..24).map(|k| u[k / 6] * v[k % 6]).collect();
    let run = |p: Preconditioning| {
        let mut opt = Muon::new(0.02).form(Form::Optax).shape(&[4, 6]).eps(0.0).preconditioning(p);
        let mut x = vec![0.5; 24];
        for _ in 0..3 {
            opt.step(&mut x, &g).unwrap();
        }
        x
    };
    let base = run(Preconditioning::Frobenius);
    for p in [Preconditioning::Spectral, Preconditioning::Schatten] {
        let e = common::rel_err(&run(p), &base);
        assert!(e < 1e-12, "{p:?}: {e:.2e}");
    }
    // the AOL scaling differs in general, but still orthogonalizes towards the same sign pattern
    let aol = run(Preconditioning::Aol);
    assert!(aol.iter().zip(&base).all(|(a, b)| (a - 0.5).signum() == (b - 0.5).signum()));
    // the optax-only settings are errors in the torch form
    let torch = Muon::<f64>::new(0.02).shape(&[4, 6]).preconditioning(Preconditioning::Spectral);
    assert!(matches!(torch.validate(), Err(Error::InvalidHyperparameter { name: "preconditioning", .. })));
}

#[test]
fn optax_forms_reject_settings_without_an_optax_keyword() {
    let cases: Vec<(Box<dyn Optimizer<f64>>, &str)> = vec![
        (Box::new(RmsProp::new(0.1).form(Form::Optax).weight_decay(0.1)), "weight_decay"),
        (Box::new(RmsProp::new(0.1).nesterov(true)), "nesterov"),
        (Box::new(Adagrad::new(0.1).form(Form::Optax).lr_decay(0.1)), "lr_decay"),
        (Box::new(RAdam::new(0.1).threshold(6.0)), "threshold"),
        (Box::new(Adam::new(0.1).bias_correction_nu(false)), "bias_correction_nu"),
        (Box::new(NAdam::new(0.1).form(Form::Optax).momentum_decay(0.01)), "momentum_decay"),
        (Box::new(Adamax::new(0.1).form(Form::Optax).maximize(true)), "maximize"),
        (Box::new(Adafactor::new(0.1).momentum(Some(0.9))), "momentum"),
        (Box::new(Adafactor::new(0.1).form(Form::Optax).weight_decay(0.1)), "weight_decay"),
        (Box::new(ScheduleFreeSgd::new(0.1).form(Form::Optax).r(1.0)), "r"),
    ];
    for (opt, field) in cases {
        match opt.validate() {
            Err(Error::InvalidHyperparameter { name, .. }) => assert_eq!(name, field),
            other => panic!("{field}: {other:?}"),
        }
        let mut p = [1.0, 2.0];
        let mut opt = opt;
        assert!(opt.step(&mut p, &[0.1, 0.2]).is_err());
        assert_eq!(p, [1.0, 2.0]);
    }
}

#[test]
fn prodigy_in_groups_is_one_estimate_over_the_group() {
    // optax computes one estimate over the whole tree: a recorded case split into two tensors
    // of one group still matches the recording, where one estimate per tensor would not
    let mut checked = 0;
    for case in recorded("optax_contrib_prodigy.json") {
        let x0 = common::floats(&case["init"]);
        let n = x0.len();
        let layout = Layout::new().tensor("a", &[1]).tensor("b", &[n - 1]);
        let mut one = Groups::new(layout.clone()).group(&["a", "b"], prodigy(&case["hyper_resolved"]));
        let mut split = Groups::new(layout)
            .group(&["a"], prodigy(&case["hyper_resolved"]))
            .group(&["b"], prodigy(&case["hyper_resolved"]));
        let (err, separate) = (replay(&case, &mut one), replay(&case, &mut split));
        assert!(err <= TOL, "{}: {err:.2e}", case["id"]);
        assert!(separate > 1e-6, "{}: separate estimates should differ ({separate:.2e})", case["id"]);
        checked += 1;
    }
    assert!(checked >= 6);
    // step_tensors takes the same two-phase step as the flat step
    let layout = Layout::new().tensor("w", &[2]).tensor("b", &[1]);
    let mut flat = Groups::new(layout.clone()).group(&["w", "b"], Prodigy::new(1.0_f64));
    let mut views = flat.clone();
    let (mut p, mut w, mut b) = (vec![1.0, -2.0, 0.5], vec![1.0, -2.0], vec![0.5]);
    for k in 0..20 {
        let g: Vec<f64> = p.iter().map(|x| 2.0 * x + k as f64 * 0.01).collect();
        flat.step(&mut p, &g).unwrap();
        let gv: Vec<f64> = w.iter().chain(&b).map(|x| 2.0 * x + k as f64 * 0.01).collect();
        views.step_tensors(&mut [&mut w, &mut b], &[&gv[..2], &gv[2..]]).unwrap();
    }
    assert_eq!(p, [w, b].concat());
    // two Prodigy groups are two estimates, each over its own tensors only: the steps of two
    // separate optimizers (a mutation survivor summed the other group's tensors in)
    let mut two = Groups::new(layout).group(&["w"], Prodigy::new(1.0_f64)).group(&["b"], Prodigy::new(1.0_f64));
    let (mut ow, mut ob) = (Prodigy::new(1.0_f64), Prodigy::new(1.0_f64));
    let (mut p, mut w, mut b) = (vec![1.0, -2.0, 0.5], vec![1.0, -2.0], vec![0.5]);
    for k in 0..20 {
        let g: Vec<f64> = p.iter().map(|x| 2.0 * x + k as f64 * 0.01).collect();
        two.step(&mut p, &g).unwrap();
        let gw: Vec<f64> = w.iter().map(|x| 2.0 * x + k as f64 * 0.01).collect();
        let gb: Vec<f64> = b.iter().map(|x| 2.0 * x + k as f64 * 0.01).collect();
        ow.step(&mut w, &gw).unwrap();
        ob.step(&mut b, &gb).unwrap();
    }
    assert_eq!(p, [w, b].concat());
}

/// optax's `scale_by_rss` divides only where the sum of squares is positive
/// (`jnp.where(sum > 0, rsqrt(sum + eps), 0)`): with `eps` 0 and an accumulator still at 0, a
/// zero gradient leaves its parameter alone instead of making it `0 * inf = NaN` (a gap found
/// by mutation testing: every recorded case had `eps` > 0 or a nonzero accumulator).
#[test]
fn optax_adagrad_skips_coordinates_whose_sum_is_zero() {
    let mut opt = Adagrad::new(0.1_f64).form(Form::Optax).initial_accumulator_value(0.0).eps(0.0);
    let mut x = [1.0, -2.0];
    opt.step(&mut x, &[0.0, 4.0]).unwrap();
    // the second: sum 16, step 0.1 * 4 / 4
    assert_eq!(x, [1.0, -2.1]);
}
