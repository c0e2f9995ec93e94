//! Exact checkpoints with the `serde` feature: train for 10 epochs, save the optimizer, the
//! schedule and the parameters as JSON, load them, train 10 more epochs, and check that the
//! result equals continuing the same run without the checkpoint, bit for bit.
//!
//! Run: `cargo run --release --example checkpoint --features serde`

use gradus::{fit, Adam, CosineAnnealingLr, FitOptions, Interval, Linear, Optimizer, SquaredError};

/// Ten epochs of mini-batch training; `fit` continues a schedule that was already started.
fn ten_epochs(opt: &mut Adam<f64>, sched: &mut CosineAnnealingLr, params: &mut [f64; 2], seed: u64) {
    let x: Vec<f64> = (0..64).map(|i| (i as f64 * 0.37).sin() * 3.0).collect();
    let y: Vec<f64> = x.iter().map(|x| 0.5 - 1.5 * x).collect();
    let options = FitOptions::new(10).shuffle(seed).batch_size(8).schedule(sched, Interval::Epoch);
    fit(&Linear::new(1), &SquaredError, opt, params, &x, &y, options).unwrap();
}

fn main() {
    let (mut opt, mut sched, mut params) = (Adam::new(0.05), CosineAnnealingLr::new(40, 1e-3), [0.0, 0.0]);
    ten_epochs(&mut opt, &mut sched, &mut params, 1);

    // save everything the run needs to continue
    let json = serde_json::to_string_pretty(&(&opt, &sched, &params)).unwrap();
    let path = std::env::temp_dir().join("gradus_checkpoint.json");
    std::fs::write(&path, &json).unwrap();
    println!("saved after 10 epochs: {} bytes to {}", json.len(), path.display());

    // the uninterrupted run continues in memory
    ten_epochs(&mut opt, &mut sched, &mut params, 2);

    // the resumed run starts from the file
    let text = std::fs::read_to_string(&path).unwrap();
    let (mut opt2, mut sched2, mut params2): (Adam<f64>, CosineAnnealingLr, [f64; 2]) =
        serde_json::from_str(&text).unwrap();
    println!("loaded: {} steps taken, lr {:.6}", opt2.steps(), opt2.learning_rate());
    ten_epochs(&mut opt2, &mut sched2, &mut params2, 2);

    let same = params.map(f64::to_bits) == params2.map(f64::to_bits);
    println!("uninterrupted: b = {:.17}, w = {:.17}", params[0], params[1]);
    println!("resumed:       b = {:.17}, w = {:.17}", params2[0], params2[1]);
    println!("bit-identical: {}", if same { "yes ✓" } else { "NO ✗" });
    if !same {
        std::process::exit(1);
    }
}
