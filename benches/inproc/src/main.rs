//! gradus's step and the hand-fused C kernels of `benches/compare.sh`, timed side by side in one
//! process: the same gradient, buffers made once, and within each round the C kernel, gradus's
//! unguarded step, its guarded step and the C kernel again, so that a ratio spans well under a
//! second and neither side pays for a process or harness the other does not have.
//!
//! ```sh
//! cargo run --release --manifest-path benches/inproc/Cargo.toml -- [ROUNDS] [N ...]
//! ```
//! (`SHARED=...` where `bench/fused_adam.c` lives, default `../shared`; 15 rounds and N = 1e3 ..
//! 1e7 by default.) f32, one thread; times are medians of batches of steps, ratios medians over
//! rounds of gradus's time over the mean of the two C times around it.
//!
//! ```sh
//! cargo run --release --manifest-path benches/inproc/Cargo.toml --features rayon -- model [ROUNDS] [MODEL ...] [--no-muon-small]
//! ```
//! times a whole model's step instead (GPT-2 tiny and small by default, 5 rounds): per round the
//! C Adam kernel over the flat buffer, gradus's AdamW `Groups` step (decay on the matrices only)
//! unguarded and guarded, on one thread and (with `rayon`) on two, the Muon configuration once,
//! and the C kernel again; ratios against the mean of the two C times, medians over rounds.

#[cfg(has_c)]
mod c {
    extern "C" {
        pub fn c_adam(p: *mut f32, g: *const f32, m: *mut f32, v: *mut f32, n: i64, t: i32);
        pub fn c_sgdm(p: *mut f32, g: *const f32, buf: *mut f32, n: i64);
        pub fn c_rmsprop(p: *mut f32, g: *const f32, s: *mut f32, n: i64);
        pub fn c_adagrad(p: *mut f32, g: *const f32, s: *mut f32, n: i64, t: i32);
        pub fn c_one_thread();
    }
}

#[cfg(not(has_c))]
fn main() {
    eprintln!("built without the C kernels: set SHARED to the directory holding bench/fused_adam.c and rebuild");
    std::process::exit(2);
}

#[cfg(has_c)]
#[path = "../../gpt2.rs"]
mod gpt2;

