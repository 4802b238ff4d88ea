//! `anteroom import`: Markdown articles from a folder, reported file by file.

use std::process::ExitCode;

use anyhow::{Context, bail};
use jiff::{Timestamp, tz::TimeZone};
use store::ArticleKind;

use crate::cli::ImportArgs;
use crate::content;
use crate::location::{Mode, open_store, practice_of};

/// Import every `.md` file in the folder, reporting each; non-zero if any was refused.
pub async fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let mut files = Vec::new();
    let entries = std::fs::read_dir(&args.dir)
        .with_context(|| format!("cannot read the folder {}", args.dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path
            .extension()
            .is_some_and(|e| e == "md" || e == "markdown")
        {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            match std::fs::read_to_string(&path) {
                Ok(text) => files.push((name, text)),
                Err(error) => files.push((name, format!("\u{0}unreadable: {error}"))),
            }
        }
    }
    files.sort();
    if files.is_empty() {
        bail!("there are no .md files in {}", args.dir.display());
    }
    let store = open_store(&args.data.location()?, Mode::Existing).await?;
    let practice = practice_of(&*store).await?;
    let kind = if args.approaches {
        ArticleKind::Approach
    } else {
        ArticleKind::Article
    };
    let now = Timestamp::now();
    let today = now.to_zoned_datetime(TimeZone::system()).date();
    let report = content::import(&*store, practice, kind, &files, today, now, args.dry_run).await?;
    store.close().await;
    let mut refused = 0;
    for (name, outcome) in &report {
        match outcome {
            content::Outcome::Created => println!(
                "{name}: {}",
                if args.dry_run {
                    "would be added"
                } else {
                    "added"
                }
            ),
            content::Outcome::Updated => println!(
                "{name}: {}",
                if args.dry_run {
                    "would replace the existing page"
                } else {
                    "replaced the existing page"
                }
            ),
            content::Outcome::Refused(reason) => {
                refused += 1;
                println!("{name}: refused: {reason}");
            }
        }
    }
    let verb = if args.dry_run {
        "would be imported (dry run: nothing changed)"
    } else {
        "imported"
    };
    println!(
        "{} file(s) {verb}, {refused} refused.",
        report.len() - refused
    );
    Ok(if refused > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
