//! The async bridge: `goro::block_on` over futures woken from another
//! thread, from a goro timer and from another coroutine; many coroutines in
//! `block_on` at once under GOMAXPROCS 1 and 2 (a worker blocked in a poll
//! would deadlock them); and the other direction, a small executor written
//! here awaiting `JoinHandle`s and `Receiver::recv_async`, including
//! re-polls with a new waker, a join after a poll, and futures dropped
//! while registered (no wake-up or message lost, rendezvous values dropped
//! exactly once).

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use goro::chan::chan;

const LIMIT: Duration = Duration::from_secs(120);

/// A one-shot future completed by `OneShotTx::send` from anywhere: the
/// shape of a runtime-agnostic future (it only uses the waker it is given).
struct OneShot<T> {
    shared: Arc<Mutex<(Option<T>, Option<Waker>)>>,
}

struct OneShotTx<T> {
    shared: Arc<Mutex<(Option<T>, Option<Waker>)>>,
}

fn oneshot<T>() -> (OneShotTx<T>, OneShot<T>) {
    let shared = Arc::new(Mutex::new((None, None)));
    (
        OneShotTx {
            shared: shared.clone(),
        },
        OneShot { shared },
    )
}

impl<T> OneShotTx<T> {
    fn send(self, v: T) {
        let w = {
            let mut s = self.shared.lock().unwrap();
            s.0 = Some(v);
            s.1.take()
        };
        if let Some(w) = w {
            w.wake();
        }
    }
}

impl<T> Future for OneShot<T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut s = self.shared.lock().unwrap();
        match s.0.take() {
            Some(v) => Poll::Ready(v),
            None => {
                s.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// An async fn of our own, awaiting the one-shot twice over.
async fn add_later(a: OneShot<u64>, b: OneShot<u64>) -> u64 {
    a.await + b.await
}

#[test]
fn block_on_a_future_woken_from_another_thread() {
    common::watchdog("woken from a thread", LIMIT, || {
        let got = goro::run(|| {
            let (tx, rx) = oneshot();
            let (tx2, rx2) = oneshot();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(10));
                tx.send(40);
                std::thread::sleep(Duration::from_millis(10));
                tx2.send(2);
            });
            goro::block_on(add_later(rx, rx2))
        });
        assert_eq!(got, 42);
        // From a plain thread too: the thread blocks.
        let (tx, rx) = oneshot();
        std::thread::spawn(move || tx.send("thread"));
        assert_eq!(goro::block_on(rx), "thread");
    });
}

#[test]
fn block_on_a_future_woken_by_a_timer() {
    common::watchdog("woken by a timer", LIMIT, || {
        goro::run(|| {
            let start = Instant::now();
            let fired = goro::block_on(goro::time::after(Duration::from_millis(30)).recv_async());
            let at = fired.expect("a timer channel does not close");
            assert!(at >= start + Duration::from_millis(30));
            assert!(start.elapsed() >= Duration::from_millis(30));
        });
    });
}

#[test]
fn block_on_a_future_woken_by_another_coroutine() {
    common::watchdog("woken by a coroutine", LIMIT, || {
        goro::run(|| {
            let (tx, rx) = oneshot();
            goro::go!(move || {
                for _ in 0..10 {
                    goro::yield_now();
                }
                goro::time::sleep(Duration::from_millis(5));
                tx.send(7u32);
            });
            assert_eq!(goro::block_on(rx), 7);
            let h = goro::go!(|| 5u32);
            assert_eq!(goro::block_on(h).unwrap(), 5);
        });
    });
}

