//! Every hyperparameter getter of the rules returns what its setter set: a configuration read
//! back (to log it, to save it, to compare it) is the configuration the rule runs with.
//!
//! Each value set is one no getter returns by default (not 0, 1, -1, `true`/`false` as the
//! default, `None`, the enum's default), so a getter that ignored its field would fail here.
//! (The getters were checked only by their doctests, which a mutation run of `cargo test
//! --tests` leaves out.)

use gradus::*;

#[test]
fn adafactor_getters_return_what_was_set() {
    let opt = Adafactor::new(0.1_f64).beta2_decay(-0.6).eps(Some(1e-20), 2e-3).d(1.5).weight_decay(0.25).shape(&[3, 4]);
    assert_eq!(opt.get_beta2_decay(), -0.6);
    assert_eq!(opt.get_eps(), (Some(1e-20), 2e-3));
    assert_eq!(opt.get_d(), 1.5);
    assert_eq!(opt.get_weight_decay(), 0.25);
    assert_eq!(opt.get_shape(), Some(&[3, 4][..]));
    assert_eq!(Adafactor::new(0.1_f64).get_shape(), None);
}

#[test]
fn adagrad_yogi_rmsprop_adam_getters_return_what_was_set() {
    assert_eq!(Adagrad::new(0.1_f64).initial_accumulator_value(0.25).get_initial_accumulator_value(), 0.25);
    assert_eq!(Yogi::new(0.1_f64).initial_accumulator_value(0.25).get_initial_accumulator_value(), 0.25);
    assert_eq!(RmsProp::new(0.1_f64).initial_square_avg(0.25).get_initial_square_avg(), 0.25);
    let adam = Adam::new(0.1_f64).initial_moments(0.25, 0.5);
    assert_eq!(adam.get_initial_moments(), (0.25, 0.5));
    assert_eq!(adam.get_form(), Form::Torch);
    assert_eq!(Adam::new(0.1_f64).form(Form::Optax).get_form(), Form::Optax);
}

#[test]
fn adopt_polyak_schedule_free_flags_read_back() {
    let adopt = Adopt::new(0.1_f64).maximize(true).check_finite(false);
    assert!(adopt.get_maximize() && !adopt.get_check_finite());
    let adopt = Adopt::new(0.1_f64);
    assert!(!adopt.get_maximize() && adopt.get_check_finite());

    let polyak = PolyakSgd::new(0.5_f64).maximize(true).check_finite(false).variant(PolyakVariant::SpsPlus);
    assert!(polyak.get_maximize() && !polyak.get_check_finite());
    assert_eq!(polyak.get_variant(), PolyakVariant::SpsPlus);
    let polyak = PolyakSgd::new(0.5_f64);
    assert!(!polyak.get_maximize() && polyak.get_check_finite());
    assert_eq!(polyak.get_variant(), PolyakVariant::Sps);

    let sf = ScheduleFreeAdamW::new(0.1_f64).check_finite(false).warmup_steps(7).r(0.5).weight_lr_power(1.5);
    assert!(!sf.get_check_finite());
    assert_eq!((sf.get_warmup_steps(), sf.get_r(), sf.get_weight_lr_power()), (7, 0.5, 1.5));
    assert!(ScheduleFreeAdamW::new(0.1_f64).get_check_finite());
    let sf = ScheduleFreeSgd::new(0.1_f64).check_finite(false).warmup_steps(7).r(0.5).weight_lr_power(1.5);
    assert!(!sf.get_check_finite());
    assert_eq!((sf.get_warmup_steps(), sf.get_r(), sf.get_weight_lr_power()), (7, 0.5, 1.5));
    assert!(ScheduleFreeSgd::new(0.1_f64).get_check_finite());
}

#[test]
fn lbfgs_getters_return_what_was_set() {
    let opt = Lbfgs::new(0.5_f64)
        .max_iter(7)
        .max_eval(11)
        .tolerance_grad(1e-4)
        .tolerance_change(1e-6)
        .history_size(3)
        .line_search_fn(Some(LineSearch::StrongWolfe))
        .maximize(true);
    assert_eq!(opt.get_lr(), 0.5);
    assert_eq!((opt.get_max_iter(), opt.get_max_eval(), opt.get_history_size()), (7, 11, 3));
    assert_eq!((opt.get_tolerance_grad(), opt.get_tolerance_change()), (1e-4, 1e-6));
    assert_eq!(opt.get_line_search_fn(), Some(LineSearch::StrongWolfe));
    assert!(opt.get_maximize());
    let plain = Lbfgs::new(0.5_f64);
    // torch's default max_eval is max_iter * 5 // 4
    assert_eq!((plain.get_max_iter(), plain.get_max_eval()), (20, 25));
    assert_eq!(Lbfgs::new(0.5_f64).max_iter(7).get_max_eval(), 8);
    assert_eq!(plain.get_line_search_fn(), None);
    assert!(!plain.get_maximize());
}

