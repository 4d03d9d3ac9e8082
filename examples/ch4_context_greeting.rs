//! *Concurrency in Go*, chapter 4, "The context Package": the greeting and
//! farewell program with a deadline.
//!
//! The Go original (abridged):
//!
//! ```go
//! func main() {
//!     var wg sync.WaitGroup
//!     ctx, cancel := context.WithCancel(context.Background())
//!     defer cancel()
//!     wg.Add(1)
//!     go func() {
//!         defer wg.Done()
//!         if err := printGreeting(ctx); err != nil {
//!             fmt.Printf("cannot print greeting: %v\n", err)
//!             cancel()
//!         }
//!     }()
//!     wg.Add(1)
//!     go func() {
//!         defer wg.Done()
//!         if err := printFarewell(ctx); err != nil {
//!             fmt.Printf("cannot print farewell: %v\n", err)
//!         }
//!     }()
//!     wg.Wait()
//! }
//!
//! func genGreeting(ctx context.Context) (string, error) {
//!     ctx, cancel := context.WithTimeout(ctx, 1*time.Second)
//!     defer cancel()
//!     switch locale, err := locale(ctx); {
//!     case err != nil:
//!         return "", err
//!     case locale == "EN/US":
//!         return "hello", nil
//!     }
//!     return "", fmt.Errorf("unsupported locale")
//! }
//!
//! func locale(ctx context.Context) (string, error) {
//!     if deadline, ok := ctx.Deadline(); ok {
//!         if deadline.Sub(time.Now().Add(1*time.Minute)) <= 0 {
//!             return "", context.DeadlineExceeded
//!         }
//!     }
//!     select {
//!     case <-ctx.Done():
//!         return "", ctx.Err()
//!     case <-time.After(1 * time.Minute):
//!     }
//!     return "EN/US", nil
//! }
//! ```
//!
//! `genGreeting` gives the locale lookup one second; the lookup takes a
//! minute, so the greeting fails with "context deadline exceeded", and its
//! caller cancels the shared context, which ends the farewell's lookup with
//! "context canceled". The program runs it twice: first with the plain
//! `locale` (the greeting waits out its deadline), then with the book's
//! improved `locale`, which checks the deadline first and fails at once
//! because the lookup could not finish in time. A minute is 200 ms here
//! and a second 20 ms.

use std::time::{Duration, Instant};

use goro::context::{self, Context};
use goro::select;
use goro::sync::WaitGroup;

const LOOKUP: Duration = Duration::from_millis(200); // "1 minute"
const GREETING_BUDGET: Duration = Duration::from_millis(20); // "1 second"

fn locale(ctx: &Context, check_deadline: bool) -> Result<&'static str, context::Error> {
    if check_deadline {
        if let Some(deadline) = ctx.deadline() {
            if deadline <= Instant::now() + LOOKUP {
                return Err(context::Error::DeadlineExceeded);
            }
        }
    }
    select! {
        recv(ctx.done()) -> _ => return Err(ctx.err().unwrap()),
        recv(goro::time::after(LOOKUP)) -> _ => {}
    }
    Ok("EN/US")
}

fn gen_greeting(ctx: &Context, check: bool) -> Result<&'static str, String> {
    let (ctx, cancel) = context::with_timeout(ctx, GREETING_BUDGET);
    let r = match locale(&ctx, check) {
        Err(e) => Err(e.to_string()),
        Ok("EN/US") => Ok("hello"),
        Ok(_) => Err("unsupported locale".to_string()),
    };
    cancel.cancel(); // defer cancel()
    r
}

fn gen_farewell(ctx: &Context, check: bool) -> Result<&'static str, String> {
    match locale(ctx, check) {
        Err(e) => Err(e.to_string()),
        Ok("EN/US") => Ok("goodbye"),
        Ok(_) => Err("unsupported locale".to_string()),
    }
}

fn run(check_deadline: bool) {
    let start = Instant::now();
    let (ctx, cancel) = context::with_cancel(&context::background());
    let wg = WaitGroup::new();
    {
        let (ctx, cancel) = (ctx.clone(), cancel.clone());
        wg.go(move || match gen_greeting(&ctx, check_deadline) {
            Ok(g) => println!("{g} world!"),
            Err(e) => {
                println!("cannot print greeting: {e}");
                cancel.cancel();
            }
        });
    }
    wg.go(move || match gen_farewell(&ctx, check_deadline) {
        Ok(f) => println!("{f} world!"),
        Err(e) => println!("cannot print farewell: {e}"),
    });
    wg.wait();
    cancel.cancel(); // defer cancel()
    println!("  (took {:?})", start.elapsed());
}

fn main() {
    goro::run(|| {
        println!("locale waits for its lookup or the context:");
        run(false);
        println!("locale checks the deadline before starting a lookup:");
        run(true);
    });
}
