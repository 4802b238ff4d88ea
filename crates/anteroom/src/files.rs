//! The data folder and its files are the practice's owner's alone.
//!
//! Folders we create are 0700 and the database, its `-wal` and `-shm` and backups 0600
//! whatever the umask (the store creates those files; the key file is made 0600 by
//! `crypto`). Folders and files that were there before are left as they are, since their
//! owner may have reasons, but a database open to other users is named in a warning with the
//! command that closes it.

use std::{
    os::unix::fs::{DirBuilderExt, PermissionsExt},
    path::{Path, PathBuf},
};

use anyhow::Context;

/// Create `dir` (and any missing parents) readable by its owner only, whatever the umask.
/// A folder that already exists is left as it is.
pub fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    // The umask can only take bits away from 0700; this makes the mode exactly 0700.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("cannot make {} private", dir.display()))
}

/// The folder a database lives in (`.` for a bare file name).
pub fn folder_of(database: &Path) -> PathBuf {
    match database.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `path` quoted for a POSIX shell.
fn quoted(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

/// A warning to log when the database, its `-wal`/`-shm` or its folder can be used by anyone
/// but their owner (group or others have any permission), with the command that fixes it.
pub fn open_to_others(database: &Path) -> Option<String> {
    let folder = folder_of(database);
    let mut files = vec![database.to_path_buf()];
    for suffix in ["-wal", "-shm"] {
        let mut name = database.as_os_str().to_owned();
        name.push(suffix);
        files.push(PathBuf::from(name));
    }
    let open: Vec<String> = std::iter::once(&folder)
        .chain(&files)
        .filter_map(|path| {
            let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
            (mode & 0o077 != 0).then(|| format!("{} (mode {mode:o})", path.display()))
        })
        .collect();
    if open.is_empty() {
        return None;
    }
    Some(format!(
        "other users on this machine can get at the practice's data: {}. Make it yours alone \
         with: chmod 700 {} && chmod 600 {}*",
        open.join(", "),
        quoted(&folder),
        quoted(database),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_folders_are_private_and_an_open_database_is_named_with_its_fix() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("practice").join("data");
        create_private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&root.path().join("practice")), 0o700, "parents too");

        let database = dir.join("anteroom.db");
        std::fs::write(&database, b"").unwrap();
        std::fs::set_permissions(&database, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(open_to_others(&database), None, "private: nothing to say");

        std::fs::set_permissions(&database, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let warning = open_to_others(&database).expect("a warning");
        assert!(warning.contains("anteroom.db (mode 644)"), "{warning}");
        assert!(warning.contains("data (mode 755)"), "{warning}");
        let fix = format!(
            "chmod 700 '{}' && chmod 600 '{}'*",
            dir.display(),
            database.display()
        );
        assert!(warning.ends_with(&fix), "{warning}");

        // An existing folder is left as it is.
        create_private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o755);
    }
}
