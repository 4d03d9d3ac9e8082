//! The lock that guards channel wait lists: a spin lock with a plain
//! release store on unlock.
//!
//! Critical sections here are a few dozen instructions (push or pop a wait
//! list entry, flip a flag) and never park, so contention is short. A
//! futex-based mutex (`std::sync::Mutex`) pays a read-modify-write on
//! unlock to look for sleepers; this lock pays a plain store. On a
//! message-passing round trip that is four atomic operations fewer.
//!
//! Waiting for the lock spins briefly, then yields the OS thread: the holder
//! is either running on another worker (a coroutine never parks while
//! holding it) or is a plain thread the OS descheduled. It never yields the
//! *coroutine*: lock users include code on a worker's own stack.
//!
//! Under `--cfg loom` this is loom's mutex, so models see every interleaving.

#[cfg(not(loom))]
mod imp {
    use std::cell::UnsafeCell;
    use std::ops::{Deref, DerefMut};
    use std::sync::atomic::{AtomicBool, Ordering};

    pub(crate) struct Lock<T> {
        locked: AtomicBool,
        value: UnsafeCell<T>,
    }

    // SAFETY: the value is only reached through a guard, and at most one
    // guard exists at a time (the `locked` flag, acquire/release).
    unsafe impl<T: Send> Send for Lock<T> {}
    // SAFETY: as above.
    unsafe impl<T: Send> Sync for Lock<T> {}

    pub(crate) struct Guard<'a, T> {
        lock: &'a Lock<T>,
    }

    impl<T> Lock<T> {
        pub(crate) const fn new(value: T) -> Self {
            Lock {
                locked: AtomicBool::new(false),
                value: UnsafeCell::new(value),
            }
        }

        #[inline]
        pub(crate) fn lock(&self) -> Guard<'_, T> {
            if self
                .locked
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                self.lock_slow();
            }
            Guard { lock: self }
        }

        #[cold]
        fn lock_slow(&self) {
            let mut spins = 0u32;
            loop {
                if !self.locked.load(Ordering::Relaxed)
                    && self
                        .locked
                        .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                        .is_ok()
                {
                    return;
                }
                if spins < 7 {
                    for _ in 0..1 << spins {
                        std::hint::spin_loop();
                    }
                    spins += 1;
                } else {
                    std::thread::yield_now();
                }
            }
        }
    }

    impl<T> Deref for Guard<'_, T> {
        type Target = T;
        fn deref(&self) -> &T {
            // SAFETY: we hold the lock.
            unsafe { &*self.lock.value.get() }
        }
    }

    impl<T> DerefMut for Guard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            // SAFETY: we hold the lock.
            unsafe { &mut *self.lock.value.get() }
        }
    }

    impl<T> Drop for Guard<'_, T> {
        #[inline]
        fn drop(&mut self) {
            self.lock.locked.store(false, Ordering::Release);
        }
    }
}

#[cfg(loom)]
mod imp {
    pub(crate) struct Lock<T>(loom::sync::Mutex<T>);
    pub(crate) type Guard<'a, T> = loom::sync::MutexGuard<'a, T>;

    impl<T> Lock<T> {
        pub(crate) fn new(value: T) -> Self {
            Lock(loom::sync::Mutex::new(value))
        }
        pub(crate) fn lock(&self) -> Guard<'_, T> {
            self.0.lock().unwrap()
        }
    }
}

pub(crate) use imp::{Guard, Lock};
