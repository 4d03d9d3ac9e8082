//! `RwMutex<T>`: Go's `sync.RWMutex`, with the data it protects. Any number
//! of readers, or one writer; a writer that is waiting stops new readers
//! from entering (writer preference), so a stream of readers cannot starve
//! it.
//!
//! # Words
//!
//! | field | meaning |
//! |-------|---------|
//! | `w` | a [`RawMutex`] serialising writers (and giving them Go's mutex fairness) |
//! | `reader_count` | readers holding or waiting for the lock; minus [`MAX_READERS`] while a writer holds or waits for it |
//! | `reader_wait` | readers the pending writer still waits for ("departing readers") |
//! | `writer_sem` | where the pending writer sleeps until the last departing reader releases it |
//! | `reader_sem` | where readers that arrived after a writer sleep until it unlocks |
//!
//! Transitions:
//!
//! | who | does | effect |
//! |-----|------|--------|
//! | `read` | `reader_count += 1` | result `>= 0`: got it; `< 0`: a writer is pending, sleep on `reader_sem` |
//! | read unlock | `reader_count -= 1` | result `< 0`: a writer is pending; `reader_wait -= 1`, and the one reaching 0 releases `writer_sem` |
//! | `write` | lock `w`; `reader_count -= MAX_READERS` | `r` readers were active: `reader_wait += r`; unless that reached 0, sleep on `writer_sem` |
//! | write unlock | `reader_count += MAX_READERS` | `r` readers arrived meanwhile: release `reader_sem` `r` times; unlock `w` |
//!
//! # Access rules (cited by `// SAFETY:` comments)
//!
//! 1. **Readers.** A party that incremented `reader_count` to a value
//!    `>= 0`, or that then received a `reader_sem` permit, may read the data
//!    until its read unlock. No writer holds the lock then: a writer makes
//!    the count negative first, and only proceeds once every reader counted
//!    before that has departed (`reader_wait` reaches 0).
//! 2. **Writer.** The party holding `w` that brought `reader_wait` to 0 (or
//!    found no active readers) may read and write the data until its write
//!    unlock, which restores the count before releasing readers and `w`.
//! 3. Every count change that hands access over is `Release` and every one
//!    that takes it is `Acquire` (or it passes through a `Sema`), so data
//!    written under the write lock is visible to the next readers and vice
//!    versa.
//!
//! # Alternatives rejected
//!
//! * *Reader preference* (std's and many futex rwlocks on Linux): a steady
//!   stream of overlapping readers can keep a writer out forever.
//! * *A phase-fair queue lock*: fairer between batches, but every read lock
//!   takes a queue lock; Go's scheme keeps uncontended `read` to one atomic
//!   add.

use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

use super::mutex::RawMutex;
use super::sema::Sema;
use crate::loom::sync::atomic::{AtomicI32, Ordering};

/// The most readers at once (Go's `rwmutexMaxReaders`).
pub(crate) const MAX_READERS: i32 = 1 << 30;

/// A reader-writer lock protecting a `T` (Go's `sync.RWMutex`).
///
/// [`read`](Self::read) admits any number of readers at once;
/// [`write`](Self::write) admits one writer and no readers. Once a writer
/// waits, new readers wait behind it, so writers are not starved. Blocking
/// parks the coroutine (or blocks the thread), recorded as
/// `"sync.RWMutex.RLock"` / `"sync.RWMutex.Lock"`.
///
/// Not reentrant: a reader that calls `read` again while a writer waits
/// deadlocks (as in Go). No poisoning: a panicking holder's guard unlocks.
///
/// ```
/// use goro::sync::{RwMutex, WaitGroup};
/// use std::sync::Arc;
///
/// let config = Arc::new(RwMutex::new(vec![1, 2, 3]));
/// goro::run(move || {
///     let wg = WaitGroup::new();
///     for _ in 0..10 {
///         let c = config.clone();
///         wg.go(move || assert!(c.read().len() >= 3));
///     }
///     config.write().push(4);
///     wg.wait();
///     assert_eq!(config.read().len(), 4);
/// });
/// ```
pub struct RwMutex<T: ?Sized> {
    w: RawMutex,
    writer_sem: Sema,
    reader_sem: Sema,
    reader_count: AtomicI32,
    reader_wait: AtomicI32,
    data: UnsafeCell<T>,
}

// SAFETY: rules 1 and 2: readers share `&T` across threads (needs
// `T: Sync`), a writer gets `&mut T` on whatever thread it runs on (needs
// `T: Send`), as for std's RwLock.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwMutex<T> {}

