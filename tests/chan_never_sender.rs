//! `never_sender()`: Go's nil send channel. Its send case in a `select!`
//! is never chosen (and its value never evaluated), a plain send blocks
//! until its deadline, `try_send` reports `Full`, it is never closed, and
//! swapping it in and out switches a case off and on (the tee idiom).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use goro::chan::{SendTimeoutError, TrySendError, chan, never_sender};
use goro::select;

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn a_never_sender_case_is_never_chosen_nor_evaluated() {
    common::watchdog("never_sender_select", LIMIT, || {
        let off = never_sender::<u32>();
        let (tx, rx) = chan::<u32>(1000);
        let evaluated = AtomicUsize::new(0);
        for i in 0..1000 {
            // Both cases are in every select; only the live one may win.
            select! {
                send(off, { evaluated.fetch_add(1, Ordering::Relaxed); i }) -> _ => panic!("never_sender chosen"),
                send(tx, i) -> r => r.unwrap(),
            }
        }
        assert_eq!(evaluated.load(Ordering::Relaxed), 0);
        assert_eq!(
            rx.try_iter().collect::<Vec<_>>(),
            (0..1000).collect::<Vec<_>>()
        );
    });
}

#[test]
fn a_select_with_only_a_never_sender_times_out() {
    common::watchdog("never_sender_timeout", LIMIT, || {
        goro::run(|| {
            let off = never_sender::<u8>();
            let start = Instant::now();
            let timed_out = select! {
                send(off, 1) -> _ => false,
                default(Duration::from_millis(20)) => true,
            };
            assert!(timed_out);
            assert!(start.elapsed() >= Duration::from_millis(20));
        });
    });
}

#[test]
fn plain_operations_on_a_never_sender() {
    common::watchdog("never_sender_plain", LIMIT, || {
        goro::run(|| {
            let off = never_sender::<String>();
            assert!(!off.is_closed());
            assert!(!off.close(), "nothing to close");
            assert!(!off.is_closed());
            assert_eq!((off.len(), off.cap()), (0, 0));
            match off.try_send("a".into()) {
                Err(TrySendError::Full(v)) => assert_eq!(v, "a"),
                other => panic!("try_send: {other:?}"),
            }
            let start = Instant::now();
            match off.send_timeout("b".into(), Duration::from_millis(10)) {
                Err(SendTimeoutError::Timeout(v)) => assert_eq!(v, "b"),
                other => panic!("send_timeout: {other:?}"),
            }
            assert!(start.elapsed() >= Duration::from_millis(10));
            let clone = off.clone();
            assert!(clone.same_channel(&off));
            drop(off);
            assert!(!clone.is_closed(), "dropping a handle closes nothing");
        });
    });
}

#[test]
fn swapping_a_never_sender_in_switches_a_case_off() {
    common::watchdog("never_sender_swap", LIMIT, || {
        goro::run(|| {
            let off = never_sender::<u32>();
            let (a_tx, a) = chan::<u32>(0);
            let (b_tx, b) = chan::<u32>(0);
            let reader_a = goro::go!(move || a.iter().collect::<Vec<_>>());
            let reader_b = goro::go!(move || b.iter().collect::<Vec<_>>());
            for v in 0..200 {
                let mut pending = [true, true];
                for _ in 0..2 {
                    let sa = if pending[0] { &a_tx } else { &off };
                    let sb = if pending[1] { &b_tx } else { &off };
                    select! {
                        send(sa, v) -> r => { r.unwrap(); pending[0] = false },
                        send(sb, v) -> r => { r.unwrap(); pending[1] = false },
                    }
                }
                assert_eq!(pending, [false, false]);
            }
            drop((a_tx, b_tx));
            let want: Vec<u32> = (0..200).collect();
            assert_eq!(reader_a.join().unwrap(), want);
            assert_eq!(reader_b.join().unwrap(), want);
        });
    });
}
