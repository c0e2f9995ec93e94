//! A rank's verdict on a step as a fixed-size record: the agreement of a distributed step
//! gathers one from every rank, and every rank decodes the same error from it.
//!
//! An [`Error`] is `Copy` with `&'static str` payloads; a record carries the strings' bytes, and
//! the decoding rank interns them (each distinct string once, as the set of messages a build
//! can send is finite), so that every rank returns an equal error.

use alloc::boxed::Box;
use alloc::vec::Vec;
use std::sync::Mutex;

use crate::{Error, TensorName};

/// Bytes of one rank's record.
pub(crate) const RECORD: usize = 256;
/// Bytes kept of a string (longer ones are cut at a character boundary).
const TEXT: usize = 63;
/// Strings a process interns at the most; past that a decoded string reads `"(message)"`.
const INTERNED: usize = 1024;

/// A rank's verdict and the element count it passed, as a record.
pub(crate) fn encode(verdict: &Result<(), Error>, len: usize) -> [u8; RECORD] {
    let mut w = Writer { buf: [0; RECORD], at: 0 };
    w.u(len);
    match verdict {
        Ok(()) => w.byte(0),
        Err(e) => {
            w.byte(1);
            write_error(&mut w, e);
        }
    }
    w.buf
}

/// The element count and verdict of a record (a record no rank could have written decodes as
/// [`Error::CommunicatorFailed`]).
pub(crate) fn decode(record: &[u8]) -> (usize, Result<(), Error>) {
    if record.len() != RECORD {
        return (0, Err(Error::CommunicatorFailed));
    }
    let mut r = Reader { buf: record, at: 0 };
    let len = r.u();
    match r.byte() {
        0 => (len, Ok(())),
        _ => (len, Err(read_error(&mut r).unwrap_or(Error::CommunicatorFailed))),
    }
}

struct Writer {
    buf: [u8; RECORD],
    at: usize,
}

impl Writer {
    fn byte(&mut self, b: u8) {
        self.buf[self.at] = b;
        self.at += 1;
    }
    fn u64(&mut self, x: u64) {
        self.buf[self.at..self.at + 8].copy_from_slice(&x.to_le_bytes());
        self.at += 8;
    }
    fn u(&mut self, x: usize) {
        self.u64(x as u64);
    }
    fn f(&mut self, x: f64) {
        self.u64(x.to_bits());
    }
    fn s(&mut self, s: &str) {
        let mut end = s.len().min(TEXT);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.byte(end as u8);
        self.buf[self.at..self.at + end].copy_from_slice(&s.as_bytes()[..end]);
        self.at += end;
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.buf.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }
    fn u64(&mut self) -> u64 {
        let mut b = [0; 8];
        if let Some(s) = self.buf.get(self.at..self.at + 8) {
            b.copy_from_slice(s);
        }
        self.at += 8;
        u64::from_le_bytes(b)
    }
    fn u(&mut self) -> usize {
        usize::try_from(self.u64()).unwrap_or(usize::MAX)
    }
    fn f(&mut self) -> f64 {
        f64::from_bits(self.u64())
    }
    fn text(&mut self) -> &str {
        let n = self.byte() as usize;
        let s = self.buf.get(self.at..self.at + n).and_then(|b| core::str::from_utf8(b).ok()).unwrap_or("");
        self.at += n;
        s
    }
    fn s(&mut self) -> &'static str {
        intern(self.text())
    }
    fn name(&mut self) -> TensorName {
        TensorName::new(self.text())
    }
}

/// `s` as a `&'static str`: each distinct string is leaked once per process.
fn intern(s: &str) -> &'static str {
    static POOL: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let Ok(mut pool) = POOL.lock() else { return "(message)" };
    if let Some(&found) = pool.iter().find(|&&p| p == s) {
        return found;
    }
    if pool.len() >= INTERNED {
        return "(message)";
    }
    let leaked: &'static str = Box::leak(Box::<str>::from(s));
    pool.push(leaked);
    leaked
}

