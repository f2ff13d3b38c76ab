//! Notes on the function's filesystem, with `std::fs` only (no KV).
//!
//! Input: one command or an array of commands (run in order; the first failure fails the whole
//! invocation, so none of its effects commit). Output: a JSON array with one result per command.
//!
//! ```json
//! {"cmd": "add",    "topic": "work", "title": "todo", "text": "buy milk\n"}   // mkdir -p notes/work, append
//! {"cmd": "read",   "topic": "work", "title": "todo"}
//! {"cmd": "rename", "topic": "work", "title": "todo", "to": "done"}
//! {"cmd": "list"}                                                           // topics
//! {"cmd": "list",   "topic": "work"}                                        // notes of a topic
//! {"cmd": "delete", "topic": "work", "title": "done"}  // remove_file; the topic dir goes when empty
//! {"cmd": "delete", "topic": "work"}                   // remove_dir (must be empty)
//! ```
//!
//! Notes live in `$NOTES_ROOT/<topic>/<title>.txt` (`NOTES_ROOT` from the manifest's `[env]`,
//! default `notes`). Names are `[A-Za-z0-9_-]{1,64}`. Listings are sorted by name, so the output
//! is deterministic whatever order the filesystem returns.

use std::fs;
use std::io::Write;
use std::path::PathBuf;

use nexus_sdk::serde_json::{json, Value};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case", deny_unknown_fields)]
enum Command {
    Add {
        topic: String,
        title: String,
        text: String,
    },
    Read {
        topic: String,
        title: String,
    },
    Rename {
        topic: String,
        title: String,
        to: String,
    },
    List {
        topic: Option<String>,
    },
    Delete {
        topic: String,
        title: Option<String>,
    },
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Input {
    One(Command),
    Many(Vec<Command>),
}

fn root() -> PathBuf {
    PathBuf::from(std::env::var("NOTES_ROOT").unwrap_or_else(|_| "notes".into()))
}

fn check_name(kind: &str, name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid {kind} {name:?}: use [A-Za-z0-9_-]{{1,64}}"
        ))
    }
}

fn topic_dir(topic: &str) -> Result<PathBuf, String> {
    check_name("topic", topic)?;
    Ok(root().join(topic))
}

fn note_path(topic: &str, title: &str) -> Result<PathBuf, String> {
    check_name("title", title)?;
    Ok(topic_dir(topic)?.join(format!("{title}.txt")))
}

/// Sorted entry names of a directory (files with `.txt` stripped when `notes`).
fn sorted_names(dir: &PathBuf, notes: bool) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(names),
        Err(e) => return Err(format!("read_dir {}: {e}", dir.display())),
    };
    for entry in entries {
        let entry = entry.map_err(|e| format!("read_dir {}: {e}", dir.display()))?;
        let is_dir = entry.file_type().map_err(|e| e.to_string())?.is_dir();
        let name = entry.file_name().to_string_lossy().into_owned();
        match (notes, is_dir) {
            (true, false) => names.push(name.strip_suffix(".txt").unwrap_or(&name).to_owned()),
            (false, true) => names.push(name),
            _ => {}
        }
    }
    names.sort();
    Ok(names)
}

fn run(cmd: Command) -> Result<Value, String> {
    match cmd {
        Command::Add { topic, title, text } => {
            let dir = topic_dir(&topic)?;
            fs::create_dir_all(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
            let path = note_path(&topic, &title)?;
            let mut file = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| format!("open {}: {e}", path.display()))?;
            file.write_all(text.as_bytes())
                .map_err(|e| format!("write {}: {e}", path.display()))?;
            drop(file);
            let size = fs::metadata(&path).map_err(|e| e.to_string())?.len();
            Ok(json!({"added": format!("{topic}/{title}"), "bytes": size}))
        }
        Command::Read { topic, title } => {
            let path = note_path(&topic, &title)?;
            let text =
                fs::read_to_string(&path).map_err(|e| format!("read {topic}/{title}: {e}"))?;
            Ok(json!({"note": format!("{topic}/{title}"), "text": text}))
        }
        Command::Rename { topic, title, to } => {
            let from = note_path(&topic, &title)?;
            let dest = note_path(&topic, &to)?;
            if dest.exists() {
                return Err(format!("rename: {topic}/{to} already exists"));
            }
            fs::rename(&from, &dest).map_err(|e| format!("rename {topic}/{title}: {e}"))?;
            Ok(json!({"renamed": format!("{topic}/{title}"), "to": format!("{topic}/{to}")}))
        }
        Command::List { topic: None } => Ok(json!({"topics": sorted_names(&root(), false)?})),
        Command::List { topic: Some(topic) } => {
            let notes = sorted_names(&topic_dir(&topic)?, true)?;
            Ok(json!({"topic": topic, "notes": notes}))
        }
        Command::Delete {
            topic,
            title: Some(title),
        } => {
            let path = note_path(&topic, &title)?;
            fs::remove_file(&path).map_err(|e| format!("delete {topic}/{title}: {e}"))?;
            let dir = topic_dir(&topic)?;
            let topic_removed = sorted_names(&dir, true)?.is_empty()
                && fs::read_dir(&dir)
                    .map_err(|e| e.to_string())?
                    .next()
                    .is_none();
            if topic_removed {
                fs::remove_dir(&dir).map_err(|e| format!("rmdir {topic}: {e}"))?;
            }
            Ok(json!({"deleted": format!("{topic}/{title}"), "topic_removed": topic_removed}))
        }
        Command::Delete { topic, title: None } => {
            let dir = topic_dir(&topic)?;
            fs::remove_dir(&dir).map_err(|e| format!("rmdir {topic}: {e}"))?;
            Ok(json!({"deleted": topic}))
        }
    }
}

fn handle(input: Input) -> Result<Vec<Value>, String> {
    let cmds = match input {
        Input::One(cmd) => vec![cmd],
        Input::Many(cmds) => cmds,
    };
    cmds.into_iter().map(run).collect()
}

nexus_sdk::entry!(handle);
