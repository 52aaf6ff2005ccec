async fn f(rx: gorun::Receiver<u32>) {
    gorun::select! {
        rx.recv() => {}
    }
}

fn main() {}
