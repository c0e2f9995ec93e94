//! `DataParallel` and `ZeroSharded` over MPI, on 1, 2 and 3 ranks (`cargo test --features
//! mpi,serde --test mpi`; needs OpenMPI's `mpirun`).
//!
//! Run by cargo, this program launches itself under `mpirun -np N` for each scenario and checks
//! how each run ended; under `mpirun` (OMPI_COMM_WORLD_SIZE is set) it is one rank of the
//! scenario named by `GRADUS_MPI_SCENARIO`, and panics (so the job fails) on any mismatch.
//!
//! The model is a 4-16-3 MLP with softmax cross-entropy on iris (every rank has the data and
//! computes the mean gradient of its contiguous share of it). The reference is one process that
//! computes every rank's gradient the same way, takes the mean in the documented order
//! `((g_0 + g_1) + g_2) / R`, and steps a plain `Groups`: every rank's parameters must equal it
//! bit for bit after every step.

use std::alloc::{GlobalAlloc, Layout as AllocLayout, System};
use std::process::Command;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use gradus::{
    AdamW, Communicator, DataParallel, Error, Groups, Lamb, Layout, Mpi, Muon, Optimizer, Sgd, ShardCheckpoint,
    ZeroSharded,
};
use mpi::traits::Communicator as _;
use num_traits::Float;

/// Counts the bytes live on the heap, to measure the state a step sizes.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: AllocLayout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: AllocLayout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: AllocLayout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

// ---------------------------------------------------------------------------------------------
// the model and the data

const INPUTS: usize = 4;
const HIDDEN: usize = 16;
const CLASSES: usize = 3;

fn layout() -> Layout {
    Layout::new()
        .tensor("w1", &[INPUTS, HIDDEN])
        .tensor("b1", &[HIDDEN])
        .tensor("w2", &[HIDDEN, CLASSES])
        .tensor("b2", &[CLASSES])
}

/// Iris, features standardized, in a fixed shuffled order.
fn data() -> (Vec<[f64; INPUTS]>, Vec<usize>) {
    let iris = linfa_datasets::iris();
    let (x, y) = (iris.records(), iris.targets());
    let mut rows: Vec<([f64; INPUTS], usize)> =
        (0..x.nrows()).map(|i| ([x[[i, 0]], x[[i, 1]], x[[i, 2]], x[[i, 3]]], y[i])).collect();
    for f in 0..INPUTS {
        let mean = rows.iter().map(|r| r.0[f]).sum::<f64>() / rows.len() as f64;
        let sd = (rows.iter().map(|r| (r.0[f] - mean).powi(2)).sum::<f64>() / rows.len() as f64).sqrt();
        for r in &mut rows {
            r.0[f] = (r.0[f] - mean) / sd;
        }
    }
    // a fixed permutation (multiplicative, 150 and 7 coprime)
    let order: Vec<usize> = (0..rows.len()).map(|i| (i * 7 + 3) % rows.len()).collect();
    (order.iter().map(|&i| rows[i].0).collect(), order.iter().map(|&i| rows[i].1).collect())
}

fn initial<T: Float>() -> Vec<T> {
    let mut s = 12345_u64;
    (0..layout().len())
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            T::from(((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 0.8).unwrap()
        })
        .collect()
}

