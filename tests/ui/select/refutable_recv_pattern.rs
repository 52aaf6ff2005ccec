async fn f(rx: gorun::Receiver<u32>) -> u32 {
    gorun::select! {
        recv(rx) -> Some(v) => v,
    }
}

fn main() {}
