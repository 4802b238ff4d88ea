//! A backup encrypted to an age public key (issue 15): nothing of the practice readable in
//! it, no unencrypted copy left beside it, and once opened with the reference `age` tool it
//! restores into a new folder.
//!
//! Needs the `age` package (`cargo xtask test` installs it): without it this fails under CI,
//! and elsewhere says so and passes.

use std::process::Command;

use crate::cli::{self, command, mode, run};

#[test]
fn an_encrypted_backup_reveals_nothing_and_restores_once_decrypted_with_age() {
    let present = ["age", "age-keygen"].iter().all(|tool| {
        Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|out| out.status.success())
    });
    if !present {
        assert!(
            std::env::var_os("CI").is_none(),
            "the age reference tool is not installed (apt-get install age; `cargo xtask test` \
             does this)"
        );
        eprintln!("note: skipping the encrypted backup test: `age` is not installed");
        return;
    }
    let root = tempfile::tempdir().expect("temp dir");
    let data = cli::init(root.path(), "umask 022");
    let data_arg = data.to_str().expect("UTF-8");
    let identity = root.path().join("key.txt");
    let made = Command::new("age-keygen")
        .arg("-o")
        .arg(&identity)
        .output()
        .expect("run age-keygen");
    assert!(made.status.success(), "age-keygen: {made:?}");
    let public = Command::new("age-keygen")
        .arg("-y")
        .arg(&identity)
        .output()
        .expect("run age-keygen -y");
    let public = String::from_utf8(public.stdout).expect("UTF-8");
    let public = public.trim();
    assert!(public.starts_with("age1"), "{public}");

    let backups = root.path().join("backups");
    std::fs::create_dir(&backups).expect("a folder for backups");
    let backup = backups.join("monday.db.age");
    let backup_arg = backup.to_str().expect("UTF-8");

    // A key that is not an age public key is refused before anything is written.
    let refused = command(
        "umask 022",
        &[
            "backup",
            backup_arg,
            "--data-dir",
            data_arg,
            "--encrypt-to",
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5",
        ],
    )
    .output()
    .expect("run anteroom backup");
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("not an age public key: they start age1"),
        "{said}"
    );
    assert_eq!(std::fs::read_dir(&backups).expect("list").count(), 0);

    let said = run(
        "umask 022",
        &[
            "backup",
            backup_arg,
            "--data-dir",
            data_arg,
            "--encrypt-to",
            public,
        ],
        "",
    );
    assert!(said.contains("age -d -i YOUR-KEY"), "{said}");
    assert_eq!(mode(&backup), 0o600, "the encrypted backup is private");
    let names: Vec<_> = std::fs::read_dir(&backups)
        .expect("list")
        .map(|entry| entry.expect("entry").file_name())
        .collect();
    assert_eq!(
        names,
        ["monday.db.age"],
        "no unencrypted copy left beside it"
    );
    let sealed = std::fs::read(&backup).expect("read the backup");
    assert!(sealed.starts_with(b"age-encryption.org/v1\n-> X25519 "));
    for plain in [
        &b"Alex Morgan"[..],
        b"therapist@example.com",
        b"SQLite format 3",
    ] {
        assert!(
            !sealed.windows(plain.len()).any(|w| w == plain),
            "{} readable in the encrypted backup",
            String::from_utf8_lossy(plain)
        );
    }

    // The administrator's way back: age -d, then anteroom restore.
    let decrypted = root.path().join("monday.db");
    let opened = Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(&identity)
        .arg("-o")
        .arg(&decrypted)
        .arg(&backup)
        .output()
        .expect("run age -d");
    assert!(
        opened.status.success(),
        "age -d: {}",
        String::from_utf8_lossy(&opened.stderr)
    );
    let database = std::fs::read(&decrypted).expect("the decrypted backup");
    assert!(database.starts_with(b"SQLite format 3\0"));
    assert!(
        database.windows(11).any(|w| w == b"Alex Morgan"),
        "the practice's name is in the database itself"
    );
    let restored = root.path().join("restored");
    let said = run(
        "umask 022",
        &[
            "restore",
            decrypted.to_str().expect("UTF-8"),
            "--data-dir",
            restored.to_str().expect("UTF-8"),
            "--key-file",
            data.join("anteroom.key").to_str().expect("UTF-8"),
        ],
        "",
    );
    assert!(said.contains("Restored"), "{said}");
    assert!(restored.join("anteroom.db").exists());
}
