//! The 4-16-3 MLP of the `mlp` and `data_parallel` examples: `logits = W2^T tanh(W1^T x + b1) + b2`,
//! with a hand-written backward pass.

use gradus::{Layout, Network};

/// `logits = W2^T tanh(W1^T x + b1) + b2`, its tensors laid out by `layout`.
pub struct Mlp {
    pub layout: Layout,
    inputs: usize,
    hidden: usize,
    classes: usize,
}

impl Mlp {
    pub fn new(inputs: usize, hidden: usize, classes: usize) -> Self {
        let layout = Layout::new()
            .tensor("w1", &[inputs, hidden])
            .tensor("b1", &[hidden])
            .tensor("w2", &[hidden, classes])
            .tensor("b2", &[classes]);
        Mlp { layout, inputs, hidden, classes }
    }

    /// The hidden activations `tanh(W1^T x + b1)`.
    fn hidden(&self, params: &[f64], x: &[f64]) -> Vec<f64> {
        let l = &self.layout;
        let (w1, b1) = (l.view(params, "w1").unwrap(), l.view(params, "b1").unwrap());
        (0..self.hidden)
            .map(|j| (b1[j] + (0..self.inputs).map(|i| x[i] * w1[i * self.hidden + j]).sum::<f64>()).tanh())
            .collect()
    }
}

impl Network<f64> for Mlp {
    fn num_params(&self) -> usize {
        self.layout.len()
    }
    fn num_features(&self) -> usize {
        self.inputs
    }
    fn num_outputs(&self) -> usize {
        self.classes
    }

    fn forward(&self, params: &[f64], x: &[f64], out: &mut [f64]) {
        let h = self.hidden(params, x);
        let (w2, b2) = (self.layout.view(params, "w2").unwrap(), self.layout.view(params, "b2").unwrap());
        for (k, o) in out.iter_mut().enumerate() {
            *o = b2[k] + (0..self.hidden).map(|j| h[j] * w2[j * self.classes + k]).sum::<f64>();
        }
    }

    fn backward(&self, params: &[f64], x: &[f64], d_out: &[f64], grad: &mut [f64]) {
        let h = self.hidden(params, x);
        let w2 = self.layout.view(params, "w2").unwrap().to_vec();
        let [gw1, gb1, gw2, gb2] = &mut self.layout.split_mut(grad).unwrap()[..] else { unreachable!() };
        gb2.copy_from_slice(d_out);
        for j in 0..self.hidden {
            let mut d_h = 0.0;
            for k in 0..self.classes {
                gw2[j * self.classes + k] = h[j] * d_out[k];
                d_h += w2[j * self.classes + k] * d_out[k];
            }
            let d_pre = d_h * (1.0 - h[j] * h[j]); // tanh' = 1 - tanh^2
            gb1[j] = d_pre;
            for i in 0..self.inputs {
                gw1[i * self.hidden + j] = x[i] * d_pre;
            }
        }
    }
}
