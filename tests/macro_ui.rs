//! Compile errors of `select!`, `#[gorun::main]` and `#[gorun::test]`: each file
//! in `tests/ui/` next to the `.stderr` it must produce (regenerate with
//! `TRYBUILD=overwrite cargo test --test macro_ui`, then review the diff).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/select/*.rs");
    t.compile_fail("tests/ui/entry/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
