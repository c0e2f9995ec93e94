//! The f32 instantiation of every rule tracks the f64 one (relative 1e-3 over 50 steps on a
//! well-conditioned quadratic), and every dispatch path gives the same bits.

use gradus::*;

macro_rules! both {
    ($make:expr) => {{
        fn make<T: num_traits::Float + Send + Sync + 'static>() -> Box<dyn Optimizer<T>> {
            let c = |v: f64| T::from(v).unwrap();
            #[allow(clippy::redundant_closure_call)]
            Box::new(($make)(c))
        }
        (make::<f32>(), make::<f64>())
    }};
}

fn run<T: num_traits::Float>(opt: &mut dyn Optimizer<T>, steps: usize) -> Vec<f64> {
    // f(x) = 0.5 * sum a_i x_i^2 with condition number 4
    let a = [1.0, 2.0, 3.0, 4.0, 1.5, 2.5];
    let mut x: Vec<T> = [1.0, -0.8, 0.6, -0.4, 0.9, -0.7].iter().map(|&v| T::from(v).unwrap()).collect();
    let mut g = vec![T::zero(); x.len()];
    for _ in 0..steps {
        for i in 0..x.len() {
            g[i] = T::from(a[i]).unwrap() * x[i];
        }
        opt.step(&mut x, &g).unwrap();
    }
    x.iter().map(|v| v.to_f64().unwrap()).collect()
}

fn tracks(name: &str, (mut lo, mut hi): (Box<dyn Optimizer<f32>>, Box<dyn Optimizer<f64>>)) {
    let a = run(&mut *lo, 50);
    let b = run(&mut *hi, 50);
    // (a NaN or an infinity in either is an error: `f64::max` alone would drop a NaN)
    let err = a
        .iter()
        .zip(&b)
        .map(|(a, b)| {
            if a.is_finite() && b.is_finite() {
                (a - b).abs() / a.abs().max(b.abs()).max(1e-3)
            } else {
                f64::INFINITY
            }
        })
        .fold(0.0, f64::max);
    assert!(err <= 1e-3, "{name}: f32 {a:?} vs f64 {b:?}: rel err {err:e}");
    assert!(b.iter().any(|v| v.abs() < 0.9), "{name} did not move");
}

#[test]
fn f32_tracks_f64_for_every_rule() {
    tracks("Sgd", both!(|c: fn(f64) -> _| Sgd::new(c(0.05)).momentum(c(0.9))));
    tracks("Adam", both!(|c: fn(f64) -> _| Adam::new(c(0.05))));
    tracks("AdamW", both!(|c: fn(f64) -> _| AdamW::new(c(0.05))));
    tracks("RmsProp", both!(|c: fn(f64) -> _| RmsProp::new(c(0.01)).centered(true)));
    tracks("Adagrad", both!(|c: fn(f64) -> _| Adagrad::new(c(0.1))));
    tracks("Adadelta", both!(|c: fn(f64) -> _| Adadelta::new(c(1.0))));
    tracks("Adamax", both!(|c: fn(f64) -> _| Adamax::new(c(0.05))));
    tracks("NAdam", both!(|c: fn(f64) -> _| NAdam::new(c(0.05))));
    tracks("RAdam", both!(|c: fn(f64) -> _| RAdam::new(c(0.05))));
    tracks("Rprop", both!(|c: fn(f64) -> _| Rprop::new(c(0.01))));
    tracks("Asgd", both!(|c: fn(f64) -> _| Asgd::new(c(0.05))));
    tracks("Lion", both!(|c: fn(f64) -> _| Lion::new(c(0.005))));
    tracks("AdaBelief", both!(|c: fn(f64) -> _| AdaBelief::new(c(0.05))));
    tracks("Yogi", both!(|c: fn(f64) -> _| Yogi::new(c(0.05))));
    tracks("Lamb", both!(|c: fn(f64) -> _| Lamb::new(c(0.05))));
}
