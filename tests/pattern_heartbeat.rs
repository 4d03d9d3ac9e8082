//! `goro::pattern::heartbeat`: a worker waiting through its `Heartbeat`
//! pulses; a worker stuck outside it does not; pulses nobody waits for are
//! dropped without blocking; the pulse channel closes when the worker
//! returns; `send` / `recv` / `sleep` stop when done fires. Under a
//! watchdog, under GOMAXPROCS 1, 2 and 8 where workers and watchers race.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use goro::chan::{chan, never};
use goro::pattern::heartbeat;
use goro::select;

const LIMIT: Duration = Duration::from_secs(60);
const PROCS: &[usize] = &[1, 2, 8];

#[test]
fn a_waiting_worker_pulses_and_its_results_arrive() {
    common::for_procs(
        "a_waiting_worker_pulses_and_its_results_arrive",
        PROCS,
        LIMIT,
        || {
            goro::run(|| {
                let (stop, done) = chan::<()>(0);
                let interval = Duration::from_millis(1);
                let (hb, pulses) = heartbeat(&done, interval);
                let (results_tx, results) = chan::<u32>(0);
                let worker = goro::go!(move || {
                    for i in 0..5 {
                        if !hb.sleep(10 * interval) || hb.send(&results_tx, i).is_err() {
                            return;
                        }
                    }
                });
                let (mut beats, mut got) = (0, Vec::new());
                loop {
                    select! {
                        recv(pulses) -> p => match p {
                            Some(()) => beats += 1,
                            None => break, // the worker returned
                        },
                        recv(results) -> r => if let Some(r) = r { got.push(r) },
                    }
                }
                worker.join().unwrap();
                assert_eq!(got, [0, 1, 2, 3, 4]);
                assert!(beats >= 1, "a worker sleeping 50 intervals never pulsed");
                drop(stop);
            });
        },
    );
}

#[test]
fn a_stuck_worker_stops_pulsing() {
    common::watchdog("stuck_worker", LIMIT, || {
        goro::run(|| {
            let (_stop, done) = chan::<()>(0);
            let (hb, pulses) = heartbeat(&done, Duration::from_millis(1));
            let (unstick, stuck) = chan::<()>(0);
            let worker = goro::go!(move || {
                // Waiting through the heartbeat: pulses.
                hb.sleep(Duration::from_millis(20));
                // Waiting *outside* it (stuck): no pulses.
                let _ = stuck.recv();
                drop(hb);
            });
            assert_eq!(pulses.recv(), Some(()), "no pulse while sleeping");
            // Once the 20 ms sleep is over, pulses stop; the channel stays
            // open (the worker lives): a watcher times out.
            let start = Instant::now();
            let mut silent = false;
            while start.elapsed() < Duration::from_secs(20) {
                if pulses.recv_timeout(Duration::from_millis(50)).is_err() {
                    silent = true;
                    break;
                }
            }
            assert!(silent, "a stuck worker kept pulsing");
            drop(unstick);
            worker.join().unwrap();
            assert_eq!(pulses.recv(), None, "closed when the worker returned");
        });
    });
}

#[test]
fn pulses_nobody_waits_for_are_dropped() {
    common::watchdog("pulse_dropped", LIMIT, || {
        goro::run(|| {
            let (hb, pulses) = heartbeat(never::<()>(), Duration::from_secs(3600));
            for _ in 0..1000 {
                hb.pulse(); // never blocks
            }
            assert!(pulses.try_recv().is_err(), "pulses piled up");
            // A watcher already waiting does get one.
            let got = Arc::new(AtomicBool::new(false));
            let g = got.clone();
            let watcher = goro::go!(move || {
                let p = pulses.recv();
                g.store(true, Ordering::Release);
                p
            });
            while !got.load(Ordering::Acquire) {
                hb.pulse();
                goro::time::sleep(Duration::from_millis(1));
            }
            assert_eq!(watcher.join().unwrap(), Some(()));
        });
    });
}

#[test]
fn done_ends_send_recv_and_sleep() {
    common::watchdog("hb_done", LIMIT, || {
        goro::run(|| {
            let (stop, done) = chan::<()>(0);
            let (hb, _pulses) = heartbeat(done, Duration::from_millis(1));
            let hb = Arc::new(hb);
            // Nobody reads `tx`'s channel; nobody writes `rx`'s.
            let (tx, _unread) = chan::<u8>(0);
            let (_unwritten, rx) = chan::<u8>(0);
            let h = hb.clone();
            let sender = goro::go!(move || h.send(&tx, 1).map_err(|e| e.into_inner()));
            let h = hb.clone();
            let receiver = goro::go!(move || h.recv(&rx));
            let h = hb.clone();
            let sleeper = goro::go!(move || h.sleep(Duration::from_secs(3600)));
            goro::time::sleep(Duration::from_millis(5));
            assert!(!hb.is_done());
            drop(stop);
            assert_eq!(sender.join().unwrap(), Err(1));
            assert_eq!(receiver.join().unwrap(), None);
            assert!(!sleeper.join().unwrap());
            assert!(hb.is_done());
        });
    });
}
