//! Data-parallel training over MPI: the iris MLP of the `mlp` example, every rank computing the
//! gradient of its share of the training set, `DataParallel` (or `ZeroSharded`, ZeRO stage 1)
//! averaging the gradients and stepping AdamW on every rank alike.
//!
//! ```text
//! cargo build --release --features mpi --example data_parallel
//! mpirun -np 2 target/release/examples/data_parallel            # DataParallel
//! mpirun -np 3 target/release/examples/data_parallel zero       # ZeroSharded
//! mpirun -np 2 target/release/examples/data_parallel bench      # step time, GPT-2 tiny sizes
//! ```
//!
//! (as root add `--allow-run-as-root`; on one machine with fewer cores than ranks,
//! `--oversubscribe`; on a cluster, `--hostfile hosts`.) Rank 0 prints the loss every 40
//! epochs, the held-out accuracy, and a checksum of the parameters, which every rank checks
//! is its own.

use std::time::Instant;

use gradus::mpi::collective::SystemOperation;
use gradus::mpi::traits::{Communicator as _, CommunicatorCollectives as _};
use gradus::{
    evaluate, AdamW, DataParallel, Groups, Layout, Mpi, Network, Optimizer, SoftmaxCrossEntropy, ZeroSharded,
};
use rand::SeedableRng;

#[path = "shared/mlp_net.rs"]
mod mlp_net;
use mlp_net::Mlp;

fn main() -> Result<(), gradus::Error> {
    let universe = gradus::mpi::initialize().expect("MPI initializes once");
    let world = universe.world();
    let (rank, ranks) = (world.rank() as usize, world.size() as usize);
    let mode = std::env::args().nth(1).unwrap_or_default();
    if mode == "bench" {
        return bench(&universe);
    }

    // iris, shuffled the same way on every rank: 120 to train, 30 held out
    let (x_train, y_train, x_test, y_test) = mlp_net::iris();
    // this rank's share of the training set
    let (lo, hi) = (rank * y_train.len() / ranks, (rank + 1) * y_train.len() / ranks);

    let model = Mlp::new(4, 16, 3);
    let layout = model.layout.clone();
    let mut params: Vec<f64> = {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        (0..layout.len()).map(|_| rand::Rng::random_range(&mut rng, -0.5..0.5)).collect()
    };
    let groups = Groups::new(layout.clone())
        .group(&["w1", "w2"], AdamW::new(2e-2).weight_decay(1e-2))
        .group(&["b1", "b2"], AdamW::new(2e-2).weight_decay(0.0));
    let comm = Mpi::new(universe.world());
    let mut opt: Box<dyn Optimizer<f64>> = if mode == "zero" {
        Box::new(ZeroSharded::new(groups, comm)?)
    } else {
        Box::new(DataParallel::new(groups, comm))
    };

    let loss = SoftmaxCrossEntropy;
    let (mut out, mut d_out, mut g) = ([0.0; 3], [0.0; 3], vec![0.0; layout.len()]);
    let mut grads = vec![0.0; layout.len()];
    for epoch in 0..200 {
        // full batch: the mean gradient of this rank's samples
        grads.fill(0.0);
        let mut total = 0.0;
        for s in lo..hi {
            let x = &x_train[s * 4..s * 4 + 4];
            total += model.sample_gradient(&loss, &params, x, &[y_train[s]], &mut out, &mut d_out, &mut g);
            grads.iter_mut().zip(&g).for_each(|(a, b)| *a += b / (hi - lo) as f64);
        }
        opt.step(&mut params, &grads)?;
        // the mean training loss, for the printout
        let mut sum = 0.0;
        world.all_reduce_into(&total, &mut sum, SystemOperation::sum());
        if rank == 0 && epoch % 40 == 0 {
            println!("epoch {epoch:3}: training loss {:.4}", sum / y_train.len() as f64);
        }
    }
    let held_out = evaluate(&model, &loss, &params, &x_test, &y_test)?;
    // every rank holds the same parameters, bit for bit
    let checksum = params.iter().fold(0u64, |h, p| h.rotate_left(7) ^ p.to_bits());
    let mut all = vec![0u64; ranks];
    world.all_gather_into(&checksum, &mut all[..]);
    assert!(all.iter().all(|&c| c == checksum), "ranks differ: {all:x?}");
    if rank == 0 {
        println!(
            "{} on {ranks} ranks: held-out accuracy {}/{}, parameters {checksum:016x} on every rank",
            if mode == "zero" { "ZeroSharded" } else { "DataParallel" },
            (held_out.accuracy.unwrap_or(0.0) * y_test.len() as f64).round(),
            y_test.len()
        );
    }
    Ok(())
}

