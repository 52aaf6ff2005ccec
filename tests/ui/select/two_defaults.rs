async fn f(rx: gorun::Receiver<u32>) {
    gorun::select! {
        recv(rx) -> v => println!("{v:?}"),
        default => {}
        default => {}
    }
}

fn main() {}
