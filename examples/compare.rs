//! A fair comparison: every rule of the crate, each at its best learning rate from one swept grid,
//! on the notebook problem (`y = b + w*x` fitted to `y = 30 + 2x`, per-sample steps, 50 epochs
//! from `b = w = 1`) and on the Rosenbrock function (2000 full-gradient steps from (-1.2, 1)).
//! Draws the two rankings side by side into `compare.svg`, and prints them.
//!
//! Run: `cargo run --release --example compare` (writes `compare.svg`, or the path given). The
//! PNG in `docs/` is `rsvg-convert -w 1400 compare.svg -o docs/compare.png`.

use gradus::*;
use plotters::prelude::*;

const X: [f64; 29] = [
    14., 86., 28., 51., 28., 29., 72., 62., 84., 15., 42., 62., 47., 35., 9., 38., 44., 99., 13., 21., 28., 20., 8.,
    64., 99., 70., 27., 17., 8.,
];

/// The learning rates every rule is tried at.
const GRID: [f64; 14] = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0];

type Make = fn(f64) -> Box<dyn Optimizer<f64>>;

/// Every rule with PyTorch's (or optax's) defaults but the learning rate.
fn rules() -> Vec<(&'static str, Make)> {
    vec![
        ("SGD", |lr| Box::new(Sgd::new(lr))),
        ("SGD, momentum 0.9", |lr| Box::new(Sgd::new(lr).momentum(0.9))),
        ("SGD, Nesterov 0.9", |lr| Box::new(Sgd::new(lr).momentum(0.9).nesterov(true))),
        ("RMSprop", |lr| Box::new(RmsProp::new(lr))),
        ("Adagrad", |lr| Box::new(Adagrad::new(lr))),
        ("Adadelta", |lr| Box::new(Adadelta::new(lr))),
        ("Adam", |lr| Box::new(Adam::new(lr))),
        ("AdamW", |lr| Box::new(AdamW::new(lr))),
        ("Adam, AMSGrad", |lr| Box::new(Adam::new(lr).amsgrad(true))),
        ("Adamax", |lr| Box::new(Adamax::new(lr))),
        ("NAdam", |lr| Box::new(NAdam::new(lr))),
        ("RAdam", |lr| Box::new(RAdam::new(lr))),
        ("Rprop", |lr| Box::new(Rprop::new(lr))),
        ("ASGD", |lr| Box::new(Asgd::new(lr))),
        ("Lion", |lr| Box::new(Lion::new(lr))),
        ("AdaBelief", |lr| Box::new(AdaBelief::new(lr))),
        ("Yogi", |lr| Box::new(Yogi::new(lr))),
        ("Lamb", |lr| Box::new(Lamb::new(lr))),
        // scored at its training point y (the sequence it steps), like every other rule here
        ("Schedule-Free AdamW", |lr| Box::new(ScheduleFreeAdamW::new(lr))),
        // lr multiplies the step size Prodigy estimates; 1 is its default
        ("Prodigy", |lr| Box::new(Prodigy::new(lr))),
    ]
}

/// The notebook problem's mean loss in the last epoch (`None` if training diverged: an error,
/// or a last epoch worse than the first).
fn notebook(opt: &mut dyn Optimizer<f64>) -> Option<f64> {
    let y: Vec<f64> = X.iter().map(|x| 30.0 + 2.0 * x).collect();
    let mut params = [1.0, 1.0];
    let report = fit(&Linear::new(1), &SquaredError, opt, &mut params, &X, &y, FitOptions::new(50)).ok()?;
    let (first, last) = (report.epochs.first()?.loss, report.epochs.last()?.loss);
    Some(last).filter(|l| l.is_finite() && *l <= first)
}

