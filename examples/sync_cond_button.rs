//! *Concurrency in Go*, chapter 3, "Cond": `Broadcast` to every handler
//! subscribed to a button's `Clicked` condition.
//!
//! The Go original:
//!
//! ```go
//! type Button struct {
//!     Clicked *sync.Cond
//! }
//! button := Button{ Clicked: sync.NewCond(&sync.Mutex{}) }
//!
//! subscribe := func(c *sync.Cond, fn func()) {
//!     var goroutineRunning sync.WaitGroup
//!     goroutineRunning.Add(1)
//!     go func() {
//!         goroutineRunning.Done()
//!         c.L.Lock()
//!         defer c.L.Unlock()
//!         c.Wait()
//!         fn()
//!     }()
//!     goroutineRunning.Wait()
//! }
//!
//! var clickRegistered sync.WaitGroup
//! clickRegistered.Add(3)
//! subscribe(button.Clicked, func() {
//!     fmt.Println("Maximizing window.")
//!     clickRegistered.Done()
//! })
//! subscribe(button.Clicked, func() {
//!     fmt.Println("Displaying annoying dialog box!")
//!     clickRegistered.Done()
//! })
//! subscribe(button.Clicked, func() {
//!     fmt.Println("Mouse clicked.")
//!     clickRegistered.Done()
//! })
//! button.Clicked.Broadcast()
//! clickRegistered.Wait()
//! ```
//!
//! One change: the Go version signals "running" *before* the handler takes
//! the lock, so a fast `Broadcast` can come before its `Wait` and the
//! program hangs (rarely). Here the handler takes the lock first and
//! signals while holding it; `broadcast` is issued after taking the same
//! lock, so every handler is already waiting when it comes.

use std::sync::Arc;

use goro::sync::{Cond, Mutex, WaitGroup};

struct Button {
    clicked: Arc<(Mutex<()>, Cond)>,
}

fn subscribe(c: &Arc<(Mutex<()>, Cond)>, f: impl FnOnce() + Send + 'static) {
    let running = WaitGroup::new();
    running.add(1);
    let (c, r) = (c.clone(), running.clone());
    goro::go!(move || {
        let (l, cond) = &*c;
        let guard = l.lock();
        r.done();
        let _guard = cond.wait(guard);
        f();
    });
    running.wait();
}

fn main() {
    goro::run(|| {
        let button = Button {
            clicked: Arc::new((Mutex::new(()), Cond::new())),
        };
        let click_registered = WaitGroup::new();
        click_registered.add(3);
        let handlers: [(&str, WaitGroup); 3] = [
            ("Maximizing window.", click_registered.clone()),
            ("Displaying annoying dialog box!", click_registered.clone()),
            ("Mouse clicked.", click_registered.clone()),
        ];
        for (msg, done) in handlers {
            subscribe(&button.clicked, move || {
                println!("{msg}");
                done.done();
            });
        }
        drop(button.clicked.0.lock()); // every handler is waiting now
        button.clicked.1.broadcast();
        click_registered.wait();
    });
}
