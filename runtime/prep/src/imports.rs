//! The import whitelist: host functions a Nexus Function may import.

use crate::PrepError;

/// The WASI module implemented by the Nexus runtime itself.
pub const WASI_PREVIEW1_MODULE: &str = "wasi_snapshot_preview1";
/// The Nexus host ABI module (see `docs/host-abi.md`).
pub const NEXUS_V1_MODULE: &str = "nexus_v1";

/// Import modules a guest may import functions from.
pub const ALLOWED_IMPORT_MODULES: &[&str] = &[WASI_PREVIEW1_MODULE, NEXUS_V1_MODULE];

/// Every function of `wasi_snapshot_preview1` (sockets included: they exist and return `ENOSYS`).
pub const WASI_PREVIEW1_FUNCTIONS: &[&str] = &[
    "args_get",
    "args_sizes_get",
    "environ_get",
    "environ_sizes_get",
    "clock_res_get",
    "clock_time_get",
    "fd_advise",
    "fd_allocate",
    "fd_close",
    "fd_datasync",
    "fd_fdstat_get",
    "fd_fdstat_set_flags",
    "fd_fdstat_set_rights",
    "fd_filestat_get",
    "fd_filestat_set_size",
    "fd_filestat_set_times",
    "fd_pread",
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "fd_pwrite",
    "fd_read",
    "fd_readdir",
    "fd_renumber",
    "fd_seek",
    "fd_sync",
    "fd_tell",
    "fd_write",
    "path_create_directory",
    "path_filestat_get",
    "path_filestat_set_times",
    "path_link",
    "path_open",
    "path_readlink",
    "path_remove_directory",
    "path_rename",
    "path_symlink",
    "path_unlink_file",
    "poll_oneoff",
    "proc_exit",
    "proc_raise",
    "sched_yield",
    "random_get",
    "sock_accept",
    "sock_recv",
    "sock_send",
    "sock_shutdown",
];

/// Every function of the `nexus_v1` host ABI (`docs/host-abi.md`).
pub const NEXUS_V1_FUNCTIONS: &[&str] = &[
    "kv_get",
    "kv_set",
    "kv_delete",
    "kv_cas",
    "kv_scan",
    "emit_event",
    "emit_output",
    "caller",
    "self_name",
    "block_info",
    "call",
    "call_result",
];

/// The functions `module` provides, or `None` if the module is not allowed at all.
fn functions_of(module: &str) -> Option<&'static [&'static str]> {
    match module {
        WASI_PREVIEW1_MODULE => Some(WASI_PREVIEW1_FUNCTIONS),
        NEXUS_V1_MODULE => Some(NEXUS_V1_FUNCTIONS),
        _ => None,
    }
}

/// Whether a guest may import the function `module.name`.
pub fn is_allowed_import(module: &str, name: &str) -> bool {
    functions_of(module).is_some_and(|names| names.contains(&name))
}

/// Checks one import; `kind` is `None` for a function and the kind's name otherwise.
pub(crate) fn check_import(
    module: &str,
    name: &str,
    kind: Option<&'static str>,
) -> Result<(), PrepError> {
    let Some(names) = functions_of(module) else {
        return Err(PrepError::ImportNotAllowed {
            module: module.to_owned(),
            name: name.to_owned(),
        });
    };
    if let Some(kind) = kind {
        return Err(PrepError::ImportKindNotAllowed {
            module: module.to_owned(),
            name: name.to_owned(),
            kind,
        });
    }
    if !names.contains(&name) {
        return Err(PrepError::UnknownImport {
            module: module.to_owned(),
            name: name.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whitelist_has_every_preview1_function_and_every_nexus_v1_function() {
        assert_eq!(WASI_PREVIEW1_FUNCTIONS.len(), 46);
        assert_eq!(NEXUS_V1_FUNCTIONS.len(), 12);
        let mut all: Vec<_> = WASI_PREVIEW1_FUNCTIONS.to_vec();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), WASI_PREVIEW1_FUNCTIONS.len(), "duplicates");
    }

    #[test]
    fn known_host_functions_are_allowed_and_others_are_not() {
        assert!(is_allowed_import("wasi_snapshot_preview1", "fd_write"));
        assert!(is_allowed_import("nexus_v1", "kv_cas"));
        assert!(!is_allowed_import("nexus_v1", "fd_write"));
        assert!(!is_allowed_import("wasi_snapshot_preview1", "kv_get"));
        assert!(!is_allowed_import("env", "memory"));
        assert!(!is_allowed_import("wasi_unstable", "fd_write"));
    }
}
