//! A whole model's step: a `Groups` over the parameter shapes of GPT-2 tiny (76 tensors, 7.0 M)
//! and GPT-2 small (148 tensors, 124.4 M), f32, in the configurations of
//! `../shared/bench/torch_model_step.py` (AdamW with decay on the matrices only; Muon on the
//! hidden matrices with AdamW on the rest; Adafactor), with and without the non-finite guard,
//! and with the `rayon` feature on pools of 1 and 2 threads.
//!
//! `cargo bench --bench model` runs all (GPT-2 small's Muon takes a while: its Newton-Schulz
//! products are most of a second a step); `cargo bench --bench model -- gpt2-tiny/adamw` one
//! configuration. `bash benches/model_compare.sh` times the AdamW and Muon steps beside
//! PyTorch's and the C kernel on the flat buffer, in interleaved rounds.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use gradus::Optimizer;
use std::time::Duration;

#[path = "gpt2.rs"]
mod gpt2;

fn model(c: &mut Criterion) {
    let threads: &[usize] = if cfg!(feature = "rayon") { &[1, 2] } else { &[1] };
    for name in ["gpt2-tiny", "gpt2-small"] {
        let layout = gpt2::model(name);
        let n = layout.len();
        let mut g = c.benchmark_group(format!("model/{name}"));
        g.throughput(Throughput::Elements(n as u64));
        g.sample_size(10);
        if name == "gpt2-small" {
            g.measurement_time(Duration::from_secs(8));
        }
        for config in ["adamw", "muon", "adafactor"] {
            for guard in [false, true] {
                for &t in threads {
                    let id = BenchmarkId::new(
                        format!("{config}/{}", if guard { "guarded" } else { "unguarded" }),
                        format!("{t}thread{}", if t > 1 { "s" } else { "" }),
                    );
                    let pool = pool(t);
                    // buffers and state made once: every timed step runs on the same ones
                    let mut setup = None;
                    g.bench_function(id, |b| {
                        let (p, grads, opt) = setup.get_or_insert_with(|| {
                            let (mut p, grads) = gpt2::buffers(n);
                            let mut opt = gpt2::groups(&layout, config, guard);
                            opt.step(&mut p, &grads).unwrap();
                            (p, grads, opt)
                        });
                        run_on(&pool, || b.iter(|| opt.step(p, grads).unwrap()));
                    });
                }
            }
        }
        g.finish();
    }
}

#[cfg(feature = "rayon")]
type Pool = rayon::ThreadPool;
/// Without `rayon` a step runs on the calling thread.
#[cfg(not(feature = "rayon"))]
struct Pool;

#[cfg(feature = "rayon")]
fn pool(threads: usize) -> Pool {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap()
}
#[cfg(not(feature = "rayon"))]
fn pool(_threads: usize) -> Pool {
    Pool
}

#[cfg(feature = "rayon")]
fn run_on(pool: &Pool, f: impl FnOnce() + Send) {
    pool.install(f)
}
#[cfg(not(feature = "rayon"))]
fn run_on(_pool: &Pool, f: impl FnOnce()) {
    f()
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    targets = model
}
criterion_main!(benches);
