async fn f(rx: gorun::Receiver<u32>) {
    gorun::select! {
        recv(rx) -> v => println!("{v:?}"),
        else => {}
        else => {}
    }
}

fn main() {}
