//! A 4-ary min-heap of timers keyed by deadline (Go's timer heap shape).
//!
//! Four children per node halve the depth of a binary heap, and the
//! children of a node share a cache line or two, so sift-down compares
//! neighbours. Cancelled entries are not searched for and removed: they are
//! skipped when they reach the top, and swept out by [`TimerHeap::retain`]
//! when they outnumber the live ones (Go does the same with `timerDeleted`).

/// A heap entry: fires at `when` (nanoseconds on the runtime clock).
pub(crate) trait Timed {
    fn when(&self) -> u64;
}

pub(crate) struct TimerHeap<E> {
    v: Vec<E>,
}

const ARITY: usize = 4;

impl<E: Timed> TimerHeap<E> {
    pub(crate) const fn new() -> Self {
        TimerHeap { v: Vec::new() }
    }

    pub(crate) fn len(&self) -> usize {
        self.v.len()
    }

    /// The earliest deadline, if any.
    pub(crate) fn peek_when(&self) -> Option<u64> {
        self.v.first().map(|e| e.when())
    }

    pub(crate) fn push(&mut self, e: E) {
        self.v.push(e);
        self.sift_up(self.v.len() - 1);
    }

    /// Removes and returns the earliest entry.
    pub(crate) fn pop(&mut self) -> Option<E> {
        if self.v.is_empty() {
            return None;
        }
        let last = self.v.len() - 1;
        self.v.swap(0, last);
        let e = self.v.pop();
        if !self.v.is_empty() {
            self.sift_down(0);
        }
        e
    }

    /// Moves every entry due at `now` into `out`, earliest first.
    pub(crate) fn pop_due(&mut self, now: u64, out: &mut Vec<E>) {
        while self.peek_when().is_some_and(|w| w <= now) {
            out.extend(self.pop());
        }
    }

    /// Keeps only the entries for which `keep` is true, then re-heapifies.
    pub(crate) fn retain(&mut self, keep: impl FnMut(&E) -> bool) {
        self.v.retain(keep);
        for i in (0..self.v.len()).rev() {
            self.sift_down(i);
        }
    }

    fn sift_up(&mut self, mut i: usize) {
        while i > 0 {
            let p = (i - 1) / ARITY;
            if self.v[i].when() >= self.v[p].when() {
                break;
            }
            self.v.swap(i, p);
            i = p;
        }
    }

    fn sift_down(&mut self, mut i: usize) {
        let n = self.v.len();
        loop {
            let first = i * ARITY + 1;
            if first >= n {
                break;
            }
            let last = (first + ARITY).min(n);
            let mut m = first;
            for c in first + 1..last {
                if self.v[c].when() < self.v[m].when() {
                    m = c;
                }
            }
            if self.v[m].when() >= self.v[i].when() {
                break;
            }
            self.v.swap(i, m);
            i = m;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Timed for u64 {
        fn when(&self) -> u64 {
            *self
        }
    }

    #[test]
    fn pops_in_order() {
        let mut h = TimerHeap::new();
        let mut rng = fastrand::Rng::with_seed(7);
        let mut all: Vec<u64> = (0..1000).map(|_| rng.u64(..10_000)).collect();
        for &x in &all {
            h.push(x);
        }
        all.sort();
        let mut got = Vec::new();
        while let Some(x) = h.pop() {
            got.push(x);
        }
        assert_eq!(got, all);
    }

    #[test]
    fn due_and_retain() {
        let mut h = TimerHeap::new();
        for x in [50u64, 10, 40, 20, 30, 60] {
            h.push(x);
        }
        let mut out = Vec::new();
        h.pop_due(30, &mut out);
        assert_eq!(out, vec![10, 20, 30]);
        h.retain(|&x| x != 50);
        assert_eq!(h.len(), 2);
        assert_eq!(h.pop(), Some(40));
        assert_eq!(h.pop(), Some(60));
        assert_eq!(h.peek_when(), None);
    }
}
