//! Training on several processes: [`DataParallel`] (every rank steps the averaged gradient) and
//! [`ZeroSharded`] (ZeRO stage 1: every rank keeps the optimizer state of its shard only), over
//! any [`Communicator`]: `Mpi` (feature `mpi`), or [`SingleProcess`].
//!
//! ## What every step does
//!
//! 1. **Agree** that the step can be taken: every rank checks what it can alone (the rule's
//!    hyperparameters and state, the lengths, its own gradient for NaN and infinity unless the
//!    rule was built with `check_finite(false)`), and the ranks exchange their verdicts (one
//!    256-byte record each, the one wait bounded by the communicator's timeout). If any rank
//!    failed, every rank returns the error of the lowest failing rank, the same typed
//!    [`Error`] everywhere, and nothing is written on any rank.
//! 2. **Reduce** the gradient: every rank owns a contiguous part of the flat buffer; the others
//!    send it their gradient's elements of that part (an all-to-all, in rounds of
//!    [`transfer_chunk`](DataParallel::transfer_chunk) elements per rank, which bounds the
//!    workspace), and the owner sums them in rank order and divides by the number of ranks `R`:
//!
//!    ```text
//!    mean[i] = (((g_0[i] + g_1[i]) + g_2[i]) + ... + g_{R-1}[i]) / R      // in T
//!    ```
//!
//!    Each mean is computed once, on one rank, always in this order, so it is the same on every
//!    rank and in every run, and equal, bit for bit, to what one process computes with this sum
//!    (MPI's own reductions promise neither).
//! 3. **Agree** again on the check of the mean (a sum of finite gradients can overflow), then
//!    **step**: [`DataParallel`] gathers the whole mean to every rank and every rank steps the
//!    whole model with its own copy of the rule; [`ZeroSharded`] steps its shard and gathers the
//!    updated parameters.
//!
//! ## Bytes sent per step, per rank (`n` elements of `b` bytes, `R` ranks)
//!
//! | | gradient (all-to-all) | gather | agreements |
//! |---|---|---|---|
//! | [`DataParallel`] | `(R-1)/R * n * b` | `(R-1)/R * n * b` (the mean) | `2 * 256 * R` |
//! | [`ZeroSharded`] | `(R-1)/R * n * b` | `(R-1)/R * n * b` (the parameters) | `2 * 256 * R` |
//!
//! the volume of a ring all-reduce, for both.

use alloc::vec;
use alloc::vec::Vec;
use core::ops::Range;

use num_traits::Float;

use crate::Error;

mod data_parallel;
#[cfg(feature = "mpi")]
#[allow(unsafe_code)]
mod mpi;
mod wire;
mod zero;

pub use data_parallel::DataParallel;
#[cfg(feature = "mpi")]
pub use mpi::Mpi;
#[cfg(feature = "serde")]
pub use zero::checkpoint::ShardCheckpoint;
pub use zero::ZeroSharded;

/// The collective operations a distributed step needs, over the ranks `0..size()` of one
/// job: implemented by `Mpi` (feature `mpi`) and [`SingleProcess`]; implement it for another
/// transport (NCCL, a thread pool, TCP) to run [`DataParallel`] and [`ZeroSharded`] over it.
///
/// Every rank calls the same operations in the same order with the same counts. Counts and
/// displacements are in elements.
pub trait Communicator<T> {
    /// This process's rank, `0..size()`.
    fn rank(&self) -> usize;

    /// The number of ranks.
    fn size(&self) -> usize;

    /// Gathers every rank's `send` (the same length on every rank) into `recv`
    /// (`size() * send.len()` bytes), in rank order. The agreement of every step: an
    /// implementation bounds this wait where it can ([`Error::RankTimeout`]).
    fn all_gather_bytes(&mut self, send: &[u8], recv: &mut [u8]) -> Result<(), Error>;

