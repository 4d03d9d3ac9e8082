//! Channel workloads, written as the Go reference writes them: skynet,
//! ping-pong over unbuffered channels, buffered MPMC throughput, select.

use std::time::Instant;

use goro::chan::{Sender, chan};
use goro::select;
use goro::sync::WaitGroup;

fn skynet_node(c: Sender<u64>, num: u64, size: u64, div: u64) {
    if size == 1 {
        let _ = c.send(num);
        return;
    }
    let (rtx, rrx) = chan::<u64>(0);
    for i in 0..div {
        let sub = num + i * (size / div);
        let rtx = rtx.clone();
        goro::go!(move || skynet_node(rtx, sub, size / div, div));
    }
    drop(rtx);
    let mut sum = 0;
    for _ in 0..div {
        sum += rrx.recv().expect("a child always sends");
    }
    let _ = c.send(sum);
}

/// 1M-leaf tree of coroutines, each level summing its ten children over an
/// unbuffered channel.
pub fn skynet() {
    let t = Instant::now();
    let (tx, rx) = chan::<u64>(0);
    goro::go!(move || skynet_node(tx, 0, 1_000_000, 10));
    let r = rx.recv().expect("the root sends its sum");
    let d = t.elapsed();
    assert_eq!(r, 499_999_500_000, "wrong skynet result");
    println!("skynet_ms {:.1} ms", d.as_secs_f64() * 1e3);
}

/// Round trips over two unbuffered channels with an echo coroutine.
pub fn pingpong(n: usize) {
    let (a_tx, a_rx) = chan::<usize>(0);
    let (b_tx, b_rx) = chan::<usize>(0);
    let echo = goro::go!(move || {
        for v in &a_rx {
            if b_tx.send(v).is_err() {
                break;
            }
        }
    });
    let t = Instant::now();
    for i in 0..n {
        a_tx.send(i).unwrap();
        b_rx.recv().unwrap();
    }
    let d = t.elapsed();
    a_tx.close();
    echo.join().unwrap();
    println!("pingpong_rtt_ns {:.1} ns", d.as_nanos() as f64 / n as f64);
}

/// `producers` × `consumers` over one buffered channel; producers close it
/// through a WaitGroup, consumers range over it.
fn mpmc_range(producers: usize, consumers: usize, n: usize, cap: usize) {
    let (tx, rx) = chan::<usize>(cap);
    let pw = WaitGroup::new();
    let cw = WaitGroup::new();
    let t = Instant::now();
    for _ in 0..producers {
        let tx = tx.clone();
        pw.go(move || {
            for i in 0..n / producers {
                tx.send(i).unwrap();
            }
        });
    }
    {
        let pw = pw.clone();
        goro::go!(move || {
            pw.wait();
            tx.close();
        });
    }
    let sums: Vec<_> = (0..consumers)
        .map(|_| {
            let rx = rx.clone();
            cw.go(move || rx.iter().fold(0usize, |a, v| a.wrapping_add(v)))
        })
        .collect();
    drop(rx);
    cw.wait();
    let d = t.elapsed();
    let _total: usize = sums
        .into_iter()
        .map(|h| h.join().unwrap())
        .fold(0, usize::wrapping_add);
    let msgs = (n / producers) * producers;
    println!(
        "chan_{producers}x{consumers}_cap{cap}_mmsg_s {:.2} Mmsg/s",
        msgs as f64 / d.as_secs_f64() / 1e6
    );
}

/// The Go reference's `chan` workload: 4×4 and 1×1, capacity 1024.
pub fn mpmc(n: usize) {
    mpmc_range(4, 4, n, 1024);
    mpmc_range(1, 1, n, 1024);
}

/// A `select!` over four buffered channels fed by four producers.
pub fn select4(n: usize) {
    let chans: Vec<_> = (0..4).map(|_| chan::<usize>(128)).collect();
    for (tx, _) in &chans {
        let tx = tx.clone();
        goro::go!(move || {
            for j in 0..n / 4 {
                tx.send(j).unwrap();
            }
        });
    }
    let (r0, r1, r2, r3) = (&chans[0].1, &chans[1].1, &chans[2].1, &chans[3].1);
    let t = Instant::now();
    let mut got = 0;
    while got < (n / 4) * 4 {
        select! {
            recv(r0) -> _ => {},
            recv(r1) -> _ => {},
            recv(r2) -> _ => {},
            recv(r3) -> _ => {},
        }
        got += 1;
    }
    let d = t.elapsed();
    println!(
        "select4_ns_per_op {:.1} ns",
        d.as_nanos() as f64 / got as f64
    );
}
