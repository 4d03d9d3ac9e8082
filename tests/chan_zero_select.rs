//! `select!` on unbuffered channels, the paths whose packets are recycled
//! (`chan/src/zero.rs`, `recycle`): a packet that fits a 64-byte block
//! comes from a per-thread cache, a larger one from the global allocator,
//! and blocks freed on one worker are reused on another. Each scenario
//! runs under GOMAXPROCS 1, 2 and more workers than cores (child
//! processes with a deadline), and checks the invariants a recycling bug
//! would break: every value is delivered exactly once, and every value
//! made is dropped exactly once (a packet freed while still holding a
//! value, or handed out twice, loses or duplicates one).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use goro::chan::{Receiver, Sender, chan};
use goro::select;

const LIMIT: Duration = Duration::from_secs(180);

/// A value that counts its drops; `id` says who made it.
struct Tracked<P> {
    id: u64,
    _pad: P,
    drops: Arc<AtomicUsize>,
}

impl<P> Drop for Tracked<P> {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::Relaxed);
    }
}

/// A send case's value expression that must never run: its case never wins.
fn not_evaluated<T>() -> T {
    panic!("a losing send case evaluated its value")
}

/// `SENDERS` select-senders and `RECEIVERS` select-receivers on two
/// unbuffered channels, each select with a second case on a channel nobody
/// ever uses (so every blocking select registers two packets and withdraws
/// one). Every id arrives once, and each of the values made is dropped
/// once.
fn exchange<P: Default + Send + 'static>() {
    const SENDERS: usize = 4;
    const RECEIVERS: usize = 4;
    const PER: usize = 5_000;
    let drops = Arc::new(AtomicUsize::new(0));
    let (a_tx, a_rx) = chan::<Tracked<P>>(0);
    let (b_tx, b_rx) = chan::<Tracked<P>>(0);
    // Two idle channels: one the senders receive on, one the receivers send
    // on (on a shared one, the two would meet). Main keeps both ends of
    // each open to the end, so their cases never get ready (a send case on
    // a channel without receivers would).
    let (idle_tx, quiet_rx) = chan::<Tracked<P>>(0);
    let (quiet_tx, idle_rx) = chan::<Tracked<P>>(0);
    let (got_tx, got_rx) = chan::<Vec<u64>>(RECEIVERS);
    let wg = goro::sync::WaitGroup::new();
    for s in 0..SENDERS {
        let (a, b, idle_rx) = (a_tx.clone(), b_tx.clone(), idle_rx.clone());
        let drops = drops.clone();
        wg.go(move || {
            for i in 0..PER {
                let id = (s * PER + i) as u64;
                let make = || Tracked {
                    id,
                    _pad: P::default(),
                    drops: drops.clone(),
                };
                // The value expression runs only for the case that wins.
                let out: &Sender<Tracked<P>> = if i % 2 == 0 { &a } else { &b };
                select! {
                    send(out, make()) -> r => r.unwrap_or_else(|_| panic!("receivers gone")),
                    recv(idle_rx) -> _ => unreachable!("nobody sends on the idle channel"),
                }
            }
        });
    }
    drop((a_tx, b_tx));
    for _ in 0..RECEIVERS {
        let (a, b, idle_tx, got) = (a_rx.clone(), b_rx.clone(), idle_tx.clone(), got_tx.clone());
        goro::go!(move || {
            let mut ids = Vec::new();
            let (mut a_open, mut b_open) = (true, true);
            while a_open || b_open {
                let nev = goro::chan::never::<Tracked<P>>();
                let (ra, rb): (&Receiver<Tracked<P>>, &Receiver<Tracked<P>>) = (
                    if a_open { &a } else { &nev },
                    if b_open { &b } else { &nev },
                );
                select! {
                    recv(ra) -> v => match v {
                        Some(t) => ids.push(t.id),
                        None => a_open = false,
                    },
                    recv(rb) -> v => match v {
                        Some(t) => ids.push(t.id),
                        None => b_open = false,
                    },
                    send(idle_tx, not_evaluated()) -> _ => unreachable!("nobody receives on the idle channel"),
                }
            }
            got.send(ids).unwrap();
        });
    }
    drop((a_rx, b_rx, got_tx));
    wg.wait();
    let mut all: Vec<u64> = Vec::new();
    for _ in 0..RECEIVERS {
        all.extend(got_rx.recv().expect("every receiver reports"));
    }
    all.sort_unstable();
    let want: Vec<u64> = (0..(SENDERS * PER) as u64).collect();
    assert_eq!(all.len(), want.len(), "a value was lost or duplicated");
    assert_eq!(all, want, "a value was lost or duplicated");
    assert_eq!(
        drops.load(Ordering::Relaxed),
        SENDERS * PER,
        "every value made is dropped exactly once"
    );
    drop((idle_tx, idle_rx, quiet_tx, quiet_rx));
}

#[test]
fn small_values_through_recycled_packets() {
    common::for_each_procs("small_values_through_recycled_packets", LIMIT, || {
        goro::run(exchange::<()>);
    });
}

#[test]
fn large_values_through_boxed_packets() {
    common::for_each_procs("large_values_through_boxed_packets", LIMIT, || {
        goro::run(exchange::<[u64; 16]>);
    });
}