    /// Sends `send[send_displs[q]..][..send_counts[q]]` to every rank `q` and receives rank
    /// `q`'s into `recv[recv_displs[q]..][..recv_counts[q]]` (MPI's `Alltoallv`).
    fn all_to_all_v(
        &mut self,
        send: &[T],
        send_counts: &[usize],
        send_displs: &[usize],
        recv: &mut [T],
        recv_counts: &[usize],
        recv_displs: &[usize],
    ) -> Result<(), Error>;

    /// Gathers every rank's `send` (rank `q`'s is `counts[q]` long) into
    /// `recv[displs[q]..][..counts[q]]` on every rank (MPI's `Allgatherv`).
    fn all_gather_v(&mut self, send: &[T], recv: &mut [T], counts: &[usize], displs: &[usize]) -> Result<(), Error>;
}

/// The communicator of a job of one process: rank 0 of 1. [`DataParallel`] and
/// [`ZeroSharded`] over it step exactly as the rule they wrap (the mean of one gradient is the
/// gradient), so a program can run with or without MPI.
///
/// ```
/// use gradus::{Adam, DataParallel, Optimizer, SingleProcess};
/// let mut opt = DataParallel::new(Adam::new(0.1_f64), SingleProcess);
/// let mut alone = Adam::new(0.1_f64);
/// let (mut p, mut q) = ([1.0, 2.0], [1.0, 2.0]);
/// opt.step(&mut p, &[0.5, -0.5])?;
/// alone.step(&mut q, &[0.5, -0.5])?;
/// assert_eq!(p, q);
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SingleProcess;

impl<T: Copy> Communicator<T> for SingleProcess {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn all_gather_bytes(&mut self, send: &[u8], recv: &mut [u8]) -> Result<(), Error> {
        recv[..send.len()].copy_from_slice(send);
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
        let n = send_counts[0].min(recv_counts[0]);
        recv[recv_displs[0]..][..n].copy_from_slice(&send[send_displs[0]..][..n]);
        Ok(())
    }
    fn all_gather_v(&mut self, send: &[T], recv: &mut [T], counts: &[usize], displs: &[usize]) -> Result<(), Error> {
        recv[displs[0]..][..counts[0]].copy_from_slice(&send[..counts[0]]);
        Ok(())
    }
}

/// Elements per rank and round of the gradient's all-to-all and the gather (the workspace is
/// `R` times this, at most; see [`DataParallel::transfer_chunk`]).
pub(crate) const DEFAULT_CHUNK: usize = 1 << 16;

/// The reusable buffers of the collective part of a step (sized once, then no allocation).
#[derive(Clone, Debug)]
pub(crate) struct Exchange<T> {
    recv: Vec<T>,
    send_counts: Vec<usize>,
    send_displs: Vec<usize>,
    recv_counts: Vec<usize>,
    recv_displs: Vec<usize>,
    records: Vec<u8>,
    /// The rank whose error the last failed agreement returned.
    pub(crate) failed_rank: Option<usize>,
}

impl<T> Default for Exchange<T> {
    fn default() -> Self {
        Exchange {
            recv: Vec::new(),
            send_counts: Vec::new(),
            send_displs: Vec::new(),
            recv_counts: Vec::new(),
            recv_displs: Vec::new(),
            records: Vec::new(),
            failed_rank: None,
        }
    }
}

impl<T: Float> Exchange<T> {
    fn size_for(&mut self, ranks: usize) {
        for v in [&mut self.send_counts, &mut self.send_displs, &mut self.recv_counts, &mut self.recv_displs] {
            v.resize(ranks, 0);
        }
        self.records.resize(ranks * wire::RECORD, 0);
    }

    /// Sizes the buffers for a transfer over `bounds` in rounds of at most `chunk` elements
    /// per rank; returns the longest part and the round's length.
    fn rounds(&mut self, ranks: usize, bounds: &[usize], chunk: usize) -> (usize, usize) {
        self.size_for(ranks);
        let longest = (0..ranks).map(|q| bounds[q + 1] - bounds[q]).max().unwrap_or(0);
        let chunk = chunk.clamp(1, longest.max(1));
        if self.recv.len() < ranks * chunk {
            self.recv.resize(ranks * chunk, T::zero());
        }
        (longest, chunk)
    }

