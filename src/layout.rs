//! [`Layout`]: a model's named, shaped tensors laid out one after another in one flat buffer.

use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;

use crate::{Error, TensorName};

/// A model's tensors, each with a name and a shape, laid out one after another (in the order
/// added, each row-major) in one flat buffer of [`len`](Layout::len) elements.
///
/// A [`Groups`](crate::Groups) optimizer steps such a buffer, giving each tensor the rule of its
/// group; [`view`](Layout::view) and [`split_mut`](Layout::split_mut) cut a buffer (the
/// parameters, or the gradient a hand-written backward pass fills) into its tensors.
///
/// Building never fails: a duplicate name or a tensor with no elements is reported by
/// [`validate`](Layout::validate) (and so by the first step of a `Groups` over the layout) as
/// [`Error::DuplicateTensor`] or [`Error::EmptyTensor`].
///
/// ```
/// use gradus::Layout;
/// let layout = Layout::new().tensor("w1", &[4, 16]).tensor("b1", &[16]).tensor("w2", &[16, 3]).tensor("b2", &[3]);
/// assert_eq!(layout.len(), 64 + 16 + 48 + 3);
/// assert_eq!(layout.range("b1"), Some(64..80));
/// let names: Vec<&str> = layout.iter().map(|(name, _, _)| name).collect();
/// assert_eq!(names, ["w1", "b1", "w2", "b2"]);
/// layout.validate()?;
/// # Ok::<(), gradus::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(from = "Vec<SavedTensor>", into = "Vec<SavedTensor>"))]
pub struct Layout {
    tensors: Vec<Tensor>,
    len: usize,
    problem: Option<Error>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Tensor {
    name: String,
    shape: Vec<usize>,
    start: usize,
    len: usize,
}

/// How a layout is saved: its tensors' names and shapes, in order.
#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct SavedTensor {
    name: String,
    shape: Vec<usize>,
}

#[cfg(feature = "serde")]
impl From<Vec<SavedTensor>> for Layout {
    fn from(saved: Vec<SavedTensor>) -> Self {
        saved.into_iter().fold(Layout::new(), |layout, t| layout.tensor(&t.name, &t.shape))
    }
}

#[cfg(feature = "serde")]
impl From<Layout> for Vec<SavedTensor> {
    fn from(layout: Layout) -> Self {
        layout.tensors.into_iter().map(|t| SavedTensor { name: t.name, shape: t.shape }).collect()
    }
}

impl Layout {
    /// A layout with no tensors.
    ///
    /// ```
    /// assert!(gradus::Layout::new().is_empty());
    /// ```
    pub fn new() -> Self {
        Layout::default()
    }

    /// Adds a tensor `name` of shape `shape` (row-major) after the ones already added. A scalar
    /// has shape `&[]` (one element).
    ///
    /// ```
    /// let layout = gradus::Layout::new().tensor("embedding", &[1000, 64]).tensor("scale", &[]);
    /// assert_eq!(layout.len(), 64_001);
    /// ```
    pub fn tensor(mut self, name: &str, shape: &[usize]) -> Self {
        let elements = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        let start = self.len;
        let end = elements.and_then(|n| start.checked_add(n));
        if self.problem.is_none() {
            if self.tensors.iter().any(|t| t.name == name) {
                self.problem = Some(Error::DuplicateTensor { name: TensorName::new(name) });
            } else if elements == Some(0) || end.is_none() {
                self.problem =
                    Some(Error::EmptyTensor { name: TensorName::new(name), elements: elements.unwrap_or(usize::MAX) });
            }
        }
        let len = if end.is_some() { elements.unwrap_or(0) } else { 0 };
        self.tensors.push(Tensor { name: String::from(name), shape: shape.to_vec(), start, len });
        self.len = start + len;
        self
    }

    /// Total number of elements: the length of the flat buffer.
    ///
    /// ```
    /// assert_eq!(gradus::Layout::new().tensor("w", &[3, 2]).tensor("b", &[2]).len(), 8);
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the layout has no tensors.
    ///
    /// ```
    /// assert!(!gradus::Layout::new().tensor("w", &[1]).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    /// Number of tensors.
    ///
    /// ```
    /// assert_eq!(gradus::Layout::new().tensor("w", &[3, 2]).tensor("b", &[2]).num_tensors(), 2);
    /// ```
    pub fn num_tensors(&self) -> usize {
        self.tensors.len()
    }

    /// The elements of tensor `name` in the flat buffer.
    ///
    /// ```
    /// let layout = gradus::Layout::new().tensor("w", &[3, 2]).tensor("b", &[2]);
    /// assert_eq!(layout.range("b"), Some(6..8));
    /// assert_eq!(layout.range("c"), None);
    /// ```
    pub fn range(&self, name: &str) -> Option<Range<usize>> {
        self.find(name).map(|t| t.start..t.start + t.len)
    }

    /// The shape of tensor `name`.
    ///
    /// ```
    /// let layout = gradus::Layout::new().tensor("w", &[3, 2]);
    /// assert_eq!(layout.shape("w"), Some(&[3, 2][..]));
    /// ```
    pub fn shape(&self, name: &str) -> Option<&[usize]> {
        self.find(name).map(|t| &t.shape[..])
    }

    /// The position of tensor `name` in the layout's order.
    ///
    /// ```
    /// let layout = gradus::Layout::new().tensor("w", &[3, 2]).tensor("b", &[2]);
    /// assert_eq!(layout.index("b"), Some(1));
    /// ```
    pub fn index(&self, name: &str) -> Option<usize> {
        self.tensors.iter().position(|t| t.name == name)
    }

