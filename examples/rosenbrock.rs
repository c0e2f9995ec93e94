//! Minimizes the Rosenbrock function from (-1.2, 1) with several rules and reports how many
//! iterations each needs to bring the loss below 1e-6 (or that it did not within the budget).
//!
//! Run: `cargo run --release --example rosenbrock`

use gradus::{minimize, AdaBelief, Adam, Lion, MinimizeOptions, NAdam, Optimizer, RAdam, RmsProp, Sgd, Yogi};

fn rosenbrock(x: &[f64], g: &mut [f64]) -> f64 {
    let t = x[1] - x[0] * x[0];
    g[0] = -2.0 * (1.0 - x[0]) - 400.0 * x[0] * t;
    g[1] = 200.0 * t;
    (1.0 - x[0]).powi(2) + 100.0 * t * t
}

fn main() {
    let rules: Vec<(&str, Box<dyn Optimizer<f64>>)> = vec![
        ("SGD lr 1e-3", Box::new(Sgd::new(1e-3))),
        ("SGD+Nesterov lr 1e-3", Box::new(Sgd::new(1e-3).momentum(0.9).nesterov(true))),
        ("RMSprop lr 1e-4", Box::new(RmsProp::new(1e-4))),
        ("Adam lr 1e-2", Box::new(Adam::new(1e-2))),
        ("NAdam lr 1e-2", Box::new(NAdam::new(1e-2))),
        ("RAdam lr 1e-3", Box::new(RAdam::new(1e-3))),
        ("AdaBelief lr 1e-2", Box::new(AdaBelief::new(1e-2))),
        ("Yogi lr 1e-2", Box::new(Yogi::new(1e-2))),
        ("Lion lr 1e-3", Box::new(Lion::new(1e-3).weight_decay(0.0))),
    ];
    let budget = 200_000;
    println!("Rosenbrock from (-1.2, 1): iterations until f < 1e-6 (budget {budget})\n");
    for (name, mut opt) in rules {
        let mut x = [-1.2, 1.0];
        match minimize(rosenbrock, &mut x, &mut opt, MinimizeOptions::new(budget).loss_tol(1e-6)) {
            Ok(r) if r.converged => {
                println!("{name:<22} {:>7} iterations  x = ({:.5}, {:.5})", r.iterations, x[0], x[1])
            }
            Ok(r) => println!("{name:<22} not within budget: f = {:.3e} at ({:.4}, {:.4})", r.loss, x[0], x[1]),
            Err(e) => println!("{name:<22} failed: {e}"),
        }
    }
}
