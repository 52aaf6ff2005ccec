async fn f(rx: gorun::Receiver<u32>) {
    gorun::select! {
        receive(rx) -> v => println!("{v:?}"),
    }
}

fn main() {}
