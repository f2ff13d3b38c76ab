//! Filesystem tests: errno.

use super::*;

#[test]
fn errno_numbers_match_wasi_preview1() {
    assert_eq!(FsError::NotFound.errno(), 44);
    assert_eq!(FsError::Exists.errno(), 20);
    assert_eq!(FsError::NotDir.errno(), 54);
    assert_eq!(FsError::IsDir.errno(), 31);
    assert_eq!(FsError::NotEmpty.errno(), 55);
    assert_eq!(FsError::Invalid("x").errno(), 28);
    assert_eq!(FsError::NameTooLong.errno(), 37);
    assert_eq!(FsError::NotCapable.errno(), 76);
    assert_eq!(FsError::FileTooBig.errno(), 22);
    assert_eq!(FsError::QuotaExceeded.errno(), 19);
    assert_eq!(FsError::BadInode(9).errno(), 8);
    assert_eq!(FsError::Corrupt("x".into()).errno(), 29);
    assert_eq!(errno::NOSPC, 51);
    assert_eq!(errno::PERM, 63);
}