impl<T> RwMutex<T> {
    maybe_const_fn! {
        /// An unlocked lock holding `value`; `const`.
        ///
        /// ```
        /// static TABLE: goro::sync::RwMutex<Vec<u8>> = goro::sync::RwMutex::new(Vec::new());
        /// TABLE.write().push(1);
        /// assert_eq!(TABLE.read()[0], 1);
        /// ```
        pub fn new(value: T) -> Self {
            RwMutex {
                w: RawMutex::new(),
                writer_sem: Sema::new(0),
                reader_sem: Sema::new(0),
                reader_count: AtomicI32::new(0),
                reader_wait: AtomicI32::new(0),
                data: UnsafeCell::new(value),
            }
        }
    }

    /// Consumes the lock and returns the data.
    ///
    /// ```
    /// assert_eq!(goro::sync::RwMutex::new(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> RwMutex<T> {
    /// Locks for reading (Go's `RLock`): waits only while a writer holds
    /// the lock or is waiting for it.
    ///
    /// ```
    /// let l = goro::sync::RwMutex::new(1);
    /// let (a, b) = (l.read(), l.read()); // readers share
    /// assert_eq!(*a + *b, 2);
    /// ```
    #[inline]
    pub fn read(&self) -> RwMutexReadGuard<'_, T> {
        if self.reader_count.fetch_add(1, Ordering::Acquire) + 1 < 0 {
            // A writer is pending: it will release us when it unlocks.
            self.reader_sem
                .acquire(1, false, None, "sync.RWMutex.RLock");
        }
        RwMutexReadGuard {
            lock: self,
            _access: PhantomData,
        }
    }

    /// Locks for reading if no writer holds or waits for the lock (Go's
    /// `TryRLock`); never waits.
    ///
    /// ```
    /// let l = goro::sync::RwMutex::new(0);
    /// let w = l.write();
    /// assert!(l.try_read().is_none());
    /// drop(w);
    /// assert!(l.try_read().is_some());
    /// ```
    pub fn try_read(&self) -> Option<RwMutexReadGuard<'_, T>> {
        let mut c = self.reader_count.load(Ordering::Relaxed);
        loop {
            if c < 0 {
                return None;
            }
            match self.reader_count.compare_exchange_weak(
                c,
                c + 1,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    return Some(RwMutexReadGuard {
                        lock: self,
                        _access: PhantomData,
                    });
                }
                Err(cur) => c = cur,
            }
        }
    }

    fn read_unlock(&self) {
        let r = self.reader_count.fetch_sub(1, Ordering::Release) - 1;
        if r < 0 {
            self.read_unlock_slow(r);
        }
    }

    #[cold]
    fn read_unlock_slow(&self, r: i32) {
        assert!(
            r + 1 != 0 && r + 1 != -MAX_READERS,
            "sync: RUnlock of unlocked RWMutex"
        );
        // A writer is pending; the last departing reader lets it in.
        if self.reader_wait.fetch_sub(1, Ordering::AcqRel) - 1 == 0 {
            self.writer_sem.release(1);
        }
    }

    /// Locks for writing (Go's `Lock`): waits for other writers, then stops
    /// new readers and waits for the active ones to leave.
    ///
    /// ```
    /// let l = goro::sync::RwMutex::new(vec![1]);
    /// l.write().push(2);
    /// assert_eq!(*l.read(), [1, 2]);
    /// ```
    pub fn write(&self) -> RwMutexWriteGuard<'_, T> {
        self.w.lock("sync.RWMutex.Lock");
        // Announce the writer: from here new readers wait.
        // The previous count: `r` readers were active; wait for them to
        // depart.
        let r = self.reader_count.fetch_sub(MAX_READERS, Ordering::AcqRel);
        if r != 0 && self.reader_wait.fetch_add(r, Ordering::AcqRel) + r != 0 {
            self.writer_sem.acquire(1, false, None, "sync.RWMutex.Lock");
        }
        RwMutexWriteGuard {
            lock: self,
            _access: PhantomData,
        }
    }

    /// Locks for writing if nobody holds the lock at all (Go's `TryLock`);
    /// never waits.
    ///
    /// ```
    /// let l = goro::sync::RwMutex::new(0);
    /// let r = l.read();
    /// assert!(l.try_write().is_none());
    /// drop(r);
    /// assert!(l.try_write().is_some());
    /// ```
    pub fn try_write(&self) -> Option<RwMutexWriteGuard<'_, T>> {
        if !self.w.try_lock() {
            return None;
        }
        if self
            .reader_count
            .compare_exchange(0, -MAX_READERS, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.w.unlock();
            return None;
        }
        Some(RwMutexWriteGuard {
            lock: self,
            _access: PhantomData,
        })
    }

    fn write_unlock(&self) {
        // Let readers in again; `r` of them arrived while we held it.
        let r = self.reader_count.fetch_add(MAX_READERS, Ordering::Release) + MAX_READERS;
        assert!(r < MAX_READERS, "sync: Unlock of unlocked RWMutex");
        self.reader_sem.release(r as usize);
        self.w.unlock();
    }

    /// Mutable access without locking: `&mut self` proves nobody holds it.
    ///
    /// ```
    /// let mut l = goro::sync::RwMutex::new(1);
    /// *l.get_mut() = 2;
    /// assert_eq!(*l.read(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

