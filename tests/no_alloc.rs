//! Zero allocation after the first step, for every rule: a counting global allocator proves it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use gradus::*;

struct Counting;

thread_local! {
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator unchanged; only counts this thread's calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        COUNT.with(|c| c.set(c.get() + 1));
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which we pass on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        COUNT.with(|c| c.set(c.get() + 1));
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn allocations(f: impl FnOnce()) -> usize {
    let before = COUNT.with(Cell::get);
    f();
    COUNT.with(Cell::get) - before
}

#[test]
fn no_rule_allocates_after_its_first_step() {
    let rules: Vec<(&str, Box<dyn Optimizer<f32>>)> = vec![
        ("Sgd", Box::new(Sgd::new(0.01).momentum(0.9))),
        ("Adam", Box::new(Adam::new(0.01).amsgrad(true))),
        ("AdamW", Box::new(AdamW::new(0.01))),
        ("RmsProp", Box::new(RmsProp::new(0.01).centered(true).momentum(0.9))),
        ("Adagrad", Box::new(Adagrad::new(0.01))),
        ("Adadelta", Box::new(Adadelta::new(1.0))),
        ("Adamax", Box::new(Adamax::new(0.01))),
        ("NAdam", Box::new(NAdam::new(0.01))),
        ("RAdam", Box::new(RAdam::new(0.01))),
        ("Rprop", Box::new(Rprop::new(0.01))),
        ("Asgd", Box::new(Asgd::new(0.01))),
        ("Lion", Box::new(Lion::new(0.01))),
        ("AdaBelief", Box::new(AdaBelief::new(0.01))),
        ("Yogi", Box::new(Yogi::new(0.01))),
        ("Lamb", Box::new(Lamb::new(0.01))),
        ("SparseAdam", Box::new(SparseAdam::new(0.01))),
        ("Adafactor", Box::new(Adafactor::new(0.01))),
        // the matrix rules, on a 4099 = 4099 x 1 matrix: (1 x 4099 after Muon's transpose)
        ("Adafactor 4099x1", Box::new(Adafactor::new(0.01).shape(&[4099, 1]))),
        ("ScheduleFreeAdamW", Box::new(ScheduleFreeAdamW::new(0.01).weight_decay(0.01))),
        ("ScheduleFreeAdamW decay_at_z", Box::new(ScheduleFreeAdamW::new(0.01).weight_decay(0.01).decay_at_z(true))),
        ("ScheduleFreeSgd", Box::new(ScheduleFreeSgd::new(0.01))),
        ("Adan", Box::new(Adan::new(0.01))),
        ("Adopt", Box::new(Adopt::new(0.01))),
        ("AdEmaMix", Box::new(AdEmaMix::new(0.01))),
        ("SimplifiedAdEmaMix", Box::new(SimplifiedAdEmaMix::new(0.01))),
        ("Lars", Box::new(Lars::new(0.01))),
        ("NovoGrad", Box::new(NovoGrad::new(0.01))),
        ("Prodigy", Box::new(Prodigy::new(1.0))),
        ("Sm3", Box::new(Sm3::new(0.01))),
        ("SignSgd", Box::new(SignSgd::new(0.01))),
        ("Fromage", Box::new(Fromage::new(0.01))),
        ("OptimisticGd", Box::new(OptimisticGd::new(0.01))),
        (
            "optax.rmsprop",
            Box::new(RmsProp::new(0.01).form(Form::Optax).centered(true).momentum(0.9).bias_correction(true)),
        ),
        ("optax.adagrad", Box::new(Adagrad::new(0.01).form(Form::Optax))),
        ("optax.amsgrad", Box::new(Adam::new(0.01).form(Form::Optax).amsgrad(true))),
        ("optax.adamaxw", Box::new(Adamax::new(0.01).form(Form::Optax))),
        ("optax.nadamw", Box::new(NAdam::new(0.01).form(Form::Optax))),
        ("optax.radam", Box::new(RAdam::new(0.01).form(Form::Optax).nesterov(true))),
        ("optax.schedule_free_adamw", Box::new(ScheduleFreeAdamW::new(0.01).form(Form::Optax).warmup_steps(3))),
        ("optax.schedule_free_sgd", Box::new(ScheduleFreeSgd::new(0.01).form(Form::Optax).weight_decay(0.01))),
        ("optax.adafactor", Box::new(Adafactor::new(0.01).form(Form::Optax).momentum(Some(0.9)))),
        (
            "optax.adafactor 4099x1",
            Box::new(Adafactor::new(0.01).form(Form::Optax).shape(&[4099, 1]).min_dim_size_to_factor(1)),
        ),
        ("Lookahead", Box::new(Lookahead::new(Adam::new(0.01), 3, 0.5))),
        ("MultiSteps", Box::new(MultiSteps::new(Adam::new(0.01), 3))),
        ("ApplyIfFinite", Box::new(ApplyIfFinite::new(Adam::new(0.01), 3))),
    ];
    let n = 4099;
    let mut p: Vec<f32> = (0..n).map(|i| (i % 17) as f32 * 0.1 - 0.8).collect();
    let g: Vec<f32> = (0..n).map(|i| (i % 13) as f32 * 0.01 - 0.06).collect();
    for (name, mut opt) in rules {
        // MultiSteps sizes its inner rule on its first emitting step, the `every_k`-th
        let warm = if name == "MultiSteps" { 3 } else { 1 };
        let first = allocations(|| {
            for _ in 0..warm {
                opt.step(&mut p, &g).unwrap()
            }
        });
        // the stateless rules allocate nothing at all
        let stateless = ["SignSgd", "Fromage"].contains(&name);
        assert!(stateless || first > 0, "{name}: the first step sizes the state");
        let later = allocations(|| {
            for _ in 0..10 {
                opt.step(&mut p, &g).unwrap();
            }
            // errors allocate nothing either
            let _ = opt.step(&mut p, &g[1..]);
        });
        assert_eq!(later, 0, "{name} allocated after its first step");
    }
}

#[test]
fn groups_do_not_allocate_after_the_first_step() {
    let layout =
        gradus::Layout::new().tensor("w1", &[64, 32]).tensor("b1", &[32]).tensor("w2", &[32, 10]).tensor("b2", &[10]);
    let mut bad_groups = Groups::new(layout.clone())
        .group(&["w1", "w2"], AdamW::new(1e-3_f32).weight_decay(0.1))
        .group(&["b1", "b2"], Sgd::new(1e-2).momentum(0.9))
        .group(&[], Lamb::new(1e-3)); // an empty group is an error, found without allocating
    let mut p = vec![0.5_f32; layout.len()];
    let g = vec![0.01_f32; layout.len()];
    assert_eq!(allocations(|| assert!(bad_groups.step(&mut p, &g).is_err())), 0);
    let mut opt = Groups::new(layout.clone())
        .group(&["w1", "w2"], AdamW::new(1e-3_f32).weight_decay(0.1))
        .group(&["b1"], Sgd::new(1e-2).momentum(0.9))
        .group(&["b2"], Lamb::new(1e-3));
    let mut s = CosineAnnealingLr::new(100, 0.0);
    s.start(&mut opt).unwrap();
    assert!(allocations(|| opt.step(&mut p, &g).unwrap()) > 0);
    let mut tensors: Vec<Vec<f32>> = layout.split(&p).unwrap().into_iter().map(<[f32]>::to_vec).collect();
    let grads = layout.split(&g).unwrap();
    let mut bad = g.clone();
    bad[layout.len() - 1] = f32::NAN;
    let later = allocations(|| {
        for _ in 0..10 {
            opt.step(&mut p, &g).unwrap();
            s.step(&mut opt, None).unwrap();
        }
        let [a, b, c, d] = &mut tensors[..] else { unreachable!() };
        opt.step_tensors(&mut [&mut a[..], &mut b[..], &mut c[..], &mut d[..]], &grads).unwrap();
        clip_grad_norm(&mut p, 1.0, Norm::L2).unwrap();
        assert!(opt.step(&mut p, &bad).is_err());
    });
    assert_eq!(later, 0, "Groups allocated after its first step");
    // a Prodigy group steps one estimate over its tensors, flat or by views, without allocating
    let mut opt = Groups::new(layout.clone())
        .group(&["w1", "w2"], Prodigy::new(1.0_f32).weight_decay(0.1))
        .group(&["b1", "b2"], AdamW::new(1e-3));
    assert!(allocations(|| opt.step(&mut p, &g).unwrap()) > 0);
    let later = allocations(|| {
        for _ in 0..10 {
            opt.step(&mut p, &g).unwrap();
        }
        let [a, b, c, d] = &mut tensors[..] else { unreachable!() };
        opt.step_tensors(&mut [&mut a[..], &mut b[..], &mut c[..], &mut d[..]], &grads).unwrap();
    });
    assert_eq!(later, 0, "a Prodigy group allocated after its first step");
}

#[test]
fn matrix_rules_and_sparse_rows_do_not_allocate_after_the_first_step() {
    let (m, n) = (48, 64);
    let mut p: Vec<f32> = (0..m * n).map(|i| (i % 17) as f32 * 0.1 - 0.8).collect();
    let g: Vec<f32> = (0..m * n).map(|i| (i % 13) as f32 * 0.01 - 0.06).collect();
    // Muon's buffers, the matrix products' packing workspace included, are sized once
    let rules: Vec<(&str, Box<dyn Optimizer<f32>>)> = vec![
        ("Muon", Box::new(Muon::new(0.02).shape(&[m, n]))),
        ("Muon (tall)", Box::new(Muon::new(0.02).shape(&[n, m]))),
        ("Muon 3 steps", Box::new(Muon::new(0.02).shape(&[m, n]).ns_steps(3))),
        ("optax.contrib.muon adaptive", Box::new(Muon::new(0.02).form(Form::Optax).shape(&[m, n]).adaptive(true))),
        (
            "optax.contrib.muon spectral",
            Box::new(Muon::new(0.02).form(Form::Optax).shape(&[m, n]).preconditioning(Preconditioning::Spectral)),
        ),
        (
            "optax.contrib.muon aol",
            Box::new(Muon::new(0.02).form(Form::Optax).shape(&[n, m]).preconditioning(Preconditioning::Aol)),
        ),
        ("Adafactor", Box::new(Adafactor::new(0.01).shape(&[m, n]))),
        ("optax.adafactor", Box::new(Adafactor::new(0.01).form(Form::Optax).shape(&[m, n]).min_dim_size_to_factor(2))),
    ];
    for (name, mut opt) in rules {
        assert!(allocations(|| opt.step(&mut p, &g).unwrap()) > 0);
        let later = allocations(|| {
            for _ in 0..5 {
                opt.step(&mut p, &g).unwrap();
            }
        });
        assert_eq!(later, 0, "{name} allocated after its first step");
    }
    let mut sparse = SparseAdam::new(0.01_f32).shape(&[m, n]);
    let rows = [3, 7, 3, 40];
    let values = vec![0.5_f32; rows.len() * n];
    sparse.step_rows(&mut p, &rows, &values).unwrap();
    let later = allocations(|| {
        for _ in 0..5 {
            sparse.step_rows(&mut p, &rows, &values).unwrap();
        }
    });
    assert_eq!(later, 0, "SparseAdam::step_rows allocated after its first step");
}

#[test]
fn lbfgs_does_not_allocate_once_its_history_is_full() {
    // a quadratic in 50 dimensions, history of 3 pairs, both line-search settings
    let n = 50;
    let f = |x: &[f64], g: &mut [f64]| {
        let mut s = 0.0;
        for i in 0..x.len() {
            let a = 1.0 + (i % 7) as f64;
            g[i] = a * (x[i] - 1.0);
            s += 0.5 * a * (x[i] - 1.0) * (x[i] - 1.0);
        }
        s
    };
    for line_search in [None, Some(LineSearch::StrongWolfe)] {
        let mut opt = Lbfgs::new(0.5)
            .history_size(3)
            .max_iter(4)
            .tolerance_grad(0.0)
            .tolerance_change(0.0)
            .line_search_fn(line_search);
        let mut x: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin() * 10.0).collect();
        for _ in 0..3 {
            opt.step(&mut x, f).unwrap();
        }
        let later = allocations(|| {
            for _ in 0..5 {
                opt.step(&mut x, f).unwrap();
            }
        });
        assert_eq!(later, 0, "Lbfgs {line_search:?} allocated with a full history");
    }
}

#[path = "../benches/gpt2.rs"]
mod gpt2;

/// The model benchmarks' `Groups` configurations (benches/model.rs), on a small GPT-2 (2 blocks of
/// width 32): AdamW, Adafactor and Muon allocate nothing after the first step, guarded or not.
#[test]
fn the_model_benchmarks_groups_do_not_allocate_after_the_first_step() {
    let layout = gpt2::shapes(2, 32, 64, 16).iter().fold(gradus::Layout::new(), |l, (n, s)| l.tensor(n, s));
    let (p0, g) = gpt2::buffers(layout.len());
    for config in ["adamw", "adafactor", "muon"] {
        for guard in [false, true] {
            let (mut opt, mut p) = (gpt2::groups(&layout, config, guard), p0.clone());
            opt.step(&mut p, &g).unwrap();
            let later = allocations(|| {
                for _ in 0..3 {
                    opt.step(&mut p, &g).unwrap();
                }
            });
            assert_eq!(later, 0, "{config} (guard {guard}) allocated after its first step");
        }
    }
}
