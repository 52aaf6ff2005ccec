#[gorun::main(max_threads = 4)]
async fn main() {}
