//! RwMutex: readers share, writers exclude, a waiting writer stops new
//! readers, and a stream of readers cannot starve a writer.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use goro::sync::{RwMutex, WaitGroup};

const LIMIT: Duration = Duration::from_secs(60);

/// Many readers hold the lock at the same time: each one waits, while
/// holding its read lock, until all of them hold one. If readers excluded
/// each other this would deadlock (the watchdog fails it).
#[test]
fn readers_are_concurrent() {
    common::watchdog("readers_concurrent", LIMIT, || {
        goro::run(|| {
            const R: usize = 50;
            let l = Arc::new(RwMutex::new(7));
            let all_in = WaitGroup::new();
            all_in.add(R as isize);
            let readers: Vec<_> = (0..R)
                .map(|_| {
                    let (l, all_in) = (l.clone(), all_in.clone());
                    goro::go!(move || {
                        let g = l.read();
                        all_in.done();
                        all_in.wait(); // every reader is inside now
                        *g
                    })
                })
                .collect();
            for r in readers {
                assert_eq!(r.join().unwrap(), 7);
            }
        });
    });
}

/// Writers update a pair in two steps with a switch in between; readers
/// never see it half done, and writers never overlap.
#[test]
fn writers_exclude_everyone() {
    common::for_each_procs("writers_exclude_everyone", LIMIT, || {
        goro::run(|| {
            let l = Arc::new(RwMutex::new((0u64, 0u64)));
            let writing = Arc::new(AtomicBool::new(false));
            let wg = WaitGroup::new();
            for w in 0..20 {
                let (l, writing) = (l.clone(), writing.clone());
                wg.go(move || {
                    for i in 0..100 {
                        if (w + i) % 4 == 0 {
                            let mut g = l.write();
                            assert!(!writing.swap(true, Ordering::SeqCst), "two writers");
                            g.0 += 1;
                            goro::yield_now();
                            g.1 += 1;
                            writing.store(false, Ordering::SeqCst);
                        } else {
                            let g = l.read();
                            assert!(!writing.load(Ordering::SeqCst), "reader beside a writer");
                            let a = g.0;
                            goro::yield_now();
                            assert_eq!(a, g.1, "half-done write seen");
                            assert_eq!(g.0, g.1);
                        }
                    }
                });
            }
            wg.wait();
            let g = l.read();
            assert_eq!(g.0, g.1);
            assert_eq!(g.0, 20 * 100 / 4);
        });
    });
}

/// Writer preference: readers keep overlapping (each takes the lock
/// before the previous one leaves), which would keep a reader-preferring
/// lock read-locked forever. The writer gets in, and readers that arrive
/// while it waits wait behind it.
#[test]
fn writer_not_starved_by_readers() {
    common::for_each_procs("writer_not_starved_by_readers", LIMIT, || {
        goro::run(|| {
            let l = Arc::new(RwMutex::new(0u64));
            let stop = Arc::new(AtomicBool::new(false));
            let reads = Arc::new(AtomicUsize::new(0));
            let readers: Vec<_> = (0..8)
                .map(|_| {
                    let (l, stop, reads) = (l.clone(), stop.clone(), reads.clone());
                    goro::go!(move || {
                        while !stop.load(Ordering::Acquire) {
                            let g = l.read();
                            reads.fetch_add(1, Ordering::Relaxed);
                            goro::yield_now(); // hold it while others read
                            drop(g);
                        }
                    })
                })
                .collect();
            while reads.load(Ordering::Relaxed) < 1000 {
                goro::yield_now();
            }
            for i in 1..=20 {
                *l.write() = i;
            }
            stop.store(true, Ordering::Release);
            for r in readers {
                r.join().unwrap();
            }
            assert_eq!(*l.read(), 20);
        });
    });
}

/// A pending writer blocks new readers (try_read fails while it waits),
/// and they all get in once it is done.
#[test]
fn pending_writer_blocks_new_readers() {
    common::watchdog("pending_writer", LIMIT, || {
        goro::run(|| {
            let l = Arc::new(RwMutex::new(0));
            let r1 = l.read();
            let writer = {
                let l = l.clone();
                goro::go!(move || *l.write() += 1)
            };
            // Wait until the writer has announced itself.
            while l.try_read().is_some() {
                goro::yield_now();
            }
            assert!(l.try_write().is_none());
            let late_reader = {
                let l = l.clone();
                goro::go!(move || *l.read())
            };
            for _ in 0..50 {
                goro::yield_now();
            }
            assert!(
                !late_reader.is_finished(),
                "a new reader passed a waiting writer"
            );
            drop(r1);
            writer.join().unwrap();
            assert_eq!(
                late_reader.join().unwrap(),
                1,
                "the reader ran after the writer"
            );
        });
    });
}

/// Threads and coroutines as readers and writers together.
#[test]
fn threads_and_coroutines_mixed() {
    common::watchdog("rw_mixed", LIMIT, || {
        let l = Arc::new(RwMutex::new((0u64, 0u64)));
        let threads: Vec<_> = (0..3)
            .map(|t| {
                let l = l.clone();
                std::thread::spawn(move || {
                    for i in 0..2000 {
                        if (t + i) % 5 == 0 {
                            let mut g = l.write();
                            g.0 += 1;
                            g.1 += 1;
                        } else {
                            let g = l.read();
                            assert_eq!(g.0, g.1);
                        }
                    }
                })
            })
            .collect();
        let coros: Vec<_> = (0..30)
            .map(|c| {
                let l = l.clone();
                goro::go!(move || {
                    for i in 0..200 {
                        if (c + i) % 5 == 0 {
                            let mut g = l.write();
                            g.0 += 1;
                            goro::yield_now();
                            g.1 += 1;
                        } else {
                            let g = l.read();
                            assert_eq!(g.0, g.1);
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        for c in coros {
            c.join().unwrap();
        }
        let g = l.read();
        assert_eq!(g.0, 3 * 2000 / 5 + 30 * 200 / 5);
        assert_eq!(g.0, g.1);
    });
}