/// The mean over samples `lo..hi` of softmax cross-entropy's gradient, computed in `T`.
fn gradient<T: Float>(params: &[T], xs: &[[f64; INPUTS]], ys: &[usize], lo: usize, hi: usize) -> Vec<T> {
    let l = layout();
    let (w1, b1, w2, b2) = (
        l.view(params, "w1").unwrap(),
        l.view(params, "b1").unwrap(),
        l.view(params, "w2").unwrap(),
        l.view(params, "b2").unwrap(),
    );
    let mut g = vec![T::zero(); l.len()];
    for s in lo..hi {
        let x: Vec<T> = xs[s].iter().map(|&v| T::from(v).unwrap()).collect();
        let h: Vec<T> =
            (0..HIDDEN).map(|j| (0..INPUTS).fold(b1[j], |a, i| a + x[i] * w1[i * HIDDEN + j]).tanh()).collect();
        let z: Vec<T> = (0..CLASSES).map(|k| (0..HIDDEN).fold(b2[k], |a, j| a + h[j] * w2[j * CLASSES + k])).collect();
        let m = z.iter().fold(T::neg_infinity(), |a, &b| a.max(b));
        let e: Vec<T> = z.iter().map(|&v| (v - m).exp()).collect();
        let sum = e.iter().fold(T::zero(), |a, &b| a + b);
        let d: Vec<T> = (0..CLASSES).map(|k| e[k] / sum - if k == ys[s] { T::one() } else { T::zero() }).collect();
        let [gw1, gb1, gw2, gb2] = &mut l.split_mut(&mut g).unwrap()[..] else { unreachable!() };
        for k in 0..CLASSES {
            gb2[k] = gb2[k] + d[k];
        }
        for j in 0..HIDDEN {
            let mut dh = T::zero();
            for k in 0..CLASSES {
                gw2[j * CLASSES + k] = gw2[j * CLASSES + k] + h[j] * d[k];
                dh = dh + w2[j * CLASSES + k] * d[k];
            }
            let dp = dh * (T::one() - h[j] * h[j]);
            gb1[j] = gb1[j] + dp;
            for i in 0..INPUTS {
                gw1[i * HIDDEN + j] = gw1[i * HIDDEN + j] + x[i] * dp;
            }
        }
    }
    let count = T::from((hi - lo).max(1)).unwrap();
    g.iter_mut().for_each(|v| *v = *v / count);
    g
}

/// Rank `r`'s share of `n` samples among `ranks`.
fn share(n: usize, ranks: usize, r: usize) -> (usize, usize) {
    (r * n / ranks, (r + 1) * n / ranks)
}

/// The mean of every rank's gradient in the documented order.
fn mean_of<T: Float>(params: &[T], xs: &[[f64; INPUTS]], ys: &[usize], ranks: usize) -> Vec<T> {
    let mut acc: Option<Vec<T>> = None;
    for r in 0..ranks {
        let (lo, hi) = share(xs.len(), ranks, r);
        let g = gradient(params, xs, ys, lo, hi);
        acc = Some(match acc {
            None => g,
            Some(a) => a.iter().zip(&g).map(|(&a, &b)| a + b).collect(),
        });
    }
    let d = T::from(ranks).unwrap();
    acc.unwrap().into_iter().map(|v| v / d).collect()
}

/// AdamW with decay on the matrices, none on the biases; or Muon on `w1` with AdamW elsewhere;
/// or Lamb (per tensor) on the matrices and SGD with momentum on the biases.
fn model<T: Float + Send + Sync + 'static>(kind: &str) -> Groups<T> {
    let lr = T::from(0.01).unwrap();
    let g = Groups::new(layout());
    match kind {
        "adamw" => g
            .group(&["w1", "w2"], AdamW::new(lr).weight_decay(T::from(0.1).unwrap()))
            .group(&["b1", "b2"], AdamW::new(lr).weight_decay(T::zero())),
        "muon" => g.group(&["w1"], Muon::new(T::from(0.02).unwrap())).group(&["b1", "w2", "b2"], AdamW::new(lr)),
        _ => g
            .group(&["w1", "w2"], Lamb::new(lr))
            .group(&["b1", "b2"], Sgd::new(lr).momentum(T::from(0.9).unwrap()).nesterov(true)),
    }
}

fn bits<T: Float>(v: &[T]) -> Vec<u64> {
    v.iter().map(|x| x.to_f64().unwrap().to_bits()).collect()
}

fn world() -> (mpi::environment::Universe, usize, usize) {
    let universe = mpi::initialize().expect("MPI initializes once");
    let (rank, size) = (universe.world().rank() as usize, universe.world().size() as usize);
    (universe, rank, size)
}

// ---------------------------------------------------------------------------------------------
// scenarios (one rank's part)

