//! Property tests over every rule: invariants that must hold for any input.
//!
//! Invariants (each a `proptest!` below):
//!  1. `maximize` with `g` equals minimizing with `-g`, bit for bit;
//!  2. `lr = 0` leaves the parameters unchanged (numerically);
//!  3. a zero gradient without weight decay leaves SGD and Adam-family parameters unchanged;
//!  4. `reset()` then replaying equals a fresh optimizer, bit for bit;
//!  5. sharding: stepping a slice equals stepping its two halves with two optimizers;
//!  6. f32 tracks f64 on random well-conditioned quadratics;
//!  7. a rejected step (non-finite gradient) changes neither params nor state, and leaves no NaN;
//!  8. small-lr descent lowers a convex quadratic;
//!  9. determinism: a clone continues exactly like the original;
//! 10. `check_finite(false)` gives the same bits as the guarded step on finite input;
//! 11. the step counter counts successful steps only;
//! 12. `AdamW` equals `Adam` with `decoupled_weight_decay(true)`, bit for bit;
//! 13. SGD's `weight_decay` equals adding `weight_decay * p` to the gradient by hand;
//! 14. `clip_grad_norm` leaves a norm of at most `max_norm`, and keeps the direction;
//! 15. `fit` with batch size 1 equals a hand loop of `loss_gradient` + `step`.

use gradus::*;
use proptest::prelude::*;

const RULES: usize = 17;

/// Rule `i` with learning rate `lr`. Rules `..ELEMENTWISE` update each element independently.
fn rule(i: usize, lr: f64) -> Box<dyn Optimizer<f64>> {
    match i {
        0 => Box::new(Sgd::new(lr)),
        1 => Box::new(Sgd::new(lr).momentum(0.9).nesterov(true)),
        2 => Box::new(Adam::new(lr)),
        3 => Box::new(Adam::new(lr).amsgrad(true)),
        4 => Box::new(AdamW::new(lr)),
        5 => Box::new(RmsProp::new(lr).centered(true).momentum(0.5)),
        6 => Box::new(Adagrad::new(lr)),
        7 => Box::new(Adadelta::new(lr)),
        8 => Box::new(Adamax::new(lr)),
        9 => Box::new(NAdam::new(lr)),
        10 => Box::new(RAdam::new(lr)),
        11 => Box::new(Rprop::new(lr)),
        12 => Box::new(Asgd::new(lr).t0(2.0)),
        13 => Box::new(Lion::new(lr)),
        14 => Box::new(AdaBelief::new(lr)),
        15 => Box::new(Yogi::new(lr)),
        16 => Box::new(Lamb::new(lr)),
        _ => unreachable!(),
    }
}

fn maximizing(i: usize, lr: f64) -> Box<dyn Optimizer<f64>> {
    match i {
        0 => Box::new(Sgd::new(lr).maximize(true)),
        1 => Box::new(Sgd::new(lr).momentum(0.9).nesterov(true).maximize(true)),
        2 => Box::new(Adam::new(lr).maximize(true)),
        3 => Box::new(Adam::new(lr).amsgrad(true).maximize(true)),
        4 => Box::new(AdamW::new(lr).maximize(true)),
        5 => Box::new(RmsProp::new(lr).centered(true).momentum(0.5).maximize(true)),
        6 => Box::new(Adagrad::new(lr).maximize(true)),
        7 => Box::new(Adadelta::new(lr).maximize(true)),
        8 => Box::new(Adamax::new(lr).maximize(true)),
        9 => Box::new(NAdam::new(lr).maximize(true)),
        10 => Box::new(RAdam::new(lr).maximize(true)),
        11 => Box::new(Rprop::new(lr).maximize(true)),
        12 => Box::new(Asgd::new(lr).t0(2.0).maximize(true)),
        13 => Box::new(Lion::new(lr).maximize(true)),
        14 => Box::new(AdaBelief::new(lr).maximize(true)),
        15 => Box::new(Yogi::new(lr).maximize(true)),
        16 => Box::new(Lamb::new(lr).maximize(true)),
        _ => unreachable!(),
    }
}

const LAMB: usize = 16;
const RPROP: usize = 11;

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn vecs(len: impl Into<prop::collection::SizeRange>) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(-10.0..10.0f64, len)
}

/// `steps` gradient vectors for `n` parameters.
fn grads(n: usize, steps: usize) -> impl Strategy<Value = Vec<Vec<f64>>> {
    prop::collection::vec(prop::collection::vec(-5.0..5.0f64, n), steps)
}