#[cfg(has_c)]
fn main() {
    use gradus::{Adagrad, Adam, Optimizer, RmsProp, Sgd};
    use std::time::Instant;

    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("model") {
        return model(&args[1..]);
    }
    if args.first().map(String::as_str) == Some("bandwidth") {
        return bandwidth(&args[1..]);
    }
    let rounds: usize = args.first().map_or(15, |r| r.parse().expect("ROUNDS"));
    let sizes: Vec<usize> = if args.len() > 1 {
        args[1..].iter().map(|s| s.parse::<f64>().expect("N") as usize).collect()
    } else {
        vec![1_000, 10_000, 100_000, 1_000_000, 10_000_000]
    };
    // SAFETY: sets the OpenMP thread count; no OpenMP region is running.
    unsafe { c::c_one_thread() };

    type Make = fn(bool) -> Box<dyn Optimizer<f32>>;
    // the configurations of fused_adam.c, fused_more.c, torch_step.py and benches/step.rs
    let rules: [(&str, Make); 4] = [
        ("adam", |guard| Box::new(Adam::new(1e-3).check_finite(guard))),
        ("sgd_momentum", |guard| Box::new(Sgd::new(1e-3).momentum(0.9).check_finite(guard))),
        ("rmsprop", |guard| Box::new(RmsProp::new(1e-3).check_finite(guard))),
        ("adagrad", |guard| Box::new(Adagrad::new(1e-2).check_finite(guard))),
    ];
    println!("f32, 1 thread, one process, medians over {rounds} rounds (gradus/C and guard/C: median [min, max])");
    println!(
        "{:<13}{:>9} {:>10} {:>10} {:>10}  {:>20}  {:>20}",
        "rule", "N", "C kernel", "gradus", "guarded", "gradus/C", "guard/C"
    );
    for (name, make) in rules {
        for &n in &sizes {
            let grads: Vec<f32> = (0..n).map(|i| (1e-2 * ((i % 13) as f64 - 6.0)) as f32).collect();
            let params: Vec<f32> = (0..n).map(|i| (0.5 + (i % 7) as f64 * 0.1) as f32).collect();
            let g = &grads;
            // the rule's C kernel on buffers of its own, chosen once (no per-call dispatch)
            let (mut pc, mut s1, mut s2, mut t) = (params.clone(), vec![0f32; n], vec![0f32; n], 1);
            let (gp, ni) = (grads.as_ptr(), n as i64);
            // SAFETY (each call below): every pointer is to a live buffer of n f32 that nothing
            // else borrows while the kernel runs; `grads` outlives the closure.
            let mut c_step: Box<dyn FnMut()> = match name {
                "adam" => Box::new(move || {
                    unsafe { c::c_adam(pc.as_mut_ptr(), gp, s1.as_mut_ptr(), s2.as_mut_ptr(), ni, t) };
                    t += 1;
                }),
                "sgd_momentum" => Box::new(move || unsafe { c::c_sgdm(pc.as_mut_ptr(), gp, s1.as_mut_ptr(), ni) }),
                "rmsprop" => Box::new(move || unsafe { c::c_rmsprop(pc.as_mut_ptr(), gp, s1.as_mut_ptr(), ni) }),
                _ => Box::new(move || {
                    unsafe { c::c_adagrad(pc.as_mut_ptr(), gp, s1.as_mut_ptr(), ni, t) };
                    t += 1;
                }),
            };
            let (mut pu, mut ou, mut pg, mut og) = (params.clone(), make(false), params.clone(), make(true));
            let mut unguarded = || ou.step(&mut pu, g).unwrap();
            let mut guarded = || og.step(&mut pg, g).unwrap();
            // warm up (state sized, pages touched) and size the batches
            let a = Instant::now();
            for _ in 0..3 {
                c_step();
                unguarded();
                guarded();
            }
            let per = a.elapsed().as_secs_f64() / 9.0;
            let per_batch = ((2e-4 / per) as usize).max(1);
            let (mut tc, mut tu, mut tg, mut ru, mut rg) = (vec![], vec![], vec![], vec![], vec![]);
            for _ in 0..rounds {
                let c0 = time(&mut c_step, per_batch, 15);
                let u = time(&mut unguarded, per_batch, 15);
                let gd = time(&mut guarded, per_batch, 15);
                let c1 = time(&mut c_step, per_batch, 15);
                let c = (c0 + c1) / 2.0;
                tc.push(c);
                tu.push(u);
                tg.push(gd);
                ru.push(u / c);
                rg.push(gd / c);
            }
            let span = |r: &Vec<f64>| {
                let lo = r.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = r.iter().copied().fold(0.0, f64::max);
                format!("{:.2}x [{lo:.2}, {hi:.2}]", median(&mut r.clone()))
            };
            println!(
                "{name:<13}{n:>9} {:>10.2} {:>10.2} {:>10.2}  {:>20}  {:>20}",
                median(&mut tc) * 1e6,
                median(&mut tu) * 1e6,
                median(&mut tg) * 1e6,
                span(&ru),
                span(&rg)
            );
        }
    }
}

/// Median time of one step over `samples` batches of `per_batch` steps.
#[cfg(has_c)]
fn time(step: &mut dyn FnMut(), per_batch: usize, samples: usize) -> f64 {
    let mut t: Vec<f64> = (0..samples)
        .map(|_| {
            let a = std::time::Instant::now();
            for _ in 0..per_batch {
                step();
            }
            a.elapsed().as_secs_f64() / per_batch as f64
        })
        .collect();
    median(&mut t)
}

#[cfg(has_c)]
fn median(x: &mut [f64]) -> f64 {
    x.sort_by(f64::total_cmp);
    x[x.len() / 2]
}

