async fn f(tx: gorun::Sender<u32>) {
    gorun::select! {
        send(tx) -> res => res.unwrap(),
    }
}

fn main() {}
