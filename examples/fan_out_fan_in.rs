//! Fan-out and fan-in: several workers read the same input channel (fan-out),
//! each writes its own output channel, and `merge` joins those channels into one
//! (fan-in): one forwarding goroutine per input, and a `WaitGroup` that closes the
//! merged channel when every forwarder is done.
//!
//! Run it with `cargo run --release --example fan_out_fan_in`; test it with
//! `cargo test --release --example fan_out_fan_in`.

use std::time::Instant;

use gorun::sync::WaitGroup;
use gorun::{chan, Receiver};

/// Fan-in: everything received on any of `inputs`, on one channel that closes
/// once every input is closed and drained (Go's `merge(cs ...<-chan int)`).
fn merge<T: Send + 'static>(inputs: Vec<Receiver<T>>) -> Receiver<T> {
    let (out_tx, out_rx) = chan(inputs.len());
    let wg = WaitGroup::new();
    for input in inputs {
        let out_tx = out_tx.clone();
        wg.go(async move {
            while let Some(v) = input.recv().await {
                if out_tx.send(v).await.is_err() {
                    return; // the merged channel was abandoned
                }
            }
        });
    }
    // go func() { wg.Wait(); close(out) }()
    gorun::go(async move {
        wg.wait().await;
        out_tx.close();
    });
    out_rx
}

/// The source: sends `1..=n` and closes.
fn source(n: u64) -> Receiver<u64> {
    let (tx, rx) = chan(16);
    gorun::go(async move {
        for v in 1..=n {
            tx.send(v).await.expect("the workers are alive");
        }
    });
    rx
}

/// A worker: squares what it reads from the shared input, tagged with its id.
fn square_worker(id: usize, input: Receiver<u64>) -> Receiver<(usize, u64)> {
    let (tx, rx) = chan(16);
    gorun::go(async move {
        while let Some(v) = input.recv().await {
            if tx.send((id, v * v)).await.is_err() {
                return;
            }
        }
    });
    rx
}

/// Fans `1..=n` out to `workers` squarers and back in; returns the sum of the
/// squares, how many values came back, and how many each worker handled.
async fn fan_out_fan_in(n: u64, workers: usize) -> (u64, u64, Vec<u64>) {
    let input = source(n);
    let outputs = (0..workers)
        .map(|id| square_worker(id, input.clone()))
        .collect();
    drop(input);
    let merged = merge(outputs);
    let (mut sum, mut count, mut per_worker) = (0, 0, vec![0; workers]);
    while let Some((id, sq)) = merged.recv().await {
        sum += sq;
        count += 1;
        per_worker[id] += 1;
    }
    (sum, count, per_worker)
}

fn sum_of_squares(n: u64) -> u64 {
    n * (n + 1) * (2 * n + 1) / 6
}

#[gorun::main]
async fn main() {
    let (n, workers) = (200_000, 4);
    let start = Instant::now();
    let (sum, count, per_worker) = fan_out_fan_in(n, workers).await;
    println!(
        "{n} values fanned out to {workers} workers and merged in {:?}: sum {sum}, per worker {per_worker:?}",
        start.elapsed()
    );
    assert_eq!((sum, count), (sum_of_squares(n), n));
    assert_eq!(per_worker.iter().sum::<u64>(), n);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[gorun::test(procs = 4)]
    async fn every_value_comes_back_once() {
        let (sum, count, per_worker) = fan_out_fan_in(5_000, 3).await;
        assert_eq!((sum, count), (sum_of_squares(5_000), 5_000));
        assert_eq!(per_worker.len(), 3);
    }

    #[gorun::test]
    async fn merge_waits_for_inputs_of_different_lengths() {
        let inputs: Vec<_> = [0usize, 1, 10, 100]
            .into_iter()
            .map(|len| {
                let (tx, rx) = chan(0);
                gorun::go(async move {
                    for i in 0..len {
                        tx.send((len, i)).await.unwrap();
                    }
                });
                rx
            })
            .collect();
        let merged = merge(inputs);
        let mut got = Vec::new();
        while let Some(v) = merged.recv().await {
            got.push(v);
        }
        got.sort();
        let mut want: Vec<_> = [1usize, 10, 100]
            .into_iter()
            .flat_map(|len| (0..len).map(move |i| (len, i)))
            .collect();
        want.sort();
        assert_eq!(got, want);
    }

    #[gorun::test]
    async fn merging_nothing_closes_at_once() {
        let merged = merge(Vec::<Receiver<u8>>::new());
        assert_eq!(merged.recv().await, None);
    }

    #[gorun::test]
    async fn dropping_the_merged_channel_stops_the_forwarders() {
        let (tx, rx) = chan::<u32>(0);
        let merged = merge(vec![rx]);
        drop(merged);
        // The forwarder's send fails now, so it returns, and so does the producer.
        let producer = gorun::go(async move { while tx.send(1).await.is_ok() {} });
        producer.await.unwrap();
    }
}