/// The model mode: see the crate's doc.
/// The memory ceiling of a model's AdamW step on this machine: a loop with AdamW's traffic and
/// next to no arithmetic (`p += g; m += g; v += g`: 4 arrays read, 3 written, 28 bytes a
/// parameter), alone and after a scan of the gradient for non-finite values (the guard's extra
/// read, 32 bytes a parameter), on 1 thread and (with `rayon`) 2, over GPT-2 small's 124.4 M
/// parameters by default.
///
/// ```sh
/// cargo run --release --manifest-path benches/inproc/Cargo.toml --features rayon -- bandwidth [ROUNDS] [N]
/// ```
#[cfg(has_c)]
fn bandwidth(args: &[String]) {
    use std::time::Instant;
    let rounds: usize = args.first().map_or(5, |r| r.parse().expect("ROUNDS"));
    let n: usize = args.get(1).map_or(124_439_808, |v| v.parse::<f64>().expect("N") as usize);
    let (mut p, g, mut m, mut v) = (vec![0.5_f32; n], vec![1e-6_f32; n], vec![0.0_f32; n], vec![0.0_f32; n]);
    fn stream(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
        for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            *p += g;
            *m += g;
            *v += g;
        }
    }
    fn finite(g: &[f32]) -> bool {
        g.iter().fold(true, |ok, x| ok & x.is_finite())
    }
    let pass = |threads: usize, guard: bool, p: &mut [f32], m: &mut [f32], v: &mut [f32]| -> f64 {
        let t = Instant::now();
        if threads == 1 {
            if guard {
                assert!(finite(&g));
            }
            stream(p, &g, m, v);
        } else {
            #[cfg(feature = "rayon")]
            {
                use rayon::prelude::*;
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                // each thread its contiguous part, as gradus splits a large tensor
                let part = n.div_ceil(threads).next_multiple_of(64);
                pool.install(|| {
                    if guard {
                        assert!(g.par_chunks(part).all(finite));
                    }
                    p.par_chunks_mut(part)
                        .zip(g.par_chunks(part))
                        .zip(m.par_chunks_mut(part))
                        .zip(v.par_chunks_mut(part))
                        .for_each(|(((p, g), m), v)| stream(p, g, m, v));
                });
            }
        }
        t.elapsed().as_secs_f64()
    };
    let threads: &[usize] = if cfg!(feature = "rayon") { &[1, 2] } else { &[1] };
    let mut times = std::collections::BTreeMap::<(usize, bool), Vec<f64>>::new();
    for _ in 0..rounds {
        for &t in threads {
            for guard in [false, true] {
                // the median of 5 passes
                let mut xs: Vec<f64> = (0..5).map(|_| pass(t, guard, &mut p, &mut m, &mut v)).collect();
                xs.sort_by(f64::total_cmp);
                times.entry((t, guard)).or_default().push(xs[2]);
            }
        }
    }
    let med = |xs: &[f64]| {
        let mut xs = xs.to_vec();
        xs.sort_by(f64::total_cmp);
        xs[xs.len() / 2]
    };
    println!("memory ceiling of an AdamW step, f32, N = {n}, medians over {rounds} rounds");
    println!("threads  loop            ms     GB/s");
    for ((t, guard), xs) in &times {
        let bytes = n as f64 * if *guard { 32.0 } else { 28.0 };
        let ms = med(xs) * 1e3;
        println!("{t:>7}  {:<12} {ms:>8.2} {:>8.1}", if *guard { "scan+stream" } else { "stream" }, bytes / ms / 1e6);
    }
    let ratio = |a: (usize, bool), b: (usize, bool)| {
        let r: Vec<f64> = times[&a].iter().zip(&times[&b]).map(|(x, y)| x / y).collect();
        med(&r)
    };
    println!("guard's floor, 1 thread: scan+stream / stream = {:.2}x", ratio((1, true), (1, false)));
    if threads.len() > 1 {
        println!("2 threads' ceiling: stream 1 thread / 2 threads = {:.2}x", ratio((1, false), (2, false)));
        println!("2 threads' ceiling, guarded: {:.2}x", ratio((1, true), (2, true)));
    }
    assert!(p[0] > 0.0 && m[0] > 0.0 && v[0] > 0.0);
}