/// Rosenbrock's value after 2000 steps (`None` if it diverged).
fn rosenbrock(opt: &mut dyn Optimizer<f64>) -> Option<f64> {
    let f = |p: &[f64], g: &mut [f64]| {
        let (x, y) = (p[0], p[1]);
        g[0] = -2.0 * (1.0 - x) - 400.0 * x * (y - x * x);
        g[1] = 200.0 * (y - x * x);
        (1.0 - x).powi(2) + 100.0 * (y - x * x).powi(2)
    };
    let mut p = [-1.2, 1.0];
    let report = minimize(f, &mut p, opt, MinimizeOptions::new(2000)).ok()?;
    Some(report.loss).filter(|l| l.is_finite() && *l <= 24.2) // f(-1.2, 1) = 24.2
}

/// Each rule's best (lr, score) over the grid, best first.
fn rank(score: fn(&mut dyn Optimizer<f64>) -> Option<f64>) -> Vec<(&'static str, f64, f64)> {
    let mut best: Vec<(&str, f64, f64)> = rules()
        .into_iter()
        .filter_map(|(name, make)| {
            GRID.iter()
                .filter_map(|&lr| score(&mut *make(lr)).map(|s| (lr, s)))
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(lr, s)| (name, lr, s))
        })
        .collect();
    best.sort_by(|a, b| a.2.total_cmp(&b.2));
    best
}

fn panel(
    root: &DrawingArea<SVGBackend, plotters::coord::Shift>,
    area: &DrawingArea<SVGBackend, plotters::coord::Shift>,
    title: &str,
    ranking: &[(&str, f64, f64)],
) -> Result<(), Box<dyn std::error::Error>> {
    let floor = 1e-30;
    let lo = ranking.iter().map(|r| r.2.max(floor)).fold(f64::INFINITY, f64::min) * 0.1;
    let hi = ranking.iter().map(|r| r.2).fold(0.0, f64::max) * 1e6;
    let n = ranking.len();
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(150)
        .build_cartesian_2d((lo..hi).log_scale(), 0.0..n as f64)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_labels(14)
        .x_desc("final loss at the best learning rate (log scale; lower is better)")
        .x_label_formatter(&|v| format!("{v:.0e}"))
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 15))
        .draw()?;
    let bar = RGBColor(70, 120, 180);
    for (i, &(name, lr, score)) in ranking.iter().enumerate() {
        // best at the top
        let y = (n - 1 - i) as f64;
        chart.draw_series([Rectangle::new([(lo, y + 0.18), (score.max(floor), y + 0.82)], bar.filled())])?;
        chart.draw_series([Text::new(
            format!("{score:.1e} (lr {lr})"),
            (score.max(floor) * 1.6, y + 0.72),
            ("sans-serif", 13),
        )])?;
        // the rule's name in the label area, right-aligned against the axis (backend pixels)
        let (px, py) = chart.backend_coord(&(lo, y + 0.5));
        root.draw(&Text::new(
            format!("{}. {name}", i + 1),
            (px - 8, py),
            ("sans-serif", 15).into_font().into_text_style(root).pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Right,
                plotters::style::text_anchor::VPos::Center,
            )),
        ))?;
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args().nth(1).unwrap_or_else(|| "compare.svg".into());
    let fitting = rank(notebook);
    let rosen = rank(rosenbrock);

    let root = SVGBackend::new(&out, (1400, 740)).into_drawing_area();
    root.fill(&WHITE)?;
    let (title, body) = root.split_vertically(60);
    title.draw(&Text::new(
        format!(
            "Every rule at its best learning rate from {{{}}} (other hyperparameters at the reference's defaults)",
            GRID.map(|g| g.to_string()).join(", ")
        ),
        (20, 18),
        ("sans-serif", 18),
    ))?;
    let (left, right) = body.split_horizontally(700);
    panel(&root, &left, "notebook problem: last epoch's mean loss (50 epochs, per sample)", &fitting)?;
    panel(&root, &right, "Rosenbrock: f after 2000 steps from (-1.2, 1)", &rosen)?;
    root.present()?;
    drop(root);

    for (title, ranking) in [("notebook problem", &fitting), ("Rosenbrock", &rosen)] {
        println!("{title}:");
        for (name, lr, score) in ranking.iter() {
            println!("  {name:<20} lr {lr:<7} {score:.3e}");
        }
    }
    println!("wrote {out}");
    Ok(())
}
