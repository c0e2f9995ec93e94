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
fn main() {
    use gradus::{Adagrad, Adam, Optimizer, RmsProp, Sgd};
    use std::time::Instant;

    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds: usize = args.first().map_or(15, |r| r.parse().expect("ROUNDS"));
    let sizes: Vec<usize> = if args.len() > 1 {
        args[1..].iter().map(|s| s.parse::<f64>().expect("N") as usize).collect()
    } else {
        vec![1_000, 10_000, 100_000, 1_000_000, 10_000_000]
    };
    // SAFETY: sets the OpenMP thread count; no OpenMP region is running.
    unsafe { c::c_one_thread() };

    /// Median time of one step over batches of steps, each batch about 0.2 ms or one step.
    fn time(step: &mut dyn FnMut(), per_batch: usize) -> f64 {
        let mut t: Vec<f64> = (0..15)
            .map(|_| {
                let a = Instant::now();
                for _ in 0..per_batch {
                    step();
                }
                a.elapsed().as_secs_f64() / per_batch as f64
            })
            .collect();
        t.sort_by(f64::total_cmp);
        t[t.len() / 2]
    }
    fn median(mut x: Vec<f64>) -> f64 {
        x.sort_by(f64::total_cmp);
        x[x.len() / 2]
    }

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
                let c0 = time(&mut c_step, per_batch);
                let u = time(&mut unguarded, per_batch);
                let gd = time(&mut guarded, per_batch);
                let c1 = time(&mut c_step, per_batch);
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
                format!("{:.2}x [{lo:.2}, {hi:.2}]", median(r.clone()))
            };
            println!(
                "{name:<13}{n:>9} {:>10.2} {:>10.2} {:>10.2}  {:>20}  {:>20}",
                median(tc) * 1e6,
                median(tu) * 1e6,
                median(tg) * 1e6,
                span(&ru),
                span(&rg)
            );
        }
    }
}
