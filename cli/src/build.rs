//! `nexus build`: compiles a function project to a `wasm32-wasi(p1)` module.
//!
//! The language is detected from the project directory (`Cargo.toml` → Rust, `go.mod` → Go,
//! `Makefile` or `*.c` → C). The result is copied to `out_dir/<name>.wasm` and the manifest to
//! `out_dir/<name>.toml`, where `<name>` is the manifest's (`nexus.toml`) name, else the Cargo
//! package name, else the directory name.
//!
//! The toolchain routes need Debian packages only (`deploy/install-deps.sh`); they match
//! `deploy/guest-build.sh` (keep the two in sync):
//!
//! * Rust: Debian's `/usr/bin/cargo` + `/usr/bin/rustc` with `RUSTC_BOOTSTRAP=1`,
//!   `-Zbuild-std=std,panic_abort` (std from `rust-web-src`), linker `wasm-ld`, rustflags
//!   `-C link-self-contained=no -L /usr/lib/wasm32-wasi -C link-arg=/usr/lib/wasm32-wasi/crt1-command.o`
//!   (wasi-libc). Everything is passed on the command line / environment, so projects need no
//!   `.cargo/config.toml`. The target dir is shared by all guest builds (std is built once):
//!   `$NEXUS_GUEST_TARGET_DIR`, else `$CARGO_TARGET_DIR/guest-build`, else
//!   `~/.cache/nexus-target/guest-build`.
//! * C: `clang --target=wasm32-wasi --sysroot=/usr -O2` (headers `/usr/include/wasm32-wasi`,
//!   libs `/usr/lib/wasm32-wasi`), linked by `wasm-ld`; with a `Makefile`, `make CC=clang
//!   CFLAGS=... LDFLAGS=... OUT=<file>` and the Makefile must write the module to `$(OUT)`.
//! * Go: `GOOS=wasip1 GOARCH=wasm go build -trimpath` (Go ≥ 1.21).

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{anyhow, bail, Context, Result};

/// The wasm target of Rust guests.
pub const RUST_TARGET: &str = "wasm32-wasip1";
/// Where Debian's wasi-libc lives.
pub const WASI_LIBC_DIR: &str = "/usr/lib/wasm32-wasi";
/// Debian's Rust toolchain (rustc-web / cargo-web); rustup's may come first in PATH.
pub const DEBIAN_CARGO: &str = "/usr/bin/cargo";
pub const DEBIAN_RUSTC: &str = "/usr/bin/rustc";
/// Std sources for `-Zbuild-std` (rust-web-src).
pub const RUST_STD_SRC: &str = "/usr/lib/rustlib/src/rust/library";
/// Rustflags of the Rust route.
pub const RUST_FLAGS: &[&str] = &[
    "-C",
    "link-self-contained=no",
    "-L",
    WASI_LIBC_DIR,
    "-C",
    "link-arg=/usr/lib/wasm32-wasi/crt1-command.o",
];
/// Compiler flags of the C route.
pub const C_FLAGS: &[&str] = &[
    "--target=wasm32-wasi",
    "--sysroot=/usr",
    "-O2",
    "-Wall",
    "-Wextra",
];
/// Linker flags of the C route.
pub const C_LDFLAGS: &[&str] = &["-Wl,--strip-debug"];

/// A guest language, detected from the files of a project directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Rust,
    Go,
    C,
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Language::Rust => "Rust",
            Language::Go => "Go",
            Language::C => "C",
        })
    }
}

/// Detects the language of `project_dir`: `Cargo.toml` → Rust, `go.mod` → Go,
/// `Makefile` / `*.c` / `src/*.c` → C.
pub fn detect_language(project_dir: &Path) -> Result<Language> {
    if !project_dir.is_dir() {
        bail!("{} is not a directory", project_dir.display());
    }
    if project_dir.join("Cargo.toml").is_file() {
        return Ok(Language::Rust);
    }
    if project_dir.join("go.mod").is_file() {
        return Ok(Language::Go);
    }
    if project_dir.join("Makefile").is_file() || !c_sources(project_dir)?.is_empty() {
        return Ok(Language::C);
    }
    bail!(
        "cannot tell the language of {}: expected Cargo.toml (Rust), go.mod (Go), or a Makefile / *.c files (C)",
        project_dir.display()
    )
}

