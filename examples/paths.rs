//! The notebook's five optimizers as paths over the loss surface of `y = b + w*x` in `(b, w)`:
//! each panel draws the contours of the mean squared error, the path of one rule's per-sample
//! steps from `(1, 1)` over 50 epochs, and the minimum at `(30, 2)`; the last panel draws each
//! rule's loss per epoch. The picture of what each optimizer does.
//!
//! Run: `cargo run --release --example paths` (writes `paths.svg`, or the path given). The PNG
//! in `docs/` is `rsvg-convert -w 1500 paths.svg -o docs/paths.png` (Debian's `librsvg2-bin`).

use gradus::{loss_gradient, Adam, Linear, Optimizer, RmsProp, Schedule, Sgd, SpikeAnnealing, SquaredError};
use plotters::prelude::*;

const X: [f64; 29] = [
    14., 86., 28., 51., 28., 29., 72., 62., 84., 15., 42., 62., 47., 35., 9., 38., 44., 99., 13., 21., 28., 20., 8.,
    64., 99., 70., 27., 17., 8.,
];

/// Mean squared error of `y = b + w*x` against `y = 30 + 2x`.
fn loss(b: f64, w: f64) -> f64 {
    X.iter().map(|x| (b + w * x - (30.0 + 2.0 * x)).powi(2)).sum::<f64>() / X.len() as f64
}

/// Per-sample steps for 50 epochs from `b = w = 1`, as `fit` takes them (and the notebook):
/// every position, and the mean loss of each epoch.
fn run(opt: &mut dyn Optimizer<f64>, mut schedule: Option<&mut dyn Schedule<f64>>) -> (Vec<(f64, f64)>, Vec<f64>) {
    let mut p = [1.0, 1.0];
    let mut g = [0.0; 2];
    let mut path = vec![(p[0], p[1])];
    let mut losses = Vec::new();
    if let Some(s) = schedule.as_mut() {
        s.start(opt).unwrap();
    }
    for _ in 0..50 {
        let mut total = 0.0;
        for &x in &X {
            total += loss_gradient(&Linear::new(1), &SquaredError, &p, &[x], 30.0 + 2.0 * x, &mut g);
            opt.step(&mut p, &g).unwrap();
            path.push((p[0], p[1]));
        }
        losses.push(total / X.len() as f64);
        if let Some(s) = schedule.as_mut() {
            s.step(opt, Some(losses[losses.len() - 1])).unwrap();
        }
    }
    (path, losses)
}

fn notebook_adam(beta_r: f64) -> Adam<f64> {
    Adam::new(1.0).betas(0.9, beta_r).eps(0.0).bias_correction(false).initial_moments(1.0, 1.0)
}

/// A piece of a contour line.
type Segment = [(f64, f64); 2];

/// Segments of the contour of `f` (sampled on a `nx` by `ny` grid over `xs` by `ys`) at
/// `level`, by marching squares.
fn contour(f: &[f64], nx: usize, ny: usize, xs: (f64, f64), ys: (f64, f64), level: f64) -> Vec<Segment> {
    let at = |i: usize, j: usize| f[j * nx + i];
    let x = |i: f64| xs.0 + (xs.1 - xs.0) * i / (nx - 1) as f64;
    let y = |j: f64| ys.0 + (ys.1 - ys.0) * j / (ny - 1) as f64;
    let mut segments = Vec::new();
    for j in 0..ny - 1 {
        for i in 0..nx - 1 {
            // corners counter-clockwise from the lower left, and where the level crosses each edge
            let c = [at(i, j), at(i + 1, j), at(i + 1, j + 1), at(i, j + 1)];
            let corner = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)];
            let mut crossings = Vec::with_capacity(4);
            for e in 0..4 {
                let (a, b) = (c[e], c[(e + 1) % 4]);
                if (a < level) != (b < level) {
                    let t = (level - a) / (b - a);
                    let (p, q) = (corner[e], corner[(e + 1) % 4]);
                    let fx = p.0 as f64 + t * (q.0 as f64 - p.0 as f64);
                    let fy = p.1 as f64 + t * (q.1 as f64 - p.1 as f64);
                    crossings.push((x(fx), y(fy)));
                }
            }
            if crossings.len() >= 2 {
                segments.push([crossings[0], crossings[1]]);
            }
            if crossings.len() == 4 {
                segments.push([crossings[2], crossings[3]]);
            }
        }
    }
    segments
}

