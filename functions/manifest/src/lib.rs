//! The Nexus Function manifest, `nexus.toml`.
//!
//! A manifest sits beside a function's sources and travels with its wasm module at deploy time.
//! It names the function, and declares the limits it asks for, the triggers it subscribes to,
//! and the environment (`args`, `env`) its WASI process sees.
//!
//! ```toml
//! name = "counter"
//! version = "0.1.0"
//! args = ["--verbose"]
//!
//! [limits]            # all optional; absent = the platform maximum
//! fuel = 10_000_000
//! memory_pages = 32
//! max_output_bytes = 1024
//!
//! [triggers]          # all optional; parsed and validated, served by later work
//! eth_blocks = false
//! every_n_blocks = 0  # 0 = no timer
//!
//! [env]
//! GREETING = "hello"
//! ```
//!
//! This crate owns the format only: parsing ([`Manifest::from_toml_str`]), self-contained
//! validation ([`Manifest::validate`], run by `from_toml_str`) and the check against the
//! platform's maxima, which the runtime passes in ([`Manifest::check_limits`]). It knows nothing
//! of the runtime. Every bound is a named constant below.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Largest accepted `nexus.toml`, in bytes.
pub const MAX_MANIFEST_BYTES: usize = 64 * 1024;
/// Longest function name.
pub const MAX_NAME_LEN: usize = 64;
/// Longest version string.
pub const MAX_VERSION_LEN: usize = 64;
/// Most `[env]` variables.
pub const MAX_ENV_VARS: usize = 64;
/// Longest `[env]` variable name.
pub const MAX_ENV_KEY_BYTES: usize = 128;
/// Longest `[env]` value.
pub const MAX_ENV_VALUE_BYTES: usize = 4096;
/// Most bytes of all `[env]` names and values together.
pub const MAX_ENV_TOTAL_BYTES: usize = 16 * 1024;
/// Most `args` entries.
pub const MAX_ARGS: usize = 64;
/// Longest single argument.
pub const MAX_ARG_BYTES: usize = 4096;
/// Most bytes of all `args` together.
pub const MAX_ARGS_TOTAL_BYTES: usize = 16 * 1024;
/// Largest `[triggers] every_n_blocks` (about a month of 1 s blocks).
pub const MAX_EVERY_N_BLOCKS: u64 = 3_000_000;

/// A parsed `nexus.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The function's name: `[a-z][a-z0-9_-]{0,63}`.
    pub name: String,
    /// Semver-like version: `MAJOR.MINOR.PATCH` with optional `-pre` and `+build` parts.
    pub version: String,
    /// Resource limits the function asks for (each at most the platform's maximum).
    #[serde(default)]
    pub limits: Limits,
    /// What invokes the function besides transactions and nested calls.
    #[serde(default)]
    pub triggers: Triggers,
    /// Environment variables of the WASI process.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Arguments of the WASI process (after `argv[0]`, which the runtime sets to the name).
    #[serde(default)]
    pub args: Vec<String>,
}

/// `[limits]`: absent fields mean "the platform maximum".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Fuel per invocation.
    pub fuel: Option<u64>,
    /// Linear-memory maximum, in 64 KiB wasm pages.
    pub memory_pages: Option<u32>,
    /// Largest single `emit_output` payload, in bytes.
    pub max_output_bytes: Option<u64>,
}

/// `[triggers]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Triggers {
    /// Invoke once per finalized Ethereum block.
    #[serde(default)]
    pub eth_blocks: bool,
    /// Invoke every N Nexus blocks; `0` disables the timer.
    #[serde(default)]
    pub every_n_blocks: u64,
}

/// The platform's maxima, supplied by the runtime (chain parameters) at check time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlatformLimits {
    pub max_fuel: u64,
    pub max_memory_pages: u32,
    pub max_output_bytes: u64,
}

/// Limits with every absent field resolved to the platform maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EffectiveLimits {
    pub fuel: u64,
    pub memory_pages: u32,
    pub max_output_bytes: u64,
}