/// `*.c` in the project directory and in `src/`, sorted (deterministic command lines).
fn c_sources(project_dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for dir in [project_dir.to_path_buf(), project_dir.join("src")] {
        if !dir.is_dir() {
            continue;
        }
        for entry in fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
            let path = entry?.path();
            if path.extension() == Some(OsStr::new("c")) && path.is_file() {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The function name: `nexus.toml`'s `name` (the manifest is validated), else the Cargo
/// package name, else the directory name.
fn function_name(project_dir: &Path) -> Result<(String, Option<nexus_manifest::Manifest>)> {
    let manifest_path = project_dir.join("nexus.toml");
    if manifest_path.is_file() {
        let text = fs::read_to_string(&manifest_path)
            .with_context(|| format!("reading {}", manifest_path.display()))?;
        let manifest = nexus_manifest::Manifest::from_toml_str(&text)
            .with_context(|| format!("in {}", manifest_path.display()))?;
        return Ok((manifest.name.clone(), Some(manifest)));
    }
    if let Some(name) = cargo_package_name(project_dir) {
        return Ok((name, None));
    }
    let dir = project_dir
        .canonicalize()
        .unwrap_or_else(|_| project_dir.to_path_buf());
    let name = dir.file_name().and_then(OsStr::to_str).ok_or_else(|| {
        anyhow!(
            "cannot derive a function name from {}",
            project_dir.display()
        )
    })?;
    Ok((name.to_owned(), None))
}

/// `[package] name` of `Cargo.toml`, by a minimal line scan (no TOML dependency).
fn cargo_package_name(project_dir: &Path) -> Option<String> {
    let text = fs::read_to_string(project_dir.join("Cargo.toml")).ok()?;
    let mut in_package = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package {
            if let Some(rest) = line.strip_prefix("name") {
                let value = rest.trim_start().strip_prefix('=')?.trim();
                return Some(value.trim_matches('"').to_owned());
            }
        }
    }
    None
}

/// Builds the project in `project_dir` (release) and writes `out_dir/<name>.wasm` and
/// `out_dir/<name>.toml`. Returns the path of the `.wasm`.
pub fn build(project_dir: &Path, out_dir: &Path) -> Result<PathBuf> {
    let language = detect_language(project_dir)?;
    let (name, manifest) = function_name(project_dir)?;
    if manifest.is_none() {
        nexus_manifest::validate_name(&name).with_context(|| {
            format!(
                "no nexus.toml in {}; the fallback name is not a valid function name",
                project_dir.display()
            )
        })?;
    }
    fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let wasm_out = out_dir.join(format!("{name}.wasm"));
    let tmp_out = out_dir.join(format!(".{name}.wasm.partial"));

    match language {
        Language::Rust => {
            let artifact = build_rust(project_dir, &name)?;
            fs::copy(&artifact, &tmp_out)
                .with_context(|| format!("copying {}", artifact.display()))?;
        }
        Language::Go => build_go(project_dir, &tmp_out)?,
        Language::C => build_c(project_dir, &tmp_out)?,
    }
    let bytes = fs::read(&tmp_out).with_context(|| format!("reading {}", tmp_out.display()))?;
    if !bytes.starts_with(b"\0asm") {
        let _ = fs::remove_file(&tmp_out);
        bail!(
            "the {language} build of {} did not produce a wasm module",
            project_dir.display()
        );
    }
    fs::rename(&tmp_out, &wasm_out).with_context(|| format!("writing {}", wasm_out.display()))?;

    let toml_out = out_dir.join(format!("{name}.toml"));
    let manifest_text = match manifest {
        Some(_) => fs::read_to_string(project_dir.join("nexus.toml"))?,
        None => format!("name = \"{name}\"\nversion = \"0.1.0\"\n"),
    };
    fs::write(&toml_out, manifest_text)
        .with_context(|| format!("writing {}", toml_out.display()))?;
    Ok(wasm_out)
}

/// Runs a prepared command, turning "not found" into an install hint.
fn run(mut cmd: Command, tool: &str, package_hint: &str) -> Result<std::process::Output> {
    let output = cmd.stderr(Stdio::inherit()).output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            anyhow!("{tool} not found: run deploy/install-deps.sh ({package_hint})")
        } else {
            anyhow!("running {tool}: {e}")
        }
    })?;
    if !output.status.success() {
        bail!("{tool} failed ({})", output.status);
    }
    Ok(output)
}

fn require_file(path: &str, package: &str) -> Result<()> {
    if Path::new(path).exists() {
        Ok(())
    } else {
        bail!("{path} not found: run deploy/install-deps.sh ({package})")
    }
}