fn write_error(w: &mut Writer, e: &Error) {
    match *e {
        Error::LengthMismatch { params, grads } => {
            w.byte(0);
            w.u(params);
            w.u(grads);
        }
        Error::StateMismatch { expected, found } => {
            w.byte(1);
            w.u(expected);
            w.u(found);
        }
        Error::NonFiniteGradient { index, value } => {
            w.byte(2);
            w.u(index);
            w.f(value);
        }
        Error::InvalidHyperparameter { name, value, expected } => {
            w.byte(3);
            w.s(name);
            w.f(value);
            w.s(expected);
        }
        Error::NoSecondMoment => w.byte(4),
        Error::EmptyData { what } => {
            w.byte(5);
            w.s(what);
        }
        Error::ShapeMismatch { what, expected, found } => {
            w.byte(6);
            w.s(what);
            w.u(expected);
            w.u(found);
        }
        Error::Diverged { epoch, sample, restored } => {
            w.byte(7);
            w.u(epoch);
            w.u(sample);
            w.byte(restored.is_some() as u8);
            w.u(restored.unwrap_or(0));
        }
        Error::NonFiniteNorm { norm } => {
            w.byte(8);
            w.f(norm);
        }
        Error::NonFiniteData { what, index, value } => {
            w.byte(9);
            w.s(what);
            w.u(index);
            w.f(value);
        }
        Error::InvalidTarget { sample, value } => {
            w.byte(10);
            w.u(sample);
            w.f(value);
        }
        Error::MissingMetric => w.byte(11),
        Error::ScheduleFinished { steps, total_steps } => {
            w.byte(12);
            w.u64(steps);
            w.u64(total_steps);
        }
        Error::MissingShape { rule } => {
            w.byte(13);
            w.s(rule);
        }
        Error::RowOutOfRange { index, row, rows } => {
            w.byte(14);
            w.u(index);
            w.u(row);
            w.u(rows);
        }
        Error::NonFiniteClosure { what, index, value } => {
            w.byte(15);
            w.s(what);
            w.u(index);
            w.f(value);
        }
        Error::LossRequired { rule } => {
            w.byte(16);
            w.s(rule);
        }
        Error::NonFiniteLoss { value } => {
            w.byte(17);
            w.f(value);
        }
        Error::CorruptState { field, expected, found } => {
            w.byte(18);
            w.s(field);
            w.u(expected);
            w.u(found);
        }
        Error::CorruptValue { field, value, expected } => {
            w.byte(19);
            w.s(field);
            w.f(value);
            w.s(expected);
        }
        Error::DuplicateTensor { name } => {
            w.byte(20);
            w.s(name.as_str());
        }
        Error::EmptyTensor { name, elements } => {
            w.byte(21);
            w.s(name.as_str());
            w.u(elements);
        }
        Error::UnknownTensor { group, name } => {
            w.byte(22);
            w.u(group);
            w.s(name.as_str());
        }
        Error::UngroupedTensor { name } => {
            w.byte(23);
            w.s(name.as_str());
        }
        Error::TensorInTwoGroups { name, first, second } => {
            w.byte(24);
            w.s(name.as_str());
            w.u(first);
            w.u(second);
        }
        Error::EmptyGroup { group } => {
            w.byte(25);
            w.u(group);
        }
        Error::TensorLength { name, expected, found } => {
            w.byte(26);
            w.s(name.as_str());
            w.u(expected);
            w.u(found);
        }
        Error::InvalidGroupHyperparameter { group, name, value, expected } => {
            w.byte(27);
            w.u(group);
            w.s(name);
            w.f(value);
            w.s(expected);
        }
        Error::LayoutMismatch { index, what, expected, found } => {
            w.byte(28);
            w.u(index);
            w.s(what);
            w.s(expected.as_str());
            w.s(found.as_str());
        }
        Error::RankMismatch { what, rank, expected, found } => {
            w.byte(29);
            w.s(what);
            w.u(rank);
            w.u(expected);
            w.u(found);
        }
        Error::RankTimeout { waited_ms } => {
            w.byte(30);
            w.u64(waited_ms);
        }
        Error::CommunicatorFailed => w.byte(31),
        Error::NotFresh { steps } => {
            w.byte(32);
            w.u64(steps);
        }
        Error::Unshardable { group } => {
            w.byte(33);
            w.u(group);
        }
        Error::MissingPiece { name } => {
            w.byte(34);
            w.s(name.as_str());
        }
    }
}

