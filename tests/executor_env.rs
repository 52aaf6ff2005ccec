//! `GOMAXPROCS` is honoured (its own test binary: it sets the process environment).

#[test]
fn gomaxprocs_environment_variable() {
    // SAFETY-free in edition 2021; no other test runs in this binary.
    std::env::set_var("GOMAXPROCS", "3");
    let rt = gorun::Runtime::new().unwrap();
    assert_eq!(rt.procs(), 3);
    // An explicit procs() wins over the environment.
    let rt = gorun::Runtime::builder().procs(1).build().unwrap();
    assert_eq!(rt.procs(), 1);
    std::env::set_var("GOMAXPROCS", "lots");
    let err = gorun::Runtime::new().unwrap_err();
    assert!(matches!(err, gorun::BuildError::InvalidGomaxprocs(_)));
    assert!(err.to_string().contains("GOMAXPROCS=\"lots\""), "{err}");
    std::env::set_var("GOMAXPROCS", "0");
    assert!(gorun::Runtime::new().is_err());
    std::env::remove_var("GOMAXPROCS");
}
