//! [`DataParallel`]: every rank steps the mean of the ranks' gradients.

use alloc::vec::Vec;

use num_traits::Float;

use super::{even_bounds, part, Communicator, Exchange, DEFAULT_CHUNK};
use crate::{Error, Optimizer};

/// Data-parallel training: every rank computes the gradient of its share of the data, and
/// [`step`](Optimizer::step) averages the gradients across ranks, then steps the wrapped
/// optimizer (any rule of the crate, a [`Groups`](crate::Groups), a wrapper) with the mean, on
/// every rank alike: PyTorch's `DistributedDataParallel` around an optimizer.
///
/// **Bit-identical ranks.** The mean is reduced in a fixed order (see the
/// [module](crate::distributed) docs: `((g_0 + g_1) + ... + g_{R-1}) / R`, each element summed
/// once, on one rank), then gathered, so every rank steps the same mean from the same
/// parameters and state: all ranks hold bit-identical parameters after every step, equal to
/// one process stepping that mean.
///
/// **All or nothing across ranks.** Every rank checks its own gradient, hyperparameters and
/// state, and the ranks agree before anything moves; then the mean is checked and agreed on
/// again. A NaN in any rank's gradient, or an invalid hyperparameter on any rank, fails the
/// step on every rank with the same [`Error`] (the lowest failing rank's, which
/// [`failed_rank`](DataParallel::failed_rank) names), and every rank's parameters and state
/// stay as they were. A rank that stops answering is [`Error::RankTimeout`] on the others
/// (with `Mpi`'s timeout).
///
/// **Checkpoints.** Every rank holds the whole state: save [`inner`](DataParallel::inner) on
/// rank 0; any number of ranks resumes from it.
///
/// Memory: the wrapped rule's state, plus the mean (`n` elements) and a workspace of at most
/// `R * transfer_chunk` elements.
///
/// ```
/// use gradus::{AdamW, DataParallel, Optimizer, SingleProcess};
/// // with the `mpi` feature: `let comm = gradus::Mpi::new(universe.world());`
/// let mut opt = DataParallel::new(AdamW::new(1e-3), SingleProcess);
/// let mut params = vec![0.5_f32; 8];
/// let my_grads = vec![0.1_f32; 8]; // this rank's gradient
/// opt.step(&mut params, &my_grads)?;
/// assert_eq!(opt.steps(), 1);
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct DataParallel<T, O, C> {
    inner: O,
    comm: C,
    mean: Vec<T>,
    bounds: Vec<usize>,
    chunk: usize,
    exchange: Exchange<T>,
}

impl<T: Float, O: Optimizer<T>, C: Communicator<T>> DataParallel<T, O, C> {
    /// Wraps `inner`, stepping it with the mean gradient over the ranks of `comm`.
    ///
    /// ```
    /// use gradus::{DataParallel, SingleProcess, Sgd};
    /// let opt = DataParallel::new(Sgd::new(0.1_f64), SingleProcess);
    /// assert_eq!(opt.ranks(), 1);
    /// ```
    pub fn new(inner: O, comm: C) -> Self {
        DataParallel {
            inner,
            comm,
            mean: Vec::new(),
            bounds: Vec::new(),
            chunk: DEFAULT_CHUNK,
            exchange: Exchange::default(),
        }
    }

    /// Elements each rank sends per round of the gradient's all-to-all and of the gather
    /// (default 65,536): the workspace is at most `R` times this; fewer rounds for more memory.
    /// Must be the same on every rank; 0 is taken as 1.
    ///
    /// ```
    /// use gradus::{DataParallel, SingleProcess, Sgd};
    /// let opt = DataParallel::new(Sgd::new(0.1_f64), SingleProcess).transfer_chunk(1 << 20);
    /// assert_eq!(opt.get_transfer_chunk(), 1 << 20);
    /// ```
    pub fn transfer_chunk(mut self, elements: usize) -> Self {
        self.chunk = elements.max(1);
        self
    }

    /// The value set by [`transfer_chunk`](DataParallel::transfer_chunk).
    ///
    /// ```
    /// use gradus::{DataParallel, SingleProcess, Sgd};
    /// assert_eq!(DataParallel::new(Sgd::new(0.1_f64), SingleProcess).get_transfer_chunk(), 65536);
    /// ```
    pub fn get_transfer_chunk(&self) -> usize {
        self.chunk
    }

    /// The wrapped optimizer (to save it: every rank holds the same).
    ///
    /// ```
    /// use gradus::{DataParallel, Optimizer, SingleProcess, Sgd};
    /// let opt = DataParallel::new(Sgd::new(0.1_f64), SingleProcess);
    /// assert_eq!(opt.inner().learning_rate(), 0.1);
    /// ```
    pub fn inner(&self) -> &O {
        &self.inner
    }

    /// The wrapped optimizer, mutably (to restore a checkpoint into it).
    ///
    /// ```
    /// use gradus::{DataParallel, Optimizer, SingleProcess, Sgd};
    /// let mut opt = DataParallel::new(Sgd::new(0.1_f64), SingleProcess);
    /// *opt.inner_mut() = Sgd::new(0.2);
    /// assert_eq!(opt.learning_rate(), 0.2);
    /// ```
    pub fn inner_mut(&mut self) -> &mut O {
        &mut self.inner
    }

