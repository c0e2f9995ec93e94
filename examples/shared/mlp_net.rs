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

/// Iris (150 flowers, 4 measurements, 3 species), shuffled with seed 7: 120 to train and 30 held
/// out, each feature standardized with the training split's mean and deviation. Returns
/// `(x_train, y_train, x_test, y_test)`, features row by row, labels as 0.0, 1.0, 2.0.
pub fn iris() -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
    use rand::seq::SliceRandom;
    use rand::SeedableRng;
    let iris = linfa_datasets::iris();
    let features: Vec<f64> = iris.records().iter().copied().collect();
    let labels: Vec<f64> = iris.targets().iter().map(|&c| c as f64).collect();
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(7));
    let (train, test) = order.split_at(120);
    let rows = |idx: &[usize]| -> (Vec<f64>, Vec<f64>) {
        (
            idx.iter().flat_map(|&i| features[i * 4..i * 4 + 4].to_vec()).collect(),
            idx.iter().map(|&i| labels[i]).collect(),
        )
    };
    let ((mut x_train, y_train), (mut x_test, y_test)) = (rows(train), rows(test));
    // standardize each feature with the training split's mean and deviation
    for f in 0..4 {
        let column: Vec<f64> = x_train.iter().skip(f).step_by(4).copied().collect();
        let mean = column.iter().sum::<f64>() / column.len() as f64;
        let sd = (column.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / column.len() as f64).sqrt();
        for x in x_train.iter_mut().skip(f).step_by(4).chain(x_test.iter_mut().skip(f).step_by(4)) {
            *x = (*x - mean) / sd;
        }
    }

    (x_train, y_train, x_test, y_test)
}
