//! `async fn main` returning a `Result` with a non-`Send` error type.

#[gorun::main(procs = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (tx, rx) = gorun::chan::<u32>(0);
    gorun::go(async move { tx.send(7).await.unwrap() });
    let v = rx.recv().await.ok_or("closed")?;
    let n: u32 = "35".parse()?;
    assert_eq!(v + n, 42);
    Ok(())
}
