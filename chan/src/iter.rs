//! The receiving iterators: [`Iter`] (`rx.iter()`, `for v in &rx`),
//! [`TryIter`] (`rx.try_iter()`) and [`IntoIter`] (`for v in rx`). Each is a
//! thin loop over one receive method, so it has exactly that method's
//! semantics: the blocking ones end when the channel is closed *and*
//! drained (Go's `for v := range ch`), the non-blocking one at the first
//! moment nothing is ready.
//!
//! Kept apart from `channel.rs` so that file holds the handles and their
//! method set only; the two methods that make these iterators are here
//! too, so the import runs one way (this file uses `channel.rs`).

use crate::channel::Receiver;

impl<T> Receiver<T> {
    /// A blocking iterator over received values; ends when the channel is
    /// closed and drained (Go's `for v := range ch`).
    ///
    /// ```
    /// let (tx, rx) = goro_chan::chan::<u32>(3);
    /// for i in 1..=3 {
    ///     tx.send(i).unwrap();
    /// }
    /// drop(tx);
    /// assert_eq!(rx.iter().sum::<u32>(), 6);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { rx: self }
    }

    /// An iterator over the values ready now; never blocks.
    ///
    /// ```
    /// let (tx, rx) = goro_chan::chan::<u32>(3);
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// // Ends when nothing is ready, though the channel is still open.
    /// assert_eq!(rx.try_iter().collect::<Vec<_>>(), vec![1, 2]);
    /// # drop(tx);
    /// ```
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { rx: self }
    }
}

/// Blocking iterator of [`Receiver::iter`]; ends when the channel is
/// closed and drained.
///
/// ```
/// let (tx, rx) = goro_chan::chan::<u8>(2);
/// std::thread::spawn(move || {
///     tx.send(1).unwrap();
///     tx.send(2).unwrap();
/// });
/// let mut it = rx.iter();
/// assert_eq!((it.next(), it.next(), it.next()), (Some(1), Some(2), None));
/// ```
pub struct Iter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv()
    }
}

/// Non-blocking iterator of [`Receiver::try_iter`]; ends at the first
/// moment nothing is ready.
///
/// ```
/// let (tx, rx) = goro_chan::chan::<u8>(2);
/// tx.send(1).unwrap();
/// let mut it = rx.try_iter();
/// assert_eq!((it.next(), it.next()), (Some(1), None));
/// # drop(tx);
/// ```
pub struct TryIter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.try_recv().ok()
    }
}

/// Owning blocking iterator (`for v in rx`); ends when the channel is
/// closed and drained.
///
/// ```
/// let (tx, rx) = goro_chan::chan::<u8>(2);
/// tx.send(4).unwrap();
/// drop(tx);
/// let mut seen = Vec::new();
/// for v in rx {
///     seen.push(v);
/// }
/// assert_eq!(seen, vec![4]);
/// ```
pub struct IntoIter<T> {
    rx: Receiver<T>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv()
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(self) -> IntoIter<T> {
        IntoIter { rx: self }
    }
}