/// The median time of a step (no gradient computation) of an AdamW `Groups` over GPT-2 tiny's
/// tensor sizes (6 layers of width 256, vocabulary 8192; 7.0 M parameters, f32), for
/// `DataParallel` and `ZeroSharded` on this many ranks.
fn bench(universe: &gradus::mpi::environment::Universe) -> Result<(), gradus::Error> {
    let world = universe.world();
    let (rank, ranks) = (world.rank() as usize, world.size() as usize);
    let (d, layers, vocab, ctx) = (256, 6, 8192, 256);
    let mut layout = Layout::new().tensor("wte", &[vocab, d]).tensor("wpe", &[ctx, d]);
    let (mut matrices, mut vectors) = (vec!["wte".to_string(), "wpe".to_string()], Vec::new());
    for l in 0..layers {
        for (name, shape) in [
            ("ln1.w", vec![d]),
            ("ln1.b", vec![d]),
            ("attn.w", vec![d, 3 * d]),
            ("attn.b", vec![3 * d]),
            ("proj.w", vec![d, d]),
            ("proj.b", vec![d]),
            ("ln2.w", vec![d]),
            ("ln2.b", vec![d]),
            ("fc.w", vec![d, 4 * d]),
            ("fc.b", vec![4 * d]),
            ("fc2.w", vec![4 * d, d]),
            ("fc2.b", vec![d]),
        ] {
            let full = format!("h{l}.{name}");
            layout = layout.tensor(&full, &shape);
            if shape.len() == 2 { &mut matrices } else { &mut vectors }.push(full);
        }
    }
    let groups = || {
        let (m, v): (Vec<&str>, Vec<&str>) =
            (matrices.iter().map(|s| &s[..]).collect(), vectors.iter().map(|s| &s[..]).collect());
        Groups::<f32>::new(layout.clone())
            .group(&m, AdamW::new(1e-3).weight_decay(0.1))
            .group(&v, AdamW::new(1e-3).weight_decay(0.0))
    };
    let n = layout.len();
    let grads: Vec<f32> = (0..n).map(|i| ((i % 97) as f32 - 48.0) * 1e-4 * (rank + 1) as f32).collect();
    for (zero, chunk) in [(false, 1 << 16), (true, 1 << 16), (false, 1 << 20), (true, 1 << 20)] {
        let comm = Mpi::new(universe.world());
        let mut opt: Box<dyn Optimizer<f32>> = if zero {
            Box::new(ZeroSharded::new(groups(), comm)?.transfer_chunk(chunk))
        } else {
            Box::new(DataParallel::new(groups(), comm).transfer_chunk(chunk))
        };
        let mut params = vec![0.01_f32; n];
        let mut times = Vec::new();
        for i in 0..25 {
            world.barrier();
            let t = Instant::now();
            opt.step(&mut params, &grads)?;
            if i >= 5 {
                times.push(t.elapsed().as_secs_f64());
            }
        }
        times.sort_by(f64::total_cmp);
        if rank == 0 {
            println!(
                "{} on {ranks} ranks, transfer_chunk {chunk:7}: {:.2} ms a step (median of 20), {n} parameters",
                if zero { "ZeroSharded " } else { "DataParallel" },
                times[times.len() / 2] * 1e3,
            );
        }
    }
    Ok(())
}