fn read_error(r: &mut Reader<'_>) -> Option<Error> {
    Some(match r.byte() {
        0 => Error::LengthMismatch { params: r.u(), grads: r.u() },
        1 => Error::StateMismatch { expected: r.u(), found: r.u() },
        2 => Error::NonFiniteGradient { index: r.u(), value: r.f() },
        3 => Error::InvalidHyperparameter { name: r.s(), value: r.f(), expected: r.s() },
        4 => Error::NoSecondMoment,
        5 => Error::EmptyData { what: r.s() },
        6 => Error::ShapeMismatch { what: r.s(), expected: r.u(), found: r.u() },
        7 => {
            let (epoch, sample, some, at) = (r.u(), r.u(), r.byte(), r.u());
            Error::Diverged { epoch, sample, restored: (some != 0).then_some(at) }
        }
        8 => Error::NonFiniteNorm { norm: r.f() },
        9 => Error::NonFiniteData { what: r.s(), index: r.u(), value: r.f() },
        10 => Error::InvalidTarget { sample: r.u(), value: r.f() },
        11 => Error::MissingMetric,
        12 => Error::ScheduleFinished { steps: r.u64(), total_steps: r.u64() },
        13 => Error::MissingShape { rule: r.s() },
        14 => Error::RowOutOfRange { index: r.u(), row: r.u(), rows: r.u() },
        15 => Error::NonFiniteClosure { what: r.s(), index: r.u(), value: r.f() },
        16 => Error::LossRequired { rule: r.s() },
        17 => Error::NonFiniteLoss { value: r.f() },
        18 => Error::CorruptState { field: r.s(), expected: r.u(), found: r.u() },
        19 => Error::CorruptValue { field: r.s(), value: r.f(), expected: r.s() },
        20 => Error::DuplicateTensor { name: r.name() },
        21 => Error::EmptyTensor { name: r.name(), elements: r.u() },
        22 => Error::UnknownTensor { group: r.u(), name: r.name() },
        23 => Error::UngroupedTensor { name: r.name() },
        24 => Error::TensorInTwoGroups { name: r.name(), first: r.u(), second: r.u() },
        25 => Error::EmptyGroup { group: r.u() },
        26 => Error::TensorLength { name: r.name(), expected: r.u(), found: r.u() },
        27 => Error::InvalidGroupHyperparameter { group: r.u(), name: r.s(), value: r.f(), expected: r.s() },
        28 => Error::LayoutMismatch { index: r.u(), what: r.s(), expected: r.name(), found: r.name() },
        29 => Error::RankMismatch { what: r.s(), rank: r.u(), expected: r.u(), found: r.u() },
        30 => Error::RankTimeout { waited_ms: r.u64() },
        31 => Error::CommunicatorFailed,
        32 => Error::NotFresh { steps: r.u64() },
        33 => Error::Unshardable { group: r.u() },
        34 => Error::MissingPiece { name: r.name() },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn every_error_survives_the_record() {
        let n = TensorName::new("encoder.layer0.attn.qkv.weight");
        let m = TensorName::new("b");
        let errors = vec![
            Error::LengthMismatch { params: 3, grads: 4 },
            Error::StateMismatch { expected: 5, found: 6 },
            Error::NonFiniteGradient { index: 7, value: f64::NEG_INFINITY },
            Error::InvalidHyperparameter { name: "beta2", value: 1.5, expected: "in [0, 1)" },
            Error::NoSecondMoment,
            Error::EmptyData { what: "x" },
            Error::ShapeMismatch { what: "params (the layout's length)", expected: 8, found: 9 },
            Error::Diverged { epoch: 1, sample: 2, restored: Some(0) },
            Error::Diverged { epoch: 1, sample: 2, restored: None },
            Error::NonFiniteNorm { norm: f64::INFINITY },
            Error::NonFiniteData { what: "y", index: 3, value: f64::INFINITY },
            Error::InvalidTarget { sample: 4, value: 2.5 },
            Error::MissingMetric,
            Error::ScheduleFinished { steps: 11, total_steps: 10 },
            Error::MissingShape { rule: "Muon" },
            Error::RowOutOfRange { index: 1, row: 99, rows: 10 },
            Error::NonFiniteClosure { what: "loss", index: 0, value: f64::INFINITY },
            Error::LossRequired { rule: "PolyakSgd" },
            Error::NonFiniteLoss { value: f64::NEG_INFINITY },
            Error::CorruptState { field: "exp_avg", expected: 3, found: 1 },
            Error::CorruptValue { field: "bases", value: 1.0, expected: "one base rate per group" },
            Error::DuplicateTensor { name: n },
            Error::EmptyTensor { name: n, elements: 0 },
            Error::UnknownTensor { group: 2, name: m },
            Error::UngroupedTensor { name: m },
            Error::TensorInTwoGroups { name: n, first: 0, second: 1 },
            Error::EmptyGroup { group: 3 },
            Error::TensorLength { name: m, expected: 4, found: 5 },
            Error::InvalidGroupHyperparameter { group: 1, name: "lr", value: -1.0, expected: ">= 0" },
            Error::LayoutMismatch { index: 2, what: "shape", expected: n, found: m },
            Error::RankMismatch { what: "parameters", rank: 2, expected: 10, found: 11 },
            Error::RankTimeout { waited_ms: 2000 },
            Error::CommunicatorFailed,
            Error::NotFresh { steps: 3 },
            Error::Unshardable { group: 1 },
            Error::MissingPiece { name: TensorName::new("w[0..10]") },
        ];
        for e in errors {
            let record = encode(&Err(e), 42);
            assert_eq!(decode(&record), (42, Err(e)), "{e:?}");
        }
        assert_eq!(decode(&encode(&Ok(()), 7)), (7, Ok(())));
        // a NaN's bits travel as they are
        let (_, e) = decode(&encode(&Err(Error::NonFiniteGradient { index: 0, value: f64::NAN }), 1));
        assert!(matches!(e, Err(Error::NonFiniteGradient { value, .. }) if value.is_nan()));
        // garbage is an error, never a panic
        assert_eq!(decode(&[1, 2, 3]).1, Err(Error::CommunicatorFailed));
        let mut junk = [0xff_u8; RECORD];
        junk[8] = 1;
        assert!(decode(&junk).1.is_err());
    }

    #[test]
    fn long_strings_are_cut_at_a_character_boundary() {
        let long: &'static str = "é".repeat(40).leak();
        let record = encode(&Err(Error::EmptyData { what: long }), 0);
        match decode(&record).1 {
            Err(Error::EmptyData { what }) => assert!(long.starts_with(what) && what.len() <= TEXT),
            other => panic!("{other:?}"),
        }
        // the same string decodes to the same interned one
        let a = decode(&encode(&Err(Error::EmptyData { what: "x" }), 0)).1;
        let b = decode(&encode(&Err(Error::EmptyData { what: "x" }), 0)).1;
        match (a, b) {
            (Err(Error::EmptyData { what: a }), Err(Error::EmptyData { what: b })) => {
                assert_eq!(a.as_ptr(), b.as_ptr())
            }
            other => panic!("{other:?}"),
        }
    }
}