    /// Elements of workspace the exchange holds (after the first step).
    pub(crate) fn workspace(&self) -> usize {
        self.recv.len()
    }

    /// Exchanges every rank's verdict and element count; the lowest failing rank's error, or a
    /// count that differs from rank 0's, fails the step on every rank alike.
    pub(crate) fn agree<C: Communicator<T> + ?Sized>(
        &mut self,
        comm: &mut C,
        verdict: Result<(), Error>,
        len: usize,
    ) -> Result<(), Error> {
        let ranks = comm.size();
        self.size_for(ranks);
        let mine = wire::encode(&verdict, len);
        comm.all_gather_bytes(&mine, &mut self.records)?;
        let mut first_len = None;
        let mut mismatch = None;
        for (q, record) in self.records.chunks_exact(wire::RECORD).enumerate() {
            let (n, v) = wire::decode(record);
            if let Err(e) = v {
                self.failed_rank = Some(q);
                return Err(e);
            }
            match first_len {
                None => first_len = Some(n),
                Some(n0) if n0 != n && mismatch.is_none() => {
                    mismatch = Some(Error::RankMismatch { what: "elements", rank: q, expected: n0, found: n });
                    self.failed_rank = Some(q);
                }
                Some(_) => {}
            }
        }
        match mismatch {
            Some(e) => Err(e),
            None => {
                self.failed_rank = None;
                Ok(())
            }
        }
    }

    /// The mean over the ranks of `grads` (the whole flat buffer, the same length on every
    /// rank), for this rank's part `bounds[me]..bounds[me + 1]`, into `out` (that part's
    /// length): rank `q`'s part travels to rank `q` in rounds of at most `chunk` elements, and
    /// each element is summed in rank order, then divided by the number of ranks.
    pub(crate) fn reduce_mean<C: Communicator<T> + ?Sized>(
        &mut self,
        comm: &mut C,
        grads: &[T],
        bounds: &[usize],
        chunk: usize,
        out: &mut [T],
    ) -> Result<(), Error> {
        let (ranks, me) = (comm.size(), comm.rank());
        let (longest, chunk) = self.rounds(ranks, bounds, chunk);
        let divisor = T::from(ranks).unwrap_or_else(T::one);
        for k in 0..longest.div_ceil(chunk) {
            let from = k * chunk;
            for q in 0..ranks {
                let len = bounds[q + 1] - bounds[q];
                self.send_counts[q] = len.saturating_sub(from).min(chunk);
                self.send_displs[q] = bounds[q] + from.min(len);
            }
            let mine = self.send_counts[me];
            for q in 0..ranks {
                self.recv_counts[q] = mine;
                self.recv_displs[q] = q * mine;
            }
            comm.all_to_all_v(
                grads,
                &self.send_counts,
                &self.send_displs,
                &mut self.recv,
                &self.recv_counts,
                &self.recv_displs,
            )?;
            if mine == 0 {
                continue;
            }
            let dst = &mut out[from..from + mine];
            dst.copy_from_slice(&self.recv[..mine]);
            for part in self.recv[mine..ranks * mine].chunks_exact(mine) {
                for (d, &x) in dst.iter_mut().zip(part) {
                    *d = *d + x;
                }
            }
            for d in dst.iter_mut() {
                *d = *d / divisor;
            }
        }
        Ok(())
    }