#[cfg(has_c)]
fn model(args: &[String]) {
    use gradus::Optimizer;
    use std::time::Instant;

    let rounds: usize = args.first().map_or(5, |r| r.parse().expect("ROUNDS"));
    // `--no-muon-small`: GPT-2 small's Muon step (most of a minute) left out of this run
    let muon_small = !args.iter().any(|a| a == "--no-muon-small");
    let models: Vec<&str> = args.iter().skip(1).filter(|a| !a.starts_with("--")).map(String::as_str).collect();
    let models = if models.is_empty() { vec!["gpt2-tiny", "gpt2-small"] } else { models };
    // SAFETY: sets the OpenMP thread count; no OpenMP region is running.
    unsafe { c::c_one_thread() };
    #[cfg(feature = "rayon")]
    let pools: Vec<(usize, rayon::ThreadPool)> =
        [1, 2].into_iter().map(|t| (t, rayon::ThreadPoolBuilder::new().num_threads(t).build().unwrap())).collect();
    #[cfg(not(feature = "rayon"))]
    let pools: Vec<(usize, ())> = vec![(1, ())];
    #[cfg(feature = "rayon")]
    fn on<R: Send>(pool: &rayon::ThreadPool, f: impl FnOnce() -> R + Send) -> R {
        pool.install(f)
    }
    #[cfg(not(feature = "rayon"))]
    fn on<R>(_: &(), f: impl FnOnce() -> R) -> R {
        f()
    }

    println!("f32, one process, medians over {rounds} rounds; ratios to the mean of the C kernel's times just before and after");
    println!(
        "{:<11} {:>4} {:>11} {:>8} {:>14} {:>11} {:>9} {:>9}",
        "model", "thr", "config", "C ms", "gradus ms", "ns/param", "gradus/C", "[min,max]"
    );
    for name in models {
        let layout = gpt2::model(name);
        let n = layout.len();
        let (params, grads) = gpt2::buffers(n);
        let g = &grads;
        let (mut pc, mut m, mut v, mut t) = (params.clone(), vec![0f32; n], vec![0f32; n], 1);
        let gp = grads.as_ptr();
        // SAFETY: every pointer is to a live buffer of n f32 that nothing else borrows while the
        // kernel runs; `grads` outlives the closure.
        let mut c_step = move || {
            unsafe { c::c_adam(pc.as_mut_ptr(), gp, m.as_mut_ptr(), v.as_mut_ptr(), n as i64, t) };
            t += 1;
        };
        // (label, threads, optimizer, params)
        let mut runs: Vec<(String, usize, gradus::Groups<f32>, Vec<f32>)> = Vec::new();
        for (threads, _) in &pools {
            for guard in [false, true] {
                let label = format!("adamw{}", if guard { "+guard" } else { "" });
                runs.push((label, *threads, gpt2::groups(&layout, "adamw", guard), params.clone()));
            }
        }
        if muon_small || name != "gpt2-small" {
            runs.push(("muon+guard".to_string(), 1, gpt2::groups(&layout, "muon", true), params.clone()));
        }
        runs.push(("adafactor+guard".to_string(), 1, gpt2::groups(&layout, "adafactor", true), params.clone()));
        // warm up: state sized, pages touched
        let a = Instant::now();
        for _ in 0..2 {
            c_step();
        }
        let per = a.elapsed().as_secs_f64() / 2.0;
        let per_batch = ((5e-2 / per) as usize).max(1);
        for (_, threads, opt, p) in &mut runs {
            let pool = &pools.iter().find(|(t, _)| t == threads).unwrap().1;
            on(pool, || opt.step(p, g).unwrap());
        }
        let mut times: Vec<(Vec<f64>, Vec<f64>)> = runs.iter().map(|_| (vec![], vec![])).collect();
        let mut tc = vec![];
        for _ in 0..rounds {
            for (k, (label, threads, opt, p)) in runs.iter_mut().enumerate() {
                let pool = &pools.iter().find(|(t, _)| t == threads).unwrap().1;
                let samples = if label.starts_with("muon") && name == "gpt2-small" { 1 } else { 7 };
                let c0 = time(&mut c_step, per_batch, 7);
                let mut step = || opt.step(p, g).unwrap();
                let x = on(pool, || time(&mut step, if label.starts_with("muon") { 1 } else { per_batch }, samples));
                let c1 = time(&mut c_step, per_batch, 7);
                let c = (c0 + c1) / 2.0;
                tc.push(c);
                times[k].0.push(x);
                times[k].1.push(x / c);
            }
        }
        let tc = median(&mut tc);
        for ((label, threads, _, _), (mut x, mut r)) in runs.iter().zip(times) {
            let lo = r.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = r.iter().copied().fold(0.0, f64::max);
            let x = median(&mut x);
            println!(
                "{name:<11} {threads:>4} {label:>11} {:>8.2} {:>14.2} {:>11.3} {:>8.2}x [{lo:.2},{hi:.2}]",
                tc * 1e3,
                x * 1e3,
                x * 1e9 / n as f64,
                median(&mut r)
            );
        }
    }
}
