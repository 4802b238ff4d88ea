//! The README and `docs/` stand alone: nothing in them points outside the repository, and
//! every file they link to is in it.

use std::path::{Component, Path, PathBuf};

/// The README and every Markdown file in `docs/`.
fn documents(root: &Path) -> Vec<PathBuf> {
    let mut files = vec![root.join("README.md")];
    if let Ok(entries) = std::fs::read_dir(root.join("docs")) {
        let mut docs: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "md"))
            .collect();
        docs.sort();
        files.extend(docs);
    }
    files
}

/// `base` joined with `relative`, with `..` and `.` worked out without touching the disk.
fn resolve(base: &Path, relative: &str) -> PathBuf {
    let mut path = PathBuf::new();
    for component in base.join(relative).components() {
        match component {
            Component::ParentDir => {
                path.pop();
            }
            Component::CurDir => {}
            other => path.push(other),
        }
    }
    path
}

/// Every place in the README and `docs/` that points outside the repository (a path that
/// climbs out of it) or links to a file that is not there, as `file:line: what`.
pub fn outside_references(root: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    for file in documents(root) {
        let Ok(text) = std::fs::read_to_string(&file) else {
            problems.push(format!("{}: cannot be read", file.display()));
            continue;
        };
        let folder = file.parent().unwrap_or(root);
        let name = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .display()
            .to_string();
        for (number, line) in text.lines().enumerate() {
            let at = format!("{name}:{}", number + 1);
            // Any path that climbs, linked or not (`../elsewhere/FILE.md` in backticks too).
            for token in line.split(|c: char| c.is_whitespace() || "`()[]\"'<>".contains(c)) {
                if !token.contains("../") {
                    continue;
                }
                let path = resolve(folder, token);
                if !path.starts_with(root) {
                    problems.push(format!("{at}: {token} is outside the repository"));
                } else if !path.exists() {
                    problems.push(format!("{at}: {token} is not in the repository"));
                }
            }
            // Markdown links to files: they must be in the repository, and be there.
            for link in line.split("](").skip(1) {
                let target = link.split(')').next().unwrap_or_default();
                let target = target.split('#').next().unwrap_or_default();
                if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                let path = resolve(folder, target);
                if !path.starts_with(root) || !path.exists() {
                    problems.push(format!(
                        "{at}: the link {target} leads nowhere in the repository"
                    ));
                }
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_and_docs_point_nowhere_outside_the_repository() {
        let problems = outside_references(&crate::root());
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn a_path_out_of_the_repository_or_a_missing_file_is_found() {
        let root = std::env::temp_dir().join(format!("standalone-{}", std::process::id()));
        std::fs::create_dir_all(root.join("docs")).unwrap();
        std::fs::write(
            root.join("README.md"),
            "See `../shared/DESIGN.md`, [the map](docs/map.md) and [gone](docs/gone.md).\n",
        )
        .unwrap();
        std::fs::write(
            root.join("docs").join("map.md"),
            "Back to [the README](../README.md); not [this](../../x.md) or `../shared/X.md`.\n",
        )
        .unwrap();
        let problems = outside_references(&root);
        std::fs::remove_dir_all(&root).unwrap();
        assert_eq!(problems.len(), 5, "{problems:#?}");
        assert!(problems[0].starts_with("README.md:1: ../shared/DESIGN.md"));
        assert!(problems[1].contains("docs/gone.md"));
        // Out of the repository, and not there either.
        assert!(problems[2].starts_with("docs/map.md:1: ../../x.md"));
        assert!(problems[3].starts_with("docs/map.md:1: ../shared/X.md is not in the repository"));
        assert!(problems[4].contains("the link ../../x.md"));
    }
}