    /// The wrapped optimizer and the communicator.
    ///
    /// ```
    /// use gradus::{DataParallel, SingleProcess, Sgd};
    /// let (rule, _comm) = DataParallel::new(Sgd::new(0.1_f64), SingleProcess).into_parts();
    /// # let _ = rule;
    /// ```
    pub fn into_parts(self) -> (O, C) {
        (self.inner, self.comm)
    }

    /// The communicator.
    ///
    /// ```
    /// use gradus::{Communicator, DataParallel, SingleProcess, Sgd};
    /// let opt = DataParallel::new(Sgd::new(0.1_f64), SingleProcess);
    /// assert_eq!(Communicator::<f64>::rank(opt.comm()), 0);
    /// ```
    pub fn comm(&self) -> &C {
        &self.comm
    }

    /// This process's rank.
    ///
    /// ```
    /// use gradus::{DataParallel, SingleProcess, Sgd};
    /// assert_eq!(DataParallel::new(Sgd::new(0.1_f64), SingleProcess).rank(), 0);
    /// ```
    pub fn rank(&self) -> usize {
        self.comm.rank()
    }

    /// The number of ranks.
    ///
    /// ```
    /// use gradus::{DataParallel, SingleProcess, Sgd};
    /// assert_eq!(DataParallel::new(Sgd::new(0.1_f64), SingleProcess).ranks(), 1);
    /// ```
    pub fn ranks(&self) -> usize {
        self.comm.size()
    }

    /// The rank whose error the last failed step returned (the lowest failing one; the same on
    /// every rank), `None` after a successful step.
    ///
    /// ```
    /// use gradus::{DataParallel, Optimizer, SingleProcess, Sgd};
    /// let mut opt = DataParallel::new(Sgd::new(0.1_f64), SingleProcess);
    /// assert!(opt.step(&mut [1.0], &[f64::NAN]).is_err());
    /// assert_eq!(opt.failed_rank(), Some(0));
    /// ```
    pub fn failed_rank(&self) -> Option<usize> {
        self.exchange.failed_rank
    }

    /// Elements of workspace held besides the wrapped rule's state: the mean and the transfer
    /// buffer (sized by the first step; none on one rank, which steps its gradient as it is).
    ///
    /// ```
    /// use gradus::{DataParallel, Optimizer, SingleProcess, Sgd};
    /// let mut opt = DataParallel::new(Sgd::new(0.1_f64), SingleProcess);
    /// opt.step(&mut [1.0; 4], &[0.5; 4])?;
    /// assert_eq!(opt.workspace_len(), 0);
    /// # Ok::<(), gradus::Error>(())
    /// ```
    pub fn workspace_len(&self) -> usize {
        self.mean.len() + self.exchange.workspace()
    }
}

impl<T: Float, O: Optimizer<T>, C: Communicator<T>> Optimizer<T> for DataParallel<T, O, C> {
    /// One collective step: agree, reduce the mean, agree on it, step `inner` with it. Every
    /// rank calls it with its own gradient (the same length on every rank).
    fn step(&mut self, params: &mut [T], grads: &[T]) -> Result<(), Error> {
        let n = params.len();
        if self.comm.size() == 1 {
            // the mean of one gradient is the gradient (`g / 1`, bit for bit): no transfer
            let result = self.inner.step(params, grads);
            self.exchange.failed_rank = result.is_err().then_some(0);
            return result;
        }
        let local = self.inner.check(params, grads);
        self.exchange.agree(&mut self.comm, local, n)?;
        let ranks = self.comm.size();
        if self.bounds.len() != ranks + 1 || self.bounds[ranks] != n {
            self.bounds = even_bounds(n, ranks);
        }
        if self.mean.len() != n {
            self.mean.clear();
            self.mean.resize(n, T::zero());
        }
        let mine = part(&self.bounds, self.comm.rank());
        self.exchange.reduce_mean(&mut self.comm, grads, &self.bounds, self.chunk, &mut self.mean[mine])?;
        self.exchange.gather(&mut self.comm, &mut self.mean, &self.bounds, self.chunk)?;
        let checked = self.inner.check(params, &self.mean);
        self.exchange.agree(&mut self.comm, checked, n)?;
        self.inner.apply(params, &self.mean)
    }

    crate::wrapper::forward_to_inner!();

    fn validate(&self) -> Result<(), Error> {
        self.inner.validate()
    }
    fn reset(&mut self) {
        self.inner.reset()
    }
    fn steps(&self) -> u64 {
        self.inner.steps()
    }
    fn second_moment(&self) -> Option<&[T]> {
        self.inner.second_moment()
    }
    fn eval_params(&self, params: &[T], out: &mut [T]) {
        self.inner.eval_params(params, out)
    }
    fn snapshot(&self) -> Option<alloc::boxed::Box<dyn core::any::Any>>
    where
        T: 'static,
    {
        self.inner.snapshot()
    }
    fn restore(&mut self, snapshot: &dyn core::any::Any) -> bool
    where
        T: 'static,
    {
        self.inner.restore(snapshot)
    }
}
