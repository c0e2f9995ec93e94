//! Trains the notebook model (`y = b + w*x`, per-sample steps, 50 epochs from b = w = 1) with
//! every rule and draws the per-epoch loss of each into `loss_curves.svg`: the picture of why
//! Adam with annealing wins.
//!
//! Run: `cargo run --release --example compare` (writes `loss_curves.svg` in the current
//! directory, or the path given as the first argument).

use gradus::*;
use plotters::prelude::*;

const X: [f64; 29] = [
    14., 86., 28., 51., 28., 29., 72., 62., 84., 15., 42., 62., 47., 35., 9., 38., 44., 99., 13., 21., 28., 20., 8.,
    64., 99., 70., 27., 17., 8.,
];

/// Distinct colours that stay legible on white (Tableau 10 and darker companions).
const PALETTE: [RGBColor; 14] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(0, 0, 128),
    RGBColor(128, 0, 0),
    RGBColor(0, 100, 0),
    RGBColor(184, 134, 11),
];

fn notebook_adam(beta_r: f64) -> Adam<f64> {
    Adam::new(1.0).betas(0.9, beta_r).eps(0.0).bias_correction(false).initial_moments(1.0, 1.0)
}

fn curve(opt: &mut dyn Optimizer<f64>, schedule: Option<&mut dyn Schedule<f64>>) -> Result<Vec<f64>, Error> {
    let y: Vec<f64> = X.iter().map(|x| 30.0 + 2.0 * x).collect();
    let mut params = [1.0, 1.0];
    let mut options = FitOptions::new(50);
    if let Some(s) = schedule {
        options = options.schedule(s, Interval::Epoch);
    }
    Ok(fit(&Linear::new(1), &SquaredError, opt, &mut params, &X, &y, options)?.losses())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "loss_curves.svg".into());
    let mut anneal = SpikeAnnealing::notebook();
    let runs: Vec<(&str, Vec<f64>)> = vec![
        ("SGD (lr 1e-4)", curve(&mut Sgd::new(1e-4), None)?),
        ("Momentum (notebook)", curve(&mut Sgd::new(1e-4).momentum(0.9).dampening(0.9).initial_buffer(1.0), None)?),
        ("Nesterov (lr 1e-4)", curve(&mut Sgd::new(1e-4).momentum(0.9).nesterov(true), None)?),
        ("RMSprop (notebook)", curve(&mut RmsProp::new(0.02).alpha(0.9).eps(0.0).initial_square_avg(1.0), None)?),
        ("Adagrad (lr 1)", curve(&mut Adagrad::new(1.0), None)?),
        ("Adadelta (lr 1)", curve(&mut Adadelta::new(1.0), None)?),
        ("Adam (notebook)", curve(&mut notebook_adam(0.9), None)?),
        ("Adam (PyTorch, lr 0.1)", curve(&mut Adam::new(0.1), None)?),
        ("Adamax (lr 0.5)", curve(&mut Adamax::new(0.5), None)?),
        ("NAdam (lr 0.1)", curve(&mut NAdam::new(0.1), None)?),
        ("RAdam (lr 1e-3)", curve(&mut RAdam::new(1e-3), None)?),
        ("AdaBelief (lr 0.1)", curve(&mut AdaBelief::new(0.1), None)?),
        ("Yogi (lr 0.5)", curve(&mut Yogi::new(0.5), None)?),
        ("Lion (lr 0.01)", curve(&mut Lion::new(0.01), None)?),
        ("Adam + annealing (notebook)", curve(&mut notebook_adam(0.95), Some(&mut anneal))?),
    ];

    let lo = runs.iter().flat_map(|(_, l)| l.iter().copied()).filter(|v| *v > 0.0).fold(f64::INFINITY, f64::min);
    let hi = runs.iter().flat_map(|(_, l)| l.iter().copied()).filter(|v| v.is_finite()).fold(0.0, f64::max);
    let root = SVGBackend::new(&path, (1100, 720)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("Fitting y = 30 + 2x: mean squared error per epoch", ("sans-serif", 26))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(1usize..50usize, (lo * 0.5..hi * 2.0).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("mean loss (log scale)")
        .axis_desc_style(("sans-serif", 20))
        .label_style(("sans-serif", 16))
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .draw()?;
    for (i, (name, losses)) in runs.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()].to_rgba();
        let last = i + 1 == runs.len();
        let style = if last { ShapeStyle::from(&BLACK).stroke_width(4) } else { color.stroke_width(2) };
        chart
            .draw_series(LineSeries::new(losses.iter().enumerate().map(|(e, &l)| (e + 1, l.max(lo))), style))?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .label_font(("sans-serif", 15))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;

    println!("{:<30} {:>14} {:>14}", "rule", "first epoch", "epoch 50");
    for (name, l) in &runs {
        println!("{name:<30} {:>14.4e} {:>14.4e}", l[0], l[49]);
    }
    drop(root);
    let shown = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone().into());
    println!("\nwrote {}", shown.display());
    Ok(())
}