/// 20 steps of each model, `DataParallel` and `ZeroSharded`, f64 and f32: bit for bit the
/// single-process reference on every rank, and the same on every rank.
fn equivalence() {
    let (universe, rank, ranks) = world();
    let (xs, ys) = data();
    fn run<T: Float + Send + Sync + mpi::datatype::Equivalence + 'static>(
        universe: &mpi::environment::Universe,
        rank: usize,
        ranks: usize,
        xs: &[[f64; INPUTS]],
        ys: &[usize],
    ) {
        for kind in ["adamw", "muon", "lamb"] {
            for sharded in [false, true] {
                let comm = Mpi::new(universe.world());
                let mut opt: Box<dyn Optimizer<T>> = if sharded {
                    Box::new(ZeroSharded::new(model::<T>(kind), comm).unwrap().transfer_chunk(7))
                } else {
                    Box::new(DataParallel::new(model::<T>(kind), comm).transfer_chunk(5))
                };
                let mut reference = model::<T>(kind);
                let (mut p, mut q) = (initial::<T>(), initial::<T>());
                let (lo, hi) = share(xs.len(), ranks, rank);
                for step in 0..20 {
                    let g = gradient(&p, xs, ys, lo, hi);
                    opt.step(&mut p, &g).unwrap();
                    let mean = mean_of(&q, xs, ys, ranks);
                    reference.step(&mut q, &mean).unwrap();
                    assert_eq!(
                        bits(&p),
                        bits(&q),
                        "{kind} sharded={sharded} step {step} rank {rank}: differs from one process"
                    );
                }
                // every rank holds the same bits
                let mine: Vec<u64> = bits(&p);
                let mut all = vec![0_u64; mine.len() * ranks];
                mpi::collective::CommunicatorCollectives::all_gather_into(&universe.world(), &mine[..], &mut all[..]);
                assert!(all.chunks(mine.len()).all(|c| c == mine), "{kind}: ranks differ");
            }
        }
    }
    run::<f64>(&universe, rank, ranks, &xs, &ys);
    run::<f32>(&universe, rank, ranks, &xs, &ys);
    if rank == 0 {
        println!("equivalence: DataParallel and ZeroSharded on {ranks} ranks equal one process, bit for bit");
    }
}

/// A NaN in the last rank's gradient, and an invalid learning rate on one rank: every rank
/// fails with the same error, nothing changes anywhere, and training goes on as if the step
/// had not been asked for.
fn all_or_nothing() {
    let (universe, rank, ranks) = world();
    let (xs, ys) = data();
    let last = ranks - 1;
    for sharded in [false, true] {
        let comm = Mpi::new(universe.world());
        let mut dp = DataParallel::new(model::<f64>("adamw"), Mpi::new(universe.world()));
        let mut zs = ZeroSharded::new(model::<f64>("adamw"), comm).unwrap();
        let opt: &mut dyn Optimizer<f64> = if sharded { &mut zs } else { &mut dp };
        let mut reference = model::<f64>("adamw");
        let (mut p, mut q) = (initial::<f64>(), initial::<f64>());
        let (lo, hi) = share(xs.len(), ranks, rank);
        for step in 0..8 {
            let mut g = gradient(&p, &xs, &ys, lo, hi);
            let before = p.clone();
            if step == 3 {
                // a NaN on the last rank, at an index rank 0 steps when sharded
                if rank == last {
                    g[1] = f64::NAN;
                }
                let e = opt.step(&mut p, &g).unwrap_err();
                assert!(matches!(e, Error::NonFiniteGradient { index: 1, .. }), "rank {rank}: {e:?}");
                assert_eq!(bits(&p), bits(&before), "the parameters moved");
                continue;
            }
            if step == 5 {
                // an invalid learning rate of group 1 on rank 1 only
                let good = opt.group_learning_rate(1).unwrap();
                if rank == 1.min(last) {
                    opt.set_group_learning_rate(1, -1.0);
                }
                let e = opt.step(&mut p, &g).unwrap_err();
                assert!(
                    matches!(e, Error::InvalidGroupHyperparameter { group: 1, name: "lr", value: -1.0, .. }),
                    "rank {rank}: {e:?}"
                );
                assert_eq!(bits(&p), bits(&before), "the parameters moved");
                opt.set_group_learning_rate(1, good);
                continue;
            }
            opt.step(&mut p, &g).unwrap();
            let mean = mean_of(&q, &xs, &ys, ranks);
            reference.step(&mut q, &mean).unwrap();
            assert_eq!(bits(&p), bits(&q), "sharded={sharded} step {step}: the failed steps changed the state");
        }
        let failed = if sharded { zs.failed_rank() } else { dp.failed_rank() };
        assert_eq!(failed, None);
    }
    // a gradient of another length on one rank
    let mut opt = DataParallel::new(model::<f64>("adamw"), Mpi::new(universe.world()));
    let mut p = initial::<f64>();
    let mut g = vec![0.1; p.len()];
    if rank == last && ranks > 1 {
        g.pop();
    }
    let r = opt.step(&mut p, &g);
    if ranks > 1 {
        assert!(r.is_err(), "rank {rank}");
        assert_eq!(opt.steps(), 0);
    }
    if rank == 0 {
        println!(
            "all-or-nothing: a NaN or a bad learning rate on one of {ranks} ranks fails every rank, nothing written"
        );
    }
}

