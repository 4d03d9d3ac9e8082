//! Criterion benches for channels and `select!`: unbuffered ping-pong,
//! buffered SPSC and MPMC throughput, a select over four channels, and
//! channel creation.
//!
//! Each measures inside the runtime (`iter_custom` + `goro::run`) so the
//! timed loop runs on coroutines, as user code does. Time is per message
//! (per round trip for ping-pong, per select for select).
//!
//! ```text
//! cargo bench -p goro-benches --bench chan
//! ```

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use goro::chan::chan;
use goro::select;
use goro::sync::WaitGroup;

/// A round trip over two unbuffered channels with an echo coroutine.
fn pingpong(c: &mut Criterion) {
    c.bench_function("chan/pingpong_unbuffered_rtt", |b| {
        b.iter_custom(|iters| {
            goro::run(move || {
                let (a_tx, a_rx) = chan::<u64>(0);
                let (b_tx, b_rx) = chan::<u64>(0);
                let echo = goro::go!(move || {
                    for v in &a_rx {
                        b_tx.send(v).unwrap();
                    }
                });
                let t = Instant::now();
                for i in 0..iters {
                    a_tx.send(i).unwrap();
                    b_rx.recv().unwrap();
                }
                let d = t.elapsed();
                drop(a_tx);
                echo.join().unwrap();
                d
            })
        })
    });
}

/// `producers` × `consumers` over one channel of capacity `cap`; the time
/// from the first send to the last receive.
fn mpmc_run(producers: u64, consumers: u64, cap: usize, msgs: u64) -> Duration {
    goro::run(move || {
        let per = msgs.div_ceil(producers);
        let (tx, rx) = chan::<u64>(cap);
        let start = WaitGroup::new();
        start.add(1);
        let done = WaitGroup::new();
        for _ in 0..producers {
            let (tx, start) = (tx.clone(), start.clone());
            done.go(move || {
                start.wait();
                for i in 0..per {
                    tx.send(i).unwrap();
                }
            });
        }
        drop(tx);
        for _ in 0..consumers {
            let rx = rx.clone();
            done.go(move || {
                let mut sum = 0u64;
                for v in &rx {
                    sum = sum.wrapping_add(v);
                }
                std::hint::black_box(sum);
            });
        }
        drop(rx);
        let t = Instant::now();
        start.done();
        done.wait();
        scale(t.elapsed(), msgs, per * producers)
    })
}

/// `d` measured over `done` operations, scaled to `wanted` of them.
fn scale(d: Duration, wanted: u64, done: u64) -> Duration {
    Duration::from_secs_f64(d.as_secs_f64() * wanted as f64 / done.max(1) as f64)
}

fn throughput(c: &mut Criterion) {
    let mut g = c.benchmark_group("chan");
    g.throughput(Throughput::Elements(1));
    g.bench_function("spsc_cap1024", |b| {
        b.iter_custom(|iters| mpmc_run(1, 1, 1024, iters))
    });
    g.bench_function("spsc_unbuffered", |b| {
        b.iter_custom(|iters| mpmc_run(1, 1, 0, iters))
    });
    g.bench_function("mpmc_4x4_cap1024", |b| {
        b.iter_custom(|iters| mpmc_run(4, 4, 1024, iters))
    });
    // One coroutine filling and draining a buffer (Go's ChanUncontended):
    // the cost of a send + receive pair with nobody to wake.
    g.bench_function("uncontended_send_recv_cap100", |b| {
        b.iter_custom(|iters| {
            goro::run(move || {
                let (tx, rx) = chan::<u64>(100);
                let t = Instant::now();
                let mut left = iters;
                while left > 0 {
                    let n = left.min(100);
                    for i in 0..n {
                        tx.send(i).unwrap();
                    }
                    for _ in 0..n {
                        std::hint::black_box(rx.recv());
                    }
                    left -= n;
                }
                t.elapsed()
            })
        })
    });
    g.finish();
}

/// A consumer selecting over four buffered channels fed by four producers.
fn select4(c: &mut Criterion) {
    c.bench_function("select/recv4_cap128", |b| {
        b.iter_custom(|iters| {
            goro::run(move || {
                let per = iters.div_ceil(4);
                let chans: Vec<_> = (0..4).map(|_| chan::<u64>(128)).collect();
                for (tx, _) in &chans {
                    let tx = tx.clone();
                    goro::go!(move || {
                        for j in 0..per {
                            tx.send(j).unwrap();
                        }
                    });
                }
                let (r0, r1, r2, r3) = (&chans[0].1, &chans[1].1, &chans[2].1, &chans[3].1);
                let t = Instant::now();
                for _ in 0..per * 4 {
                    select! {
                        recv(r0) -> v => { std::hint::black_box(v); }
                        recv(r1) -> v => { std::hint::black_box(v); }
                        recv(r2) -> v => { std::hint::black_box(v); }
                        recv(r3) -> v => { std::hint::black_box(v); }
                    }
                }
                scale(t.elapsed(), iters, per * 4)
            })
        })
    });
    // A non-blocking select on an empty channel (Go's ChanNonblocking).
    c.bench_function("select/nonblocking_empty", |b| {
        b.iter_custom(|iters| {
            goro::run(move || {
                let (_tx, rx) = chan::<u64>(0);
                let t = Instant::now();
                for _ in 0..iters {
                    select! {
                        recv(rx) -> v => { std::hint::black_box(v); }
                        default => {}
                    }
                }
                t.elapsed()
            })
        })
    });
}

/// Making a channel, one send and one receive, dropping it (Go's
/// ChanCreation), for both flavors' constructors.
fn creation(c: &mut Criterion) {
    c.bench_function("chan/create_cap1_send_recv", |b| {
        b.iter_custom(|iters| {
            goro::run(move || {
                let t = Instant::now();
                for i in 0..iters {
                    let (tx, rx) = chan::<u64>(1);
                    tx.send(i).unwrap();
                    std::hint::black_box(rx.recv());
                }
                t.elapsed()
            })
        })
    });
    c.bench_function("chan/create_unbuffered", |b| {
        b.iter_custom(|iters| {
            goro::run(move || {
                let t = Instant::now();
                for _ in 0..iters {
                    std::hint::black_box(chan::<u64>(0));
                }
                t.elapsed()
            })
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500));
    targets = pingpong, throughput, select4, creation
}
criterion_main!(benches);
