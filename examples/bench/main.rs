//! `bench [-n N] WORKLOAD`: goro's side of `../shared/bench/compare.py`.
//!
//! Prints `metric value unit` lines with exactly the metric names of the Go
//! reference (`../shared/anchors/go/main.go`), so the two can be compared
//! line by line. Workloads are written the way the Go ones are: same
//! counts, same sharing (a WaitGroup shared by reference, as a Go closure
//! captures `&wg`), same timing boundaries.
//!
//! Workloads: `spawn`, `parked`, `skynet`, `pingpong`, `chan`, `select`,
//! `mutex`, `sleep`, `ctxtree`, `stall`, `idle`, and `ctxbase` and `pipeline`
//! (`ctxtree` and `stall` have their Go reference in `extra.go`; `ctxbase`
//! and `pipeline` in `benches/go/`; `mutex`, `sleep` and `idle` have no Go
//! counterpart in the shared reference: `docs/benchmarks.md` carries the Go
//! programs).

mod chan;
mod ctxtree;
mod pipeline;
mod rt;
mod stall;
mod sync;
mod timers;

fn usage() -> ! {
    eprintln!(
        "usage: bench [-n N] spawn|parked|skynet|pingpong|chan|select|mutex|sleep|ctxtree|ctxbase|pipeline|stall|idle"
    );
    std::process::exit(2);
}

fn main() {
    let mut n: usize = 1_000_000;
    let mut workload = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "-n" => {
                n = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            w if workload.is_none() => workload = Some(w.to_string()),
            _ => usage(),
        }
    }
    if let Err(e) = goro::init() {
        eprintln!("{e}");
        std::process::exit(2);
    }
    match workload.as_deref() {
        Some("spawn") => goro::run(move || rt::spawn(n)),
        Some("parked") => goro::run(move || rt::parked(n)),
        Some("skynet") => goro::run(chan::skynet),
        Some("pingpong") => goro::run(move || chan::pingpong(n)),
        Some("chan") => goro::run(move || chan::mpmc(n)),
        Some("select") => goro::run(move || chan::select4(n)),
        Some("mutex") => goro::run(move || sync::mutex(n)),
        Some("ctxtree") => goro::run(move || ctxtree::ctxtree(n)),
        Some("ctxbase") => goro::run(move || ctxtree::ctxbase(n)),
        Some("pipeline") => goro::run(move || pipeline::pipeline(n)),
        Some("sleep") => goro::run(move || timers::sleepers(n.min(100_000))),
        Some("stall") => goro::run(stall::stall),
        Some("idle") => stall::idle(),
        _ => usage(),
    }
}