/// The state per rank of `ZeroSharded` is about 1/R of one process's.
fn memory() {
    let (universe, rank, ranks) = world();
    let big = Layout::new().tensor("emb", &[1000, 200]).tensor("w", &[200, 400]).tensor("b", &[400]);
    let n = big.len();
    let build = || Groups::<f64>::new(big.clone()).group(&["emb", "w", "b"], AdamW::new(1e-3));
    let grads = vec![0.01; n];
    // one process, unsharded
    let mut alone = build();
    let mut p = vec![0.5; n];
    let before = LIVE.load(Ordering::Relaxed);
    alone.step(&mut p, &grads).unwrap();
    let whole = LIVE.load(Ordering::Relaxed) - before;
    drop(alone);
    // sharded
    let mut opt = ZeroSharded::new(build(), Mpi::new(universe.world())).unwrap();
    let before = LIVE.load(Ordering::Relaxed);
    opt.step(&mut p, &grads).unwrap();
    let grown = LIVE.load(Ordering::Relaxed) - before;
    let state = grown - (opt.workspace_len() * 8) as isize;
    let ratio = state as f64 * ranks as f64 / whole as f64;
    println!(
        "memory: rank {rank} of {ranks}: state {state} bytes (+ workspace {} bytes), one process {whole} bytes: {ratio:.3} of 1/R",
        opt.workspace_len() * 8
    );
    assert!((ratio - 1.0).abs() < 0.05, "rank {rank}: sharded state {state} bytes is not about 1/{ranks} of {whole}");
}

