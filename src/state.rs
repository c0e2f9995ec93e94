//! The per-parameter state buffers of the rules (moments, accumulators, momentum buffers).
//!
//! A [`Buf`] keeps its elements at the same offset within a 64-byte cache line as the parameters
//! it was last sized for. The step's vector loop starts at the parameters' first cache-line
//! boundary (see `kernel::apply`), so the state's loads and stores are then aligned too and never
//! straddle two lines; a plain `Vec` lands wherever the allocator puts it, which cost up to 20% of
//! a step on data that fits in cache. The buffer holds one cache line of slack to make room for
//! the shift.

use alloc::vec::Vec;
use core::fmt;

use num_traits::Float;

/// Bytes in a cache line.
const LINE: usize = 64;

/// A state vector placed like the parameters within a cache line. Compares, prints and
/// serializes as its elements only (a JSON array, like a `Vec`).
#[derive(Clone)]
pub(crate) struct Buf<T> {
    /// `len` elements starting at `start`, plus up to a cache line of slack.
    data: Vec<T>,
    start: usize,
    len: usize,
}

impl<T> Buf<T> {
    /// An empty buffer (no allocation).
    pub(crate) const fn new() -> Self {
        Buf { data: Vec::new(), start: 0, len: 0 }
    }

    /// The elements.
    #[inline]
    pub(crate) fn get(&self) -> &[T] {
        &self.data[self.start..self.start + self.len]
    }

    /// The elements, mutably.
    #[inline]
    pub(crate) fn get_mut(&mut self) -> &mut [T] {
        &mut self.data[self.start..self.start + self.len]
    }

    /// Empties the buffer and frees its memory.
    pub(crate) fn free(&mut self) {
        *self = Buf::new();
    }
}

impl<T: Float> Buf<T> {
    /// Makes the buffer hold `like.len()` elements, filled with `init` if it held another number
    /// (allocating only then: on the first step), and places them at `like`'s offset within a
    /// cache line, moving them if the parameters moved (after a clone or a restore, say).
    ///
    /// Called only after the step's guard accepted the input.
    #[inline]
    pub(crate) fn ensure(&mut self, like: &[T], init: T) {
        let len = like.len();
        if self.len != len {
            self.data.clear();
            self.data.resize(len + slack::<T>(), init);
            self.len = len;
            self.start = self.start_for(like);
        } else {
            let start = self.start_for(like);
            if start != self.start {
                if self.data.len() < len + slack::<T>() {
                    // a restored buffer: its capacity was reserved when it was read
                    self.data.resize(len + slack::<T>(), init);
                }
                self.data.copy_within(self.start..self.start + len, start);
                self.start = start;
            }
        }
    }

    /// The start index at which the elements share `like`'s offset within a cache line (the
    /// current start if no index does, e.g. for a type whose size does not divide the line).
    fn start_for(&self, like: &[T]) -> usize {
        let size = core::mem::size_of::<T>();
        if size == 0 || LINE % size != 0 {
            return self.start;
        }
        let want = like.as_ptr() as usize % LINE;
        let have = self.data.as_ptr() as usize % LINE;
        let bytes = (want + LINE - have) % LINE;
        if bytes % size != 0 {
            return self.start;
        }
        bytes / size
    }
}

/// Elements of slack: one cache line.
fn slack<T>() -> usize {
    LINE / core::mem::size_of::<T>().max(1)
}

impl<T> Default for Buf<T> {
    fn default() -> Self {
        Buf::new()
    }
}

impl<T: fmt::Debug> fmt::Debug for Buf<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.get().fmt(f)
    }
}

impl<T: PartialEq> PartialEq for Buf<T> {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

/// How a state value is saved: finite values as themselves, NaN and the infinities (an `f32`
/// second moment can overflow from finite gradients) as the strings `"NaN"`, `"inf"`, `"-inf"`,
/// which every format holds (JSON has no number for them).
#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum Saved<T> {
    Finite(T),
    Special(alloc::string::String),
}

#[cfg(feature = "serde")]
impl<T: Float + serde::Serialize> serde::Serialize for Buf<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = serializer.serialize_seq(Some(self.len))?;
        for &x in self.get() {
            if x.is_finite() {
                seq.serialize_element(&Saved::Finite(x))?;
            } else {
                let name = if x.is_nan() {
                    "NaN"
                } else if x > T::zero() {
                    "inf"
                } else {
                    "-inf"
                };
                seq.serialize_element(&Saved::<T>::Special(alloc::string::String::from(name)))?;
            }
        }
        seq.end()
    }
}

#[cfg(feature = "serde")]
impl<'de, T: Float + serde::Deserialize<'de>> serde::Deserialize<'de> for Buf<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let saved = Vec::<Saved<T>>::deserialize(deserializer)?;
        let mut data = Vec::with_capacity(saved.len() + slack::<T>());
        for v in saved {
            data.push(match v {
                Saved::Finite(x) => x,
                Saved::Special(s) => match s.as_str() {
                    "NaN" => T::nan(),
                    "inf" => T::infinity(),
                    "-inf" => T::neg_infinity(),
                    other => return Err(D::Error::custom(alloc::format!("not a state value: {other:?}"))),
                },
            });
        }
        let len = data.len();
        Ok(Buf { data, start: 0, len })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn follows_the_offset_of_the_parameters() {
        let backing = vec![0.0_f32; 4096];
        let mut buf = Buf::<f32>::new();
        for shift in [0usize, 1, 5, 16, 3, 0] {
            let params = &backing[shift..shift + 1000];
            buf.ensure(params, 2.0);
            assert_eq!(buf.get().len(), 1000);
            assert_eq!(buf.get().as_ptr() as usize % LINE, params.as_ptr() as usize % LINE, "shift {shift}");
        }
        // contents survive the moves
        buf.get_mut()[7] = 3.0;
        buf.ensure(&backing[9..1009], 0.0);
        assert_eq!(buf.get()[7], 3.0);
        assert!(buf.get().iter().enumerate().all(|(i, &x)| x == if i == 7 { 3.0 } else { 2.0 }));
    }

    #[test]
    fn resizing_refills_and_equality_ignores_the_slack() {
        let p = vec![0.0_f64; 10];
        let mut a = Buf::new();
        a.ensure(&p, 1.0);
        let mut b = a.clone();
        b.ensure(&p[1..], 0.5);
        assert_eq!(b.get(), &[0.5; 9]);
        b.ensure(&p, 1.0);
        assert_eq!(a, b);
        assert_eq!(alloc::format!("{a:?}"), alloc::format!("{:?}", vec![1.0_f64; 10]));
        a.free();
        assert!(a.get().is_empty());
    }
}
