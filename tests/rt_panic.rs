//! Panics in coroutines: caught, returned by join, reported when nobody
//! joins, and the runtime keeps going.

mod common;

use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn joined_panic_is_returned() {
    common::watchdog("joined_panic", LIMIT, || {
        let h = goro::Builder::new()
            .name("doomed")
            .spawn(|| -> u8 { panic!("bad input {}", 7) });
        let p = h.join().unwrap_err();
        assert_eq!(p.message(), Some("bad input 7"));
        let shown = p.to_string();
        assert!(
            shown.contains("doomed") && shown.contains("bad input 7"),
            "{shown}"
        );
        // Non-string payloads survive too.
        let p = goro::go!(|| std::panic::panic_any(42u32))
            .join()
            .unwrap_err();
        assert_eq!(p.message(), None);
        assert_eq!(*p.into_payload().downcast::<u32>().unwrap(), 42);
    });
}

#[test]
fn runtime_survives_many_panics() {
    common::watchdog("survives", LIMIT, || {
        let hs: Vec<_> = (0..200)
            .map(|i| goro::go!(move || if i % 2 == 0 { panic!("even {i}") } else { i }))
            .collect();
        let mut ok = 0;
        let mut bad = 0;
        for h in hs {
            match h.join() {
                Ok(_) => ok += 1,
                Err(_) => bad += 1,
            }
        }
        assert_eq!((ok, bad), (100, 100));
        assert_eq!(goro::go!(|| 1 + 1).join().unwrap(), 2);
    });
}

/// An unjoined panic is reported on stderr with the coroutine's id and
/// name, whether the handle is dropped before or after the panic.
#[test]
fn unjoined_panic_is_reported() {
    const NAME: &str = "unjoined_panic_is_reported";
    if common::is_child(NAME) {
        // Dropped before it panics.
        let gate = goro::sync::WaitGroup::new();
        gate.add(1);
        let g2 = gate.clone();
        drop(goro::Builder::new().name("early-drop").spawn(move || {
            g2.wait();
            panic!("first failure");
        }));
        gate.done();
        // Dropped after it panicked.
        let h = goro::Builder::new()
            .name("late-drop")
            .spawn(|| panic!("second failure"));
        while !h.is_finished() {
            std::thread::sleep(Duration::from_millis(1));
        }
        let id = h.id();
        drop(h);
        println!("LATE-ID {id}");
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(
            goro::go!(|| "still running").join().unwrap(),
            "still running"
        );
        return;
    }
    let out = common::run_child(NAME, &[], LIMIT);
    assert!(out.status.success(), "{}\n{}", out.stdout, out.stderr);
    let err = &out.stderr;
    assert!(
        err.contains("(early-drop)") && err.contains("first failure"),
        "stderr:\n{err}"
    );
    assert!(
        err.contains("(late-drop)") && err.contains("second failure"),
        "stderr:\n{err}"
    );
    assert!(err.contains("nobody joined it"), "stderr:\n{err}");
    let id = out
        .stdout
        .split("LATE-ID ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap();
    assert!(
        err.contains(&format!("coroutine {id} (late-drop)")),
        "stderr:\n{err}"
    );
}

#[test]
fn joined_panic_is_not_reported_as_unjoined() {
    const NAME: &str = "joined_panic_is_not_reported_as_unjoined";
    if common::is_child(NAME) {
        let _ = goro::go!(|| panic!("handled")).join().unwrap_err();
        return;
    }
    let out = common::run_child(NAME, &[], LIMIT);
    assert!(out.status.success());
    assert!(!out.stderr.contains("nobody joined"), "{}", out.stderr);
}