#[test]
fn muon_getters_return_what_was_set() {
    let opt = Muon::new(0.02_f64)
        .ns_coefficients(3.0, -3.2, 1.2)
        .ns_steps(3)
        .adjust_lr_fn(AdjustLr::MatchRmsAdamW)
        .shape(&[4, 6])
        .check_finite(false)
        .adaptive(true)
        .preconditioning(Preconditioning::Spectral)
        .consistent_rms(Some(0.2));
    assert_eq!(opt.get_ns_coefficients(), (3.0, -3.2, 1.2));
    assert_eq!(opt.get_ns_steps(), 3);
    assert_eq!(opt.get_adjust_lr_fn(), AdjustLr::MatchRmsAdamW);
    assert_eq!(opt.get_shape(), Some(&[4, 6][..]));
    assert!(!opt.get_check_finite() && opt.get_adaptive());
    assert_eq!(opt.get_preconditioning(), Preconditioning::Spectral);
    assert_eq!(opt.get_consistent_rms(), Some(0.2));
    assert_eq!(opt.get_ns_coeffs(), None);
    let rows = [[3.0, -3.2, 1.2], [2.0, -1.5, 0.5]];
    assert_eq!(Muon::new(0.02_f64).ns_coeffs(&rows).get_ns_coeffs(), Some(rows.to_vec()));
    let plain = Muon::new(0.02_f64);
    assert!(plain.get_check_finite() && !plain.get_adaptive());
    assert_eq!((plain.get_shape(), plain.get_consistent_rms()), (None, None));
}

#[test]
fn prodigy_getters_return_what_was_set_and_the_estimate_moves() {
    let mut opt = Prodigy::new(1.0_f64).beta3(0.5).estim_lr0(1e-3);
    assert_eq!((opt.get_beta3(), opt.get_estim_lr0()), (Some(0.5), 1e-3));
    assert_eq!(Prodigy::new(1.0_f64).get_beta3(), None);
    // the estimate starts at estim_lr0 and grows while the gradients keep their direction
    assert_eq!(opt.get_estim_lr(), 1e-3);
    let mut x = [1.0, -2.0];
    for _ in 0..5 {
        let g = [x[0], x[1]];
        opt.step(&mut x, &g).unwrap();
    }
    assert!(opt.get_estim_lr() > 1e-3, "{}", opt.get_estim_lr());
}

/// NAdam's `mu_product` is `mu_1 * ... * mu_t`, `mu_t = beta1 (1 - 0.5 * 0.96^(t psi))`.
#[test]
fn nadam_mu_product_is_the_product_of_the_momentum_schedule() {
    let (beta1, psi) = (0.8, 0.1);
    let mut opt = NAdam::new(0.01_f64).betas(beta1, 0.99).momentum_decay(psi);
    assert_eq!(opt.mu_product(), 1.0);
    let (mut p, mut expected) = ([0.5, -1.0], 1.0);
    for t in 1..=4 {
        opt.step(&mut p, &[0.3, 0.2]).unwrap();
        expected *= beta1 * (1.0 - 0.5 * 0.96_f64.powf(t as f64 * psi));
        assert!((opt.mu_product() - expected).abs() <= 1e-15 * expected, "{} {expected}", opt.mu_product());
    }
}

#[test]
fn rprop_sgd_sparse_adam_getters_return_what_was_set() {
    let rprop = Rprop::new(0.1_f64).etas(0.25, 1.5).step_sizes(1e-4, 2.5);
    assert_eq!((rprop.get_etas(), rprop.get_step_sizes()), ((0.25, 1.5), (1e-4, 2.5)));
    let sgd = Sgd::new(0.1_f64).momentum(0.9).dampening(0.25).nesterov(false).initial_buffer(0.5);
    assert_eq!((sgd.get_dampening(), sgd.get_initial_buffer()), (0.25, Some(0.5)));
    // the optax form starts over from `new` (its docs: call it first)
    let optax = sgd.clone().form(Form::Optax);
    assert_eq!((optax.get_dampening(), optax.get_initial_buffer(), optax.get_form()), (0.0, None, Form::Optax));
    assert!(Sgd::new(0.1_f64).momentum(0.9).nesterov(true).get_nesterov());
    assert!(!sgd.get_nesterov());
    assert_eq!((Sgd::new(0.1_f64).get_initial_buffer(), Sgd::new(0.1_f64).get_form()), (None, Form::Torch));
    assert_eq!(SparseAdam::new(0.1_f64).shape(&[8, 3]).get_shape(), Some(&[8, 3][..]));
    assert_eq!(SparseAdam::new(0.1_f64).get_shape(), None);
}

