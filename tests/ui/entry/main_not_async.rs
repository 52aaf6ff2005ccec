#[gorun::main]
fn main() {}
