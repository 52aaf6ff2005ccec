//! gorun-macros: `select!`, `#[gorun::main]`, `#[gorun::test]` (see issue 5).