const COLORS: [RGBColor; 5] = [
    RGBColor(31, 119, 180),
    RGBColor(230, 110, 0),
    RGBColor(30, 140, 30),
    RGBColor(200, 30, 40),
    RGBColor(120, 70, 170),
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args().nth(1).unwrap_or_else(|| "paths.svg".into());
    let mut anneal = SpikeAnnealing::notebook();
    let runs = [
        ("SGD, lr 1e-4", run(&mut Sgd::new(1e-4), None)),
        ("Momentum 0.9, lr 1e-4", run(&mut Sgd::new(1e-4).momentum(0.9).dampening(0.9).initial_buffer(1.0), None)),
        ("RMSprop 0.9, lr 0.02", run(&mut RmsProp::new(0.02).alpha(0.9).eps(0.0).initial_square_avg(1.0), None)),
        ("Adam 0.9/0.9, lr 1", run(&mut notebook_adam(0.9), None)),
        ("Adam 0.9/0.95 + annealing", run(&mut notebook_adam(0.95), Some(&mut anneal))),
    ];

    // the loss surface, as contours of log10(loss) every half decade
    let (xs, ys) = ((-2.0, 36.0), (0.3, 4.0));
    let (nx, ny) = (96, 72);
    let mut f = Vec::with_capacity(nx * ny);
    for j in 0..ny {
        for i in 0..nx {
            let b = xs.0 + (xs.1 - xs.0) * i as f64 / (nx - 1) as f64;
            let w = ys.0 + (ys.1 - ys.0) * j as f64 / (ny - 1) as f64;
            f.push(loss(b, w).log10());
        }
    }
    let levels: Vec<f64> = (-2..=9).map(|k| k as f64 / 2.0).collect();
    let contours: Vec<(f64, Vec<Segment>)> = levels.iter().map(|&l| (l, contour(&f, nx, ny, xs, ys, l))).collect();

    let root = SVGBackend::new(&out, (1500, 940)).into_drawing_area();
    root.fill(&WHITE)?;
    let (title, body) = root.split_vertically(70);
    title.draw(&Text::new(
        "Fitting y = b + w*x to y = 30 + 2x: 50 epochs of per-sample steps from (b, w) = (1, 1) (black dot) toward the minimum (30, 2) (cross)",
        (20, 12),
        ("sans-serif", 21),
    ))?;
    title.draw(&Text::new(
        "faint line: every step; bold line and dots: the end of each epoch; grey: contours of the mean squared error, every half decade",
        (20, 42),
        ("sans-serif", 17),
    ))?;
    let panels = body.split_evenly((2, 3));
    for (k, ((name, (path, losses)), panel)) in runs.iter().zip(&panels).enumerate() {
        let color = COLORS[k];
        let (b, w) = *path.last().unwrap();
        let mut chart = ChartBuilder::on(panel)
            .caption(format!("{name}: ends at b = {b:.2}, w = {w:.2}"), ("sans-serif", 19))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(46)
            .build_cartesian_2d(xs.0..xs.1, ys.0..ys.1)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("b")
            .y_desc("w")
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .draw()?;
        for (level, segments) in &contours {
            // darker contours lower down the valley
            let shade = (110.0 + 22.0 * level).clamp(90.0, 210.0) as u8;
            let style = RGBColor(shade, shade, shade + (255 - shade) / 2).stroke_width(1);
            chart.draw_series(segments.iter().map(|s| PathElement::new(s.to_vec(), style)))?;
        }
        let inside = |&(b, w): &(f64, f64)| (b.clamp(xs.0, xs.1), w.clamp(ys.0, ys.1));
        // every per-sample step, faint; the position at the end of every epoch, bold with a dot
        chart.draw_series(LineSeries::new(path.iter().map(inside), color.mix(0.3).stroke_width(1)))?;
        let epochs: Vec<(f64, f64)> = path.iter().step_by(X.len()).map(inside).collect();
        chart.draw_series(LineSeries::new(epochs.iter().copied(), color.stroke_width(2)))?;
        chart.draw_series(epochs.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
        chart.draw_series([Circle::new((1.0, 1.0), 5, BLACK.filled())])?;
        chart.draw_series([Circle::new(inside(&(b, w)), 6, color.filled())])?;
        chart.draw_series([Cross::new((30.0, 2.0), 9, BLACK.stroke_width(3))])?;
        let _ = losses;
    }

    // the sixth panel: each rule's mean loss per epoch
    let lo = runs.iter().flat_map(|(_, (_, l))| l.iter().copied()).fold(f64::INFINITY, f64::min);
    let hi = runs.iter().flat_map(|(_, (_, l))| l.iter().copied()).fold(0.0, f64::max);
    let mut chart = ChartBuilder::on(&panels[5])
        .caption("mean loss per epoch (log scale)", ("sans-serif", 19))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(1usize..50usize, (lo * 0.3..hi * 3.0).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .draw()?;
    for (k, (name, (_, losses))) in runs.iter().enumerate() {
        let style = COLORS[k].stroke_width(3);
        chart
            .draw_series(LineSeries::new(losses.iter().enumerate().map(|(e, &l)| (e + 1, l)), style))?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    drop(root);
    for (name, (path, losses)) in &runs {
        let (b, w) = path.last().unwrap();
        println!("{name:<28} b = {b:>6.2}  w = {w:>5.2}  last epoch's loss {:.3e}", losses[49]);
    }
    println!("wrote {out}");
    Ok(())
}