    /// Which tensor element `index` of the flat buffer belongs to, and its index within that
    /// tensor: what a [`Error::NonFiniteGradient`] index from a [`Groups`](crate::Groups) step
    /// points at.
    ///
    /// ```
    /// let layout = gradus::Layout::new().tensor("w", &[3, 2]).tensor("b", &[2]);
    /// assert_eq!(layout.locate(7), Some(("b", 1)));
    /// assert_eq!(layout.locate(8), None);
    /// ```
    pub fn locate(&self, index: usize) -> Option<(&str, usize)> {
        self.tensors
            .iter()
            .find(|t| (t.start..t.start + t.len).contains(&index))
            .map(|t| (&t.name[..], index - t.start))
    }

    /// The tensors in order: name, shape and range in the flat buffer.
    ///
    /// ```
    /// let layout = gradus::Layout::new().tensor("w", &[3, 2]).tensor("b", &[2]);
    /// for (name, shape, range) in layout.iter() {
    ///     println!("{name}: {shape:?} at {range:?}");
    /// }
    /// assert_eq!(layout.iter().nth(1), Some(("b", &[2][..], 6..8)));
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[usize], Range<usize>)> + '_ {
        self.tensors.iter().map(|t| (&t.name[..], &t.shape[..], t.start..t.start + t.len))
    }

    /// Tensor `name` of the flat buffer `buf` (`None` if there is no such tensor or `buf` is
    /// shorter than the layout).
    ///
    /// ```
    /// let layout = gradus::Layout::new().tensor("w", &[2]).tensor("b", &[1]);
    /// let params = [1.0, 2.0, 3.0];
    /// assert_eq!(layout.view(&params, "b"), Some(&[3.0][..]));
    /// ```
    pub fn view<'a, T>(&self, buf: &'a [T], name: &str) -> Option<&'a [T]> {
        buf.get(self.range(name)?)
    }

    /// Tensor `name` of the flat buffer `buf`, mutably.
    ///
    /// ```
    /// let layout = gradus::Layout::new().tensor("w", &[2]).tensor("b", &[1]);
    /// let mut params = [1.0, 2.0, 3.0];
    /// layout.view_mut(&mut params, "w").unwrap().fill(0.0);
    /// assert_eq!(params, [0.0, 0.0, 3.0]);
    /// ```
    pub fn view_mut<'a, T>(&self, buf: &'a mut [T], name: &str) -> Option<&'a mut [T]> {
        buf.get_mut(self.range(name)?)
    }

    /// The flat buffer `buf` cut into its tensors, in layout order (`None` unless `buf` has the
    /// layout's length).
    ///
    /// ```
    /// let layout = gradus::Layout::new().tensor("w", &[2]).tensor("b", &[1]);
    /// let params = [1.0, 2.0, 3.0];
    /// let parts = layout.split(&params).unwrap();
    /// assert_eq!(parts, [&[1.0, 2.0][..], &[3.0][..]]);
    /// ```
    pub fn split<'a, T>(&self, buf: &'a [T]) -> Option<Vec<&'a [T]>> {
        if buf.len() != self.len {
            return None;
        }
        Some(self.tensors.iter().map(|t| &buf[t.start..t.start + t.len]).collect())
    }

    /// The flat buffer `buf` cut into its tensors, mutably, in layout order (`None` unless `buf`
    /// has the layout's length): the tensors of a gradient, filled at once by a backward pass.
    ///
    /// ```
    /// let layout = gradus::Layout::new().tensor("w", &[2]).tensor("b", &[1]);
    /// let mut grads = [0.0; 3];
    /// if let [gw, gb] = &mut layout.split_mut(&mut grads).unwrap()[..] {
    ///     gw.fill(1.0);
    ///     gb[0] = 2.0;
    /// }
    /// assert_eq!(grads, [1.0, 1.0, 2.0]);
    /// ```
    pub fn split_mut<'a, T>(&self, buf: &'a mut [T]) -> Option<Vec<&'a mut [T]>> {
        if buf.len() != self.len {
            return None;
        }
        let mut parts = Vec::with_capacity(self.tensors.len());
        let mut rest = buf;
        for t in &self.tensors {
            let (part, tail) = rest.split_at_mut(t.len);
            parts.push(part);
            rest = tail;
        }
        Some(parts)
    }

    /// [`Error::DuplicateTensor`] or [`Error::EmptyTensor`] for the first tensor added that is
    /// one; `Ok` otherwise.
    ///
    /// ```
    /// use gradus::{Error, Layout};
    /// let twice = Layout::new().tensor("w", &[2]).tensor("w", &[3]);
    /// assert!(matches!(twice.validate(), Err(Error::DuplicateTensor { name }) if name == "w"));
    /// let empty = Layout::new().tensor("w", &[2, 0]);
    /// assert!(matches!(empty.validate(), Err(Error::EmptyTensor { elements: 0, .. })));
    /// ```
    pub fn validate(&self) -> Result<(), Error> {
        self.problem.map_or(Ok(()), Err)
    }

    /// The name of tensor `i`, as an error carries it.
    pub(crate) fn name(&self, i: usize) -> TensorName {
        self.tensors.get(i).map_or(TensorName::new(""), |t| TensorName::new(&t.name))
    }

    /// The range of tensor `i`.
    pub(crate) fn range_of(&self, i: usize) -> Range<usize> {
        let t = &self.tensors[i];
        t.start..t.start + t.len
    }

    fn find(&self, name: &str) -> Option<&Tensor> {
        self.tensors.iter().find(|t| t.name == name)
    }
}
