//! *Concurrency in Go*, chapter 4, "Pipelines": stages that take data in,
//! operate on it and pass it on — batch stages, stream stages, channel
//! stages stopped by `done`, and the generators `repeat`, `repeatFn` and
//! `take`.
//!
//! The Go originals (abridged):
//!
//! ```go
//! // Batch: each stage takes and returns a whole slice.
//! multiply := func(values []int, multiplier int) []int { ... }
//! add := func(values []int, additive int) []int { ... }
//! for _, v := range multiply(add(multiply(ints, 2), 1), 2) { fmt.Println(v) }
//!
//! // Channels: each stage is a goroutine between two channels.
//! generator := func(done <-chan interface{}, integers ...int) <-chan int { ... }
//! multiply := func(done <-chan interface{}, intStream <-chan int, multiplier int) <-chan int {
//!     multipliedStream := make(chan int)
//!     go func() {
//!         defer close(multipliedStream)
//!         for i := range intStream {
//!             select {
//!             case <-done:
//!                 return
//!             case multipliedStream <- i * multiplier:
//!             }
//!         }
//!     }()
//!     return multipliedStream
//! }
//! done := make(chan interface{})
//! defer close(done)
//! intStream := generator(done, 1, 2, 3, 4)
//! pipeline := multiply(done, add(done, multiply(done, intStream, 2), 1), 2)
//! for v := range pipeline { fmt.Println(v) }
//!
//! // Generators
//! for num := range take(done, repeat(done, 1), 10) { fmt.Printf("%v ", num) }
//! rand := func() interface{} { return rand.Int() }
//! for num := range take(done, repeatFn(done, rand), 10) { fmt.Println(num) }
//! ```
//!
//! `goro::pattern` has `generator`, `repeat`, `repeat_fn` and `take`; they
//! are generic, so the book's `toString` type-assertion stage is not
//! needed. The `multiply` / `add` stages are written out below in the
//! book's shape.

use goro::chan::{Receiver, chan};
use goro::pattern::{generator, repeat, repeat_fn, take};
use goro::select;

fn multiply_batch(values: &[i64], multiplier: i64) -> Vec<i64> {
    values.iter().map(|v| v * multiplier).collect()
}

fn add_batch(values: &[i64], additive: i64) -> Vec<i64> {
    values.iter().map(|v| v + additive).collect()
}

/// A stream stage: one coroutine between two channels, stopped by `done`.
fn stage(
    done: &Receiver<()>,
    input: Receiver<i64>,
    op: impl Fn(i64) -> i64 + Send + 'static,
) -> Receiver<i64> {
    let done = done.clone();
    let (tx, out) = chan(0);
    goro::go!(move || {
        for i in input.iter() {
            select! {
                recv(done) -> _ => return,
                send(tx, op(i)) -> r => if r.is_err() { return },
            }
        }
    });
    out
}

fn main() {
    goro::run(|| {
        let ints = [1, 2, 3, 4];

        let batch = multiply_batch(&add_batch(&multiply_batch(&ints, 2), 1), 2);
        println!("batch:    {batch:?}");

        let stream: Vec<i64> = ints.iter().map(|v| ((v * 2) + 1) * 2).collect();
        println!("stream:   {stream:?}");

        let (_stop, done) = chan::<()>(0); // closed when main returns
        let int_stream = generator(&done, ints);
        let doubled = stage(&done, int_stream, |i| i * 2);
        let plus_one = stage(&done, doubled, |i| i + 1);
        let pipeline = stage(&done, plus_one, |i| i * 2);
        let piped: Vec<i64> = pipeline.iter().collect();
        println!("channels: {piped:?}");
        assert_eq!(batch, stream);
        assert_eq!(batch, piped);

        let ones: Vec<i32> = take(&done, repeat(&done, [1]), 10).iter().collect();
        println!("take(repeat(1), 10): {ones:?}");
        assert_eq!(ones, [1; 10]);

        let mut x = 88172645463325252u64; // xorshift: a stand-in for rand.Int
        let rand = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let randoms: Vec<u64> = take(&done, repeat_fn(&done, rand), 10).iter().collect();
        println!("take(repeat_fn(rand), 10):");
        for r in &randoms {
            println!("  {r}");
        }
        assert_eq!(randoms.len(), 10);
    });
}
