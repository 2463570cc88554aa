//! Files only the user may read: 0700 directories and 0600 files, written
//! atomically. The accounts file and the fallback password store share
//! these so neither can be written world-readable by mistake.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A file operation failed.
#[derive(Debug, thiserror::Error)]
#[error("could not {action} {path}: {source}")]
pub struct FileError {
    /// What was being done.
    pub action: &'static str,
    /// Which file.
    pub path: PathBuf,
    /// The OS error.
    #[source]
    pub source: std::io::Error,
}

/// Wrap an OS error with what was done to which file.
pub(crate) fn io_error(
    action: &'static str,
    path: &Path,
) -> impl FnOnce(std::io::Error) -> FileError {
    let path = path.to_path_buf();
    move |source| FileError {
        action,
        path,
        source,
    }
}

/// Create `dir` (and its parents) with mode 0700 where it is new.
pub(crate) fn create_private_dir(dir: &Path) -> Result<(), FileError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(io_error("create", dir))
}

/// The temporary file `path` is written to before the rename. Password
/// files are named by bare JIDs, which always hold an `@`; a name without
/// one can never be another account's file (`with_extension` would have
/// made `a@example.org`'s temporary file `a@example.tmp`, the password file
/// of another possible account).
fn temporary_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().replace('@', "%"))
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp"))
}

/// Replace `path` with `bytes` in a 0600 file: written to a temporary file,
/// synced, then renamed, so a crash never leaves half a file.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let tmp = temporary_path(path);
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).map_err(io_error("write", &tmp))?;
    file.write_all(bytes).map_err(io_error("write", &tmp))?;
    file.sync_all().map_err(io_error("sync", &tmp))?;
    fs::rename(&tmp, path).map_err(io_error("replace", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_temporary_file_is_never_another_accounts_file() {
        let file = Path::new("passwords").join("a@example.org");
        let tmp = temporary_path(&file);
        assert_eq!(tmp.parent(), file.parent());
        assert_eq!(tmp.file_name(), Some(".a%example.org.tmp".as_ref()));
    }
}
