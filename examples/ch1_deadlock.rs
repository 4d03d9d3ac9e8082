//! *Concurrency in Go*, chapter 1, "Deadlocks": two coroutines each hold one
//! lock and wait for the other's.
//!
//! The Go original:
//!
//! ```go
//! type value struct {
//!     mu    sync.Mutex
//!     value int
//! }
//! var wg sync.WaitGroup
//! printSum := func(v1, v2 *value) {
//!     defer wg.Done()
//!     v1.mu.Lock()
//!     defer v1.mu.Unlock()
//!     time.Sleep(2 * time.Second)
//!     v2.mu.Lock()
//!     defer v2.mu.Unlock()
//!     fmt.Printf("sum=%v\n", v1.value+v2.value)
//! }
//! var a, b value
//! wg.Add(2)
//! go printSum(&a, &b)
//! go printSum(&b, &a)
//! wg.Wait()
//! ```
//!
//! Go reports "fatal error: all goroutines are asleep - deadlock!". Here
//! the main coroutine waits with a timeout instead of hanging, reports the
//! deadlock, and names the four Coffman conditions that hold. Then it runs
//! the fix — both coroutines take the locks in one global order, which
//! breaks the circular wait — and both sums print. (The two deadlocked
//! coroutines stay parked until the process exits.)

use std::sync::Arc;
use std::time::Duration;

use goro::chan::chan;
use goro::sync::Mutex;

fn print_sum(v1: &Mutex<i32>, v2: &Mutex<i32>) -> i32 {
    let a = v1.lock(); // mutual exclusion
    goro::time::sleep(Duration::from_millis(20)); // the other one takes its first lock
    let b = v2.lock(); // wait for: holds a, waits for b
    *a + *b
}

fn main() {
    goro::run(|| {
        let a = Arc::new(Mutex::new(1));
        let b = Arc::new(Mutex::new(2));
        let (tx, sums) = chan::<i32>(2);
        for (v1, v2) in [(a.clone(), b.clone()), (b.clone(), a.clone())] {
            let tx = tx.clone();
            goro::go!(move || {
                let _ = tx.send(print_sum(&v1, &v2));
            });
        }
        match sums.recv_timeout(Duration::from_millis(300)) {
            Ok(sum) => println!("sum={sum} (no deadlock this time?)"),
            Err(_) => {
                println!("deadlock: no sum after 300 ms; both coroutines wait on each other.");
                println!("  mutual exclusion: each value's lock is held by one coroutine");
                println!("  wait for:         each holds one lock and waits for the other");
                println!("  no preemption:    a lock is released only by its holder");
                println!("  circular wait:    coroutine 1 waits on 2, which waits on 1");
            }
        }

        // The fix: one lock order for everyone (a before b) breaks the
        // circular wait.
        let c = Arc::new(Mutex::new(3));
        let d = Arc::new(Mutex::new(4));
        let (tx, sums) = chan::<i32>(2);
        for _ in 0..2 {
            let (c, d, tx) = (c.clone(), d.clone(), tx.clone());
            goro::go!(move || {
                let _ = tx.send(print_sum(&c, &d));
            });
        }
        for _ in 0..2 {
            let sum = sums
                .recv_timeout(Duration::from_secs(5))
                .expect("ordered locks cannot deadlock");
            println!("with one lock order: sum={sum}");
        }
    });
}