/// `second_moment` (what `SpikeAnnealing` reads) is the rule's running average of squared
/// gradients: none before the first step, and after one step from zero state the first term of
/// each rule's average (torch's and optax's `exp_avg_sq`, `square_avg`, `sum`, `nu`), for
/// SparseAdam in the rows the step touched.
#[test]
fn second_moment_is_the_squared_gradient_average() {
    let g = [0.5, -2.0, 3.0];
    let sq = |c: f64, init: f64| g.map(|g| init + c * (g * g));
    type Case = (&'static str, Box<dyn Optimizer<f64>>, [f64; 3]);
    let rules: Vec<Case> = vec![
        ("Adam", Box::new(Adam::new(0.1).betas(0.9, 0.99)), sq(1.0 - 0.99, 0.0)),
        ("AdamW", Box::new(AdamW::new(0.1).betas(0.9, 0.99)), sq(1.0 - 0.99, 0.0)),
        ("NAdam", Box::new(NAdam::new(0.1).betas(0.9, 0.99)), sq(1.0 - 0.99, 0.0)),
        ("RAdam", Box::new(RAdam::new(0.1).betas(0.9, 0.99)), sq(1.0 - 0.99, 0.0)),
        ("Lamb", Box::new(Lamb::new(0.1).betas(0.9, 0.99)), sq(1.0 - 0.99, 0.0)),
        ("RmsProp", Box::new(RmsProp::new(0.1).alpha(0.9)), sq(1.0 - 0.9, 0.0)),
        ("Adadelta", Box::new(Adadelta::new(0.1).rho(0.8)), sq(1.0 - 0.8, 0.0)),
        ("Adagrad", Box::new(Adagrad::new(0.1).initial_accumulator_value(0.25)), sq(1.0, 0.25)),
        // optax 0.2.8's belief: the residual against the new mean, g - (1 - beta1) g = beta1 g
        ("AdaBelief", Box::new(AdaBelief::new(0.1).betas(0.9, 0.99).eps_root(0.0)), sq((1.0 - 0.99) * 0.81, 0.0)),
        ("ScheduleFreeAdamW", Box::new(ScheduleFreeAdamW::new(0.1).betas(0.9, 0.99)), sq(1.0 - 0.99, 0.0)),
    ];
    // SparseAdam: the touched rows' first term, zero in the others
    let mut sparse = SparseAdam::new(0.1_f64).betas(0.9, 0.99).shape(&[4, 3]);
    assert!(sparse.second_moment().is_none());
    sparse.step_rows(&mut [1.0; 12], &[2], &g).unwrap();
    let mut want = [0.0; 12];
    want[6..9].copy_from_slice(&sq(1.0 - 0.99, 0.0));
    let v = sparse.second_moment().unwrap();
    assert!(v.len() == 12 && v.iter().zip(&want).all(|(v, w)| (v - w).abs() <= 1e-15 * w), "SparseAdam: {v:?}");
    for (name, mut opt, want) in rules {
        assert!(opt.second_moment().is_none(), "{name}: before the first step");
        opt.step(&mut [1.0, 1.0, 1.0], &g).unwrap();
        let v = opt.second_moment().unwrap_or_else(|| panic!("{name}: none after a step"));
        assert!(v.iter().zip(&want).all(|(v, w)| (v - w).abs() <= 1e-15 * w), "{name}: {v:?} vs {want:?}");
    }
}

/// Through the `Optimizer` trait (what `Groups`, `fit` and the distributed wrappers call), the
/// schedule-free rules' evaluation point is the one their own `eval_params` gives, not the
/// training point; a rule without one gives its parameters.
#[test]
fn the_trait_gives_the_schedule_free_evaluation_point() {
    fn trained<O: Optimizer<f64>>(mut opt: O) -> (O, Vec<f64>) {
        let mut y = vec![1.0, -2.0, 3.0];
        for g in [[0.5, -1.0, 2.0], [0.25, 0.5, -1.0], [1.0, 1.0, 1.0]] {
            opt.step(&mut y, &g).unwrap();
        }
        (opt, y)
    }
    let (mut via_trait, mut own) = (vec![0.0; 3], vec![0.0; 3]);
    let (sgd, y) = trained(ScheduleFreeSgd::new(0.1));
    Optimizer::eval_params(&sgd, &y, &mut via_trait);
    sgd.eval_params(&y, &mut own);
    assert_eq!(via_trait, own);
    assert_ne!(via_trait, y);
    let (adamw, y) = trained(ScheduleFreeAdamW::new(0.1));
    Optimizer::eval_params(&adamw, &y, &mut via_trait);
    adamw.eval_params(&y, &mut own);
    assert_eq!(via_trait, own);
    assert_ne!(via_trait, y);
    let (adam, y) = trained(Adam::new(0.1));
    Optimizer::eval_params(&adam, &y, &mut via_trait);
    assert_eq!(via_trait, y);
}

/// `Optimizer::set_shape` (what `Groups` calls with each tensor's shape) is the builder's
/// `shape`: Adafactor factors a matrix it was told the shape of, SparseAdam steps rows of it.
/// (Two mutation survivors: both `set_shape`s emptied were caught by a doctest only.)
#[test]
fn set_shape_through_the_trait_is_the_builders_shape() {
    let g: Vec<f64> = (0..12).map(|i| (i as f64 * 0.9).sin()).collect();
    let run = |mut opt: Adafactor<f64>| {
        let mut p = vec![0.5; 12];
        for _ in 0..3 {
            opt.step(&mut p, &g).unwrap();
        }
        p
    };
    let mut told = Adafactor::new(0.1_f64);
    Optimizer::set_shape(&mut told, &[4, 3]);
    assert_eq!(told.get_shape(), Some(&[4, 3][..]));
    let (told, built, flat) = (run(told), run(Adafactor::new(0.1).shape(&[4, 3])), run(Adafactor::new(0.1)));
    assert_eq!(told, built);
    assert_ne!(told, flat, "a factored matrix steps as the unfactored vector");

    let mut sparse = SparseAdam::new(0.1_f64);
    Optimizer::set_shape(&mut sparse, &[4, 3]);
    let mut table = vec![1.0; 12];
    sparse.step_rows(&mut table, &[2], &[0.5, -0.5, 0.5]).unwrap();
    // row 2 moves by about lr against its gradient's sign (Adam's first step), the others not
    assert!(table.iter().enumerate().all(|(i, &v)| (6..9).contains(&i) || v == 1.0), "{table:?}");
    assert!(table[6..9].iter().zip([0.9, 1.1, 0.9]).all(|(v, w)| (v - w).abs() < 1e-6), "{table:?}");
}

/// `Debug` shows L-BFGS's settings and state, and its workspace (scratch buffers, no state) as
/// `Work(..)` (a mutation survivor: that `fmt` emptied).
#[test]
fn lbfgs_debug_elides_only_the_workspace() {
    let shown = format!("{:?}", Lbfgs::new(0.5_f64).history_size(7));
    assert!(shown.contains("history_size: 7") && shown.contains("work: Work(..)"), "{shown}");
}

/// SparseAdam coalesces a row given twice as torch's `coalesce()` does: one step with the
/// row's values summed in the order given (a mutation survivor: a later duplicate's position
/// `pos * cols` read as `pos / cols`, unseen when no test repeated a row of several columns).
#[test]
fn sparse_adam_sums_a_repeated_rows_values() {
    let grads = [0.5, -1.0, 0.25, 2.0, 0.5, -0.75, -0.125, 1.5, 1.0];
    let mut repeated = SparseAdam::new(0.1_f64).shape(&[4, 3]);
    let mut a: Vec<f64> = (0..12).map(|i| i as f64 * 0.1).collect();
    repeated.step_rows(&mut a, &[2, 0, 2], &grads).unwrap();
    let mut summed = SparseAdam::new(0.1_f64).shape(&[4, 3]);
    let mut b: Vec<f64> = (0..12).map(|i| i as f64 * 0.1).collect();
    let row2: Vec<f64> = (0..3).map(|j| grads[j] + grads[6 + j]).collect();
    summed.step_rows(&mut b, &[0, 2], &[&grads[3..6], &row2[..]].concat()).unwrap();
    assert_eq!(a, b);
    assert_ne!(a[6..9], [0.6, 0.7, 0.8], "row 2 stepped");
}

/// `Debug` names a rule's schedule function by its type, `fn(u64) -> f64` (function pointers print
/// no useful value; a mutation survivor printed nothing).
#[test]
fn debug_shows_a_schedule_function_by_its_type() {
    let shown = format!("{:?}", AdEmaMix::new(0.1_f64).alpha_fn(|t| t as f64));
    assert!(shown.contains("alpha_fn: Some(fn(u64) -> f64)"), "{shown}");
}
