//! Logistic regression on a synthetic two-class problem: shuffled mini-batches, a linear
//! warm-up followed by cosine annealing, early stopping on the training loss, and a progress
//! line per epoch.
//!
//! Run: `cargo run --release --example logistic_regression`

use std::ops::ControlFlow;

use gradus::{
    fit, Adam, CosineAnnealingLr, EpochReport, FitOptions, Interval, LinearLr, LogLoss, Logistic, Sequential,
};

fn main() -> Result<(), gradus::Error> {
    // 1000 points in 3 features; the label is the side of a hyperplane, with a margin
    let (mut x, mut y) = (Vec::new(), Vec::new());
    let mut s = 0x2545F4914F6CDD1D_u64;
    let mut uniform = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64 * 4.0 - 2.0
    };
    while y.len() < 1000 {
        let p = [uniform(), uniform(), uniform()];
        let margin = 1.5 * p[0] - 2.0 * p[1] + 0.5 * p[2] - 0.25;
        if margin.abs() < 0.1 {
            continue;
        }
        x.extend(p);
        y.push(if margin > 0.0 { 1.0 } else { 0.0 });
    }

    let model = Logistic::new(3);
    let mut params = [0.0; 4];
    let mut opt = Adam::new(0.1);
    let epochs = 60;
    let mut schedule = Sequential::new(
        vec![Box::new(LinearLr::new(0.1, 1.0, 5)), Box::new(CosineAnnealingLr::new(epochs - 5, 1e-3))],
        &[5],
    );
    let mut progress = |e: &EpochReport<f64>| {
        println!(
            "epoch {:>3}  loss {:.5}  lr {:.4}  ({:.2?})",
            e.epoch + 1,
            e.loss,
            e.lr,
            e.elapsed.unwrap_or_default()
        );
        ControlFlow::Continue(())
    };
    let report = fit(
        &model,
        &LogLoss,
        &mut opt,
        &mut params,
        &x,
        &y,
        FitOptions::new(epochs as usize)
            .shuffle(7)
            .batch_size(32)
            .schedule(&mut schedule, Interval::Epoch)
            .target_loss(0.03)
            .on_epoch(&mut progress),
    )?;

    let correct =
        y.iter().enumerate().filter(|&(i, &yi)| model.classify(&params, &x[3 * i..3 * i + 3]) == (yi == 1.0)).count();
    println!("\nstopped: {:?} after {} epochs", report.stop, report.epochs.len());
    println!("params (b, w1, w2, w3) = {params:.3?}");
    println!("training accuracy: {correct}/{} = {:.1}%", y.len(), 100.0 * correct as f64 / y.len() as f64);
    Ok(())
}
