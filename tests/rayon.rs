//! The `rayon` feature: a parallel step is bit-identical to a serial one.
#![cfg(feature = "rayon")]

use gradus::*;

/// Makes a fresh optimizer.
type Make = fn() -> Box<dyn Optimizer<f32> + Send>;

fn run(threads: usize, opt: &mut (dyn Optimizer<f32> + Send), n: usize) -> Vec<u32> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| {
        let mut p: Vec<f32> = (0..n).map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0).collect();
        for k in 0..3 {
            let g: Vec<f32> = (0..n).map(|i| (((i + k) * 104729) % 997) as f32 / 498.0 - 1.0).collect();
            opt.step(&mut p, &g).unwrap();
        }
        p.iter().map(|v| v.to_bits()).collect()
    })
}

#[test]
fn parallel_equals_serial_for_every_rule() {
    let n = 1_000_003; // above the threshold, odd
    let rules: Vec<Make> = vec![
        || Box::new(Sgd::new(0.01).momentum(0.9)),
        || Box::new(Adam::new(0.01).amsgrad(true)),
        || Box::new(AdamW::new(0.01)),
        || Box::new(RmsProp::new(0.01).centered(true).momentum(0.9)),
        || Box::new(Adagrad::new(0.01)),
        || Box::new(Adadelta::new(1.0)),
        || Box::new(Adamax::new(0.01)),
        || Box::new(NAdam::new(0.01)),
        || Box::new(RAdam::new(0.01)),
        || Box::new(Rprop::new(0.01)),
        || Box::new(Asgd::new(0.01)),
        || Box::new(Lion::new(0.01)),
        || Box::new(AdaBelief::new(0.01)),
        || Box::new(Yogi::new(0.01)),
        || Box::new(Lamb::new(0.01)),
    ];
    for make in rules {
        let serial = run(1, &mut *make(), n);
        let parallel = run(2, &mut *make(), n);
        assert!(serial == parallel, "parallel step differs from serial");
    }
}

#[test]
fn parallel_scan_finds_the_first_bad_gradient_and_writes_nothing() {
    let n = 1_000_003;
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    pool.install(|| {
        // a bad element at either end, in the second half, and in both halves (the first is named)
        for bad in [vec![0], vec![n - 1], vec![n / 2 + 3], vec![700_000, 12], vec![n / 4, 3 * n / 4]] {
            let mut opt = Adam::new(0.01);
            let mut p: Vec<f32> = (0..n).map(|i| (i % 17) as f32 * 0.1).collect();
            let mut g = vec![0.5_f32; n];
            opt.step(&mut p, &g).unwrap();
            let (p0, opt0) = (p.clone(), opt.clone());
            for (k, &i) in bad.iter().enumerate() {
                g[i] = if k == 0 { f32::NAN } else { f32::NEG_INFINITY };
            }
            let first = *bad.iter().min().unwrap();
            match opt.step(&mut p, &g) {
                Err(Error::NonFiniteGradient { index, .. }) => assert_eq!(index, first),
                other => panic!("bad at {bad:?}: {other:?}"),
            }
            assert!(p == p0 && opt == opt0, "a refused step wrote");
        }
    });
}

/// A model of many tensors, small and large: the pool steps tensors side by side (and splits the
/// large ones), bit-identical to one thread; a NaN in a small late tensor is found first in
/// layout order, as serially, with nothing written.
#[test]
fn groups_step_tensors_in_parallel_as_serially() {
    let mut layout = Layout::new().tensor("emb", &[1000, 300]);
    let mut names = vec!["emb".to_string()];
    for l in 0..12 {
        for (name, shape) in [("w", vec![64, 64]), ("b", vec![64]), ("big", vec![300, 300])] {
            let full = format!("h{l}.{name}");
            layout = layout.tensor(&full, &shape);
            names.push(full);
        }
    }
    let n = layout.len();
    let build = || {
        let (a, b): (Vec<&str>, Vec<&str>) = names.iter().map(|s| &s[..]).partition(|s| s.ends_with(".b"));
        Groups::<f32>::new(layout.clone()).group(&a, AdamW::new(1e-3).weight_decay(0.1)).group(&b, Lamb::new(1e-3))
    };
    let serial = run(1, &mut build(), n);
    assert!(serial == run(2, &mut build(), n), "a parallel Groups step differs from a serial one");
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    pool.install(|| {
        let mut opt = build();
        let mut p = vec![0.25_f32; n];
        let mut g = vec![0.5_f32; n];
        opt.step(&mut p, &g).unwrap();
        let before = p.clone();
        let late = layout.range("h11.b").unwrap().start + 3;
        let early = layout.range("h2.w").unwrap().start + 5;
        g[late] = f32::NAN;
        g[early] = f32::INFINITY;
        let e = opt.step(&mut p, &g).unwrap_err();
        assert_eq!(e, Error::NonFiniteGradient { index: early, value: f64::INFINITY });
        assert_eq!(p, before);
        assert_eq!(opt.steps(), 1);
    });
    // one tensor above the split threshold: nothing to split between tensors, so the step goes
    // to the rule's own parallel split (a mutation survivor split a list of one, forever)
    let one = Layout::new().tensor("emb", &[1000, 300]);
    let single = || Groups::<f32>::new(one.clone()).group(&["emb"], AdamW::new(1e-3));
    assert!(run(1, &mut single(), 300_000) == run(2, &mut single(), 300_000));
}
