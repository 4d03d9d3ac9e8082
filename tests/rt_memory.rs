//! Memory exhaustion is one clear error: under a lowered address-space
//! limit (`ulimit -v`), coroutines that cannot get a stack fail with a
//! panic naming the cause, stderr gets one line with the cause and one
//! count of the rest (not a line per coroutine), and `Builder::try_spawn`
//! returns the error where the caller can stop spawning.

mod common;

use std::time::Duration;

use goro::sync::WaitGroup;

const LIMIT: Duration = Duration::from_secs(120);

#[test]
fn address_space_limit_is_one_cause_line_and_a_count() {
    const NAME: &str = "address_space_limit_is_one_cause_line_and_a_count";
    const N: usize = 5000;
    if common::is_child(NAME) {
        goro::init().unwrap();
        // The default stack (128 KiB optimized, 256 KiB in debug builds).
        let kib = goro::go!(|| goro::current().unwrap().stack_size() >> 10)
            .join()
            .unwrap();
        // Room for a few 64 MiB slabs of such stacks: far fewer than N.
        common::limit_address_space(200 << 20);
        let failed = goro::run(move || {
            let gate = WaitGroup::new();
            gate.add(1);
            let hs: Vec<_> = (0..N)
                .map(|_| {
                    let gate = gate.clone();
                    goro::go!(move || gate.wait())
                })
                .collect();
            // Let them all run (or fail to) before opening the gate.
            goro::time::sleep(Duration::from_millis(300));
            // try_spawn reports exhaustion at the spawn itself.
            let mut held = Vec::new();
            let err = loop {
                let gate = gate.clone();
                match goro::Builder::new().try_spawn(move || gate.wait()) {
                    Ok(h) => held.push(h),
                    Err(e) => break e,
                }
                assert!(held.len() < 100_000, "try_spawn never failed");
            };
            assert!(err.to_string().contains("cannot allocate"), "{err}");
            gate.done();
            for h in held {
                h.join().unwrap();
            }
            let mut failed = 0;
            for h in hs {
                if let Err(p) = h.join() {
                    let m = p.message().unwrap();
                    assert!(
                        m.contains(&format!("cannot allocate a {kib} KiB stack")),
                        "{m}"
                    );
                    failed += 1;
                }
            }
            // Stacks came back: spawning works again.
            let h = goro::Builder::new().try_spawn(|| 7).expect("memory again");
            assert_eq!(h.join().unwrap(), 7);
            failed
        });
        println!("FAILED {failed}");
        return;
    }
    let out = common::run_child(NAME, &[("RUST_BACKTRACE", "0")], LIMIT);
    assert!(
        out.status.success() && !out.timed_out,
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    let failed: usize = out
        .stdout
        .split("FAILED ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .expect("child printed its count");
    assert!(failed > 100, "the limit did not bite: {failed} failures");
    let cause_lines = out
        .stderr
        .lines()
        .filter(|l| l.contains("cannot allocate"))
        .count();
    assert_eq!(
        cause_lines, 1,
        "one cause line, not one per coroutine:\n{}",
        out.stderr
    );
    // The rest is counted: the summary lines add up to the other failures.
    let counted: usize = out
        .stderr
        .lines()
        .filter_map(|l| {
            l.strip_prefix("goro: ")?
                .strip_suffix(" more coroutines could not get a stack (same cause)")?
                .parse::<usize>()
                .ok()
        })
        .sum();
    assert_eq!(counted + 1, failed, "stderr:\n{}", out.stderr);
    assert!(out.stderr.lines().count() < 20, "stderr:\n{}", out.stderr);
}
