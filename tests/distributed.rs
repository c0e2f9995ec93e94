//! `DataParallel` and `ZeroSharded` with ranks as threads of one process (a `Communicator`
//! written here, as a user would write one for another transport), and the claim of every rule
//! that says it is elementwise. The same over MPI processes: `tests/mpi`.

#![cfg(feature = "std")]

use std::sync::{Arc, Barrier, Mutex};
use std::thread;

use gradus::{
    AdEmaMix, AdaBelief, Adadelta, Adagrad, Adam, AdamW, Adamax, Adan, Adopt, Asgd, Communicator, DataParallel, Error,
    Form, Fromage, Groups, Lamb, Lars, Layout, Lion, Muon, NAdam, NovoGrad, OptimisticGd, Optimizer, Prodigy, RAdam,
    RmsProp, Rprop, ScheduleFreeAdamW, ScheduleFreeSgd, Sgd, SignSgd, SimplifiedAdEmaMix, Yogi, ZeroSharded,
};

/// What each rank posted for the current collective: its data, counts and displacements.
type Post<T> = (Vec<T>, Vec<usize>, Vec<usize>);

/// Ranks that are threads: every collective posts, waits for all, reads, waits again.
struct Threads<T> {
    rank: usize,
    size: usize,
    barrier: Arc<Barrier>,
    posts: Arc<Mutex<Vec<Post<T>>>>,
    bytes: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl<T: Copy + Default + Send> Threads<T> {
    fn group(size: usize) -> Vec<Self> {
        let barrier = Arc::new(Barrier::new(size));
        let posts = Arc::new(Mutex::new(vec![(Vec::new(), Vec::new(), Vec::new()); size]));
        let bytes = Arc::new(Mutex::new(vec![Vec::new(); size]));
        (0..size)
            .map(|rank| Threads { rank, size, barrier: barrier.clone(), posts: posts.clone(), bytes: bytes.clone() })
            .collect()
    }
}

impl<T: Copy + Default + Send> Communicator<T> for Threads<T> {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.size
    }
    fn all_gather_bytes(&mut self, send: &[u8], recv: &mut [u8]) -> Result<(), Error> {
        self.bytes.lock().unwrap()[self.rank] = send.to_vec();
        self.barrier.wait();
        for (q, b) in self.bytes.lock().unwrap().iter().enumerate() {
            recv[q * send.len()..][..send.len()].copy_from_slice(b);
        }
        self.barrier.wait();
        Ok(())
    }
    fn all_to_all_v(
        &mut self,
        send: &[T],
        send_counts: &[usize],
        send_displs: &[usize],
        recv: &mut [T],
        recv_counts: &[usize],
        recv_displs: &[usize],
    ) -> Result<(), Error> {
        self.posts.lock().unwrap()[self.rank] = (send.to_vec(), send_counts.to_vec(), send_displs.to_vec());
        self.barrier.wait();
        for (q, (data, counts, displs)) in self.posts.lock().unwrap().iter().enumerate() {
            assert_eq!(
                counts[self.rank], recv_counts[q],
                "rank {q} sends another count than rank {} expects",
                self.rank
            );
            recv[recv_displs[q]..][..recv_counts[q]].copy_from_slice(&data[displs[self.rank]..][..counts[self.rank]]);
        }
        self.barrier.wait();
        Ok(())
    }
    fn all_gather_v(&mut self, send: &[T], recv: &mut [T], counts: &[usize], displs: &[usize]) -> Result<(), Error> {
        assert_eq!(send.len(), counts[self.rank]);
        self.posts.lock().unwrap()[self.rank] = (send.to_vec(), Vec::new(), Vec::new());
        self.barrier.wait();
        for (q, (data, _, _)) in self.posts.lock().unwrap().iter().enumerate() {
            recv[displs[q]..][..counts[q]].copy_from_slice(data);
        }
        self.barrier.wait();
        Ok(())
    }
}

fn layout() -> Layout {
    Layout::new().tensor("w1", &[6, 5]).tensor("b1", &[5]).tensor("w2", &[5, 4]).tensor("b2", &[4])
}

