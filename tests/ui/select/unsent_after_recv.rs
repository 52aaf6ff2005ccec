fn main() {
    let (_tx, rx) = gorun::chan::<u32>(1);
    let _ = async move {
        gorun::select! {
            recv(rx) -> v => drop(v),
            unsent(v) => drop(v),
        }
    };
}