impl<T: Default> Default for RwMutex<T> {
    fn default() -> Self {
        RwMutex::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwMutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwMutex");
        match self.try_read() {
            Some(g) => d.field("data", &&*g),
            None => d.field("data", &format_args!("<write-locked>")),
        };
        d.finish_non_exhaustive()
    }
}

/// Shared access to the data of a read-locked [`RwMutex`]; unlocks on drop.
///
/// ```
/// let l = goro::sync::RwMutex::new(5);
/// let g = l.read();
/// assert_eq!(*g, 5);
/// ```
#[must_use = "if unused the RwMutex will immediately unlock"]
pub struct RwMutexReadGuard<'a, T: ?Sized> {
    lock: &'a RwMutex<T>,
    _access: PhantomData<&'a T>,
}

impl<T: ?Sized> Deref for RwMutexReadGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: rule 1: a reader guard exists only while no writer holds
        // the lock.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwMutexReadGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.read_unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwMutexReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Exclusive access to the data of a write-locked [`RwMutex`]; unlocks on
/// drop.
///
/// ```
/// let l = goro::sync::RwMutex::new(5);
/// *l.write() += 1;
/// assert_eq!(*l.read(), 6);
/// ```
#[must_use = "if unused the RwMutex will immediately unlock"]
pub struct RwMutexWriteGuard<'a, T: ?Sized> {
    lock: &'a RwMutex<T>,
    _access: PhantomData<&'a mut T>,
}

impl<T: ?Sized> Deref for RwMutexWriteGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: rule 2: the writer guard is the only access while it lives.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for RwMutexWriteGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: rule 2, and `&mut self` makes this the only access through
        // the guard.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwMutexWriteGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.write_unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwMutexWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_the_table() {
        let l = RwMutex::new(0);
        let r1 = l.read();
        let r2 = l.read();
        assert_eq!(l.reader_count.load(Ordering::Relaxed), 2);
        drop((r1, r2));
        let w = l.write();
        assert_eq!(l.reader_count.load(Ordering::Relaxed), -MAX_READERS);
        assert!(l.try_read().is_none() && l.try_write().is_none());
        drop(w);
        assert_eq!(l.reader_count.load(Ordering::Relaxed), 0);
        assert!(!l.w.is_locked());
    }

    #[test]
    fn panic_in_writer_unlocks() {
        let l = std::sync::Arc::new(RwMutex::new(0));
        let l2 = l.clone();
        assert!(
            std::thread::spawn(move || {
                let _w = l2.write();
                panic!("boom");
            })
            .join()
            .is_err()
        );
        assert!(l.try_write().is_some());
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::loom::sync::Arc;
    type Tracked<T> = loom::cell::UnsafeCell<T>;

    /// Data whose every access loom checks: two accesses not ordered by
    /// happens-before (a reader and a writer inside at once, or a missing
    /// Acquire/Release) fail the model.
    struct Data(Tracked<usize>);
    // SAFETY: the point of the model: loom verifies that the RwMutex orders
    // every access to the cell; it reports any unsynchronised pair.
    unsafe impl Sync for Data {}

    /// A writer and two readers: no read overlaps (is unordered with) the
    /// write, and everyone finishes.
    #[test]
    fn writer_excludes_readers() {
        crate::sync::loom_model(|| {
            let l = Arc::new(RwMutex::new(Data(Tracked::new(0))));
            let readers: Vec<_> = (0..2)
                .map(|_| {
                    let l = l.clone();
                    loom::thread::spawn(move || {
                        let g = l.read();
                        // SAFETY: checked by loom (see `Data`).
                        let v = g.0.with(|p| unsafe { *p });
                        assert!(v <= 1);
                    })
                })
                .collect();
            {
                let g = l.write();
                // SAFETY: checked by loom (see `Data`).
                g.0.with_mut(|p| unsafe { *p += 1 });
            }
            for h in readers {
                h.join().unwrap();
            }
            // SAFETY: checked by loom (see `Data`).
            assert_eq!(l.read().0.with(|p| unsafe { *p }), 1);
            assert_eq!(l.reader_count.load(Ordering::Relaxed), 0);
        });
    }
}
