//! Our age encryptor against the reference tool: a key made with `age-keygen`, files
//! encrypted by us, opened with `age -d` byte for byte.
//!
//! Needs the `age` package (`cargo xtask test` installs it). Without it the test fails under
//! CI, and elsewhere says so and passes.

use std::{path::Path, process::Command};

use anteroom_crypto::age;

/// Whether `age` and `age-keygen` can be run; under CI their absence is a failure.
fn reference_tool_present() -> bool {
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
             does this): the age interoperability test cannot run"
        );
        eprintln!("note: skipping the age interoperability test: `age` is not installed");
    }
    present
}

/// A new identity in `dir`; its file and its public key.
fn keygen(dir: &Path) -> (std::path::PathBuf, String) {
    let identity = dir.join("key.txt");
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
    assert!(public.status.success(), "age-keygen -y: {public:?}");
    let public = String::from_utf8(public.stdout).expect("UTF-8");
    (identity, public.trim().to_owned())
}

/// Bytes that look like nothing in particular (xorshift), so chunk mix-ups would show.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

#[test]
fn the_reference_age_tool_decrypts_what_we_encrypt_at_every_chunk_boundary() {
    if !reference_tool_present() {
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary folder");
    let (identity, public) = keygen(dir.path());
    let recipient = age::parse_recipient(&public).expect("age-keygen's public key parses");
    for size in [0, 1, 65_535, 65_536, 65_537, 200_000] {
        let plaintext = noise(size, size as u64 + 11);
        let encrypted = dir.path().join(format!("{size}.age"));
        let file = std::fs::File::create(&encrypted).expect("create the encrypted file");
        age::encrypt(
            &recipient,
            plaintext.as_slice(),
            std::io::BufWriter::new(file),
        )
        .expect("encrypt");
        let opened = Command::new("age")
            .arg("-d")
            .arg("-i")
            .arg(&identity)
            .arg(&encrypted)
            .output()
            .expect("run age -d");
        assert!(
            opened.status.success(),
            "age -d refused our {size}-byte file: {}",
            String::from_utf8_lossy(&opened.stderr)
        );
        assert!(
            opened.stdout == plaintext,
            "age -d gave {} bytes for our {size}, not the same",
            opened.stdout.len()
        );
    }

    // A file cut short, or with a byte changed, is refused by the tool: the chunks and the
    // header are authenticated as the format says.
    let plaintext = noise(70_000, 5);
    let mut sealed = Vec::new();
    age::encrypt(&recipient, plaintext.as_slice(), &mut sealed).expect("encrypt");
    let cut = dir.path().join("cut.age");
    std::fs::write(&cut, &sealed[..sealed.len() - 16]).expect("write");
    let flipped = dir.path().join("flipped.age");
    let mut changed = sealed.clone();
    let at = changed.len() / 2;
    changed[at] ^= 1;
    std::fs::write(&flipped, &changed).expect("write");
    for bad in [cut, flipped] {
        let opened = Command::new("age")
            .arg("-d")
            .arg("-i")
            .arg(&identity)
            .arg(&bad)
            .output()
            .expect("run age -d");
        assert!(!opened.status.success(), "{} opened", bad.display());
    }
}
