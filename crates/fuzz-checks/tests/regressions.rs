//! Every committed fuzz input, run through its target's check on stable: the crashes found
//! (`fuzz/regressions/<target>/`) and the seeds (`fuzz/corpus-seed/<target>/`).

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    path::Path,
};

#[test]
fn every_committed_input_passes_its_target() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut failed = Vec::new();
    let mut ran = 0;
    for (target, check) in anteroom_fuzz_checks::TARGETS {
        for kind in ["regressions", "corpus-seed"] {
            let Ok(entries) = std::fs::read_dir(fuzz.join(kind).join(target)) else {
                continue;
            };
            let mut files: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            files.sort();
            for file in files.iter().filter(|f| f.is_file()) {
                let data = std::fs::read(file).expect("a readable input");
                ran += 1;
                if catch_unwind(AssertUnwindSafe(|| check(&data))).is_err() {
                    failed.push(file.display().to_string());
                }
            }
        }
    }
    assert!(ran > 0, "no inputs under {}", fuzz.display());
    assert!(
        failed.is_empty(),
        "these inputs fail their targets: {failed:#?}"
    );
}
