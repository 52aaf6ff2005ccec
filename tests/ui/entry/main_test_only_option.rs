#[gorun::main(leak_check = false)]
async fn main() {}
