//! [`Mpi`]: the [`Communicator`] of an MPI job, through the `mpi` crate (rsmpi).

use alloc::vec::Vec;
use std::time::{Duration, Instant};

use mpi::collective::CommunicatorCollectives;
use mpi::datatype::{Equivalence, Partition, PartitionMut};
use mpi::topology::{Communicator as _, SimpleCommunicator};
use mpi::Count;
use num_traits::Float;

use super::Communicator;
use crate::Error;

/// The ranks of an MPI communicator (feature `mpi`): `Mpi::new(universe.world())`, the universe
/// from [`gradus::mpi::initialize`](mpi::initialize) (the `mpi` crate, re-exported).
///
/// The agreement that starts every step waits at most [`timeout`](Mpi::timeout) (default 5
/// minutes: long enough for the slowest rank's forward and backward pass) for every rank; past
/// it the step is [`Error::RankTimeout`] on the ranks that are still there, with nothing
/// written, and the communicator is unusable from then on ([`Error::CommunicatorFailed`]): MPI
/// cannot cancel a collective, so end the job (`MPI_Abort`, or return from `main`). The
/// transfers that follow an agreement are MPI's blocking collectives: a rank that dies during
/// one is left to the MPI runtime, which ends the job (OpenMPI's `mpirun` does). Counts are
/// MPI's 32-bit ints: a model's flat buffer holds at most 2^31 - 1 elements.
///
/// ```no_run
/// use gradus::{AdamW, DataParallel, Mpi, Optimizer};
/// let universe = gradus::mpi::initialize().expect("MPI initialized once");
/// let comm = Mpi::new(universe.world()).timeout(std::time::Duration::from_secs(60));
/// let mut opt = DataParallel::new(AdamW::new(1e-3), comm);
/// let mut params = vec![0.0_f32; 10];
/// let grads = vec![0.1_f32; 10]; // this rank's
/// opt.step(&mut params, &grads)?;
/// # Ok::<(), gradus::Error>(())
/// ```
pub struct Mpi {
    comm: SimpleCommunicator,
    timeout: Duration,
    failed: bool,
    send: Vec<u8>,
    recv: Vec<u8>,
    counts: [Vec<Count>; 4],
}

impl core::fmt::Debug for Mpi {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Mpi")
            .field("rank", &self.comm.rank())
            .field("size", &self.comm.size())
            .field("timeout", &self.timeout)
            .field("failed", &self.failed)
            .finish()
    }
}

impl Mpi {
    /// The ranks of `comm` (`universe.world()`, or a split of it).
    pub fn new(comm: SimpleCommunicator) -> Self {
        Mpi {
            comm,
            timeout: Duration::from_secs(300),
            failed: false,
            send: Vec::new(),
            recv: Vec::new(),
            counts: Default::default(),
        }
    }

    /// How long a step's agreement waits for every rank (default 5 minutes). The same on every
    /// rank is best.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The value set by [`timeout`](Mpi::timeout).
    pub fn get_timeout(&self) -> Duration {
        self.timeout
    }

    /// The MPI communicator (to exchange what else the program needs: losses, data).
    pub fn raw(&self) -> &SimpleCommunicator {
        &self.comm
    }

    /// Whether an earlier agreement timed out (every later call is [`Error::CommunicatorFailed`]).
    pub fn failed(&self) -> bool {
        self.failed
    }

    fn usable(&self) -> Result<(), Error> {
        if self.failed {
            Err(Error::CommunicatorFailed)
        } else {
            Ok(())
        }
    }

    /// Copies `counts` and `displs` (elements) into MPI's ints, in the pair of buffers `at`.
    fn ints(&mut self, at: usize, counts: &[usize], displs: &[usize]) -> Result<(), Error> {
        for (buf, src) in [(at, counts), (at + 1, displs)] {
            let out = &mut self.counts[buf];
            out.clear();
            for &x in src {
                out.push(Count::try_from(x).map_err(|_| Error::ShapeMismatch {
                    what: "elements in one MPI transfer (counts and offsets are 32-bit)",
                    expected: Count::MAX as usize,
                    found: x,
                })?);
            }
        }
        Ok(())
    }
}

impl<T: Float + Equivalence> Communicator<T> for Mpi {
    fn rank(&self) -> usize {
        self.comm.rank() as usize
    }

    fn size(&self) -> usize {
        self.comm.size() as usize
    }

    fn all_gather_bytes(&mut self, send: &[u8], recv: &mut [u8]) -> Result<(), Error> {
        self.usable()?;
        self.send.clear();
        self.send.extend_from_slice(send);
        self.recv.clear();
        self.recv.resize(recv.len(), 0);
        let start = Instant::now();
        let timeout = self.timeout;
        let (comm, out, inp) = (&self.comm, &mut self.recv[..], &self.send[..]);
        let done = mpi::request::scope(|scope| {
            let mut request = comm.immediate_all_gather_into(scope, inp, out);
            let mut polls = 0_u32;
            loop {
                match request.test() {
                    Ok(_) => return true,
                    Err(r) => request = r,
                }
                if start.elapsed() > timeout {
                    // SAFETY: the request is left in flight; its two buffers are leaked below
                    // (never freed, never reused), so MPI may still write into them.
                    let _ = unsafe { request.into_raw() };
                    return false;
                }
                polls += 1;
                if polls < 1000 {
                    core::hint::spin_loop();
                } else {
                    std::thread::sleep(Duration::from_micros(50));
                }
            }
        });
        if !done {
            self.failed = true;
            core::mem::forget(core::mem::take(&mut self.send));
            core::mem::forget(core::mem::take(&mut self.recv));
            return Err(Error::RankTimeout { waited_ms: start.elapsed().as_millis() as u64 });
        }
        recv.copy_from_slice(&self.recv);
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
        self.usable()?;
        self.ints(0, send_counts, send_displs)?;
        self.ints(2, recv_counts, recv_displs)?;
        let [sc, sd, rc, rd] = &self.counts;
        let out = Partition::new(send, &sc[..], &sd[..]);
        let mut into = PartitionMut::new(recv, &rc[..], &rd[..]);
        self.comm.all_to_all_varcount_into(&out, &mut into);
        Ok(())
    }

    fn all_gather_v(&mut self, send: &[T], recv: &mut [T], counts: &[usize], displs: &[usize]) -> Result<(), Error> {
        self.usable()?;
        self.ints(2, counts, displs)?;
        let [_, _, rc, rd] = &self.counts;
        let mut into = PartitionMut::new(recv, &rc[..], &rd[..]);
        self.comm.all_gather_varcount_into(send, &mut into);
        Ok(())
    }
}
