#[gorun::test(flavor = "current_thread", worker_threads = 2)]
async fn t() {}

fn main() {}
