//! Reproduces the fast.ai lesson-5 notebook: fit `y = b + w*x` to `y = 30 + 2x` by per-sample
//! gradient descent with five rules, and prints each result beside the notebook's.
//!
//! Run: `cargo run --release --example notebook`

use gradus::{
    fit, Adam, FitOptions, Interval, Linear, Optimizer, RmsProp, Schedule, Sgd, SpikeAnnealing, SquaredError,
};

const X: [f64; 29] = [
    14., 86., 28., 51., 28., 29., 72., 62., 84., 15., 42., 62., 47., 35., 9., 38., 44., 99., 13., 21., 28., 20., 8.,
    64., 99., 70., 27., 17., 8.,
];

/// The notebook's results (b, w), as it prints them and at full precision.
const NOTEBOOK: [(&str, f64, f64); 5] = [
    ("SGD", 3.7294586066238287, 2.5567543964080897),
    ("Momentum", 3.4574720330190067, 2.3126712102727995),
    ("RMSprop", 15.780553208478683, 2.235184462625026),
    ("Adam", 29.0600357615066, 1.390058096499211),
    ("Adam + annealing", 30.00085710752397, 2.000207594921793),
];

fn train(opt: &mut dyn Optimizer<f64>, schedule: Option<&mut dyn Schedule<f64>>) -> Result<[f64; 2], gradus::Error> {
    let y: Vec<f64> = X.iter().map(|x| 30.0 + 2.0 * x).collect();
    let mut params = [1.0, 1.0]; // b, w
    let mut options = FitOptions::new(50);
    if let Some(s) = schedule {
        options = options.schedule(s, Interval::Epoch);
    }
    fit(&Linear::new(1), &SquaredError, opt, &mut params, &X, &y, options)?;
    Ok(params)
}

fn adam(beta_r: f64) -> Adam<f64> {
    // m and r start at 1, no bias correction, no eps: the notebook's textbook Adam
    Adam::new(1.0).betas(0.9, beta_r).eps(0.0).bias_correction(false).initial_moments(1.0, 1.0)
}

fn main() -> Result<(), gradus::Error> {
    let mut anneal = SpikeAnnealing::notebook();
    let mut annealed = adam(0.95);
    let results = [
        train(&mut Sgd::new(1e-4), None)?,
        train(&mut Sgd::new(1e-4).momentum(0.9).dampening(0.9).initial_buffer(1.0), None)?,
        train(&mut RmsProp::new(0.02).alpha(0.9).eps(0.0).initial_square_avg(1.0), None)?,
        train(&mut adam(0.9), None)?,
        train(&mut annealed, Some(&mut anneal))?,
    ];

    println!("fit y = b + w*x to y = 30 + 2x, 29 samples, 50 epochs, per-sample steps from b = w = 1\n");
    println!(
        "{:<18} {:>10} {:>10}   {:>10} {:>10}   {:>9}",
        "variant", "b", "w", "notebook b", "notebook w", "rel err"
    );
    let mut all = true;
    for ((name, nb, nw), [b, w]) in NOTEBOOK.iter().zip(results) {
        let err = ((b - nb).abs() / nb.abs()).max((w - nw).abs() / nw.abs());
        let ok = err <= 1e-9;
        all &= ok;
        println!("{name:<18} {b:>10.2} {w:>10.2}   {nb:>10.2} {nw:>10.2}   {err:>9.1e} {}", if ok { "✓" } else { "✗" });
    }
    println!("\nAdam + annealing ended with lr = {} (notebook: 0.00024414)", annealed.learning_rate());
    if !all {
        std::process::exit(1);
    }
    Ok(())
}
