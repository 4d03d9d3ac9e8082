//! *Concurrency in Go*, chapter 3, "Pool": reusing values that are
//! expensive to make.
//!
//! The Go originals (abridged):
//!
//! ```go
//! myPool := &sync.Pool{
//!     New: func() interface{} {
//!         fmt.Println("Creating new instance.")
//!         return struct{}{}
//!     },
//! }
//! myPool.Get()
//! instance := myPool.Get()
//! myPool.Put(instance)
//! myPool.Get()
//! ```
//!
//! ```go
//! var numCalcsCreated int
//! calcPool := &sync.Pool{
//!     New: func() interface{} {
//!         numCalcsCreated += 1
//!         mem := make([]byte, 1024)
//!         return &mem
//!     },
//! }
//! // Seed the pool with 4KB
//! calcPool.Put(calcPool.New()) // ... four times
//!
//! const numWorkers = 1024 * 1024
//! var wg sync.WaitGroup
//! wg.Add(numWorkers)
//! for i := numWorkers; i > 0; i-- {
//!     go func() {
//!         defer wg.Done()
//!         mem := calcPool.Get().(*[]byte)
//!         defer calcPool.Put(mem)
//!         // Assume something interesting, but quick is being done with
//!         // this memory.
//!     }()
//! }
//! wg.Wait()
//! fmt.Printf("%d calculators were created.", numCalcsCreated)
//! ```
//!
//! ```go
//! func connectToService() interface{} {
//!     time.Sleep(1 * time.Second)
//!     return struct{}{}
//! }
//! func warmServiceConnCache() *sync.Pool {
//!     p := &sync.Pool{New: connectToService}
//!     for i := 0; i < 10; i++ {
//!         p.Put(p.New())
//!     }
//!     return p
//! }
//! // ... a network daemon that, per request, does
//! //     svcConn := connPool.Get(); /* answer */; connPool.Put(svcConn)
//! ```
//!
//! The daemon here serves requests from a loop instead of a TCP socket
//! (the network is not the point), and a connection costs 50 ms instead of
//! a second. Serving 1000 requests makes no connection beyond the ten warm
//! ones; without the pool every request would pay the 50 ms.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use goro::sync::{Pool, WaitGroup};

static CALCS_CREATED: AtomicUsize = AtomicUsize::new(0);
static CONNECTIONS_MADE: AtomicUsize = AtomicUsize::new(0);

struct ServiceConn(usize);

fn connect_to_service() -> ServiceConn {
    goro::time::sleep(Duration::from_millis(50));
    ServiceConn(CONNECTIONS_MADE.fetch_add(1, Ordering::Relaxed))
}

fn warm_service_conn_cache() -> Pool<ServiceConn> {
    let p = Pool::new(connect_to_service);
    // Connect concurrently: ten coroutines, one connection each.
    let conns: Vec<_> = (0..10).map(|_| goro::go!(connect_to_service)).collect();
    for c in conns {
        p.put(c.join().unwrap());
    }
    p
}

fn main() {
    goro::run(|| {
        // Get, get, put, get: two instances are created.
        struct Instance; // Go's struct{}{}
        let my_pool = Pool::new(|| {
            println!("Creating new instance.");
            Instance
        });
        my_pool.get();
        let instance = my_pool.get();
        my_pool.put(instance);
        my_pool.get();

        // Many short-lived workers share a few buffers.
        let calc_pool = Pool::new(|| {
            CALCS_CREATED.fetch_add(1, Ordering::Relaxed);
            vec![0u8; 1024]
        });
        for _ in 0..4 {
            calc_pool.put(vec![0u8; 1024]);
        }
        const NUM_WORKERS: usize = 100_000;
        let wg = WaitGroup::new();
        for _ in 0..NUM_WORKERS {
            let calc_pool = calc_pool.clone();
            wg.go(move || {
                let mem = calc_pool.get();
                // Something interesting, but quick, with this memory.
                std::hint::black_box(&mem);
                calc_pool.put(mem);
            });
        }
        wg.wait();
        println!(
            "{} calculators were created for {NUM_WORKERS} workers.",
            CALCS_CREATED.load(Ordering::Relaxed)
        );

        // The connection daemon.
        let t = Instant::now();
        let conn_pool = warm_service_conn_cache();
        println!("Warmed ten connections in {:.0?}.", t.elapsed());
        let t = Instant::now();
        for _request in 0..1000 {
            let svc_conn = conn_pool.get();
            std::hint::black_box(svc_conn.0); // answer the request
            conn_pool.put(svc_conn);
        }
        println!(
            "Served 1000 requests in {:.1?} with {} connections made in total.",
            t.elapsed(),
            CONNECTIONS_MADE.load(Ordering::Relaxed)
        );
    });
}
