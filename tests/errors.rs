//! The bad-input contract, for every rule: each bad input gets its typed error, and params and
//! optimizer state stay bit for bit as they were.

use std::fmt::Debug;

use gradus::*;

trait Probe: Optimizer<f64> + Debug {}
impl<O: Optimizer<f64> + Debug> Probe for O {}

/// Every rule with non-default settings that exercise most of its state.
fn all_rules() -> Vec<(&'static str, Box<dyn Probe>)> {
    vec![
        ("Sgd", Box::new(Sgd::new(0.1).momentum(0.9).nesterov(true).weight_decay(0.01))),
        ("Adam", Box::new(Adam::new(0.1).amsgrad(true).weight_decay(0.01))),
        ("AdamW", Box::new(AdamW::new(0.1))),
        ("RmsProp", Box::new(RmsProp::new(0.1).momentum(0.9).centered(true))),
        ("Adagrad", Box::new(Adagrad::new(0.1).lr_decay(0.01))),
        ("Adadelta", Box::new(Adadelta::new(1.0))),
        ("Adamax", Box::new(Adamax::new(0.1))),
        ("NAdam", Box::new(NAdam::new(0.1))),
        ("RAdam", Box::new(RAdam::new(0.1))),
        ("Rprop", Box::new(Rprop::new(0.1))),
        ("Asgd", Box::new(Asgd::new(0.1).t0(1.0))),
        ("Lion", Box::new(Lion::new(0.1))),
        ("AdaBelief", Box::new(AdaBelief::new(0.1).nesterov(true))),
        ("Yogi", Box::new(Yogi::new(0.1))),
        ("Lamb", Box::new(Lamb::new(0.1).weight_decay(0.01))),
        ("SparseAdam", Box::new(SparseAdam::new(0.1))),
        ("Adafactor", Box::new(Adafactor::new(0.1).weight_decay(0.01))),
        ("ScheduleFreeAdamW", Box::new(ScheduleFreeAdamW::new(0.1).weight_decay(0.01).warmup_steps(2))),
        ("ScheduleFreeSgd", Box::new(ScheduleFreeSgd::new(0.1))),
        ("Adan", Box::new(Adan::new(0.1).weight_decay(0.01))),
        ("Adopt", Box::new(Adopt::new(0.1).nesterov(true))),
        ("AdEmaMix", Box::new(AdEmaMix::new(0.1))),
        ("SimplifiedAdEmaMix", Box::new(SimplifiedAdEmaMix::new(0.01))),
        ("Lars", Box::new(Lars::new(0.1).weight_decay(0.01))),
        ("NovoGrad", Box::new(NovoGrad::new(0.1))),
        ("Prodigy", Box::new(Prodigy::new(1.0).weight_decay(0.01))),
        ("Sm3", Box::new(Sm3::new(0.1))),
        ("SignSgd", Box::new(SignSgd::new(0.1))),
        ("Fromage", Box::new(Fromage::new(0.1))),
        ("OptimisticGd", Box::new(OptimisticGd::new(0.1))),
        ("Lookahead", Box::new(Lookahead::new(Adam::new(0.1), 2, 0.5))),
        ("MultiSteps", Box::new(MultiSteps::new(Adam::new(0.1), 3))),
    ]
}

/// The matrix rules, on a 2 x 2 matrix.
fn matrix_rules() -> Vec<(&'static str, Box<dyn Probe>)> {
    vec![
        ("Adafactor 2x2", Box::new(Adafactor::new(0.1).shape(&[2, 2]))),
        ("Muon 2x2", Box::new(Muon::new(0.1).shape(&[2, 2]))),
        ("SparseAdam 2x2", Box::new(SparseAdam::new(0.1).shape(&[2, 2]))),
    ]
}

