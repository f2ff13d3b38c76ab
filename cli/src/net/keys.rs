//! `nexus keys`: account keys kept as hex files (mode 0600) in a key directory.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use cap_std::ambient_authority;
use cap_std::fs::Dir;
use clap::{Args, Subcommand};
use nexus_consensus::node::{read_key, write_key};
use nexus_consensus::AccountKey;

/// Longest key name.
pub const MAX_KEY_NAME_BYTES: usize = 64;
const KEY_EXTENSION: &str = ".key";

#[derive(Args, Clone, Debug)]
pub struct KeyDirArgs {
    /// Directory of named keys (default: ~/.nexus/keys).
    #[arg(long, env = "NEXUS_KEYS_DIR")]
    pub keys_dir: Option<PathBuf>,
}

impl KeyDirArgs {
    pub fn dir(&self) -> PathBuf {
        self.keys_dir
            .clone()
            .unwrap_or_else(|| super::nexus_home().join("keys"))
    }
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Create a new key and print its address.
    New {
        name: String,
        #[command(flatten)]
        dir: KeyDirArgs,
    },
    /// List keys and their addresses.
    List {
        #[command(flatten)]
        dir: KeyDirArgs,
    },
    /// Print the address of a key (a name in the key directory or a key file path).
    Show {
        key: String,
        #[command(flatten)]
        dir: KeyDirArgs,
    },
}

fn validate_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_KEY_NAME_BYTES
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !ok {
        bail!("key name `{name}` must be 1-{MAX_KEY_NAME_BYTES} characters of [A-Za-z0-9_-]");
    }
    Ok(())
}

fn open_dir(dir: &Path, create: bool) -> Result<Dir> {
    if create {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    Dir::open_ambient_dir(dir, ambient_authority())
        .with_context(|| format!("opening key directory {}", dir.display()))
}

/// A key given as a name in the key directory, or as a path to a key file.
pub fn resolve(key: &str, dir: &KeyDirArgs) -> Result<AccountKey> {
    let as_path = Path::new(key);
    if key.contains('/') || as_path.extension().is_some_and(|e| e == "key") {
        let parent = as_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let file = as_path
            .file_name()
            .and_then(|f| f.to_str())
            .context("key path has no file name")?;
        let d = open_dir(parent, false)?;
        return read_key(&d, file).with_context(|| format!("key file {key}"));
    }
    validate_name(key)?;
    let d = open_dir(&dir.dir(), false)?;
    read_key(&d, &format!("{key}{KEY_EXTENSION}")).with_context(|| {
        format!(
            "no key named `{key}` in {} (create it with `nexus keys new {key}`)",
            dir.dir().display()
        )
    })
}

pub fn keys(command: KeysCommand) -> Result<i32> {
    match command {
        KeysCommand::New { name, dir } => {
            validate_name(&name)?;
            let d = open_dir(&dir.dir(), true)?;
            let file = format!("{name}{KEY_EXTENSION}");
            if d.exists(&file) {
                bail!(
                    "a key named `{name}` already exists in {}",
                    dir.dir().display()
                );
            }
            let key = AccountKey::generate();
            write_key(&d, &file, &key)?;
            println!("{name} {}", key.address());
        }
        KeysCommand::List { dir } => {
            let path = dir.dir();
            if !path.exists() {
                return Ok(0);
            }
            let d = open_dir(&path, false)?;
            let mut names = Vec::new();
            for entry in d.entries().context("listing keys")? {
                let name = entry?.file_name();
                if let Some(n) = name.to_str().and_then(|n| n.strip_suffix(KEY_EXTENSION)) {
                    names.push(n.to_string());
                }
            }
            names.sort();
            for n in names {
                let key = read_key(&d, &format!("{n}{KEY_EXTENSION}"))?;
                println!("{n} {}", key.address());
            }
        }
        KeysCommand::Show { key, dir } => println!("{}", resolve(&key, &dir)?.address()),
    }
    Ok(0)
}