/// AdamW with decay on the matrices, Muon on `w2` (whole on one rank), Lamb's trust ratio on
/// `b1`, SGD with momentum on `b2`.
fn model() -> Groups<f64> {
    Groups::new(layout())
        .group(&["w1"], AdamW::new(0.01).weight_decay(0.1))
        .group(&["w2"], Muon::new(0.02))
        .group(&["b1"], Lamb::new(0.01))
        .group(&["b2"], Sgd::new(0.05).momentum(0.9))
}

/// Rank `r`'s gradient at `p` (a smooth function of both).
fn grad(p: &[f64], r: usize, step: usize) -> Vec<f64> {
    p.iter()
        .enumerate()
        .map(|(i, &x)| (x * (1.0 + r as f64) + i as f64 * 0.37 + step as f64).sin() * 0.5 + x * 0.1)
        .collect()
}

fn mean(p: &[f64], ranks: usize, step: usize) -> Vec<f64> {
    let mut acc = grad(p, 0, step);
    for r in 1..ranks {
        for (a, g) in acc.iter_mut().zip(grad(p, r, step)) {
            *a += g;
        }
    }
    acc.iter().map(|&a| a / ranks as f64).collect()
}

fn start() -> Vec<f64> {
    (0..layout().len()).map(|i| ((i * 7919) % 101) as f64 / 101.0 - 0.5).collect()
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Runs `body(rank, comm)` on `ranks` threads and returns what each returned, in rank order.
fn on_ranks<R: Send + 'static>(
    ranks: usize,
    body: impl Fn(usize, Threads<f64>) -> R + Send + Sync + 'static,
) -> Vec<R> {
    let body = Arc::new(body);
    let handles: Vec<_> = Threads::group(ranks)
        .into_iter()
        .enumerate()
        .map(|(r, comm)| {
            let body = body.clone();
            thread::spawn(move || body(r, comm))
        })
        .collect();
    // a rank that panics fails the test at once: the others would wait for it at a barrier
    let mut handles: Vec<_> = handles.into_iter().map(Some).collect();
    let mut out: Vec<Option<R>> = handles.iter().map(|_| None).collect();
    while out.iter().any(Option::is_none) {
        for (slot, h) in out.iter_mut().zip(&mut handles) {
            if h.as_ref().is_some_and(|h| h.is_finished()) {
                match h.take().unwrap().join() {
                    Ok(r) => *slot = Some(r),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
        }
        thread::sleep(std::time::Duration::from_millis(1));
    }
    out.into_iter().map(Option::unwrap).collect()
}

#[test]
fn every_rank_steps_what_one_process_steps() {
    for ranks in [1, 2, 3, 4] {
        for sharded in [false, true] {
            let runs = on_ranks(ranks, move |r, comm| {
                let mut opt: Box<dyn Optimizer<f64>> = if sharded {
                    Box::new(ZeroSharded::new(model(), comm).unwrap().transfer_chunk(3))
                } else {
                    Box::new(DataParallel::new(model(), comm).transfer_chunk(4))
                };
                let mut p = start();
                for step in 0..12 {
                    let g = grad(&p, r, step);
                    opt.step(&mut p, &g).unwrap();
                }
                p
            });
            let mut reference = model();
            let mut q = start();
            for step in 0..12 {
                let m = mean(&q, ranks, step);
                reference.step(&mut q, &m).unwrap();
            }
            for (r, p) in runs.iter().enumerate() {
                assert_eq!(bits(p), bits(&q), "{ranks} ranks, sharded {sharded}: rank {r} differs from one process");
            }
        }
    }
}

/// A failed step: its number, its error, and the rank the optimizer names.
type Failure = (usize, Error, Option<usize>);

/// Makes a fresh rule.
type Make = Box<dyn Fn() -> Box<dyn Optimizer<f64>>>;

/// Steps `opt` 6 times on rank `r`, with a NaN on rank 2 at step 2 and an infinity on rank 1
/// at step 4; returns the parameters and each failed step's error and failing rank.
fn drive<O: Optimizer<f64>>(mut opt: O, r: usize, failed: impl Fn(&O) -> Option<usize>) -> (Vec<f64>, Vec<Failure>) {
    let mut p = start();
    let mut errors = Vec::new();
    for step in 0..6 {
        let mut g = grad(&p, r, step);
        if step == 2 && r == 2 {
            g[0] = f64::NAN;
        }
        if step == 4 && r == 1 {
            g[7] = f64::INFINITY;
        }
        let before = p.clone();
        if let Err(e) = opt.step(&mut p, &g) {
            assert_eq!(bits(&p), bits(&before), "rank {r}: a failed step moved the parameters");
            errors.push((step, e, failed(&opt)));
        }
    }
    (p, errors)
}

#[test]
fn a_nan_on_one_rank_fails_every_rank_and_changes_nothing() {
    // the reference skips the two failed steps
    let mut reference = model();
    let mut q = start();
    for step in [0, 1, 3, 5] {
        let m = mean(&q, 3, step);
        reference.step(&mut q, &m).unwrap();
    }
    for sharded in [false, true] {
        let runs = on_ranks(3, move |r, comm| {
            if sharded {
                drive(ZeroSharded::new(model(), comm).unwrap(), r, |o| o.failed_rank())
            } else {
                drive(DataParallel::new(model(), comm), r, |o| o.failed_rank())
            }
        });
        // DataParallel: the rank that had it finds it in its own gradient; ZeroSharded: rank 0,
        // which owns elements 0 and 7, finds it in the mean
        let (first, second) = if sharded { (Some(0), Some(0)) } else { (Some(2), Some(1)) };
        for (r, (p, errors)) in runs.iter().enumerate() {
            assert_eq!(bits(p), bits(&q), "sharded {sharded}, rank {r}: the failed steps changed the state");
            assert_eq!(errors.len(), 2, "rank {r}: {errors:?}");
            assert!(
                matches!(errors[0], (2, Error::NonFiniteGradient { index: 0, value }, f) if value.is_nan() && f == first),
                "{errors:?}"
            );
            assert!(
                matches!(errors[1], (4, Error::NonFiniteGradient { index: 7, value }, f) if value.is_infinite() && f == second),
                "{errors:?}"
            );
        }
    }
}

#[test]
fn data_parallel_fails_every_rank_with_the_lowest_failing_ranks_error() {
    let runs = on_ranks(3, |r, comm| {
        let mut opt = DataParallel::new(model(), comm);
        let mut p = start();
        let mut g = grad(&p, r, 0);
        if r == 2 {
            g[3] = f64::NAN;
        }
        if r == 1 {
            opt.set_group_learning_rate(2, -0.5);
        }
        let before = p.clone();
        let e = opt.step(&mut p, &g).unwrap_err();
        assert_eq!(p, before);
        (e, opt.failed_rank(), opt.steps())
    });
    for (e, failed, steps) in runs {
        assert_eq!(
            e,
            Error::InvalidGroupHyperparameter { group: 2, name: "lr", value: -0.5, expected: "a finite value >= 0" },
            "{e}"
        );
        assert_eq!((failed, steps), (Some(1), 0));
    }
}

#[test]
fn zero_sharded_ranks_that_disagree_on_the_length_fail_alike() {
    let runs = on_ranks(3, |r, comm| {
        let mut opt = ZeroSharded::new(model(), comm).unwrap();
        let mut p = start();
        let mut g = grad(&p, r, 0);
        if r == 1 {
            g.pop();
        }
        let e = opt.step(&mut p, &g).unwrap_err();
        (e, opt.failed_rank(), opt.steps(), p)
    });
    for (e, failed, steps, p) in runs {
        assert_eq!(e, Error::LengthMismatch { params: 59, grads: 58 });
        assert_eq!((failed, steps, bits(&p)), (Some(1), 0, bits(&start())));
    }
}

#[test]
fn ranks_that_disagree_on_the_length_fail_alike() {
    let runs = on_ranks(2, |r, comm| {
        let mut opt = DataParallel::new(Adam::new(0.1), comm);
        let n = if r == 0 { 4 } else { 5 };
        let mut p = vec![1.0; n];
        (opt.step(&mut p, &vec![0.1; n]), p)
    });
    for (result, p) in runs {
        assert_eq!(result, Err(Error::RankMismatch { what: "elements", rank: 1, expected: 4, found: 5 }));
        assert!(p.iter().all(|&x| x == 1.0));
    }
}

#[test]
fn shards_are_balanced_and_cut_only_elementwise_tensors() {
    let big = Layout::new().tensor("emb", &[100, 30]).tensor("m", &[30, 30]).tensor("b", &[30]);
    fn groups(big: &Layout) -> Groups<f64> {
        Groups::new(big.clone()).group(&["emb", "b"], AdamW::new(1e-3)).group(&["m"], Muon::new(0.02))
    }
    for ranks in 1..=5 {
        let layout = big.clone();
        let shards = on_ranks(ranks, move |_, comm| {
            let opt = ZeroSharded::new(groups(&layout), comm).unwrap();
            (
                opt.shard(),
                opt.bounds().to_vec(),
                opt.pieces().layout().iter().map(|(n, _, _)| n.to_string()).collect::<Vec<_>>(),
            )
        });
        let bounds = &shards[0].1;
        assert_eq!((bounds[0], bounds[ranks]), (0, big.len()));
        for (r, (shard, b, names)) in shards.iter().enumerate() {
            assert_eq!(b, bounds);
            assert_eq!(*shard, bounds[r]..bounds[r + 1]);
            // the Muon matrix is never cut
            assert!(!names.iter().any(|n| n.starts_with("m[")), "{names:?}");
            // within a piece and a Muon matrix of the even share
            let even = big.len() / ranks;
            assert!(shard.len().abs_diff(even) <= 900 + 16, "rank {r}: {} elements of {}", shard.len(), big.len());
        }
    }
    // Prodigy's one estimate per group cannot be split
    let prodigy = || {
        Groups::<f64>::new(Layout::new().tensor("a", &[100]).tensor("b", &[100])).group(&["a", "b"], Prodigy::new(1.0))
    };
    let results = on_ranks(2, move |_, comm| ZeroSharded::new(prodigy(), comm).map(|_| ()));
    assert!(results.iter().all(|r| *r == Err(Error::Unshardable { group: 0 })));
    let results = on_ranks(1, move |_, comm| ZeroSharded::new(prodigy(), comm).map(|_| ()));
    assert!(results[0].is_ok());
}

#[test]
fn zero_sharded_drives_schedules_and_group_rates_on_every_rank() {
    let runs = on_ranks(3, |_, comm| {
        let mut opt = ZeroSharded::new(model(), comm).unwrap();
        assert!(opt.set_group_learning_rate(1, 0.5));
        assert!(!opt.set_group_learning_rate(9, 0.5));
        opt.set_learning_rate(0.25);
        (0..4).map(|g| opt.group_learning_rate(g)).collect::<Vec<_>>()
    });
    for rates in runs {
        assert_eq!(rates, vec![Some(0.25); 4]);
    }
    // a group's new rate reaches the pieces every rank steps: as one process with that rate
    let runs = on_ranks(3, |r, comm| {
        let mut opt = ZeroSharded::new(model(), comm).unwrap();
        assert!(opt.set_group_learning_rate(0, 0.003));
        let mut p = start();
        let g = grad(&p, r, 0);
        opt.step(&mut p, &g).unwrap();
        p
    });
    let mut reference = model();
    assert!(reference.set_group_learning_rate(0, 0.003));
    let mut q = start();
    let m = mean(&q, 3, 0);
    reference.step(&mut q, &m).unwrap();
    for p in runs {
        assert_eq!(bits(&p), bits(&q));
    }
}

/// Every rule that says it is elementwise steps a tensor cut in two pieces exactly as the whole;
/// and the check can fail: Lamb, which is not, does not.
#[test]
fn elementwise_rules_step_pieces_as_the_whole() {
    let rules: Vec<(&str, Make)> = vec![
        ("sgd", Box::new(|| Box::new(Sgd::new(0.1).momentum(0.9).nesterov(true).weight_decay(0.01)))),
        ("sgd optax", Box::new(|| Box::new(Sgd::new(0.1).momentum(0.9).form(Form::Optax)))),
        ("adam", Box::new(|| Box::new(Adam::new(0.1).amsgrad(true).weight_decay(0.1)))),
        ("adam optax", Box::new(|| Box::new(Adam::new(0.1).nesterov(true).eps_root(1e-8)))),
        ("adamw", Box::new(|| Box::new(AdamW::new(0.1)))),
        ("rmsprop", Box::new(|| Box::new(RmsProp::new(0.01).centered(true).momentum(0.5)))),
        ("rmsprop optax", Box::new(|| Box::new(RmsProp::new(0.01).form(Form::Optax)))),
        ("adagrad", Box::new(|| Box::new(Adagrad::new(0.1).lr_decay(0.01)))),
        ("adagrad optax", Box::new(|| Box::new(Adagrad::new(0.1).form(Form::Optax)))),
        ("adadelta", Box::new(|| Box::new(Adadelta::new(1.0)))),
        ("adamax", Box::new(|| Box::new(Adamax::new(0.1)))),
        ("adamax optax", Box::new(|| Box::new(Adamax::new(0.1).form(Form::Optax)))),
        ("nadam", Box::new(|| Box::new(NAdam::new(0.1).decoupled_weight_decay(true).weight_decay(0.1)))),
        ("nadam optax", Box::new(|| Box::new(NAdam::new(0.1).form(Form::Optax)))),
        ("radam", Box::new(|| Box::new(RAdam::new(0.1)))),
        ("radam optax", Box::new(|| Box::new(RAdam::new(0.1).form(Form::Optax)))),
        ("rprop", Box::new(|| Box::new(Rprop::new(0.1)))),
        ("asgd", Box::new(|| Box::new(Asgd::new(0.1).t0(2.0)))),
        ("lion", Box::new(|| Box::new(Lion::new(0.1)))),
        ("adabelief", Box::new(|| Box::new(AdaBelief::new(0.1)))),
        ("yogi", Box::new(|| Box::new(Yogi::new(0.1)))),
        ("adan", Box::new(|| Box::new(Adan::new(0.1)))),
        ("adopt", Box::new(|| Box::new(Adopt::new(0.1)))),
        ("ademamix", Box::new(|| Box::new(AdEmaMix::new(0.1)))),
        ("simplified ademamix", Box::new(|| Box::new(SimplifiedAdEmaMix::new(0.1)))),
        ("schedule-free adamw", Box::new(|| Box::new(ScheduleFreeAdamW::new(0.1).warmup_steps(2)))),
        ("schedule-free adamw optax", Box::new(|| Box::new(ScheduleFreeAdamW::new(0.1).form(Form::Optax)))),
        ("schedule-free sgd", Box::new(|| Box::new(ScheduleFreeSgd::new(0.1)))),
        ("sign sgd", Box::new(|| Box::new(SignSgd::new(0.1)))),
        ("optimistic gd", Box::new(|| Box::new(OptimisticGd::new(0.1)))),
    ];
    let n = 37;
    let p0: Vec<f64> = (0..n).map(|i| (i as f64 * 0.61).sin()).collect();
    let g = |p: &[f64], k: usize| -> Vec<f64> {
        p.iter().enumerate().map(|(i, &x)| x * 0.3 + ((i * 13 + k * 5) % 17) as f64 / 17.0 - 0.5).collect()
    };
    let run = |make: &dyn Fn() -> Box<dyn Optimizer<f64>>, cut: usize| -> Vec<f64> {
        let mut p = p0.clone();
        let (mut a, mut b) = (make(), make());
        for k in 0..8 {
            let gk = g(&p, k);
            if cut == 0 {
                a.step(&mut p, &gk).unwrap();
            } else {
                let (pl, pr) = p.split_at_mut(cut);
                a.step(pl, &gk[..cut]).unwrap();
                b.step(pr, &gk[cut..]).unwrap();
            }
        }
        p
    };
    for (name, make) in &rules {
        assert!(make().elementwise(), "{name} says it is not elementwise");
        let whole = run(&**make, 0);
        for cut in [1, 16, 30] {
            assert_eq!(bits(&run(&**make, cut)), bits(&whole), "{name}: cut at {cut} differs");
        }
    }
    // the rules that read the whole tensor say so, and cutting would change them
    let whole_tensor: Vec<(&str, Make)> = vec![
        ("lamb", Box::new(|| Box::new(Lamb::new(0.1)))),
        ("lars", Box::new(|| Box::new(Lars::new(0.1)))),
        ("novograd", Box::new(|| Box::new(NovoGrad::new(0.1)))),
        ("fromage", Box::new(|| Box::new(Fromage::new(0.1)))),
    ];
    for (name, make) in &whole_tensor {
        assert!(!make().elementwise(), "{name}");
        assert_ne!(bits(&run(&**make, 16)), bits(&run(&**make, 0)), "{name}: cutting changed nothing");
    }
}

#[cfg(feature = "serde")]
#[test]
fn a_sharded_checkpoint_resumes_on_another_number_of_ranks() {
    use gradus::ShardCheckpoint;
    for (saved, resumed) in [(3, 2), (2, 4), (1, 3), (4, 1)] {
        // 5 steps on `saved` ranks, each rank's checkpoint as JSON
        let files = on_ranks(saved, |r, comm| {
            let mut opt = ZeroSharded::new(model(), comm).unwrap();
            let mut p = start();
            for step in 0..5 {
                let g = grad(&p, r, step);
                opt.step(&mut p, &g).unwrap();
            }
            (serde_json::to_string(&opt.checkpoint()).unwrap(), p)
        });
        let p5 = files[0].1.clone();
        let texts: Arc<Vec<String>> = Arc::new(files.into_iter().map(|f| f.0).collect());
        let runs = on_ranks(resumed, move |r, comm| {
            let mut opt = ZeroSharded::new(model(), comm).unwrap();
            let cps = texts.iter().map(|t| serde_json::from_str::<ShardCheckpoint<f64>>(t).unwrap());
            opt.resume(cps).unwrap();
            // the step count resumes too, the wrapper's and its shard's
            assert_eq!((opt.steps(), opt.pieces().steps()), (5, 5));
            let mut p = p5.clone();
            for step in 5..9 {
                let g = grad(&p, r, step);
                opt.step(&mut p, &g).unwrap();
            }
            assert_eq!((opt.steps(), opt.pieces().steps()), (9, 9));
            p
        });
        let mut reference = model();
        let mut q = start();
        for step in 0..9 {
            let m = mean(&q, if step < 5 { saved } else { resumed }, step);
            reference.step(&mut q, &m).unwrap();
        }
        for p in runs {
            assert_eq!(bits(&p), bits(&q), "saved on {saved}, resumed on {resumed}");
        }
    }
}

/// More ranks than a model has pieces: a rank with an empty shard steps nothing, sends and
/// receives its part of every transfer, and every rank still ends with one process's bits.
#[test]
fn ranks_with_empty_shards_take_part_in_every_step() {
    let small = || Groups::<f64>::new(Layout::new().tensor("w", &[3, 2])).group(&["w"], Lamb::new(0.1));
    let runs = on_ranks(4, move |r, comm| {
        let mut opt = ZeroSharded::new(small(), comm).unwrap();
        let mut p = vec![0.5, -0.25, 1.0, 0.75, -1.0, 0.1];
        for step in 0..4 {
            let g: Vec<f64> = p.iter().map(|x| (x * (r + 1) as f64 + step as f64).cos()).collect();
            opt.step(&mut p, &g).unwrap();
        }
        (opt.shard(), p)
    });
    let mut reference = small();
    let mut q = vec![0.5, -0.25, 1.0, 0.75, -1.0, 0.1];
    for step in 0..4 {
        let mut m = vec![0.0; 6];
        for r in 0..4 {
            for (a, x) in m.iter_mut().zip(&q) {
                *a += (x * (r + 1) as f64 + step as f64).cos();
            }
        }
        m.iter_mut().for_each(|a| *a /= 4.0);
        reference.step(&mut q, &m).unwrap();
    }
    assert_eq!(runs.iter().filter(|(shard, _)| shard.is_empty()).count(), 3, "{runs:?}");
    for (_, p) in runs {
        assert_eq!(bits(&p), bits(&q));
    }
}

/// The workspace is the mean (all of it, or the shard's) and `R` transfer rounds' worth of the
/// longest part, never the whole model again.
#[test]
fn the_workspace_is_the_mean_and_one_round_per_rank() {
    let runs = on_ranks(3, |r, comm| {
        let mut dp = DataParallel::new(model(), comm).transfer_chunk(4);
        assert_eq!((dp.rank(), dp.ranks(), dp.get_transfer_chunk()), (r, 3, 4));
        let mut p = start();
        let g = grad(&p, r, 0);
        dp.step(&mut p, &g).unwrap();
        dp.workspace_len()
    });
    let n = layout().len(); // 59: parts of 20, 20 and 19
    assert!(runs.iter().all(|&w| w == n + 3 * 4), "{runs:?} for {n} elements");
    let runs = on_ranks(3, |r, comm| {
        let mut zs = ZeroSharded::new(model(), comm).unwrap().transfer_chunk(100);
        let mut p = start();
        let g = grad(&p, r, 0);
        zs.step(&mut p, &g).unwrap();
        let longest = zs.bounds().windows(2).map(|w| w[1] - w[0]).max().unwrap();
        (zs.workspace_len(), zs.shard().len(), longest)
    });
    for (w, shard, longest) in runs {
        assert_eq!(w, shard + 3 * longest.min(100));
    }
}

/// Shards of very different lengths (a whole Muon matrix on one rank, three bias elements on the
/// other) over many transfer rounds: the short rank's rounds run out long before the other's.
#[test]
fn uneven_shards_over_many_rounds_equal_one_process() {
    let build = || {
        Groups::<f64>::new(Layout::new().tensor("w", &[10, 10]).tensor("b", &[3]))
            .group(&["w"], Muon::new(0.02))
            .group(&["b"], Adam::new(0.1))
    };
    let start: Vec<f64> = (0..103).map(|i| ((i * 37) % 19) as f64 / 19.0 - 0.5).collect();
    let g = |p: &[f64], r: usize, k: usize| -> Vec<f64> {
        p.iter().enumerate().map(|(i, x)| (x * 1.3 + (i + r * 7 + k) as f64 * 0.11).sin()).collect()
    };
    let s0 = start.clone();
    let runs = on_ranks(2, move |r, comm| {
        let mut opt = ZeroSharded::new(build(), comm).unwrap().transfer_chunk(7);
        let mut p = s0.clone();
        for k in 0..3 {
            let gk = g(&p, r, k);
            opt.step(&mut p, &gk).unwrap();
        }
        (opt.shard().len(), p)
    });
    assert_eq!((runs[0].0, runs[1].0), (100, 3));
    let mut reference = build();
    let mut q = start;
    for k in 0..3 {
        let m: Vec<f64> = g(&q, 0, k).iter().zip(g(&q, 1, k)).map(|(a, b)| (a + b) / 2.0).collect();
        reference.step(&mut q, &m).unwrap();
    }
    for (_, p) in runs {
        assert_eq!(bits(&p), bits(&q));
    }
}

/// What the wrappers forward, on several ranks: step counts, reset, validation, momentum,
/// groups, the evaluation point, snapshots; and a NaN in a later rank's shard, named by its index
/// in the flat buffer.
#[test]
fn the_wrappers_forward_everything_on_several_ranks() {
    let sf = || {
        Groups::new(layout())
            .group(&["w1", "b1"], ScheduleFreeAdamW::new(0.05))
            .group(&["w2", "b2"], Sgd::new(0.1).momentum(0.9))
    };
    let runs = on_ranks(3, move |r, comm| {
        let mut zs = ZeroSharded::new(sf(), comm).unwrap();
        assert_eq!((zs.groups(), zs.momentum(), zs.get_transfer_chunk()), (2, Some(0.9), 65536));
        assert!(zs.set_momentum(0.8));
        assert_eq!(zs.group_momentum(1), Some(0.8));
        let mut p = start();
        for k in 0..3 {
            let g = grad(&p, r, k);
            zs.step(&mut p, &g).unwrap();
        }
        assert_eq!(zs.steps(), 3);
        assert!(zs.validate().is_ok());
        // the evaluation point, gathered, is the average x; this rank's own part is also in
        // the local one
        let mut x = vec![0.0; p.len()];
        zs.gather_eval_params(&p, &mut x).unwrap();
        let mut local = vec![0.0; p.len()];
        zs.eval_params(&p, &mut local);
        let own = zs.shard();
        assert_eq!(bits(&local[own.clone()]), bits(&x[own]));
        assert!(x.iter().zip(&p).any(|(a, b)| a != b), "the evaluation point is the training point");
        assert!(zs.set_group_momentum(1, 0.8) && !zs.set_group_momentum(5, 0.8));
        assert!(matches!(zs.gather_eval_params(&p, &mut [0.0; 3]), Err(Error::ShapeMismatch { .. })));
        // a snapshot restores this rank's state
        let saved = zs.snapshot().unwrap();
        let before = p.clone();
        let g = grad(&p, r, 9);
        zs.step(&mut p, &g).unwrap();
        assert!(zs.restore(&*saved));
        assert_eq!(zs.steps(), 3);
        // a NaN in rank 2's shard, sent by rank 0: every rank names its place in the flat buffer
        let at = zs.bounds()[2] + 1;
        let mut g = grad(&before, r, 3);
        if r == 0 {
            g[at] = f64::NAN;
        }
        let mut q = before.clone();
        let e = zs.step(&mut q, &g).unwrap_err();
        assert!(matches!(e, Error::NonFiniteGradient { index, .. } if index == at), "{e:?}");
        assert_eq!((zs.failed_rank(), bits(&q)), (Some(2), bits(&before)));
        // an invalid hyperparameter is found by validate on every rank
        zs.set_learning_rate(-1.0);
        assert!(matches!(zs.validate(), Err(Error::InvalidGroupHyperparameter { name: "lr", .. })));
        zs.reset();
        assert_eq!(zs.steps(), 0);
        x
    });
    assert!(runs.windows(2).all(|w| bits(&w[0]) == bits(&w[1])), "ranks gathered different evaluation points");
    // DataParallel forwards to its rule
    let runs = on_ranks(2, move |r, comm| {
        let mut dp = DataParallel::new(Adam::new(0.1), comm);
        let mut p = vec![1.0, 2.0, 3.0];
        dp.step(&mut p, &[0.1 * r as f64, 0.2, 0.3]).unwrap();
        assert_eq!(dp.steps(), 1);
        assert!(dp.second_moment().is_some_and(|v| v.len() == 3));
        let mut out = [0.0; 3];
        dp.eval_params(&p, &mut out);
        assert_eq!(out, [p[0], p[1], p[2]]);
        let saved = dp.snapshot().unwrap();
        dp.step(&mut p, &[0.1, 0.2, 0.3]).unwrap();
        assert!(dp.restore(&*saved));
        assert!(!dp.restore(&0_u8));
        assert_eq!(dp.steps(), 1);
        dp.set_learning_rate(f64::NAN);
        assert!(dp.validate().is_err());
        dp.reset();
        assert_eq!(dp.steps(), 0);
        p
    });
    assert_eq!(bits(&runs[0]), bits(&runs[1]));
}

#[cfg(feature = "serde")]
#[test]
fn checkpoints_of_different_runs_or_models_are_refused_with_nothing_changed() {
    use gradus::SingleProcess;
    let run = |steps: usize| {
        let mut opt = ZeroSharded::new(model(), SingleProcess).unwrap();
        let mut p = start();
        for k in 0..steps {
            let g = grad(&p, 0, k);
            opt.step(&mut p, &g).unwrap();
        }
        opt
    };
    let (one, two) = (run(1).checkpoint(), run(2).checkpoint());
    assert_eq!(one.saved_by(), (0, 1));
    let mut opt = run(3);
    let e = opt.resume([one.clone(), two]).unwrap_err();
    assert!(matches!(e, Error::CorruptValue { field: "steps", value: 2.0, .. }), "{e:?}");
    let other = ZeroSharded::new(
        Groups::<f64>::new(Layout::new().tensor("w1", &[6, 4])).group(&["w1"], AdamW::new(0.01)),
        SingleProcess,
    )
    .unwrap()
    .checkpoint();
    assert!(matches!(opt.resume([other]), Err(Error::LayoutMismatch { index: 0, .. })));
    assert_eq!(opt.steps(), 3);
    opt.resume([one]).unwrap();
    assert_eq!(opt.steps(), 1);
}