#[test]
fn matrix_rules_keep_the_contract() {
    for (name, mut opt) in matrix_rules() {
        let mut p = warmed(&mut *opt);
        rejects(name, &mut *opt, &mut p, &[1.0, 2.0, 3.0], |e| matches!(e, Error::LengthMismatch { .. }));
        rejects(name, &mut *opt, &mut p, &[0.1, f64::NAN, 0.0, 0.0], |e| {
            matches!(e, Error::NonFiniteGradient { index: 1, .. })
        });
        opt.set_learning_rate(-1.0);
        rejects(name, &mut *opt, &mut p, &[0.1; 4], |e| matches!(e, Error::InvalidHyperparameter { name: "lr", .. }));
        opt.set_learning_rate(0.1);
        let mut q = vec![1.0; 6];
        rejects(name, &mut *opt, &mut q, &[0.1; 6], |e| {
            matches!(e, Error::ShapeMismatch { .. } | Error::StateMismatch { .. })
        });
    }
}

fn bits(p: &[f64]) -> Vec<u64> {
    p.iter().map(|v| v.to_bits()).collect()
}

/// Runs `bad` on an optimizer that already took two steps and checks the error and that
/// nothing changed.
fn rejects(name: &str, opt: &mut dyn Probe, params: &mut [f64], grads: &[f64], want: impl Fn(&Error) -> bool) {
    let state = format!("{opt:?}");
    let before = bits(params);
    let steps = opt.steps();
    let err = opt.step(params, grads).expect_err(name);
    assert!(want(&err), "{name}: unexpected error {err:?}");
    assert_eq!(bits(params), before, "{name}: params changed by a failed step ({err})");
    assert_eq!(format!("{opt:?}"), state, "{name}: state changed by a failed step ({err})");
    assert_eq!(opt.steps(), steps, "{name}: step counted");
    // the error message names the problem
    assert!(!err.to_string().is_empty());
}

fn warmed(opt: &mut dyn Probe) -> Vec<f64> {
    let mut p = vec![0.5, -1.5, 2.0, 0.25];
    opt.step(&mut p, &[0.1, -0.2, 0.3, -0.4]).unwrap();
    opt.step(&mut p, &[0.2, 0.1, -0.3, 0.4]).unwrap();
    p
}

#[test]
fn length_mismatch() {
    for (name, mut opt) in all_rules() {
        let mut p = warmed(&mut *opt);
        rejects(name, &mut *opt, &mut p, &[1.0, 2.0, 3.0], |e| *e == Error::LengthMismatch { params: 4, grads: 3 });
    }
}

#[test]
fn length_mismatch_before_the_first_step() {
    for (name, mut opt) in all_rules() {
        let mut p = vec![1.0, 2.0];
        rejects(name, &mut *opt, &mut p, &[1.0], |e| matches!(e, Error::LengthMismatch { .. }));
    }
}