/// `which`: whether `tool` is an executable in PATH.
fn in_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
}

fn guest_target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("NEXUS_GUEST_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir).join("guest-build");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".cache/nexus-target/guest-build")
}

fn build_rust(project_dir: &Path, name: &str) -> Result<PathBuf> {
    require_file(DEBIAN_CARGO, "cargo-web")?;
    require_file(DEBIAN_RUSTC, "rustc-web")?;
    require_file(RUST_STD_SRC, "rust-web-src")?;
    require_file("/usr/lib/wasm32-wasi/crt1-command.o", "wasi-libc")?;
    if !in_path("wasm-ld") {
        bail!("wasm-ld not found: run deploy/install-deps.sh (lld)");
    }
    let mut cmd = Command::new(DEBIAN_CARGO);
    cmd.args([
        "build",
        "--release",
        "--target",
        RUST_TARGET,
        "-Zbuild-std=std,panic_abort",
    ])
    .arg("--target-dir")
    .arg(guest_target_dir())
    .arg("--manifest-path")
    .arg(project_dir.join("Cargo.toml"))
    .arg("--message-format=json-render-diagnostics")
    // Our flags win over anything in the caller's environment (e.g. when run by `cargo run`).
    .env_remove("RUSTFLAGS")
    .env_remove("RUSTUP_TOOLCHAIN")
    .env_remove("CARGO_BUILD_TARGET")
    .env("RUSTC", DEBIAN_RUSTC)
    .env("RUSTDOC", "/usr/bin/rustdoc")
    .env("RUSTC_BOOTSTRAP", "1")
    .env("CARGO_ENCODED_RUSTFLAGS", RUST_FLAGS.join("\x1f"))
    .env("CARGO_TARGET_WASM32_WASIP1_LINKER", "wasm-ld")
    .stdout(Stdio::piped());
    let output = run(cmd, "cargo (Debian, /usr/bin/cargo)", "cargo-web")
        .with_context(|| format!("building the Rust project {}", project_dir.display()))?;
    rust_artifact(&String::from_utf8_lossy(&output.stdout), name)
}

