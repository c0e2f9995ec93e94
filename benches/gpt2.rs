//! The parameter shapes of GPT-2, as `../shared/bench/torch_model_step.py` lists them, and the
//! `Groups` configurations of the model benchmarks (`benches/model.rs`) and of the in-process
//! comparison (`benches/inproc`, `benches/model_compare.sh`).

#![allow(dead_code)] // each includer uses its part

use gradus::{Adafactor, AdamW, Groups, Layout, Muon};

/// `(name, shape)` of every parameter of a GPT-2 style model, in module order.
pub fn shapes(layers: usize, width: usize, vocab: usize, context: usize) -> Vec<(String, Vec<usize>)> {
    let mut s = vec![("wte".to_string(), vec![vocab, width]), ("wpe".to_string(), vec![context, width])];
    for i in 0..layers {
        let h = |n: &str| format!("h{i}.{n}");
        s.extend([
            (h("ln_1.weight"), vec![width]),
            (h("ln_1.bias"), vec![width]),
            (h("attn.c_attn.weight"), vec![width, 3 * width]),
            (h("attn.c_attn.bias"), vec![3 * width]),
            (h("attn.c_proj.weight"), vec![width, width]),
            (h("attn.c_proj.bias"), vec![width]),
            (h("ln_2.weight"), vec![width]),
            (h("ln_2.bias"), vec![width]),
            (h("mlp.c_fc.weight"), vec![width, 4 * width]),
            (h("mlp.c_fc.bias"), vec![4 * width]),
            (h("mlp.c_proj.weight"), vec![4 * width, width]),
            (h("mlp.c_proj.bias"), vec![width]),
        ]);
    }
    s.push(("ln_f.weight".to_string(), vec![width]));
    s.push(("ln_f.bias".to_string(), vec![width]));
    s
}

/// The two models of `torch_model_step.py`: GPT-2 small (148 tensors, 124.4 M parameters) and
/// GPT-2 tiny (6 blocks of width 256, vocab 8192, context 512: 76 tensors, 7.0 M).
pub fn model(name: &str) -> Layout {
    let s = match name {
        "gpt2-small" => shapes(12, 768, 50257, 1024),
        "gpt2-tiny" => shapes(6, 256, 8192, 512),
        _ => panic!("no model {name}"),
    };
    s.iter().fold(Layout::new(), |l, (n, shape)| l.tensor(n, shape))
}

/// A configuration of `torch_model_step.py` as a `Groups`, with the non-finite guard on or off:
/// `adamw` (lr 1e-3, weight decay 0.1 on matrices, 0 on vectors), `muon` (torch's Muon, lr
/// 0.02, on the blocks' matrices; AdamW, no decay, on the rest), `adafactor` (torch's defaults,
/// lr 1e-2, on every tensor).
pub fn groups(layout: &Layout, config: &str, guard: bool) -> Groups<f32> {
    let names: Vec<(&str, usize)> = layout.iter().map(|(n, shape, _)| (n, shape.len())).collect();
    let pick = |f: &dyn Fn(&str, usize) -> bool| -> Vec<&str> {
        names.iter().filter(|&&(n, d)| f(n, d)).map(|&(n, _)| n).collect()
    };
    let g = Groups::new(layout.clone());
    match config {
        "adamw" => g
            .group(&pick(&|_, d| d == 2), AdamW::new(1e-3).weight_decay(0.1).check_finite(guard))
            .group(&pick(&|_, d| d < 2), AdamW::new(1e-3).weight_decay(0.0).check_finite(guard)),
        "muon" => {
            let hidden = |n: &str, d: usize| d == 2 && n.starts_with('h');
            g.group(&pick(&hidden), Muon::new(0.02).check_finite(guard))
                .group(&pick(&|n, d| !hidden(n, d)), AdamW::new(1e-3).weight_decay(0.0).check_finite(guard))
        }
        "adafactor" => g.group(&pick(&|_, _| true), Adafactor::new(1e-2).check_finite(guard)),
        _ => panic!("no configuration {config}"),
    }
}

/// Parameters and gradients as `torch_model_step.py` sizes them (fixed, small values).
pub fn buffers(n: usize) -> (Vec<f32>, Vec<f32>) {
    let p = (0..n).map(|i| 0.02 * (((i * 7919) % 1000) as f32 / 500.0 - 1.0)).collect();
    let g = (0..n).map(|i| 1e-2 * (((i * 104729) % 1000) as f32 / 500.0 - 1.0)).collect();
    (p, g)
}
