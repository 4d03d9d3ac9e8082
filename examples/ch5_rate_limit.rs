//! *Concurrency in Go*, chapter 5, "Rate Limiting": an API connection that
//! allows two calls per second *and* ten per minute, with the book's
//! `MultiLimiter` over two token buckets (`golang.org/x/time/rate`).
//!
//! The Go original (abridged):
//!
//! ```go
//! func Open() *APIConnection {
//!     secondLimit := rate.NewLimiter(Per(2, time.Second), 1)
//!     minuteLimit := rate.NewLimiter(Per(10, time.Minute), 10)
//!     return &APIConnection{
//!         rateLimiter: MultiLimiter(secondLimit, minuteLimit),
//!     }
//! }
//! func (a *APIConnection) ReadFile(ctx context.Context) error {
//!     if err := a.rateLimiter.Wait(ctx); err != nil {
//!         return err
//!     }
//!     // Pretend we do work here
//!     return nil
//! }
//! // main: 10 goroutines call ReadFile, 10 call ResolveAddress, each logs
//! // the time it got through.
//! ```
//!
//! The first ten calls go through at the per-second rate (the per-minute
//! bucket starts with ten tokens); the next ten wait for the per-minute
//! bucket. Time is scaled so a "second" is 16 ms and a "minute" 960 ms: the
//! program runs in about one second. A last call with a short deadline
//! shows `wait` refusing at once when the token would come too late.

use std::time::{Duration, Instant};

use goro::context::{self, Context};
use goro::rate::{Error, Limit, Limiter, MultiLimiter};
use goro::sync::WaitGroup;

const SECOND: Duration = Duration::from_millis(16);
const MINUTE: Duration = Duration::from_millis(960);

/// Go's `Per(eventCount, duration)`.
fn per(events: u32, d: Duration) -> Limit {
    Limit::every(d / events)
}

struct ApiConnection {
    rate_limiter: MultiLimiter,
}

impl ApiConnection {
    fn open() -> ApiConnection {
        let second_limit = Limiter::new(per(2, SECOND), 1);
        let minute_limit = Limiter::new(per(10, MINUTE), 10);
        ApiConnection {
            rate_limiter: MultiLimiter::new(vec![Box::new(second_limit), Box::new(minute_limit)]),
        }
    }

    fn read_file(&self, ctx: &Context) -> Result<(), Error> {
        self.rate_limiter.wait(ctx)
        // Pretend we do work here
    }

    fn resolve_address(&self, ctx: &Context) -> Result<(), Error> {
        self.rate_limiter.wait(ctx)
    }
}

fn main() {
    goro::run(|| {
        let start = Instant::now();
        let api = std::sync::Arc::new(ApiConnection::open());
        let wg = WaitGroup::new();
        for i in 0..20 {
            let api = api.clone();
            wg.go(move || {
                let ctx = context::background();
                let (what, r) = if i < 10 {
                    ("ReadFile", api.read_file(&ctx))
                } else {
                    ("ResolveAddress", api.resolve_address(&ctx))
                };
                match r {
                    Ok(()) => println!("{:>5} ms  {what}", start.elapsed().as_millis()),
                    Err(e) => println!("cannot {what}: {e}"),
                }
            });
        }
        wg.wait();
        let (ctx, _cancel) = context::with_timeout(&context::background(), SECOND);
        match api.read_file(&ctx) {
            Ok(()) => println!("one more ReadFile got through"),
            Err(e) => println!("one more ReadFile with a deadline of one \"second\": {e}"),
        }
        println!("Done.");
    });
}