    /// Gathers every rank's part `buf[bounds[q]..bounds[q + 1]]` into the same place of `buf`
    /// on every rank, in rounds of at most `chunk` elements per rank through the workspace.
    pub(crate) fn gather<C: Communicator<T> + ?Sized>(
        &mut self,
        comm: &mut C,
        buf: &mut [T],
        bounds: &[usize],
        chunk: usize,
    ) -> Result<(), Error> {
        let (ranks, me) = (comm.size(), comm.rank());
        if ranks == 1 {
            return Ok(());
        }
        let (longest, chunk) = self.rounds(ranks, bounds, chunk);
        for k in 0..longest.div_ceil(chunk) {
            let from = k * chunk;
            let mut at = 0;
            for q in 0..ranks {
                let len = bounds[q + 1] - bounds[q];
                self.recv_counts[q] = len.saturating_sub(from).min(chunk);
                self.recv_displs[q] = at;
                at += self.recv_counts[q];
            }
            let mine = &buf[bounds[me] + from.min(bounds[me + 1] - bounds[me])..][..self.recv_counts[me]];
            comm.all_gather_v(mine, &mut self.recv[..at], &self.recv_counts, &self.recv_displs)?;
            for q in (0..ranks).filter(|&q| q != me && self.recv_counts[q] > 0) {
                let (c, d) = (self.recv_counts[q], self.recv_displs[q]);
                buf[bounds[q] + from..][..c].copy_from_slice(&self.recv[d..d + c]);
            }
        }
        Ok(())
    }
}

/// `R + 1` boundaries splitting `n` elements into `R` contiguous parts of equal length (the
/// first `n % R` one longer).
pub(crate) fn even_bounds(n: usize, ranks: usize) -> Vec<usize> {
    let mut b = vec![0; ranks + 1];
    for (q, x) in b.iter_mut().enumerate() {
        *x = q * (n / ranks) + q.min(n % ranks);
    }
    b
}

/// This rank's part of `bounds`.
pub(crate) fn part(bounds: &[usize], rank: usize) -> Range<usize> {
    bounds[rank]..bounds[rank + 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn even_bounds_cover_everything_once() {
        for n in [0, 1, 2, 7, 100] {
            for r in 1..5 {
                let b = even_bounds(n, r);
                assert_eq!((b[0], b[r]), (0, n));
                assert!(b.windows(2).all(|w| w[1] - w[0] <= n / r + 1 && w[0] <= w[1]));
            }
        }
    }

    #[test]
    fn single_process_collectives_copy() {
        let mut c = SingleProcess;
        assert_eq!((Communicator::<f64>::rank(&c), Communicator::<f64>::size(&c)), (0, 1));
        let mut bytes = [0_u8; 3];
        Communicator::<f64>::all_gather_bytes(&mut c, &[1, 2, 3], &mut bytes).unwrap();
        assert_eq!(bytes, [1, 2, 3]);
        let mut out = [0.0_f64; 4];
        c.all_to_all_v(&[1.0, 2.0, 3.0, 4.0], &[2], &[1], &mut out, &[2], &[2]).unwrap();
        assert_eq!(out, [0.0, 0.0, 2.0, 3.0]);
        c.all_gather_v(&[5.0, 6.0], &mut out, &[2], &[1]).unwrap();
        assert_eq!(out, [0.0, 5.0, 6.0, 3.0]);
    }

    #[test]
    fn one_rank_means_are_the_gradient() {
        let g: Vec<f64> = (0..10).map(|i| i as f64 * 0.1).collect();
        let mut x = Exchange::default();
        let mut out = vec![0.0; 10];
        x.reduce_mean(&mut SingleProcess, &g, &[0, 10], 3, &mut out).unwrap();
        assert_eq!(out, g);
        x.gather(&mut SingleProcess, &mut out, &[0, 10], 3).unwrap();
        assert_eq!(out, g);
        assert!(x.agree(&mut SingleProcess, Ok(()), 10).is_ok());
        let e = Error::NonFiniteGradient { index: 3, value: f64::NAN };
        assert!(matches!(x.agree(&mut SingleProcess, Err(e), 10), Err(Error::NonFiniteGradient { index: 3, .. })));
        assert_eq!(x.failed_rank, Some(0));
    }
}