/// 500 coroutines sit in `block_on` at once, each waiting for a partner
/// coroutine (one-shot) and then for a channel message (`recv_async`). With
/// one worker, this only finishes if `block_on` parks the coroutine and not
/// the worker.
#[test]
fn many_coroutines_in_block_on_at_once() {
    common::for_procs(
        "many_coroutines_in_block_on_at_once",
        &[1, 2],
        LIMIT,
        || {
            goro::run(|| {
                const N: u64 = 500;
                let (gate_tx, gate_rx) = chan::<()>(0);
                let (vals_tx, vals_rx) = chan::<u64>(16);
                let hs: Vec<_> = (0..N)
                    .map(|i| {
                        let (tx, rx) = oneshot::<u64>();
                        let gate_rx = gate_rx.clone();
                        goro::go!(move || {
                            // The partner waits until everyone is in block_on.
                            assert_eq!(gate_rx.recv(), None);
                            tx.send(i);
                        });
                        let vals_rx = vals_rx.clone();
                        goro::go!(move || {
                            goro::block_on(async move {
                                let a = rx.await;
                                let b = vals_rx.recv_async().await.expect("one value each");
                                a * 1000 + b
                            })
                        })
                    })
                    .collect();
                goro::time::sleep(Duration::from_millis(20));
                drop(gate_tx); // releases every partner at once
                for i in 0..N {
                    vals_tx.send(i).unwrap();
                }
                let mut seen_b = vec![false; N as usize];
                let mut sum_a = 0;
                for h in hs {
                    let v = h.join().unwrap();
                    sum_a += v / 1000;
                    let b = (v % 1000) as usize;
                    assert!(!seen_b[b], "value {b} received twice");
                    seen_b[b] = true;
                }
                assert_eq!(sum_a, (0..N).sum::<u64>());
                assert!(seen_b.iter().all(|s| *s), "a value was lost");
            });
        },
    );
}

// ---- a tiny executor, to await goro from "async land" ----

struct Task {
    fut: Mutex<Option<Pin<Box<dyn Future<Output = ()> + Send>>>>,
    queue: mpsc::Sender<Arc<Task>>,
}

impl Wake for Task {
    fn wake(self: Arc<Self>) {
        let q = self.queue.clone();
        let _ = q.send(self);
    }
}

/// Runs every future to completion on the calling (plain) thread, polling
/// each only when its waker fires.
fn run_executor(futs: Vec<Pin<Box<dyn Future<Output = ()> + Send>>>) {
    let (q, ready) = mpsc::channel::<Arc<Task>>();
    let mut left = futs.len();
    for f in futs {
        q.send(Arc::new(Task {
            fut: Mutex::new(Some(f)),
            queue: q.clone(),
        }))
        .unwrap();
    }
    while left > 0 {
        let task = ready
            .recv_timeout(Duration::from_secs(60))
            .expect("executor starved: a wake-up was lost");
        let mut slot = task.fut.lock().unwrap();
        let Some(mut f) = slot.take() else { continue };
        let waker = Waker::from(task.clone());
        match f.as_mut().poll(&mut Context::from_waker(&waker)) {
            Poll::Ready(()) => left -= 1,
            Poll::Pending => *slot = Some(f),
        }
    }
}

#[test]
fn an_executor_awaits_join_handles_and_recv_async() {
    common::watchdog("executor", LIMIT, || {
        let total = Arc::new(AtomicUsize::new(0));
        let mut futs: Vec<Pin<Box<dyn Future<Output = ()> + Send>>> = Vec::new();
        for i in 0..50usize {
            let h = goro::go!(move || {
                goro::time::sleep(Duration::from_millis((i % 7) as u64));
                i
            });
            let (tx, rx) = chan::<usize>(if i % 2 == 0 { 0 } else { 1 });
            goro::go!(move || {
                goro::time::sleep(Duration::from_millis((i % 5) as u64));
                tx.send(i * 10).unwrap();
            });
            let total = total.clone();
            futs.push(Box::pin(async move {
                let a = h.await.unwrap();
                let b = rx.recv_async().await.unwrap();
                assert_eq!(rx.recv_async().await, None, "closed after the sender left");
                total.fetch_add(a + b, Ordering::Relaxed);
            }));
        }
        let bad = goro::go!(|| -> u8 { panic!("awaited panic") });
        futs.push(Box::pin(async move {
            let p = bad.await.unwrap_err();
            assert_eq!(p.message(), Some("awaited panic"));
        }));
        run_executor(futs);
        assert_eq!(total.load(Ordering::Relaxed), (0..50).map(|i| i * 11).sum());
    });
}

struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn flag() -> (Arc<Flag>, Waker) {
    let f = Arc::new(Flag(AtomicBool::new(false)));
    (f.clone(), Waker::from(f))
}

/// A re-poll with another waker moves the registration to it; a join after
/// a poll still works.
#[test]
fn join_handle_wakes_the_latest_waker_and_joins_after_a_poll() {
    common::watchdog("latest waker", LIMIT, || {
        let (go_tx, go_rx) = chan::<()>(0);
        let mut h = goro::go!(move || {
            go_rx.recv();
            3
        });
        let (a, wa) = flag();
        let (b, wb) = flag();
        assert!(
            Pin::new(&mut h)
                .poll(&mut Context::from_waker(&wa))
                .is_pending()
        );
        assert!(
            Pin::new(&mut h)
                .poll(&mut Context::from_waker(&wb))
                .is_pending()
        );
        go_tx.send(()).unwrap();
        assert!(common::eventually(Duration::from_secs(30), || b
            .0
            .load(Ordering::SeqCst)));
        assert!(!a.0.load(Ordering::SeqCst), "the replaced waker was woken");
        match Pin::new(&mut h).poll(&mut Context::from_waker(&wb)) {
            Poll::Ready(r) => assert_eq!(r.unwrap(), 3),
            Poll::Pending => panic!("woken but not ready"),
        }

        let (go_tx, go_rx) = chan::<()>(0);
        let mut h = goro::go!(move || {
            go_rx.recv();
            4
        });
        assert!(
            Pin::new(&mut h)
                .poll(&mut Context::from_waker(&wa))
                .is_pending()
        );
        goro::go!(move || go_tx.send(()).unwrap());
        assert_eq!(h.join().unwrap(), 4);
    });
}

/// Two futures wait on an empty buffered channel; a send wakes the first
/// (FIFO); dropping it passes the wake-up on, so the second gets the value.
#[test]
fn a_dropped_buffered_receive_passes_its_wakeup_on() {
    let (tx, rx) = chan::<u32>(4);
    let mut first = Box::pin(rx.recv_async());
    let mut second = Box::pin(rx.recv_async());
    let (f1, w1) = flag();
    let (f2, w2) = flag();
    assert!(
        first
            .as_mut()
            .poll(&mut Context::from_waker(&w1))
            .is_pending()
    );
    assert!(
        second
            .as_mut()
            .poll(&mut Context::from_waker(&w2))
            .is_pending()
    );
    tx.send(9).unwrap();
    assert!(f1.0.load(Ordering::SeqCst), "the first waiter is woken");
    assert!(!f2.0.load(Ordering::SeqCst));
    drop(first);
    assert!(f2.0.load(Ordering::SeqCst), "the wake-up was passed on");
    assert_eq!(
        second.as_mut().poll(&mut Context::from_waker(&w2)),
        Poll::Ready(Some(9))
    );
    // Dropped while still waiting: withdrawn, the channel works as before.
    let mut idle = Box::pin(rx.recv_async());
    assert!(
        idle.as_mut()
            .poll(&mut Context::from_waker(&w1))
            .is_pending()
    );
    drop(idle);
    tx.send(10).unwrap();
    assert_eq!(rx.try_recv(), Ok(10));
    // Polling a finished future again is a bug, reported as a panic (it
    // does not take another message).
    tx.send(11).unwrap();
    let mut done = Box::pin(rx.recv_async());
    assert_eq!(
        done.as_mut().poll(&mut Context::from_waker(&w1)),
        Poll::Ready(Some(11))
    );
    tx.send(12).unwrap();
    let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = done.as_mut().poll(&mut Context::from_waker(&w1));
    }));
    assert!(again.is_err());
    assert_eq!(rx.try_recv(), Ok(12));
    drop(tx);
    let mut closed = Box::pin(rx.recv_async());
    assert_eq!(
        closed.as_mut().poll(&mut Context::from_waker(&w1)),
        Poll::Ready(None)
    );
}

struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// On a rendezvous channel, a sender blocked before the future polls hands
/// its value over on the poll; one that arrives while the future waits
/// completes its send into it; a future dropped after that drops the value
/// exactly once.
#[test]
fn rendezvous_receives_from_async_code() {
    common::watchdog("rendezvous async", LIMIT, || {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = chan::<Counted>(0);
        let (_, w) = flag();
        // Sender first.
        let d = drops.clone();
        let tx2 = tx.clone();
        let t = std::thread::spawn(move || tx2.send(Counted(d)).is_ok());
        std::thread::sleep(Duration::from_millis(20));
        let mut f = Box::pin(rx.recv_async());
        let got = loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut Context::from_waker(&w)) {
                break v;
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        assert!(t.join().unwrap());
        drop(got);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        // Future first, then dropped after the send completed into it.
        let mut f = Box::pin(rx.recv_async());
        assert!(f.as_mut().poll(&mut Context::from_waker(&w)).is_pending());
        let d = drops.clone();
        let tx2 = tx.clone();
        let t = std::thread::spawn(move || tx2.send(Counted(d)).is_ok());
        assert!(
            t.join().unwrap(),
            "the send completed into the waiting future"
        );
        drop(f);
        assert_eq!(drops.load(Ordering::SeqCst), 2);
    });
}

/// futures-rs, a runtime-agnostic crate: its combinators (`join`,
/// `select`), its channels (`oneshot`, `mpsc` woken from another thread and
/// from coroutines) and its streams run under `block_on` on a coroutine,
/// under GOMAXPROCS 1 and 2.
#[test]
fn futures_rs_combinators_channels_and_streams() {
    use futures::StreamExt;
    use futures::channel::{mpsc as fmpsc, oneshot as foneshot};
    use futures::future::{self, Either};
    for procs in [1, 2] {
        common::watchdog("futures-rs under block_on", LIMIT, || {
            let prev = goro::set_maxprocs(procs).unwrap();
            goro::run(|| {
                // join: one half woken by a plain thread, the other by a timer.
                let (tx, rx) = foneshot::channel::<u32>();
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(5));
                    let _ = tx.send(40);
                });
                let after = goro::time::after(Duration::from_millis(10));
                let timer = after.recv_async();
                let (a, b) = goro::block_on(future::join(rx, timer));
                assert_eq!(a, Ok(40));
                assert!(b.is_some());

                // select: the ready side wins, the other is handed back.
                let (_keep, never) = foneshot::channel::<u32>();
                let ready = future::ready(7u32);
                match goro::block_on(future::select(never, ready)) {
                    Either::Right((v, _pending)) => assert_eq!(v, 7),
                    Either::Left(_) => panic!("a oneshot nobody sends on won"),
                }

                // A futures mpsc stream fed by 8 coroutines, summed as a stream.
                let (tx, rx) = fmpsc::unbounded::<u64>();
                for i in 0..8u64 {
                    let tx = tx.clone();
                    goro::go!(move || {
                        for k in 0..100 {
                            tx.unbounded_send(i * 100 + k).unwrap();
                            if k % 10 == 0 {
                                goro::yield_now();
                            }
                        }
                    });
                }
                drop(tx);
                let sum: u64 = goro::block_on(rx.fold(0, |acc, v| async move { acc + v }));
                assert_eq!(sum, (0..800u64).sum());
            });
            goro::set_maxprocs(prev).unwrap();
        });
    }
}