/// Saves a sharded run after 6 steps (each rank its file); `resume` reads every file on another
/// number of ranks and goes on: equal to one process that took 6 steps at the saved rank count
/// and the rest at this one.
fn checkpoint(resume: bool) {
    let (universe, rank, ranks) = world();
    let (xs, ys) = data();
    let dir = std::env::var("GRADUS_MPI_DIR").unwrap();
    let saved_ranks: usize = std::env::var("GRADUS_MPI_SAVED_RANKS").map_or(ranks, |v| v.parse().unwrap());
    for kind in ["adamw", "muon"] {
        let mut opt = ZeroSharded::new(model::<f64>(kind), Mpi::new(universe.world())).unwrap();
        let mut reference = model::<f64>(kind);
        let mut q = initial::<f64>();
        for _ in 0..6 {
            let mean = mean_of(&q, &xs, &ys, saved_ranks);
            reference.step(&mut q, &mean).unwrap();
        }
        let mut p = initial::<f64>();
        let (lo, hi) = share(xs.len(), ranks, rank);
        if !resume {
            for _ in 0..6 {
                let g = gradient(&p, &xs, &ys, lo, hi);
                opt.step(&mut p, &g).unwrap();
            }
            assert_eq!(bits(&p), bits(&q));
            let file = format!("{dir}/{kind}-{rank}.json");
            std::fs::write(&file, serde_json::to_string(&opt.checkpoint()).unwrap()).unwrap();
            std::fs::write(format!("{dir}/{kind}-params.json"), serde_json::to_string(&p).unwrap()).unwrap();
            continue;
        }
        p = serde_json::from_str(&std::fs::read_to_string(format!("{dir}/{kind}-params.json")).unwrap()).unwrap();
        assert_eq!(bits(&p), bits(&q));
        let files = (0..saved_ranks).map(|r| {
            let text = std::fs::read_to_string(format!("{dir}/{kind}-{r}.json")).unwrap();
            serde_json::from_str::<ShardCheckpoint<f64>>(&text).unwrap()
        });
        opt.resume(files).unwrap();
        assert_eq!(opt.steps(), 6);
        for step in 0..6 {
            let g = gradient(&p, &xs, &ys, lo, hi);
            opt.step(&mut p, &g).unwrap();
            let mean = mean_of(&q, &xs, &ys, ranks);
            reference.step(&mut q, &mean).unwrap();
            assert_eq!(bits(&p), bits(&q), "{kind}: step {step} after resuming on {ranks} ranks from {saved_ranks}");
        }
        // a missing file is an error that names a piece, with nothing changed
        if saved_ranks > 1 {
            let mut other = ZeroSharded::new(model::<f64>(kind), Mpi::new(universe.world())).unwrap();
            let some = (0..1).map(|r| {
                let text = std::fs::read_to_string(format!("{dir}/{kind}-{r}.json")).unwrap();
                serde_json::from_str::<ShardCheckpoint<f64>>(&text).unwrap()
            });
            match other.resume(some) {
                Ok(()) => assert!(other.shard().end <= opt.bounds()[1] || other.shard().is_empty()),
                Err(e) => assert!(matches!(e, Error::MissingPiece { .. }), "{e:?}"),
            }
        }
    }
    if rank == 0 {
        println!(
            "checkpoint: {} on {ranks} ranks{}",
            if resume { "resumed" } else { "saved" },
            if resume { format!(" from {saved_ranks}, bit for bit") } else { String::new() }
        );
    }
}

/// The last rank stops stepping: the others' step is `RankTimeout` within the timeout, with
/// nothing written; then the job is ended.
fn timeout() {
    let (universe, rank, ranks) = world();
    let comm = Mpi::new(universe.world()).timeout(Duration::from_millis(1500));
    let mut opt = DataParallel::new(Sgd::new(0.1_f64), comm);
    let mut p = vec![1.0; 10];
    opt.step(&mut p, &[0.5; 10]).unwrap();
    if rank == ranks - 1 {
        std::thread::sleep(Duration::from_secs(30)); // hangs, as far as the others can tell
        return;
    }
    let start = Instant::now();
    let e = opt.step(&mut p, &[0.5; 10]).unwrap_err();
    assert!(matches!(e, Error::RankTimeout { .. }), "{e:?}");
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(p, vec![0.95; 10]);
    assert_eq!(opt.step(&mut p, &[0.5; 10]), Err(Error::CommunicatorFailed));
    assert!(Communicator::<f64>::size(opt.comm()) == ranks);
    println!("timeout: rank {rank}: {e}");
    if rank == 0 {
        universe.world().abort(17);
    }
    std::thread::sleep(Duration::from_secs(30));
}

/// The last rank dies before a step: the job ends (the others time out, or the runtime ends
/// them), it does not hang.
fn death() {
    let (universe, rank, ranks) = world();
    let comm = Mpi::new(universe.world()).timeout(Duration::from_secs(5));
    let mut opt = DataParallel::new(Sgd::new(0.1_f64), comm);
    let mut p = vec![1.0; 10];
    opt.step(&mut p, &[0.5; 10]).unwrap();
    if rank == ranks - 1 {
        std::process::exit(3);
    }
    match opt.step(&mut p, &[0.5; 10]) {
        Err(e) => {
            println!("death: rank {rank}: {e}");
            universe.world().abort(18);
        }
        Ok(()) => panic!("rank {rank}: a step without the last rank succeeded"),
    }
}