#[test]
fn state_sized_for_another_length() {
    for (name, mut opt) in all_rules() {
        warmed(&mut *opt);
        let mut p = vec![1.0; 5];
        rejects(name, &mut *opt, &mut p, &[0.1; 5], |e| *e == Error::StateMismatch { expected: 4, found: 5 });
        // reset forgets the size
        opt.reset();
        opt.step(&mut p, &[0.1; 5]).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn non_finite_gradients_name_the_first_bad_index() {
    for (name, mut opt) in all_rules() {
        let mut p = warmed(&mut *opt);
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            rejects(name, &mut *opt, &mut p, &[0.1, 0.2, bad, bad], |e| {
                matches!(e, Error::NonFiniteGradient { index: 2, .. })
            });
        }
    }
}

#[test]
fn check_finite_false_skips_the_scan() {
    let mut opt = Sgd::new(0.1_f64).check_finite(false);
    let mut p = [1.0];
    opt.step(&mut p, &[f64::NAN]).unwrap();
    assert!(p[0].is_nan());
}

#[test]
fn bad_learning_rates_including_ones_set_later() {
    for (name, mut opt) in all_rules() {
        let mut p = warmed(&mut *opt);
        for lr in [-1.0, f64::NAN, f64::INFINITY] {
            opt.set_learning_rate(lr);
            rejects(
                name,
                &mut *opt,
                &mut p,
                &[0.1; 4],
                |e| matches!(e, Error::InvalidHyperparameter { name: "lr", value, .. } if value.to_bits() == lr.to_bits()),
            );
        }
        opt.set_learning_rate(0.01);
        opt.step(&mut p, &[0.1; 4]).unwrap();
    }
}

#[test]
fn every_invalid_hyperparameter_is_named() {
    let cases: Vec<(&str, f64, Box<dyn Probe>)> = vec![
        ("momentum", -0.1, Box::new(Sgd::new(0.1).momentum(-0.1))),
        ("dampening", -1.0, Box::new(Sgd::new(0.1).momentum(0.9).dampening(-1.0))),
        ("weight_decay", -1.0, Box::new(Sgd::new(0.1).weight_decay(-1.0))),
        ("momentum", 0.0, Box::new(Sgd::new(0.1).nesterov(true))),
        ("dampening", 0.1, Box::new(Sgd::new(0.1).momentum(0.9).dampening(0.1).nesterov(true))),
        ("initial_buffer", f64::NAN, Box::new(Sgd::new(0.1).momentum(0.9).initial_buffer(f64::NAN))),
        ("beta1", 1.0, Box::new(Adam::new(0.1).betas(1.0, 0.999))),
        ("beta2", -0.1, Box::new(Adam::new(0.1).betas(0.9, -0.1))),
        ("eps", -1e-8, Box::new(Adam::new(0.1).eps(-1e-8))),
        ("weight_decay", f64::INFINITY, Box::new(Adam::new(0.1).weight_decay(f64::INFINITY))),
        ("initial_moments.1", -1.0, Box::new(Adam::new(0.1).initial_moments(0.0, -1.0))),
        ("eps_root", -1.0, Box::new(Adam::new(0.1).eps_root(-1.0))),
        ("bias_correction", 0.0, Box::new(Adam::new(0.1).nesterov(true).bias_correction(false))),
        ("beta1", 1.5, Box::new(AdamW::new(0.1).betas(1.5, 0.9))),
        ("alpha", 1.5, Box::new(RmsProp::new(0.1).alpha(1.5))),
        ("eps", -1.0, Box::new(RmsProp::new(0.1).eps(-1.0))),
        ("momentum", -1.0, Box::new(RmsProp::new(0.1).momentum(-1.0))),
        ("initial_square_avg", -1.0, Box::new(RmsProp::new(0.1).initial_square_avg(-1.0))),
        ("lr_decay", -1.0, Box::new(Adagrad::new(0.1).lr_decay(-1.0))),
        ("initial_accumulator_value", -1.0, Box::new(Adagrad::new(0.1).initial_accumulator_value(-1.0))),
        ("eps", -1.0, Box::new(Adagrad::new(0.1).eps(-1.0))),
        ("rho", 1.1, Box::new(Adadelta::new(1.0).rho(1.1))),
        ("eps", f64::NAN, Box::new(Adadelta::new(1.0).eps(f64::NAN))),
        ("beta2", 1.0, Box::new(Adamax::new(0.1).betas(0.9, 1.0))),
        ("momentum_decay", -1.0, Box::new(NAdam::new(0.1).momentum_decay(-1.0))),
        ("beta1", -0.5, Box::new(NAdam::new(0.1).betas(-0.5, 0.9))),
        ("beta2", 2.0, Box::new(RAdam::new(0.1).betas(0.9, 2.0))),
        ("etas.0", 1.5, Box::new(Rprop::new(0.1).etas(1.5, 2.0))),
        ("etas.1", 0.9, Box::new(Rprop::new(0.1).etas(0.5, 0.9))),
        // torch's bounds are strict: 0 < eta_minus < 1 < eta_plus
        ("etas.0", 1.0, Box::new(Rprop::new(0.1).etas(1.0, 2.0))),
        ("etas.0", 0.0, Box::new(Rprop::new(0.1).etas(0.0, 2.0))),
        ("etas.1", 1.0, Box::new(Rprop::new(0.1).etas(0.5, 1.0))),
        ("step_sizes.1", 1e-3, Box::new(Rprop::new(0.1).step_sizes(1.0, 1e-3))),
        ("step_sizes.0", -1.0, Box::new(Rprop::new(0.1).step_sizes(-1.0, 1.0))),
        ("lambd", -1.0, Box::new(Asgd::new(0.1).lambd(-1.0))),
        ("alpha", -1.0, Box::new(Asgd::new(0.1).alpha(-1.0))),
        ("t0", f64::NAN, Box::new(Asgd::new(0.1).t0(f64::NAN))),
        ("beta1", 1.5, Box::new(Lion::new(0.1).betas(1.5, 0.9))),
        ("weight_decay", -1.0, Box::new(Lion::new(0.1).weight_decay(-1.0))),
        ("eps_root", -1.0, Box::new(AdaBelief::new(0.1).eps_root(-1.0))),
        ("beta2", 1.0, Box::new(AdaBelief::new(0.1).betas(0.9, 1.0))),
        ("initial_accumulator_value", 0.0, Box::new(Yogi::new(0.1).initial_accumulator_value(0.0))),
        ("eps", -1.0, Box::new(Yogi::new(0.1).eps(-1.0))),
        ("weight_decay", -1.0, Box::new(Lamb::new(0.1).weight_decay(-1.0))),
        ("eps", -1.0, Box::new(Lamb::new(0.1).eps(-1.0))),
        // the rules added later (their validation was untested: found by mutation testing)
        ("beta3", 1.0, Box::new(Adan::new(0.1).betas(0.9, 0.9, 1.0))),
        ("eps_root", -1.0, Box::new(Adan::new(0.1).eps_root(-1.0))),
        ("beta2", 1.5, Box::new(Adopt::new(0.1).betas(0.9, 1.5))),
        ("eps", -1.0, Box::new(Adopt::new(0.1).eps(-1.0))),
        ("beta3", -0.1, Box::new(AdEmaMix::new(0.1).betas(0.9, 0.999, -0.1))),
        ("alpha", -1.0, Box::new(AdEmaMix::new(0.1).alpha(-1.0))),
        ("beta1", 1.0, Box::new(SimplifiedAdEmaMix::new(0.1).betas(1.0, 0.99))),
        ("trust_coefficient", -1.0, Box::new(Lars::new(0.1).trust_coefficient(-1.0))),
        ("momentum", -0.5, Box::new(Lars::new(0.1).momentum(-0.5))),
        ("beta2", 1.0, Box::new(NovoGrad::new(0.1).betas(0.9, 1.0))),
        ("momentum", 1.0, Box::new(Sm3::new(0.1).momentum(1.0))),
        ("min_norm", -1.0, Box::new(Fromage::new(0.1).min_norm(-1.0))),
        ("beta", -1.0, Box::new(OptimisticGd::new(0.1).beta(-1.0))),
        ("beta1", 1.0, Box::new(SparseAdam::new(0.1).betas(1.0, 0.99))),
        ("eps", 0.0, Box::new(SparseAdam::new(0.1).eps(0.0))),
        ("beta3", 1.0, Box::new(Prodigy::new(1.0).beta3(1.0))),
        ("estim_lr0", 0.0, Box::new(Prodigy::new(1.0).estim_lr0(0.0))),
        // torch.optim.Adafactor requires d >= 1; optax's clipping_threshold only > 0
        ("d", 0.5, Box::new(Adafactor::new(0.1).d(0.5))),
        ("d", 0.0, Box::new(Adafactor::new(0.1).form(Form::Optax).d(0.0))),
        ("beta2_decay", 0.5, Box::new(Adafactor::new(0.1).beta2_decay(0.5))),
        ("momentum", 1.0, Box::new(Muon::new(0.1).momentum(1.0).shape(&[2, 2]))),
        ("ns_steps", 100.0, Box::new(Muon::new(0.1).ns_steps(100).shape(&[2, 2]))),
        ("beta1", 1.0, Box::new(ScheduleFreeAdamW::new(0.1).betas(1.0, 0.999))),
        ("beta1", 0.0, Box::new(ScheduleFreeAdamW::new(0.1).betas(0.0, 0.999))),
        ("momentum", 1.0, Box::new(ScheduleFreeSgd::new(0.1).momentum(1.0))),
        ("momentum", 0.0, Box::new(ScheduleFreeSgd::new(0.1).momentum(0.0))),
        ("r", f64::NAN, Box::new(ScheduleFreeAdamW::new(0.1).r(f64::NAN))),
        ("weight_lr_power", f64::INFINITY, Box::new(ScheduleFreeSgd::new(0.1).weight_lr_power(f64::INFINITY))),
    ];
    for (want, value, mut opt) in cases {
        let mut p = vec![1.0, 2.0, 3.0, 4.0];
        rejects(want, &mut *opt, &mut p, &[0.1; 4], |e| {
            matches!(e, Error::InvalidHyperparameter { name, value: v, .. }
                if *name == want && v.to_bits() == value.to_bits())
        });
        assert_eq!(opt.steps(), 0);
    }
}

/// The bounds a rule accepts, at the bound itself (the refusals above sit just outside them):
/// a bound made strict would refuse these.
#[test]
fn values_at_the_bounds_are_accepted() {
    let at_bounds: Vec<(&str, Box<dyn Probe>)> = vec![
        ("Rprop step_sizes equal", Box::new(Rprop::new(0.1).step_sizes(0.5, 0.5))),
        ("Rprop step_sizes 0", Box::new(Rprop::new(0.1).step_sizes(0.0, 0.0))),
        ("Muon ns_steps 99", Box::new(Muon::new(0.1).ns_steps(99).shape(&[2, 2]))),
        ("Adafactor d 1", Box::new(Adafactor::new(0.1).d(1.0))),
        ("Sgd nesterov", Box::new(Sgd::new(0.1).momentum(1e-3).nesterov(true))),
    ];
    for (name, opt) in at_bounds {
        assert_eq!(opt.validate(), Ok(()), "{name}");
    }
    assert_eq!(Lbfgs::new(1.0_f64).max_iter(1).max_eval(1).history_size(1).validate(), Ok(()));
    for (want, opt) in [
        ("max_iter", Lbfgs::new(1.0_f64).max_iter(0)),
        ("max_eval", Lbfgs::new(1.0_f64).max_eval(0)),
        ("history_size", Lbfgs::new(1.0_f64).history_size(0)),
    ] {
        assert!(
            matches!(opt.validate(), Err(Error::InvalidHyperparameter { name, value, .. }) if name == want && value == 0.0),
            "{want}: {:?}",
            opt.validate()
        );
    }
}

#[test]
fn error_messages_name_the_value() {
    let e = Adam::<f64>::new(0.1).betas(1.5, 0.9).step(&mut [1.0], &[1.0]).unwrap_err();
    assert_eq!(e.to_string(), "invalid hyperparameter `beta1` = 1.5: a value in [0, 1)");
    let e = Sgd::<f32>::new(0.1).step(&mut [1.0, 2.0], &[1.0]).unwrap_err();
    assert_eq!(e.to_string(), "length mismatch: params has 2 elements but grads has 1");
    let e = Sgd::<f32>::new(0.1).step(&mut [1.0, 2.0], &[1.0, f32::NAN]).unwrap_err();
    assert_eq!(e.to_string(), "non-finite gradient: grads[1] = NaN");
}

#[test]
fn zero_length_slices_are_a_valid_no_op() {
    // An empty step changes nothing: not the step count, not the state's size (it used to pin
    // the state at length 0, so that the next real step failed with a state mismatch).
    for (name, mut opt) in all_rules() {
        opt.step(&mut [], &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(opt.steps(), 0, "{name}");
        let mut p = [1.0, 2.0, 3.0];
        opt.step(&mut p, &[0.1, 0.2, 0.3]).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (after, steps) = (p, opt.steps());
        opt.step(&mut [], &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(opt.steps(), steps, "{name}");
        let mut q = after;
        opt.step(&mut q, &[0.1, 0.2, 0.3]).unwrap_or_else(|e| panic!("{name}: state lost after an empty step: {e}"));
    }
}

#[test]
fn fit_rejects_bad_data_without_touching_params() {
    let model = Linear::new(2);
    let mut p = [1.0, 2.0, 3.0];
    let mut opt = Sgd::new(0.1);
    let e = fit(&model, &SquaredError, &mut opt, &mut p, &[], &[], FitOptions::new(1)).unwrap_err();
    assert!(matches!(e, Error::EmptyData { .. }));
    let e =
        fit(&model, &SquaredError, &mut opt, &mut p, &[1.0, 2.0, 3.0], &[1.0, 2.0], FitOptions::new(1)).unwrap_err();
    assert_eq!(e, Error::ShapeMismatch { what: "x (samples * features)", expected: 4, found: 3 });
    let e = fit(&model, &SquaredError, &mut opt, &mut p[..2], &[1.0, 2.0], &[1.0], FitOptions::new(1)).unwrap_err();
    assert_eq!(e, Error::ShapeMismatch { what: "params", expected: 3, found: 2 });
    let e = fit(&model, &SquaredError, &mut opt, &mut p, &[1.0, 2.0], &[1.0], FitOptions::new(1).batch_size(0))
        .unwrap_err();
    assert!(matches!(e, Error::InvalidHyperparameter { name: "batch_size", .. }));
    assert_eq!(p, [1.0, 2.0, 3.0]);
    assert_eq!(opt.steps(), 0);
}

#[test]
fn fit_divergence_restores_the_best_epoch_params_and_state() {
    // lr far too large: the loss overflows after a few epochs
    let x: Vec<f64> = (0..20).map(|i| i as f64).collect();
    let y: Vec<f64> = x.iter().map(|x| 3.0 * x + 1.0).collect();
    let model = Linear::new(1);
    let rule = || Sgd::new(0.004).momentum(0.9);
    let (mut opt, mut p) = (rule(), [0.0, 0.0]);
    let err = fit(&model, &SquaredError, &mut opt, &mut p, &x, &y, FitOptions::new(1000)).unwrap_err();
    let Error::Diverged { epoch, sample, restored } = err else { panic!("{err:?}") };
    assert!(sample < 20 && epoch > 1, "{err:?}");
    assert!(err.to_string().contains(&format!("end of epoch {}", restored.unwrap())), "{err}");
    // replay the completed epochs: the restored point is the one the epoch of lowest mean loss
    // started from (the end of the epoch before it)...
    let (mut o, mut q) = (rule(), [0.0, 0.0]);
    let report = fit(&model, &SquaredError, &mut o, &mut q, &x, &y, FitOptions::new(epoch)).unwrap();
    let losses: Vec<f64> = report.epochs.iter().map(|e| e.loss).collect();
    let lowest = (0..epoch).min_by(|&a, &b| losses[a].total_cmp(&losses[b])).unwrap();
    assert_eq!(restored, lowest.checked_sub(1), "{losses:?}");
    assert!(restored.unwrap() + 2 < epoch, "the last epochs were not the best: {losses:?}");
    // ...and the params and the momentum are those at its end
    let (mut o, mut q) = (rule(), [0.0, 0.0]);
    fit(&model, &SquaredError, &mut o, &mut q, &x, &y, FitOptions::new(restored.unwrap() + 1)).unwrap();
    assert_eq!(bits(&p), bits(&q));
    assert_eq!(opt, o, "the optimizer's state is the best epoch's");
    assert_eq!(opt.steps(), 20 * (restored.unwrap() as u64 + 1));
    // a run whose first epoch is its best comes back to where it started, state included
    let (mut opt, mut p) = (Sgd::new(0.05).momentum(0.5), [0.0, 0.0]);
    let err = fit(&model, &SquaredError, &mut opt, &mut p, &x, &y, FitOptions::new(1000)).unwrap_err();
    assert!(matches!(err, Error::Diverged { restored: None, .. }), "{err:?}");
    assert!(err.to_string().contains("at the start"), "{err}");
    assert_eq!((p, opt.steps()), ([0.0, 0.0], 0));
    assert_eq!(opt, Sgd::new(0.05).momentum(0.5));
}

#[test]
fn the_error_stays_small() {
    // clippy's `result_large_err` fires in users' code from 128 bytes on; names are carried
    // inline (TensorName) so the enum stays `Copy` without an allocator.
    assert!(std::mem::size_of::<Error>() < 128, "{}", std::mem::size_of::<Error>());
    let e = Error::UngroupedTensor { name: TensorName::new("transformer.h.11.attn.c_attn.weight") };
    assert_eq!(
        e.to_string(),
        "tensor `transformer.h.11.attn.c_attn.weight` is in no group: add it to one with `Groups::group`"
    );
}

/// Found by mutation testing (docs/mutants.md): checks no other test made.
#[test]
fn optax_only_keywords_and_form_resets_are_checked() {
    // bias_correction_mu/nu are optax.amsgrad keywords: torch's AMSGrad refuses them
    let e = Adam::<f64>::new(1e-3).amsgrad(true).bias_correction_mu(false).validate().unwrap_err();
    assert!(matches!(e, Error::InvalidHyperparameter { name: "bias_correction_mu", .. }), "{e}");
    assert!(Adam::<f64>::new(1e-3).form(Form::Optax).amsgrad(true).bias_correction_mu(false).validate().is_ok());
    // form(Form::Optax) starts from optax's defaults (a torch-only weight decay set before is gone);
    // form(Form::Torch) keeps what was set
    let optax = Adam::<f64>::new(0.1).weight_decay(0.5).form(Form::Optax);
    assert_eq!(optax.get_form(), Form::Optax);
    assert!(optax.validate().is_ok());
    let torch = Adam::<f64>::new(0.1).weight_decay(0.5).form(Form::Torch);
    assert_eq!(torch.get_form(), Form::Torch);
    assert_eq!(torch.get_weight_decay(), 0.5);
}

#[test]
fn a_rule_without_momentum_says_so_and_its_eval_point_is_its_params() {
    let mut opt = Adagrad::<f64>::new(0.1);
    assert_eq!(Optimizer::momentum(&opt), None);
    assert!(!opt.set_momentum(0.9));
    assert_eq!(opt.group_momentum(0), None);
    let mut out = [0.0; 3];
    opt.eval_params(&[1.0, 2.0, 3.0], &mut out);
    assert_eq!(out, [1.0, 2.0, 3.0]);
}

/// `reset` forgets everything a step learned: stepping after a reset is stepping a fresh copy,
/// for every rule and matrix rule (Muon's and OptimisticGd's `clear` were untested: found by
/// mutation testing), and for SGD whose buffer does not start as the first gradient (optax's
/// form, an initial buffer), where a buffer left behind would show (`Sgd::clear` emptied survived).
#[test]
fn a_reset_rule_steps_as_a_fresh_one() {
    let restarting = || -> Vec<(&'static str, Box<dyn Probe>)> {
        vec![
            ("Sgd, initial buffer", Box::new(Sgd::new(0.1).momentum(0.9).initial_buffer(0.0))),
            ("Sgd, optax", Box::new(Sgd::new(0.1).form(Form::Optax).momentum(0.9))),
            ("Adafactor, optax momentum", Box::new(Adafactor::new(0.1).form(Form::Optax).momentum(Some(0.9)))),
        ]
    };
    let fresh = || all_rules().into_iter().chain(matrix_rules()).chain(restarting());
    for ((name, mut used), (_, mut new)) in fresh().zip(fresh()) {
        let mut p = vec![1.0, -2.0, 0.5, 3.0];
        // large and against the later gradients' signs, so that a state left behind shows even
        // through a sign (Lion) or a normalization
        for g in [[0.3, -0.1, 0.2, 0.5], [-40.0, -30.0, 30.0, -40.0]] {
            used.step(&mut p, &g).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        used.reset();
        assert_eq!(used.steps(), 0, "{name}");
        let (mut a, mut b) = (vec![1.0, 2.0, -1.0, 0.5], vec![1.0, 2.0, -1.0, 0.5]);
        for g in [[0.1, 0.2, -0.3, 0.4], [0.2, -0.1, 0.3, 0.1], [-0.2, 0.3, 0.1, -0.4]] {
            used.step(&mut a, &g).unwrap_or_else(|e| panic!("{name}: {e}"));
            new.step(&mut b, &g).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(a, b, "{name}: a reset rule steps differently from a fresh one");
        }
    }
}
