async fn f(rx: gorun::Receiver<u32>) {
    gorun::select! {
        recv(rx) -> v, if => println!("{v:?}"),
    }
}

fn main() {}
