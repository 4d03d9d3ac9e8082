//! `#[goro::main]`, `#[goro::test]` and `goro::testing`: a clean test
//! passes; a leaked coroutine fails the test with a dump naming it (unless
//! `leaks = "allow"`); `timeout` turns a hang into a failure; tests running
//! in parallel do not see each other's coroutines.

mod common;

use std::time::Duration;

use goro::chan;

#[goro::test]
fn clean_test_passes() {
    let hs: Vec<_> = (0..50u32).map(|i| goro::go!(move || i * 2)).collect();
    let sum: u32 = hs.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(sum, 2450);
    // Nested spawns join in time: the grace period lets stragglers finish.
    goro::go!(|| {
        goro::go!(|| goro::time::sleep(Duration::from_millis(50)));
    });
}

#[goro::test]
fn returns_a_value_test() -> Result<(), String> {
    let (tx, rx) = chan::<u8>(1);
    tx.send(1).map_err(|e| e.to_string())?;
    assert_eq!(rx.recv(), Some(1));
    Ok(())
}

#[goro::test]
#[should_panic(expected = "test leaked 1 coroutine(s)")]
fn leaked_coroutine_fails_the_test() {
    let (tx, rx) = chan::<()>(0);
    goro::Builder::new()
        .name("forgotten-receiver")
        .spawn(move || rx.recv());
    // The sender stays alive forever: the receiver can never finish.
    std::mem::forget(tx);
}

/// The failure message is the dump of the leaked coroutines.
#[test]
fn leak_report_names_the_coroutine() {
    let r = std::panic::catch_unwind(|| {
        goro::testing::run_test(goro::testing::TestOptions::default(), || {
            let (tx, rx) = chan::<()>(0);
            goro::Builder::new()
                .name("forgotten-2")
                .spawn(move || rx.recv());
            std::mem::forget(tx);
        })
    });
    let msg = r.unwrap_err().downcast::<String>().unwrap();
    assert!(
        msg.contains("[chan receive]: name \"forgotten-2\""),
        "{msg}"
    );
    assert!(msg.contains("spawned at tests/rt_macros.rs:"), "{msg}");
}

#[goro::test(leaks = "allow")]
fn leaks_allowed_when_asked() {
    let (tx, rx) = chan::<()>(0);
    goro::go!(move || rx.recv());
    std::mem::forget(tx);
}

#[goro::test(timeout = "300ms")]
#[should_panic(expected = "test timed out after 300ms")]
fn hang_becomes_a_failure() {
    let (tx, rx) = chan::<()>(0);
    let _keep = tx;
    let _ = rx.recv();
}

#[goro::test(timeout = "10s")]
fn timeout_not_reached() {
    goro::time::sleep(Duration::from_millis(10));
}

/// Tests in parallel: a test blocks while others (above) leak; its own
/// check must only see its own coroutines.
#[goro::test]
fn parallel_tests_have_their_own_scope() {
    for _ in 0..20 {
        let h = goro::go!(|| goro::time::sleep(Duration::from_millis(5)));
        h.join().unwrap();
    }
    goro::testing::assert_no_leaks();
}

#[goro::test(leaks = "allow")]
#[should_panic(expected = "leaked")]
fn assert_no_leaks_inside_a_test() {
    let (tx, rx) = chan::<()>(0);
    goro::go!(move || rx.recv());
    std::mem::forget(tx);
    goro::testing::assert_no_leaks();
}

#[goro::main(maxprocs = 3)]
fn entry() -> usize {
    let h = goro::go!(goro::maxprocs);
    h.join().unwrap()
}

/// `#[goro::main(maxprocs = 3)]` runs the body as the main coroutine with
/// three workers (in a child: GOMAXPROCS is process-wide).
#[test]
fn main_attribute_sets_maxprocs() {
    common::for_procs(
        "main_attribute_sets_maxprocs",
        &[1],
        Duration::from_secs(60),
        || {
            assert_eq!(entry(), 3);
            assert_eq!(goro::maxprocs(), 3);
        },
    );
}
