//! A 4-16-3 MLP classifying iris flowers (the dataset `linfa-datasets` ships), trained with
//! `fit` through a `Groups` optimizer: AdamW with weight decay on the two matrices and none on
//! the biases, warm-up then cosine annealing driving both groups, one global gradient clip, a
//! held-out split. Prints loss and accuracy per epoch, then the test accuracy.
//!
//! `cargo run --release --example mlp [adamw|muon|adafactor|schedulefree|multisteps|prodigy]`:
//! AdamW by default; Muon or Adafactor on `w1` and `w2` (AdamW on the biases); Schedule-Free AdamW
//! on everything, with no schedule, evaluated at its average `x`; AdamW on mini-batches of 4
//! accumulated 4 at a time by `MultiSteps`; or Prodigy on everything at learning rate 1, the
//! schedule scaling the step size it estimates over each group.

use gradus::{
    check_backward, evaluate, fit, Adafactor, AdamW, CosineAnnealingLr, Dtype, FitOptions, Groups, Interval, LinearLr,
    MultiSteps, Muon, Optimizer, Prodigy, ScheduleFreeAdamW, Sequential, SoftmaxCrossEntropy,
};
use rand::SeedableRng;
use std::ops::ControlFlow;

#[path = "shared/mlp_net.rs"]
mod mlp_net;
use mlp_net::Mlp;

fn main() -> Result<(), gradus::Error> {
    // iris: 150 flowers, 4 measurements, 3 species; shuffled, 120 to train, 30 held out
    let (x_train, y_train, x_test, y_test) = mlp_net::iris();

    let model = Mlp::new(4, 16, 3);
    let layout = model.layout.clone();
    let mut params: Vec<f64> = {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        (0..layout.len()).map(|_| rand::Rng::random_range(&mut rng, -0.5..0.5)).collect()
    };
    for b in ["b1", "b2"] {
        layout.view_mut(&mut params, b).unwrap().fill(0.0);
    }
    // the hand-written backward pass agrees with central differences of the forward pass
    let check = check_backward(&model, &params, &x_train[..4], 1e-6);
    assert!(check.worst_relative_error < 1e-6, "backward is wrong: {check:?}");

    let rule = std::env::args().nth(1).unwrap_or_else(|| "adamw".into());
    // "multisteps": mini-batches of 4, accumulated 4 at a time (one AdamW step per 16 samples)
    let (epochs, batch) = (60, if rule == "multisteps" { 4 } else { 16 });
    let steps_per_epoch = y_train.len().div_ceil(batch) as u64;
    let warmup = 5 * steps_per_epoch;
    let biases = AdamW::new(2e-2).weight_decay(0.0);
    let groups = Groups::new(layout);
    let mut opt: Box<dyn Optimizer<f64>> = match rule.as_str() {
        "adamw" | "multisteps" => {
            let g = groups.group(&["w1", "w2"], AdamW::new(2e-2).weight_decay(1e-2)).group(&["b1", "b2"], biases);
            if rule == "multisteps" {
                Box::new(MultiSteps::new(g, 4).accumulator_dtype(Dtype::F64))
            } else {
                Box::new(g)
            }
        }
        "muon" => {
            Box::new(groups.group(&["w1", "w2"], Muon::new(1e-2).weight_decay(1e-2)).group(&["b1", "b2"], biases))
        }
        "adafactor" => Box::new(groups.group(&["w1", "w2"], Adafactor::new(5e-2)).group(&["b1", "b2"], biases)),
        // no schedule: Schedule-Free needs only its warm-up
        "schedulefree" => {
            Box::new(groups.group(&["w1", "w2", "b1", "b2"], ScheduleFreeAdamW::new(2e-2).warmup_steps(warmup)))
        }
        // no learning rate: the schedule runs from 1 (its base) and Prodigy estimates the rest,
        // one estimate per group; with a warm-up, as Prodigy's authors advise, `safeguard_warmup`
        // keeps the warm-up's small rates out of the estimate's denominator
        "prodigy" => {
            let prodigy = Prodigy::new(1.0).safeguard_warmup(true);
            Box::new(groups.group(&["w1", "w2"], prodigy.clone().weight_decay(1e-2)).group(&["b1", "b2"], prodigy))
        }
        other => panic!("unknown rule {other}: adamw, muon, adafactor, schedulefree, multisteps or prodigy"),
    };
    println!("rule: {rule}");
    let mut schedule = Sequential::new(
        vec![
            Box::new(LinearLr::new(0.1, 1.0, warmup)),
            Box::new(CosineAnnealingLr::new(epochs as u64 * steps_per_epoch - warmup, 0.0)),
        ],
        &[warmup],
    );
    let mut progress = |e: &gradus::EpochReport<f64>| {
        let acc = e.accuracy.unwrap_or(f64::NAN);
        println!("epoch {:>2}  loss {:.4}  train accuracy {:>5.1}%  lr {:.5}", e.epoch + 1, e.loss, 100.0 * acc, e.lr);
        ControlFlow::Continue(())
    };
    let mut options = FitOptions::new(epochs).batch_size(batch).shuffle(42).clip_norm(1.0).on_epoch(&mut progress);
    if rule != "schedulefree" {
        options = options.schedule(&mut schedule, Interval::Step);
    }
    fit(&model, &SoftmaxCrossEntropy, &mut *opt, &mut params, &x_train, &y_train, options)?;

    // the point to evaluate: the parameters, or Schedule-Free's average x
    let trained = params.clone();
    opt.eval_params(&trained, &mut params);
    let held_out = evaluate(&model, &SoftmaxCrossEntropy, &params, &x_test, &y_test)?;
    let accuracy = held_out.accuracy.unwrap_or(0.0);
    println!("test: loss {:.4}, accuracy {:.1}% ({} flowers held out)", held_out.loss, 100.0 * accuracy, y_test.len());
    assert!(accuracy >= 0.95, "test accuracy {accuracy} below 95%");
    Ok(())
}
