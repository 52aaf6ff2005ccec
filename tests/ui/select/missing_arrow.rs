async fn f(rx: gorun::Receiver<u32>) {
    gorun::select! {
        recv(rx) => println!("got one"),
    }
}

fn main() {}