/// Picks the `.wasm` binary from cargo's JSON messages: the bin named like the function,
/// else the only bin.
fn rust_artifact(messages: &str, name: &str) -> Result<PathBuf> {
    let normalize = |s: &str| s.replace('_', "-");
    let mut bins: Vec<(String, PathBuf)> = Vec::new();
    for line in messages.lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        let is_bin = msg["target"]["kind"]
            .as_array()
            .is_some_and(|kinds| kinds.iter().any(|k| k == "bin"));
        let Some(exe) = msg["executable"].as_str() else {
            continue;
        };
        if is_bin && exe.ends_with(".wasm") {
            let target = msg["target"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            bins.push((target, PathBuf::from(exe)));
        }
    }
    if let Some((_, path)) = bins.iter().find(|(t, _)| normalize(t) == normalize(name)) {
        return Ok(path.clone());
    }
    match bins.len() {
        1 => Ok(bins.remove(0).1),
        0 => bail!(
            "cargo produced no wasm binary (does the package have a `fn main` binary target?)"
        ),
        _ => bail!(
            "several binary targets ({}); name one of them like the function ({name})",
            bins.iter()
                .map(|(t, _)| t.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn build_go(project_dir: &Path, out: &Path) -> Result<()> {
    let go = if in_path("go") {
        PathBuf::from("go")
    } else if Path::new("/usr/local/go/bin/go").is_file() {
        PathBuf::from("/usr/local/go/bin/go")
    } else {
        bail!("go not found: install Go >= 1.21 (see deploy/install-deps.sh)");
    };
    let mut cmd = Command::new(go);
    cmd.current_dir(project_dir)
        .args(["build", "-trimpath", "-o"])
        .arg(out)
        .arg(".")
        .env("GOOS", "wasip1")
        .env("GOARCH", "wasm")
        .env("CGO_ENABLED", "0")
        .env("GOTOOLCHAIN", "local");
    run(cmd, "go", "Go >= 1.21")
        .with_context(|| format!("building the Go project {}", project_dir.display()))?;
    Ok(())
}

fn build_c(project_dir: &Path, out: &Path) -> Result<()> {
    if !in_path("clang") {
        bail!("clang not found: run deploy/install-deps.sh (clang, libclang-rt-dev-wasm32)");
    }
    if !in_path("wasm-ld") {
        bail!("wasm-ld not found: run deploy/install-deps.sh (lld)");
    }
    require_file("/usr/lib/wasm32-wasi/libc.a", "wasi-libc")?;
    let mut cmd;
    if project_dir.join("Makefile").is_file() {
        cmd = Command::new("make");
        cmd.arg("-C")
            .arg(project_dir)
            .arg("CC=clang")
            .arg(format!("CFLAGS={}", C_FLAGS.join(" ")))
            .arg(format!("LDFLAGS={}", C_LDFLAGS.join(" ")))
            .arg(format!("OUT={}", out.display()));
        run(cmd, "make", "make")
            .with_context(|| format!("building the C project {}", project_dir.display()))?;
        if !out.is_file() {
            bail!(
                "the Makefile of {} must write the module to $(OUT)",
                project_dir.display()
            );
        }
        return Ok(());
    }
    cmd = Command::new("clang");
    cmd.args(C_FLAGS);
    let include = project_dir.join("include");
    if include.is_dir() {
        cmd.arg("-I").arg(include);
    }
    cmd.arg("-o")
        .arg(out)
        .args(c_sources(project_dir)?)
        .args(C_LDFLAGS);
    run(cmd, "clang", "clang")
        .with_context(|| format!("building the C project {}", project_dir.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(files: &[&str]) -> PathBuf {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "nexus-build-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        for file in files {
            let path = dir.join(file);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, "").unwrap();
        }
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn detects_languages() {
        assert_eq!(
            detect_language(&project(&["Cargo.toml", "src/main.rs"])).unwrap(),
            Language::Rust
        );
        assert_eq!(
            detect_language(&project(&["go.mod", "main.go"])).unwrap(),
            Language::Go
        );
        assert_eq!(detect_language(&project(&["main.c"])).unwrap(), Language::C);
        assert_eq!(
            detect_language(&project(&["src/a.c", "include/a.h"])).unwrap(),
            Language::C
        );
        assert_eq!(
            detect_language(&project(&["Makefile"])).unwrap(),
            Language::C
        );
        // Cargo.toml wins over stray C files (e.g. a build.rs compiling C).
        assert_eq!(
            detect_language(&project(&["Cargo.toml", "c/x.c", "x.c"])).unwrap(),
            Language::Rust
        );
    }

    #[test]
    fn detection_errors_are_clear() {
        let err = detect_language(&project(&["README.md", "main.h"]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot tell the language"), "{err}");
        let err = detect_language(Path::new("/nonexistent/nexus"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a directory"), "{err}");
    }

    #[test]
    fn names_from_manifest_cargo_or_dir() {
        let dir = project(&[]);
        fs::write(
            dir.join("Cargo.toml"),
            "[package]\nname = \"my-fn\"\nversion = \"0.1.0\"\n",
        )
        .unwrap();
        assert_eq!(function_name(&dir).unwrap().0, "my-fn");
        fs::write(
            dir.join("nexus.toml"),
            "name = \"other\"\nversion = \"1.0.0\"\n",
        )
        .unwrap();
        assert_eq!(function_name(&dir).unwrap().0, "other");
        fs::write(
            dir.join("nexus.toml"),
            "name = \"Bad\"\nversion = \"1.0.0\"\n",
        )
        .unwrap();
        assert!(format!("{:#}", function_name(&dir).unwrap_err()).contains("invalid function name"));
        let dir = project(&["main.c"]);
        assert!(function_name(&dir)
            .unwrap()
            .0
            .starts_with("nexus-build-test-"));
    }

    #[test]
    fn picks_the_wasm_artifact() {
        let msgs = r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"nexus_sdk"},"executable":null}
{"reason":"compiler-artifact","target":{"kind":["bin"],"name":"counter"},"executable":"/t/wasm32-wasip1/release/counter.wasm"}
{"reason":"build-finished","success":true}"#;
        assert_eq!(
            rust_artifact(msgs, "anything").unwrap(),
            PathBuf::from("/t/wasm32-wasip1/release/counter.wasm")
        );
        let two = format!(
            "{msgs}\n{}",
            r#"{"reason":"compiler-artifact","target":{"kind":["bin"],"name":"tool"},"executable":"/t/tool.wasm"}"#
        );
        assert_eq!(
            rust_artifact(&two, "tool").unwrap(),
            PathBuf::from("/t/tool.wasm")
        );
        assert!(rust_artifact(&two, "x").is_err());
        assert!(rust_artifact("", "x").is_err());
    }
}
