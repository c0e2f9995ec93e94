//! `fit` throughput on 1e6 synthetic samples of the notebook model (`y = b + w*x`), per-sample
//! steps, against a hand-written loop over the same data with the same rule.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gradus::*;
use std::time::Duration;

fn data(n: usize) -> (Vec<f64>, Vec<f64>) {
    let x: Vec<f64> = (0..n).map(|i| ((i * 37) % 100) as f64).collect();
    let y = x.iter().map(|x| 30.0 + 2.0 * x).collect();
    (x, y)
}

/// Makes a fresh optimizer.
type Make = fn() -> Box<dyn Optimizer<f64>>;

fn bench(c: &mut Criterion) {
    let n = 1_000_000;
    let (x, y) = data(n);
    let mut g = c.benchmark_group("fit_1e6");
    g.throughput(Throughput::Elements(n as u64)).sample_size(10);
    let rules: [(&str, Make); 2] = [("sgd", || Box::new(Sgd::new(1e-5))), ("adam", || Box::new(Adam::new(1e-3)))];
    for (name, make) in rules {
        g.bench_function(format!("fit/{name}"), |b| {
            b.iter(|| {
                let mut p = [1.0, 1.0];
                fit(&Linear::new(1), &SquaredError, &mut make(), &mut p, &x, &y, FitOptions::new(1)).unwrap();
                p
            })
        });
        g.bench_function(format!("hand/{name}"), |b| {
            b.iter(|| {
                let mut p = [1.0, 1.0];
                let mut opt = make();
                for (&xi, &yi) in x.iter().zip(&y) {
                    let r = (p[0] + p[1] * xi) - yi;
                    let gb = 2.0 * r;
                    opt.step(&mut p, &[gb, gb * xi]).unwrap();
                }
                p
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
