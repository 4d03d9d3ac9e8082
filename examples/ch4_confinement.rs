//! *Concurrency in Go*, chapter 4, "Confinement": data only ever reachable
//! from one concurrent process needs no synchronisation. Ad hoc
//! confinement is a convention; lexical confinement lets the compiler
//! enforce it.
//!
//! The Go originals:
//!
//! ```go
//! // Ad hoc: by convention only loopData touches `data`.
//! data := make([]int, 4)
//! loopData := func(handleData chan<- int) {
//!     defer close(handleData)
//!     for i := range data {
//!         handleData <- data[i]
//!     }
//! }
//! handleData := make(chan int)
//! go loopData(handleData)
//! for num := range handleData {
//!     fmt.Println(num)
//! }
//!
//! // Lexical: each goroutine gets its own slice of the data.
//! printData := func(wg *sync.WaitGroup, data []byte) {
//!     defer wg.Done()
//!     var buff bytes.Buffer
//!     for _, b := range data {
//!         fmt.Fprintf(&buff, "%c", b)
//!     }
//!     fmt.Println(buff.String())
//! }
//! var wg sync.WaitGroup
//! wg.Add(2)
//! data := []byte("golang")
//! go printData(&wg, data[:3])
//! go printData(&wg, data[3:])
//! wg.Wait()
//! ```
//!
//! In Rust the ad hoc convention becomes a lexical rule: `data` is *moved*
//! into the coroutine, so after `go!` nothing else can name it — the
//! compiler rejects a second user. For `printData`, the two halves of a
//! `&'static [u8]` are disjoint shared borrows, and each coroutine builds
//! its own `String` buffer: no lock anywhere.

use goro::chan::{Sender, chan};
use goro::sync::WaitGroup;

fn main() {
    goro::run(|| {
        println!("ad hoc (here: lexical) confinement by move:");
        let data = vec![0, 1, 2, 3];
        let loop_data = move |handle_data: Sender<i32>| {
            // `data` lives in this closure alone; `handle_data` is dropped
            // (closing the channel) when it returns.
            for d in &data {
                handle_data.send(*d).unwrap();
            }
        };
        // `data` was moved: using it here would not compile.
        let (tx, handle_data) = chan::<i32>(0);
        goro::go!(move || loop_data(tx));
        let got: Vec<i32> = handle_data.iter().inspect(|n| println!("  {n}")).collect();
        assert_eq!(got, [0, 1, 2, 3]);

        println!("lexical confinement of two halves:");
        let data: &'static [u8] = b"golang";
        let (front, back) = data.split_at(3);
        let wg = WaitGroup::new();
        let halves: Vec<_> = [front, back]
            .into_iter()
            .map(|half| {
                wg.go(move || {
                    let mut buff = String::new(); // confined to this coroutine
                    for &b in half {
                        buff.push(b as char);
                    }
                    println!("  {buff}");
                    buff
                })
            })
            .collect();
        wg.wait();
        let mut parts: Vec<String> = halves.into_iter().map(|h| h.join().unwrap()).collect();
        parts.sort();
        assert_eq!(parts, ["ang", "gol"]);
        println!("no mutex, no channel for the data itself: each piece had one owner");
    });
}
