//! The C guest toolchain: a guest compiles to an ELF the loader accepts; a broken one is a
//! clear error naming the compiler and the source.

mod common;

use std::path::Path;

use nexus_zkvm_bridge::toolchain::{compile_c_guest, ToolchainError};
use nexus_zkvm_bridge::Program;

#[test]
fn c_guests_compile_to_loadable_elfs_and_errors_name_the_source() {
    let runtime = Path::new(env!("CARGO_MANIFEST_DIR")).join("guests");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("echo");
    compile_c_guest(&runtime, &[runtime.join("echo.c")], &out).unwrap();
    Program::load(&std::fs::read(&out).unwrap()).expect("the loader accepts the guest");

    let broken = dir.path().join("broken.c");
    std::fs::write(&broken, "int main(void) { return undeclared; }\n").unwrap();
    let err = compile_c_guest(
        &runtime,
        std::slice::from_ref(&broken),
        &dir.path().join("b"),
    )
    .unwrap_err();
    assert!(matches!(err, ToolchainError::Failed { .. }), "{err}");
    assert!(err.to_string().contains("broken.c"), "{err}");
}