/// Why a manifest was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest is {size} bytes; at most {max} are allowed")]
    TooLarge { size: usize, max: usize },
    #[error("invalid nexus.toml: {0}")]
    Parse(String),
    #[error("invalid function name {name:?}: {reason}")]
    InvalidName { name: String, reason: &'static str },
    #[error("invalid version {version:?}: {reason}")]
    InvalidVersion {
        version: String,
        reason: &'static str,
    },
    #[error("limits.{field} must be greater than 0")]
    ZeroLimit { field: &'static str },
    #[error("limits.{field} = {value} exceeds the platform maximum {max}")]
    LimitExceeded {
        field: &'static str,
        value: u64,
        max: u64,
    },
    #[error("triggers.every_n_blocks = {value} exceeds the maximum {max}")]
    TriggerPeriodTooLarge { value: u64, max: u64 },
    #[error("invalid env variable name {key:?}: {reason}")]
    InvalidEnvKey { key: String, reason: &'static str },
    #[error("env variable {key:?}: {reason}")]
    InvalidEnvValue { key: String, reason: &'static str },
    #[error("args[{index}]: {reason}")]
    InvalidArg { index: usize, reason: &'static str },
    #[error("{what}: {actual} exceeds the maximum {max}")]
    TooMuch {
        what: &'static str,
        actual: usize,
        max: usize,
    },
}

impl Manifest {
    /// Parses and validates ([`Manifest::validate`]) a `nexus.toml`.
    pub fn from_toml_str(text: &str) -> Result<Self, ManifestError> {
        if text.len() > MAX_MANIFEST_BYTES {
            return Err(ManifestError::TooLarge {
                size: text.len(),
                max: MAX_MANIFEST_BYTES,
            });
        }
        let manifest: Manifest =
            toml::from_str(text).map_err(|e| ManifestError::Parse(e.to_string()))?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// Serializes back to TOML (deterministic: env is a sorted map).
    pub fn to_toml_string(&self) -> String {
        toml::to_string(self).expect("a manifest always serializes")
    }

    /// Checks everything that does not depend on the platform: name, version, zero limits,
    /// trigger bounds, env and args sizes and characters.
    pub fn validate(&self) -> Result<(), ManifestError> {
        validate_name(&self.name)?;
        validate_version(&self.version)?;
        let zero = |field| Err(ManifestError::ZeroLimit { field });
        if self.limits.fuel == Some(0) {
            return zero("fuel");
        }
        if self.limits.memory_pages == Some(0) {
            return zero("memory_pages");
        }
        if self.limits.max_output_bytes == Some(0) {
            return zero("max_output_bytes");
        }
        if self.triggers.every_n_blocks > MAX_EVERY_N_BLOCKS {
            return Err(ManifestError::TriggerPeriodTooLarge {
                value: self.triggers.every_n_blocks,
                max: MAX_EVERY_N_BLOCKS,
            });
        }
        self.validate_env()?;
        self.validate_args()
    }

    /// Checks the requested limits against the platform maxima (and runs [`Manifest::validate`]).
    /// Returns the effective limits, absent fields resolved to the maxima.
    pub fn check_limits(
        &self,
        platform: &PlatformLimits,
    ) -> Result<EffectiveLimits, ManifestError> {
        self.validate()?;
        fn pick(field: &'static str, asked: Option<u64>, max: u64) -> Result<u64, ManifestError> {
            match asked {
                Some(value) if value > max => {
                    Err(ManifestError::LimitExceeded { field, value, max })
                }
                Some(value) => Ok(value),
                None => Ok(max),
            }
        }
        let memory_pages = pick(
            "memory_pages",
            self.limits.memory_pages.map(u64::from),
            u64::from(platform.max_memory_pages),
        )?;
        Ok(EffectiveLimits {
            fuel: pick("fuel", self.limits.fuel, platform.max_fuel)?,
            memory_pages: u32::try_from(memory_pages).expect("bounded by a u32 maximum"),
            max_output_bytes: pick(
                "max_output_bytes",
                self.limits.max_output_bytes,
                platform.max_output_bytes,
            )?,
        })
    }

    fn validate_env(&self) -> Result<(), ManifestError> {
        if self.env.len() > MAX_ENV_VARS {
            return Err(ManifestError::TooMuch {
                what: "number of env variables",
                actual: self.env.len(),
                max: MAX_ENV_VARS,
            });
        }
        let mut total = 0usize;
        for (key, value) in &self.env {
            let bad_key = |reason| {
                Err(ManifestError::InvalidEnvKey {
                    key: key.clone(),
                    reason,
                })
            };
            if key.is_empty() {
                return bad_key("empty");
            }
            if key.len() > MAX_ENV_KEY_BYTES {
                return bad_key("longer than MAX_ENV_KEY_BYTES (128)");
            }
            if key.contains('=') || key.contains('\0') {
                return bad_key("contains '=' or NUL");
            }
            if value.len() > MAX_ENV_VALUE_BYTES {
                return Err(ManifestError::InvalidEnvValue {
                    key: key.clone(),
                    reason: "value longer than MAX_ENV_VALUE_BYTES (4096)",
                });
            }
            if value.contains('\0') {
                return Err(ManifestError::InvalidEnvValue {
                    key: key.clone(),
                    reason: "value contains NUL",
                });
            }
            total += key.len() + value.len();
        }
        if total > MAX_ENV_TOTAL_BYTES {
            return Err(ManifestError::TooMuch {
                what: "total bytes of env",
                actual: total,
                max: MAX_ENV_TOTAL_BYTES,
            });
        }
        Ok(())
    }

    fn validate_args(&self) -> Result<(), ManifestError> {
        if self.args.len() > MAX_ARGS {
            return Err(ManifestError::TooMuch {
                what: "number of args",
                actual: self.args.len(),
                max: MAX_ARGS,
            });
        }
        let mut total = 0usize;
        for (index, arg) in self.args.iter().enumerate() {
            if arg.len() > MAX_ARG_BYTES {
                return Err(ManifestError::InvalidArg {
                    index,
                    reason: "longer than MAX_ARG_BYTES (4096)",
                });
            }
            if arg.contains('\0') {
                return Err(ManifestError::InvalidArg {
                    index,
                    reason: "contains NUL",
                });
            }
            total += arg.len();
        }
        if total > MAX_ARGS_TOTAL_BYTES {
            return Err(ManifestError::TooMuch {
                what: "total bytes of args",
                actual: total,
                max: MAX_ARGS_TOTAL_BYTES,
            });
        }
        Ok(())
    }
}

/// Validates a function name: `[a-z][a-z0-9_-]*`, 1..=[`MAX_NAME_LEN`] bytes.
pub fn validate_name(name: &str) -> Result<(), ManifestError> {
    let bad = |reason| {
        Err(ManifestError::InvalidName {
            name: name.to_owned(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("empty");
    }
    if name.len() > MAX_NAME_LEN {
        return bad("longer than 64 bytes");
    }
    if !name.as_bytes()[0].is_ascii_lowercase() {
        return bad("must start with a lowercase letter a-z");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    {
        return bad("only a-z, 0-9, '_' and '-' are allowed");
    }
    Ok(())
}

/// Validates a semver-like version: `MAJOR.MINOR.PATCH[-PRE][+BUILD]`, numeric parts without
/// leading zeros, `PRE`/`BUILD` made of `[0-9A-Za-z.-]`.
pub fn validate_version(version: &str) -> Result<(), ManifestError> {
    let bad = |reason| {
        Err(ManifestError::InvalidVersion {
            version: version.to_owned(),
            reason,
        })
    };
    if version.len() > MAX_VERSION_LEN {
        return bad("longer than 64 bytes");
    }
    let (rest, build) = match version.split_once('+') {
        Some((r, b)) => (r, Some(b)),
        None => (version, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (rest, None),
    };
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() != 3 {
        return bad("expected MAJOR.MINOR.PATCH");
    }
    for part in parts {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return bad("MAJOR, MINOR and PATCH must be numbers");
        }
        if part.len() > 1 && part.starts_with('0') {
            return bad("numbers must not have leading zeros");
        }
        if part.parse::<u64>().is_err() {
            return bad("number too large");
        }
    }
    for extra in [pre, build].into_iter().flatten() {
        if extra.is_empty()
            || extra.split('.').any(str::is_empty)
            || !extra
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        {
            return bad("pre-release and build parts must be dot-separated [0-9A-Za-z-]+");
        }
    }
    Ok(())
}

impl fmt::Display for EffectiveLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "fuel={} memory_pages={} max_output_bytes={}",
            self.fuel, self.memory_pages, self.max_output_bytes
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"
name = "counter"
version = "0.1.0-alpha.1+build.5"
args = ["a", "b"]

[limits]
fuel = 1_000_000
memory_pages = 16

[triggers]
eth_blocks = true
every_n_blocks = 10

[env]
GREETING = "hello"
EMPTY = ""
"#;

    const PLATFORM: PlatformLimits = PlatformLimits {
        max_fuel: 10_000_000,
        max_memory_pages: 256,
        max_output_bytes: 4096,
    };

    fn err(text: &str) -> String {
        Manifest::from_toml_str(text).unwrap_err().to_string()
    }

    #[test]
    fn parses_full_manifest() {
        let m = Manifest::from_toml_str(FULL).unwrap();
        assert_eq!(m.name, "counter");
        assert_eq!(m.limits.fuel, Some(1_000_000));
        assert_eq!(m.limits.max_output_bytes, None);
        assert!(m.triggers.eth_blocks);
        assert_eq!(m.triggers.every_n_blocks, 10);
        assert_eq!(m.env["GREETING"], "hello");
        assert_eq!(m.args, ["a", "b"]);
        let eff = m.check_limits(&PLATFORM).unwrap();
        assert_eq!(
            eff,
            EffectiveLimits {
                fuel: 1_000_000,
                memory_pages: 16,
                max_output_bytes: 4096
            }
        );
        // Round trip.
        assert_eq!(Manifest::from_toml_str(&m.to_toml_string()).unwrap(), m);
    }

    #[test]
    fn minimal_manifest_defaults() {
        let m = Manifest::from_toml_str("name = \"a\"\nversion = \"1.2.3\"\n").unwrap();
        assert_eq!(m.limits, Limits::default());
        assert_eq!(m.triggers, Triggers::default());
        assert!(m.env.is_empty() && m.args.is_empty());
        let eff = m.check_limits(&PLATFORM).unwrap();
        assert_eq!(eff.fuel, PLATFORM.max_fuel);
        assert_eq!(eff.memory_pages, PLATFORM.max_memory_pages);
    }

    #[test]
    fn rejects_unknown_fields_everywhere() {
        assert!(err("name = \"a\"\nversion = \"1.0.0\"\nnmae = 1\n").contains("unknown field"));
        assert!(
            err("name = \"a\"\nversion = \"1.0.0\"\n[limits]\ngas = 1\n").contains("unknown field")
        );
        assert!(
            err("name = \"a\"\nversion = \"1.0.0\"\n[triggers]\ncron = 1\n")
                .contains("unknown field")
        );
        assert!(err("name = \"a\"\nversion = \"1.0.0\"\n[foo]\n").contains("unknown field"));
    }

    #[test]
    fn rejects_missing_and_mistyped_fields() {
        assert!(err("version = \"1.0.0\"\n").contains("missing field `name`"));
        assert!(err("name = \"a\"\n").contains("missing field `version`"));
        assert!(err("name = \"a\"\nversion = \"1.0.0\"\n[env]\nX = 1\n").contains("invalid"));
        assert!(
            err("name = \"a\"\nversion = \"1.0.0\"\n[limits]\nfuel = -1\n").contains("invalid")
        );
        assert!(err("not toml at all [").contains("invalid nexus.toml"));
    }

    #[test]
    fn names() {
        for ok in ["a", "counter", "my-fn_2", &"a".repeat(64)] {
            validate_name(ok).unwrap();
        }
        for bad in [
            "",
            "1abc",
            "-a",
            "_a",
            "Abc",
            "a.b",
            "a b",
            "é",
            &"a".repeat(65),
        ] {
            assert!(validate_name(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            err("name = \"Counter\"\nversion = \"1.0.0\"\n"),
            "invalid function name \"Counter\": must start with a lowercase letter a-z"
        );
    }

    #[test]
    fn versions() {
        for ok in [
            "0.0.0",
            "1.2.3",
            "10.20.30",
            "1.0.0-rc.1",
            "1.0.0+abc",
            "1.0.0-x-y.z+b.1",
        ] {
            validate_version(ok).unwrap();
        }
        for bad in [
            "",
            "1",
            "1.2",
            "1.2.3.4",
            "01.2.3",
            "a.b.c",
            "1.2.3-",
            "1.2.3+",
            "1.2.3-a..b",
            "1.2.3-a_b",
            "v1.2.3",
        ] {
            assert!(validate_version(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn limits_against_platform() {
        let m = Manifest::from_toml_str(
            "name = \"a\"\nversion = \"1.0.0\"\n[limits]\nmemory_pages = 257\n",
        )
        .unwrap();
        assert_eq!(
            m.check_limits(&PLATFORM).unwrap_err().to_string(),
            "limits.memory_pages = 257 exceeds the platform maximum 256"
        );
        let m = Manifest::from_toml_str(
            "name = \"a\"\nversion = \"1.0.0\"\n[limits]\nfuel = 10_000_001\n",
        )
        .unwrap();
        assert!(matches!(
            m.check_limits(&PLATFORM),
            Err(ManifestError::LimitExceeded { field: "fuel", .. })
        ));
        assert_eq!(
            err("name = \"a\"\nversion = \"1.0.0\"\n[limits]\nmax_output_bytes = 0\n"),
            "limits.max_output_bytes must be greater than 0"
        );
    }

    #[test]
    fn trigger_bounds() {
        assert!(
            err("name = \"a\"\nversion = \"1.0.0\"\n[triggers]\nevery_n_blocks = 3000001\n")
                .contains("every_n_blocks")
        );
    }

    #[test]
    fn env_and_args_caps() {
        let mut m = Manifest::from_toml_str("name = \"a\"\nversion = \"1.0.0\"\n").unwrap();
        m.env.insert("A=B".into(), "x".into());
        assert!(matches!(
            m.validate(),
            Err(ManifestError::InvalidEnvKey { .. })
        ));
        m.env.clear();
        m.env.insert(String::new(), "x".into());
        assert!(m.validate().is_err());
        m.env.clear();
        m.env.insert("K".into(), "v\0".into());
        assert!(matches!(
            m.validate(),
            Err(ManifestError::InvalidEnvValue { .. })
        ));
        m.env.clear();
        for i in 0..=MAX_ENV_VARS {
            m.env.insert(format!("K{i}"), String::new());
        }
        assert!(matches!(m.validate(), Err(ManifestError::TooMuch { .. })));
        m.env.clear();
        for i in 0..8 {
            m.env
                .insert(format!("K{i}"), "v".repeat(MAX_ENV_VALUE_BYTES));
        }
        assert!(m
            .validate()
            .unwrap_err()
            .to_string()
            .contains("total bytes of env"));
        m.env.clear();

        m.args = vec!["x".into(); MAX_ARGS + 1];
        assert!(m.validate().is_err());
        m.args = vec!["x".repeat(MAX_ARG_BYTES + 1)];
        assert_eq!(
            m.validate().unwrap_err().to_string(),
            "args[0]: longer than MAX_ARG_BYTES (4096)"
        );
        m.args = vec!["x".repeat(MAX_ARG_BYTES); 5];
        assert!(m.validate().is_err());
        m.args = vec!["ok".into()];
        m.validate().unwrap();
    }

    #[test]
    fn rejects_oversized_manifest() {
        let text = format!(
            "name = \"a\"\nversion = \"1.0.0\"\n# {}\n",
            "x".repeat(MAX_MANIFEST_BYTES)
        );
        assert!(matches!(
            Manifest::from_toml_str(&text),
            Err(ManifestError::TooLarge { .. })
        ));
    }
}
