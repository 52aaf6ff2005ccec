async fn f(tx: gorun::Sender<u32>) {
    gorun::select! {
        recv(tx) -> v => println!("{v:?}"),
    }
}

fn main() {}
