//! `nexus new`: a starter function project that `nexus build` builds as is.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// Languages `nexus new` can start a project in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    Rust,
    C,
    Go,
}

/// Where the guest SDK lives in this checkout (the SDK is not on crates.io yet).
fn default_sdk_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../functions/sdk")
}

fn manifest(name: &str) -> String {
    format!(
        "name = \"{name}\"\nversion = \"0.1.0\"\n\n[limits]\nfuel = 10_000_000\n\n[env]\n\n[triggers]\n"
    )
}

const RUST_MAIN: &str = r#"//! A Nexus Function: JSON in on stdin, JSON out on stdout, state in KV and files.

use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Input {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Serialize)]
struct Output {
    greeting: String,
    calls: u64,
}

fn handle(input: Input) -> Result<Output, String> {
    let calls = nexus_sdk::kv::get(b"calls")
        .map_err(|e| e.to_string())?
        .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()))
        .unwrap_or(0)
        + 1;
    nexus_sdk::kv::set(b"calls", &calls.to_le_bytes()).map_err(|e| e.to_string())?;
    let greeting = format!("hello, {}", input.name.as_deref().unwrap_or("world"));
    std::fs::write("last-greeting.txt", &greeting).map_err(|e| e.to_string())?;
    Ok(Output { greeting, calls })
}

nexus_sdk::entry!(handle);
"#;

const C_MAIN: &str = r#"/* A Nexus Function in C: stdin is the input, stdout the output, files persist. */
#include <stdio.h>

int main(void) {
    char buf[256];
    size_t n = fread(buf, 1, sizeof buf - 1, stdin);
    buf[n] = 0;
    FILE *f = fopen("last-input.txt", "w");
    if (!f) { perror("fopen"); return 1; }
    fputs(buf, f);
    fclose(f);
    printf("hello, %s\n", n ? buf : "world");
    return 0;
}
"#;

const GO_MAIN: &str = r#"// A Nexus Function in Go (GOOS=wasip1): stdin is the input, stdout the output.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	input, _ := io.ReadAll(os.Stdin)
	if err := os.WriteFile("last-input.txt", input, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("hello, %s\n", input)
}
"#;

/// Creates `dir` (which must not exist) holding a `name` project in `lang`.
pub fn create(name: &str, lang: Lang, dir: &Path, sdk: Option<&Path>) -> Result<()> {
    nexus_manifest::validate_name(name).map_err(|e| anyhow::anyhow!("{e}"))?;
    if dir.exists() {
        bail!("{} already exists", dir.display());
    }
    let write = |rel: &str, text: &str| -> Result<()> {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
    };
    write("nexus.toml", &manifest(name))?;
    match lang {
        Lang::Rust => {
            let sdk = sdk.map(Path::to_path_buf).unwrap_or_else(default_sdk_path);
            let sdk = sdk.canonicalize().with_context(|| {
                format!(
                    "the guest SDK is not at {} (pass --sdk PATH)",
                    sdk.display()
                )
            })?;
            write(
                "Cargo.toml",
                &format!(
                    "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n\
                     # Built for wasm32-wasip1 by `nexus build`, standalone.\n[workspace]\n\n\
                     [dependencies]\nnexus-sdk = {{ path = \"{}\" }}\nserde = {{ version = \"1\", features = [\"derive\"] }}\n\n\
                     [profile.release]\npanic = \"abort\"\nopt-level = \"s\"\n",
                    sdk.display()
                ),
            )?;
            write("src/main.rs", RUST_MAIN)?;
        }
        Lang::C => write("main.c", C_MAIN)?,
        Lang::Go => {
            write("go.mod", &format!("module {name}\n\ngo 1.21\n"))?;
            write("main.go", GO_MAIN)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_projects_are_detected_by_nexus_build() {
        let root = tempfile::tempdir().unwrap();
        for (lang, expected) in [(Lang::Rust, "Rust"), (Lang::C, "C"), (Lang::Go, "Go")] {
            let dir = root.path().join(format!("{lang:?}").to_lowercase());
            create("hello", lang, &dir, None).unwrap();
            let detected = crate::build::detect_language(&dir).unwrap();
            assert_eq!(format!("{detected:?}"), expected);
            let text = std::fs::read_to_string(dir.join("nexus.toml")).unwrap();
            nexus_manifest::Manifest::from_toml_str(&text).unwrap();
        }
    }

    #[test]
    fn bad_names_and_existing_directories_are_refused() {
        let root = tempfile::tempdir().unwrap();
        assert!(create("Bad Name", Lang::C, &root.path().join("x"), None).is_err());
        assert!(create("ok", Lang::C, root.path(), None).is_err());
    }
}
