//! Embeds the demo, starter and hosted-demo practices' content files into the binary.

use std::{fmt::Write, fs, path::Path};

fn main() {
    // Read at run time: a build script compiled for another checkout may be reused.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest).join("../../content");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut code = String::from(
        "/// `(relative path, text)` of every embedded content file.\npub const FILES: &[(&str, &str)] = &[\n",
    );
    let mut files = Vec::new();
    let mut dirs: Vec<String> = [
        "demo",
        "demo/articles",
        "demo/approaches",
        "starter",
        "directory",
    ]
    .map(String::from)
    .to_vec();
    // The other practices of `demo --hosted`: content/hosted/NAME/, with its pages.
    if let Ok(hosted) = fs::read_dir(root.join("hosted")) {
        println!("cargo:rerun-if-changed={}", root.join("hosted").display());
        for practice in hosted.flatten().filter(|e| e.path().is_dir()) {
            let name = practice.file_name().to_string_lossy().into_owned();
            for sub in ["", "/articles", "/approaches"] {
                dirs.push(format!("hosted/{name}{sub}"));
            }
        }
    }
    for dir in &dirs {
        let path = root.join(dir);
        println!("cargo:rerun-if-changed={}", path.display());
        let Ok(entries) = fs::read_dir(&path) else {
            continue;
        };
        for entry in entries.flatten() {
            let file = entry.path();
            if file.is_file() {
                let name = format!(
                    "{dir}/{}",
                    file.file_name().unwrap_or_default().to_string_lossy()
                );
                files.push((name, file.canonicalize().unwrap_or(file)));
            }
        }
    }
    // An empty list would build a binary whose `demo` and `init` fail at run time.
    for needed in ["demo/practice.toml", "starter/practice.toml"] {
        assert!(
            files.iter().any(|(name, _)| name == needed),
            "content/{needed} is missing from {}",
            root.display()
        );
    }
    files.sort();
    for (name, file) in files {
        let _ = writeln!(
            code,
            "    ({name:?}, include_str!({:?})),",
            file.display().to_string()
        );
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").unwrap_or_default()).join("content_files.rs");
    fs::write(out, code).unwrap_or_else(|e| panic!("cannot write content_files.rs: {e}"));
}
