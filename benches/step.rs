//! Step time of every rule at N = 1e3 .. 1e7 (f32; Adam also f64), and the side-by-side group
//! `compare/` that `benches/compare.sh` reads (Adam, SGD with momentum, RMSprop, Adagrad, with
//! and without the non-finite guard, matching `../shared/bench/fused_adam.c` and
//! `torch_step.py`'s hyperparameters).
//!
//! `cargo bench --bench step` runs all; `cargo bench --bench step -- compare/` only the latter.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use gradus::*;
use std::time::Duration;

const SIZES: [usize; 5] = [1_000, 10_000, 100_000, 1_000_000, 10_000_000];

/// Parameters and gradients as `fused_adam.c` fills them, and an optimizer that has taken one
/// step (its state is sized).
///
/// Made once per benchmark, on its first call: criterion calls a benchmark's closure for the
/// warm-up and again for every sample, and a closure that allocated would give each sample
/// fresh buffers and a fresh optimizer. Like a training loop (and like the C kernel's harness),
/// every timed step runs on the same buffers and state.
fn ready<T: num_traits::Float, O: Optimizer<T>>(n: usize, mut opt: O) -> (Vec<T>, Vec<T>, O) {
    let mut p: Vec<T> = (0..n).map(|i| T::from(0.5 + (i % 7) as f64 * 0.1).unwrap()).collect();
    let grads: Vec<T> = (0..n).map(|i| T::from(1e-2 * ((i % 13) as f64 - 6.0)).unwrap()).collect();
    opt.step(&mut p, &grads).unwrap();
    (p, grads, opt)
}

fn bench_rule<T: num_traits::Float + 'static>(
    c: &mut Criterion,
    group: &str,
    name: &str,
    make: &dyn Fn() -> Box<dyn Optimizer<T>>,
) {
    let mut g = c.benchmark_group(group);
    for n in SIZES {
        g.throughput(Throughput::Elements(n as u64));
        if n >= 1_000_000 {
            g.sample_size(20);
        }
        let mut setup = None;
        g.bench_with_input(BenchmarkId::new(name, n), &n, |b, &n| {
            let (p, grads, opt) = setup.get_or_insert_with(|| ready(n, make()));
            b.iter(|| opt.step(p, grads).unwrap());
        });
    }
    g.finish();
}

/// Makes an f32 optimizer, guarded or not.
type Make = fn(bool) -> Box<dyn Optimizer<f32>>;
/// Makes an f32 optimizer.
type MakeRule = fn() -> Box<dyn Optimizer<f32>>;

fn compare(c: &mut Criterion) {
    // the torch_step.py / fused_adam.c configurations
    let rules: [(&str, Make); 4] = [
        ("adam", |guard| Box::new(Adam::new(1e-3).check_finite(guard))),
        ("sgd_momentum", |guard| Box::new(Sgd::new(1e-3).momentum(0.9).check_finite(guard))),
        ("rmsprop", |guard| Box::new(RmsProp::new(1e-3).check_finite(guard))),
        ("adagrad", |guard| Box::new(Adagrad::new(1e-2).check_finite(guard))),
    ];
    for (name, make) in rules {
        bench_rule::<f32>(c, "compare", &format!("{name}/unguarded"), &|| make(false));
        bench_rule::<f32>(c, "compare", &format!("{name}/guarded"), &|| make(true));
    }
}

fn all_rules(c: &mut Criterion) {
    let rules: Vec<(&str, MakeRule)> = vec![
        ("sgd", || Box::new(Sgd::new(1e-3))),
        ("sgd_momentum", || Box::new(Sgd::new(1e-3).momentum(0.9))),
        ("adam", || Box::new(Adam::new(1e-3))),
        ("adam_amsgrad", || Box::new(Adam::new(1e-3).amsgrad(true))),
        ("adamw", || Box::new(AdamW::new(1e-3))),
        ("rmsprop", || Box::new(RmsProp::new(1e-3))),
        ("rmsprop_centered_momentum", || Box::new(RmsProp::new(1e-3).centered(true).momentum(0.9))),
        ("adagrad", || Box::new(Adagrad::new(1e-2))),
        ("adadelta", || Box::new(Adadelta::new(1.0))),
        ("adamax", || Box::new(Adamax::new(2e-3))),
        ("nadam", || Box::new(NAdam::new(2e-3))),
        ("radam", || Box::new(RAdam::new(1e-3))),
        ("rprop", || Box::new(Rprop::new(1e-2))),
        ("asgd", || Box::new(Asgd::new(1e-2))),
        ("lion", || Box::new(Lion::new(1e-4))),
        ("adabelief", || Box::new(AdaBelief::new(1e-3))),
        ("yogi", || Box::new(Yogi::new(1e-2))),
        ("lamb", || Box::new(Lamb::new(1e-3))),
    ];
    for (name, make) in rules {
        bench_rule::<f32>(c, "step_f32", name, &make);
    }
    bench_rule::<f64>(c, "step_f64", "adam", &|| Box::new(Adam::new(1e-3)));
}

/// `rayon` feature: Adam at N = 1e6 and 1e7, unguarded and with the non-finite guard, on a pool
/// of 1 thread (serial path) and of 2.
#[cfg(feature = "rayon")]
fn parallel(c: &mut Criterion) {
    let mut g = c.benchmark_group("rayon");
    g.sample_size(20);
    for n in [1_000_000, 10_000_000] {
        g.throughput(Throughput::Elements(n as u64));
        for (name, guard) in [("adam", false), ("adam_guarded", true)] {
            for threads in [1, 2] {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                let id = BenchmarkId::new(format!("{name}/{threads}threads"), n);
                let mut setup = None;
                g.bench_with_input(id, &n, |b, &n| {
                    let (p, grads, opt) =
                        setup.get_or_insert_with(|| ready::<f32, _>(n, Adam::new(1e-3).check_finite(guard)));
                    pool.install(|| b.iter(|| opt.step(p, grads).unwrap()));
                });
            }
        }
    }
    g.finish();
}

#[cfg(not(feature = "rayon"))]
fn parallel(_: &mut Criterion) {}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1));
    targets = compare, all_rules, parallel
}
criterion_main!(benches);
