#[gorun::main(flavor = "single")]
async fn main() {}