// ---------------------------------------------------------------------------------------------
// the launcher

fn mpirun(np: usize, scenario: &str, env: &[(&str, String)]) -> (Option<i32>, String, Duration) {
    let mut cmd = Command::new("mpirun");
    cmd.args(["-np", &np.to_string(), "--oversubscribe"]);
    if std::env::var("USER").as_deref() == Ok("root") || unsafe_is_root() {
        cmd.arg("--allow-run-as-root");
    }
    cmd.arg(std::env::current_exe().unwrap()).env("GRADUS_MPI_SCENARIO", scenario);
    // OpenMPI as root in a container: no forced shared-memory sanity checks
    cmd.env("OMPI_MCA_btl_vader_single_copy_mechanism", "none");
    cmd.env("OMPI_MCA_rmaps_base_oversubscribe", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let start = Instant::now();
    let out = cmd.output().expect("mpirun runs (install openmpi-bin)");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code(), text, start.elapsed())
}

fn unsafe_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}

fn main() {
    if let Ok(scenario) = std::env::var("GRADUS_MPI_SCENARIO") {
        // a failed assertion ends the process at once: unwinding would run MPI_Finalize, which
        // waits for the other ranks (a hang, not a failure)
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            report(info);
            std::process::exit(101);
        }));
        match scenario.as_str() {
            "equivalence" => equivalence(),
            "all_or_nothing" => all_or_nothing(),
            "memory" => memory(),
            "save" => checkpoint(false),
            "resume" => checkpoint(true),
            "timeout" => timeout(),
            "death" => death(),
            other => panic!("no scenario {other}"),
        }
        return;
    }
    let dir = std::env::temp_dir().join(format!("gradus-mpi-{}", std::process::id()));
    let mut passed = 0;
    let mut failed = 0;
    let mut check = |name: String, ok: bool, text: &str| {
        println!("test {name} ... {}", if ok { "ok" } else { "FAILED" });
        print!("{}", text.lines().filter(|l| !l.trim().is_empty()).map(|l| format!("    {l}\n")).collect::<String>());
        if ok {
            passed += 1;
        } else {
            failed += 1;
        }
    };
    for np in [1, 2, 3] {
        for scenario in ["equivalence", "all_or_nothing", "memory"] {
            let (code, text, _) = mpirun(np, scenario, &[]);
            check(format!("{scenario} -np {np}"), code == Some(0), &text);
        }
    }
    for (save, resume) in [(2, 3), (3, 2), (3, 1)] {
        let d = dir.join(format!("{save}-{resume}"));
        std::fs::create_dir_all(&d).unwrap();
        let env = [("GRADUS_MPI_DIR", d.display().to_string()), ("GRADUS_MPI_SAVED_RANKS", save.to_string())];
        let (code, text, _) = mpirun(save, "save", &env);
        check(format!("save -np {save}"), code == Some(0), &text);
        let (code, text, _) = mpirun(resume, "resume", &env);
        check(format!("resume -np {resume} from {save}"), code == Some(0), &text);
    }
    let (code, text, took) = mpirun(3, "timeout", &[]);
    let timeouts = text.lines().filter(|l| l.starts_with("timeout: rank")).count();
    check(
        format!("timeout -np 3 (ended in {:.1} s)", took.as_secs_f64()),
        code == Some(17) && timeouts >= 1 && took < Duration::from_secs(25),
        &text,
    );
    let (code, text, took) = mpirun(2, "death", &[]);
    check(
        format!("death -np 2 (ended in {:.1} s)", took.as_secs_f64()),
        code != Some(0) && took < Duration::from_secs(25),
        &text,
    );
    let _ = std::fs::remove_dir_all(&dir);
    println!("\n{passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}