fn run(opt: &mut dyn Optimizer<f64>, x: &mut [f64], gs: &[Vec<f64>]) {
    for g in gs {
        opt.step(x, g).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn maximize_is_minimizing_the_negated_gradient(i in 0..RULES, x0 in vecs(6), gs in grads(6, 5), lr in 1e-4..0.5f64) {
        let (mut a, mut b) = (maximizing(i, lr), rule(i, lr));
        let (mut xa, mut xb) = (x0.clone(), x0);
        for g in &gs {
            let neg: Vec<f64> = g.iter().map(|v| -v).collect();
            a.step(&mut xa, g).unwrap();
            b.step(&mut xb, &neg).unwrap();
        }
        prop_assert_eq!(bits(&xa), bits(&xb), "rule {}", i);
    }

    #[test]
    fn zero_learning_rate_changes_nothing(i in 0..RULES, x0 in vecs(5), gs in grads(5, 4)) {
        // Rprop's lr is only its initial step size, which PyTorch clamps into `step_sizes`:
        // with the default minimum 1e-6 it moves even from lr 0, so the floor is lowered to 0.
        let mut opt = if i == RPROP { Box::new(Rprop::new(0.0).step_sizes(0.0, 50.0)) } else { rule(i, 0.0) };
        let mut x = x0.clone();
        run(&mut *opt, &mut x, &gs);
        prop_assert_eq!(x, x0, "rule {}", i);
    }

    #[test]
    fn zero_gradient_without_decay_changes_nothing(x0 in vecs(7), lr in 1e-4..1.0f64) {
        for mut opt in [Box::new(Sgd::new(lr)) as Box<dyn Optimizer<f64>>, Box::new(Sgd::new(lr).momentum(0.9)),
                        Box::new(Adam::new(lr)), Box::new(RmsProp::new(lr)), Box::new(Adagrad::new(lr))] {
            let mut x = x0.clone();
            run(&mut *opt, &mut x, &[vec![0.0; 7], vec![0.0; 7]]);
            prop_assert_eq!(&x, &x0);
        }
    }

    #[test]
    fn reset_then_replay_equals_fresh(i in 0..RULES, x0 in vecs(4), gs in grads(4, 4), other in grads(6, 3), lr in 1e-3..0.3f64) {
        let mut used = rule(i, lr);
        let mut junk = vec![1.0; 6];
        run(&mut *used, &mut junk, &other);
        used.reset();
        prop_assert_eq!(used.steps(), 0);
        let mut fresh = rule(i, lr);
        let (mut xa, mut xb) = (x0.clone(), x0);
        run(&mut *used, &mut xa, &gs);
        run(&mut *fresh, &mut xb, &gs);
        prop_assert_eq!(bits(&xa), bits(&xb), "rule {}", i);
    }

    #[test]
    fn sharding_is_invisible(i in 0..LAMB, x0 in vecs(9), gs in grads(9, 4), cut in 1usize..8, lr in 1e-3..0.3f64) {
        let mut whole = rule(i, lr);
        let mut x = x0.clone();
        run(&mut *whole, &mut x, &gs);
        let (mut lo, mut hi) = (rule(i, lr), rule(i, lr));
        let (mut a, mut b) = (x0[..cut].to_vec(), x0[cut..].to_vec());
        for g in &gs {
            lo.step(&mut a, &g[..cut]).unwrap();
            hi.step(&mut b, &g[cut..]).unwrap();
        }
        a.extend(b);
        prop_assert_eq!(bits(&x), bits(&a), "rule {}", i);
    }

    #[test]
    fn f32_tracks_f64(scale in prop::collection::vec(0.5..2.0f64, 4), x0 in prop::collection::vec(0.5..1.5f64, 4)) {
        let mut a = Adam::<f32>::new(0.01);
        let mut b = Adam::<f64>::new(0.01);
        let mut xa: Vec<f32> = x0.iter().map(|&v| v as f32).collect();
        let mut xb = x0.clone();
        for _ in 0..50 {
            let ga: Vec<f32> = xa.iter().zip(&scale).map(|(x, s)| x * *s as f32).collect();
            let gb: Vec<f64> = xb.iter().zip(&scale).map(|(x, s)| x * s).collect();
            a.step(&mut xa, &ga).unwrap();
            b.step(&mut xb, &gb).unwrap();
        }
        for (a, b) in xa.iter().zip(&xb) {
            prop_assert!((*a as f64 - b).abs() <= 1e-3 * b.abs().max(1e-3));
        }
    }

    #[test]
    fn rejected_steps_change_nothing(i in 0..RULES, x0 in vecs(6), gs in grads(6, 2), bad in 0usize..6, kind in 0usize..3) {
        let mut opt = rule(i, 0.05);
        let mut x = x0;
        run(&mut *opt, &mut x, &gs);
        let before = (bits(&x), opt.second_moment().map(bits), opt.steps());
        let mut g = gs[0].clone();
        g[bad] = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY][kind];
        let err = opt.step(&mut x, &g).unwrap_err();
        prop_assert!(matches!(err, Error::NonFiniteGradient { index, .. } if index == bad), "{:?}", err);
        let after = (bits(&x), opt.second_moment().map(bits), opt.steps());
        prop_assert_eq!(&before, &after);
        prop_assert!(opt.second_moment().is_none_or(|v| v.iter().all(|v| !v.is_nan())));
    }

    #[test]
    fn small_steps_descend_a_convex_quadratic(i in 0..RULES, x0 in prop::collection::vec(0.5..2.0f64, 5), a in prop::collection::vec(0.5..4.0f64, 5)) {
        let f = |x: &[f64]| x.iter().zip(&a).map(|(x, a)| 0.5 * a * x * x).sum::<f64>();
        let mut opt = rule(i, 1e-4);
        let mut x = x0;
        let f0 = f(&x);
        for _ in 0..3 {
            let g: Vec<f64> = x.iter().zip(&a).map(|(x, a)| a * x).collect();
            opt.step(&mut x, &g).unwrap();
        }
        prop_assert!(f(&x) < f0, "rule {}: {} -> {}", i, f0, f(&x));
    }

    #[test]
    fn a_clone_continues_identically(x0 in vecs(5), gs in grads(5, 6)) {
        let mut a = Adam::new(0.05).amsgrad(true);
        let mut x = x0;
        run(&mut a, &mut x, &gs[..3]);
        let mut b = a.clone();
        let mut y = x.clone();
        run(&mut a, &mut x, &gs[3..]);
        run(&mut b, &mut y, &gs[3..]);
        prop_assert_eq!(bits(&x), bits(&y));
    }

    #[test]
    fn unguarded_steps_equal_guarded_ones_on_finite_input(x0 in vecs(33), gs in grads(33, 3)) {
        let (mut a, mut b) = (RmsProp::new(0.01).check_finite(false), RmsProp::new(0.01));
        let (mut xa, mut xb) = (x0.clone(), x0);
        run(&mut a, &mut xa, &gs);
        run(&mut b, &mut xb, &gs);
        prop_assert_eq!(bits(&xa), bits(&xb));
    }

    #[test]
    fn steps_count_successes_only(i in 0..RULES, n in 1usize..5) {
        let mut opt = rule(i, 0.01);
        let mut x = vec![1.0; 3];
        for k in 0..n {
            opt.step(&mut x, &[0.1, 0.2, 0.3]).unwrap();
            prop_assert!(opt.step(&mut x, &[0.1]).is_err());
            prop_assert_eq!(opt.steps(), k as u64 + 1);
        }
    }

    #[test]
    fn adamw_is_decoupled_adam(x0 in vecs(4), gs in grads(4, 5), wd in 0.0..0.5f64) {
        let mut a = AdamW::new(0.05).weight_decay(wd);
        let mut b = Adam::new(0.05).weight_decay(wd).decoupled_weight_decay(true);
        let (mut xa, mut xb) = (x0.clone(), x0);
        run(&mut a, &mut xa, &gs);
        run(&mut b, &mut xb, &gs);
        prop_assert_eq!(bits(&xa), bits(&xb));
    }

    #[test]
    fn sgd_weight_decay_is_an_l2_gradient(x0 in vecs(4), gs in grads(4, 5), wd in 0.0..0.5f64) {
        let mut a = Sgd::new(0.05).weight_decay(wd);
        let mut b = Sgd::new(0.05);
        let (mut xa, mut xb) = (x0.clone(), x0);
        for g in &gs {
            a.step(&mut xa, g).unwrap();
            let l2: Vec<f64> = g.iter().zip(&xb).map(|(g, p)| g + wd * p).collect();
            b.step(&mut xb, &l2).unwrap();
        }
        prop_assert_eq!(bits(&xa), bits(&xb));
    }

    #[test]
    fn clip_grad_norm_bounds_the_norm(g0 in vecs(1..20), max in 0.01..5.0f64) {
        let mut g = g0.clone();
        let total = clip_grad_norm(&mut g, max, Norm::L2).unwrap();
        let norm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
        prop_assert!(norm <= max * (1.0 + 1e-12) || norm <= total);
        if total > max {
            let k = g[0] / g0[0];
            for (a, b) in g.iter().zip(&g0) {
                prop_assert!((a - k * b).abs() <= 1e-12 * b.abs().max(1e-300));
            }
        }
    }

    #[test]
    fn fit_is_the_hand_loop(x in prop::collection::vec(-3.0..3.0f64, 1..12), epochs in 1usize..4) {
        let y: Vec<f64> = x.iter().map(|x| 1.0 - 2.0 * x).collect();
        let model = Linear::new(1);
        let mut p = [0.3, -0.2];
        fit(&model, &SquaredError, &mut Adam::new(0.05), &mut p, &x, &y, FitOptions::new(epochs)).unwrap();
        let mut q = [0.3, -0.2];
        let mut opt = Adam::new(0.05);
        let mut g = [0.0; 2];
        for _ in 0..epochs {
            for (xi, &yi) in x.iter().zip(&y) {
                loss_gradient(&model, &SquaredError, &q, std::slice::from_ref(xi), yi, &mut g);
                opt.step(&mut q, &g).unwrap();
            }
        }
        prop_assert_eq!(bits(&p), bits(&q));
    }
}
