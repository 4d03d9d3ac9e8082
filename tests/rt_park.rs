//! Park / unpark (Go's gopark / goready) through the public waiter hook:
//! races between wake-ups and parks, threads and coroutines mixed, and
//! parks with deadlines.

mod common;

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use goro::waiter::{self, Unparker};

/// A one-slot baton: `give` sets the value and wakes the registered waiter;
/// `take` waits for a value. Built the way the waiter protocol says:
/// register, then park with a validate that re-reads the condition.
#[derive(Default)]
struct Baton {
    value: AtomicU64,
    waiter: Mutex<Option<Unparker>>,
}

impl Baton {
    fn give(&self, v: u64) {
        self.value.store(v, Ordering::Release);
        if let Some(u) = self.waiter.lock().unwrap().take() {
            u.unpark_into();
        }
    }
    fn take(&self) -> u64 {
        loop {
            let v = self.value.swap(0, Ordering::AcqRel);
            if v != 0 {
                return v;
            }
            *self.waiter.lock().unwrap() = Some(waiter::current());
            waiter::park("baton", None, || self.value.load(Ordering::Acquire) == 0);
        }
    }
}

fn ping_pong(rounds: u64, a_on_thread: bool, b_on_thread: bool) {
    let ab = Arc::new(Baton::default());
    let ba = Arc::new(Baton::default());
    let (ab2, ba2) = (ab.clone(), ba.clone());
    let b = move || {
        for i in 1..=rounds {
            let v = ab2.take();
            assert_eq!(v, i);
            ba2.give(v);
        }
    };
    let a = move || {
        for i in 1..=rounds {
            ab.give(i);
            assert_eq!(ba.take(), i);
        }
    };
    let hb: Box<dyn FnOnce() + Send> = if b_on_thread {
        let t = std::thread::spawn(b);
        Box::new(move || t.join().unwrap())
    } else {
        let h = goro::go!(b);
        Box::new(move || h.join().unwrap())
    };
    if a_on_thread {
        a();
    } else {
        goro::go!(a).join().unwrap();
    }
    hb();
}

#[test]
fn park_ready_race_stress() {
    common::for_each_procs("park_ready_race_stress", Duration::from_secs(120), || {
        // Many concurrent pairs so wake-ups race with parks on all workers.
        let hs: Vec<_> = (0..16)
            .map(|_| goro::go!(|| ping_pong(5_000, false, false)))
            .collect();
        for h in hs {
            h.join().unwrap();
        }
    });
}

#[test]
fn threads_and_coroutines_wake_each_other() {
    common::watchdog("mixed", Duration::from_secs(60), || {
        ping_pong(2_000, true, false);
        ping_pong(2_000, false, true);
        ping_pong(500, true, true);
    });
}

#[test]
fn unpark_before_park_is_kept() {
    common::watchdog("token", Duration::from_secs(30), || {
        goro::go!(|| {
            let me = waiter::current();
            me.unpark();
            // Returns at once: the token from the unpark above is kept.
            waiter::park("token", None, || true);
        })
        .join()
        .unwrap();
    });
}

#[test]
fn deadline_park_times_out_and_is_never_early() {
    common::watchdog("deadline", Duration::from_secs(60), || {
        let hs: Vec<_> = (0..200u64)
            .map(|i| {
                goro::go!(move || {
                    let d = Duration::from_millis(5 + i % 20);
                    let start = Instant::now();
                    let deadline = start + d;
                    while Instant::now() < deadline {
                        waiter::park("sleep", Some(deadline), || true);
                    }
                    start.elapsed()
                })
            })
            .collect();
        for (i, h) in hs.into_iter().enumerate() {
            let took = h.join().unwrap();
            assert!(took >= Duration::from_millis(5 + i as u64 % 20));
        }
    });
}

#[test]
fn wake_before_deadline_cancels_the_timer() {
    common::watchdog("early wake", Duration::from_secs(60), || {
        let woke = Arc::new(AtomicBool::new(false));
        let slot = Arc::new(Mutex::new(None::<Unparker>));
        let (w2, s2) = (woke.clone(), slot.clone());
        let h = goro::go!(move || {
            let start = Instant::now();
            let deadline = start + Duration::from_secs(30);
            *s2.lock().unwrap() = Some(waiter::current());
            while !w2.load(Ordering::Acquire) && Instant::now() < deadline {
                waiter::park("wait", Some(deadline), || !w2.load(Ordering::Acquire));
            }
            start.elapsed()
        });
        while slot.lock().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(10));
        woke.store(true, Ordering::Release);
        slot.lock().unwrap().take().unwrap().unpark();
        let took = h.join().unwrap();
        assert!(
            took < Duration::from_secs(10),
            "woken early, not by the 30 s timer: {took:?}"
        );
        // Many short timed parks that are woken early leave nothing behind:
        // the runtime keeps working and later timers still fire.
        let n = Arc::new(AtomicUsize::new(0));
        let wg = goro::sync::WaitGroup::new();
        for _ in 0..2000 {
            let n = n.clone();
            wg.go(move || {
                let me = waiter::current();
                me.unpark();
                waiter::park("x", Some(Instant::now() + Duration::from_secs(60)), || true);
                n.fetch_add(1, Ordering::Relaxed);
            });
        }
        wg.wait();
        assert_eq!(n.load(Ordering::Relaxed), 2000);
    });
}

#[test]
fn validate_false_does_not_park() {
    common::watchdog("validate", Duration::from_secs(30), || {
        goro::go!(|| {
            for _ in 0..1000 {
                waiter::park("never", None, || false);
            }
        })
        .join()
        .unwrap();
    });
}
