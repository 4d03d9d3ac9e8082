//! *Concurrency in Go*, chapter 4, "Error Handling": a concurrent process
//! sends its errors along with its results, to the part of the program
//! that has the context to decide what to do with them.
//!
//! The Go original:
//!
//! ```go
//! type Result struct {
//!     Error    error
//!     Response *http.Response
//! }
//! checkStatus := func(done <-chan interface{}, urls ...string) <-chan Result {
//!     results := make(chan Result)
//!     go func() {
//!         defer close(results)
//!         for _, url := range urls {
//!             var result Result
//!             resp, err := http.Get(url)
//!             result = Result{Error: err, Response: resp}
//!             select {
//!             case <-done:
//!                 return
//!             case results <- result:
//!             }
//!         }
//!     }()
//!     return results
//! }
//! done := make(chan interface{})
//! defer close(done)
//! errCount := 0
//! urls := []string{"a", "https://www.google.com", "b", "c", "d"}
//! for result := range checkStatus(done, urls...) {
//!     if result.Error != nil {
//!         fmt.Printf("error: %v\n", result.Error)
//!         errCount++
//!         if errCount >= 3 {
//!             fmt.Println("Too many errors, breaking!")
//!             break
//!         }
//!         continue
//!     }
//!     fmt.Printf("Response: %v\n", result.Response.Status)
//! }
//! ```
//!
//! Rust's `Result<Response, Error>` *is* the book's result struct: the
//! value and the error travel together, and the consumer cannot forget to
//! look at the error. The HTTP request is simulated (no network here): a
//! URL without a scheme fails as Go's client does.

use goro::chan::{Receiver, chan};
use goro::select;

#[derive(Debug)]
struct Response {
    status: &'static str,
}

#[derive(Debug)]
struct GetError(String);

impl std::fmt::Display for GetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A stand-in for `http.Get`.
fn http_get(url: &str) -> Result<Response, GetError> {
    if url.starts_with("https://") || url.starts_with("http://") {
        Ok(Response { status: "200 OK" })
    } else {
        Err(GetError(format!(
            "Get \"{url}\": unsupported protocol scheme \"\""
        )))
    }
}

fn check_status(
    done: Receiver<()>,
    urls: Vec<&'static str>,
) -> Receiver<Result<Response, GetError>> {
    let (tx, results) = chan(0);
    goro::go!(move || {
        for url in urls {
            let result = http_get(url);
            select! {
                recv(done) -> _ => return,
                send(tx, result) -> r => if r.is_err() { return },
            }
        }
    });
    results
}

fn main() {
    goro::run(|| {
        let (_stop, done) = chan::<()>(0); // closed when main returns
        let mut err_count = 0;
        let mut ok_count = 0;
        let urls = vec!["a", "https://www.google.com", "b", "c", "d"];
        for result in check_status(done, urls).iter() {
            match result {
                Err(e) => {
                    println!("error: {e}");
                    err_count += 1;
                    if err_count >= 3 {
                        println!("Too many errors, breaking!");
                        break;
                    }
                }
                Ok(resp) => {
                    println!("Response: {}", resp.status);
                    ok_count += 1;
                }
            }
        }
        assert_eq!((ok_count, err_count), (1, 3));
    });
}
