async fn f(rx: gorun::Receiver<u32>) -> Option<u32> {
    gorun::select! {
        recv(rx) -> v => v
        default => None,
    }
}

fn main() {}
