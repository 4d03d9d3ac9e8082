use goro_chan::chan;
use std::time::Instant;
fn main() {
    let n: usize = 5_000_000;
    for _ in 0..3 {
        let (tx, rx) = chan::<usize>(1024);
        let t = Instant::now();
        let p = std::thread::spawn(move || { for i in 0..n { tx.send(i).unwrap(); } });
        let c = std::thread::spawn(move || rx.iter().fold(0usize, |a, v| a.wrapping_add(v)));
        p.join().unwrap(); c.join().unwrap();
        println!("spsc threads {:.2} Mmsg/s", n as f64 / t.elapsed().as_secs_f64() / 1e6);
    }
}
