//! Chapter 5 tool: `errgroup` (Go's `golang.org/x/sync/errgroup`), the
//! step after the book's "Error Handling" section every Go user takes.
//!
//! The Go shape:
//!
//! ```go
//! g, ctx := errgroup.WithContext(context.Background())
//! for _, url := range urls {
//!     g.Go(func() error { return fetch(ctx, url) })
//! }
//! if err := g.Wait(); err != nil {
//!     fmt.Println("fetch failed:", err)
//! }
//! ```
//!
//! Part 1: five simulated fetches, one of which fails; the failure cancels
//! the group's context, so the slow fetches stop instead of running to the
//! end, and `wait` returns the first error. Part 2: `set_limit(3)` bounds a
//! group of twenty jobs to three at a time (the program counts the most
//! that ever ran at once).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use goro::context::{self, Context};
use goro::errgroup::Group;
use goro::select;

/// A fetch that takes `took`, fails for "bad.example", and gives up when
/// `ctx` ends.
fn fetch(ctx: &Context, url: &str, took: Duration) -> Result<usize, String> {
    if url == "https://bad.example" {
        goro::time::sleep(Duration::from_millis(5));
        return Err(format!("{url}: connection refused"));
    }
    select! {
        recv(goro::time::after(took)) -> _ => Ok(url.len()),
        recv(ctx.done()) -> _ => Err(format!("{url}: {}", ctx.err().unwrap())),
    }
}

fn main() {
    goro::run(|| {
        let start = Instant::now();
        let (g, ctx) = Group::with_context(&context::background());
        let urls = [
            ("https://go.dev", 10),
            ("https://bad.example", 0),
            ("https://slow.example", 2_000),
            ("https://slower.example", 5_000),
            ("https://rust-lang.org", 3),
        ];
        for (url, ms) in urls {
            let ctx = ctx.clone();
            g.go(move || match fetch(&ctx, url, Duration::from_millis(ms)) {
                Ok(n) => {
                    println!("  fetched {url} ({n} bytes)");
                    Ok(())
                }
                Err(e) => {
                    println!("  {e}");
                    Err(e)
                }
            });
        }
        match g.wait() {
            Ok(()) => println!("all fetched"),
            Err(e) => println!("fetch failed: {e} (after {:?}, not 5 s)", start.elapsed()),
        }

        let g: Group<String> = Group::new();
        g.set_limit(3);
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        for _ in 0..20 {
            let (running, most) = (running.clone(), most.clone());
            g.go(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                goro::time::sleep(Duration::from_millis(2));
                running.fetch_sub(1, Ordering::SeqCst);
                Ok(())
            });
        }
        g.wait().unwrap();
        println!(
            "20 jobs with set_limit(3): at most {} ran at once",
            most.load(Ordering::SeqCst)
        );
    });
}
