//! Loading content: the embedded demo and starter practices, and Markdown imports.

use domain::{ArticleSource, practice::PracticeSetup};
use jiff::{Timestamp, civil::Date};
use store::{ArticleKind, PracticeId, Store};

include!(concat!(env!("OUT_DIR"), "/content_files.rs"));

/// The embedded files whose path starts with `prefix` (and has no further `/`), by name.
pub fn embedded(prefix: &str) -> Vec<(&'static str, &'static str)> {
    FILES
        .iter()
        .filter(|(path, _)| {
            path.strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('/') && !rest[1..].contains('/'))
        })
        .copied()
        .collect()
}

/// An embedded `practice.toml`, checked.
pub fn embedded_practice(dir: &str) -> anyhow::Result<PracticeSetup> {
    let text = embedded(dir)
        .into_iter()
        .find(|(path, _)| path.ends_with("/practice.toml"))
        .map(|(_, text)| text)
        .ok_or_else(|| anyhow::anyhow!("no embedded {dir}/practice.toml"))?;
    Ok(PracticeSetup::from_toml(text)?)
}

/// What happened to one imported file.
#[derive(Debug)]
pub enum Outcome {
    Created,
    Updated,
    Refused(String),
}

/// Import Markdown files with front matter as `kind` pages: new slugs are added,
/// existing ones replaced. Each file is stored whole or not at all.
pub async fn import(
    store: &dyn Store,
    practice: PracticeId,
    kind: ArticleKind,
    files: &[(String, String)],
    today: Date,
    now: Timestamp,
    dry_run: bool,
) -> anyhow::Result<Vec<(String, Outcome)>> {
    let mut report = Vec::new();
    for (name, text) in files {
        let source = match ArticleSource::parse(text, today) {
            Ok(source) => source,
            Err(error) => {
                report.push((name.clone(), Outcome::Refused(error.to_string())));
                continue;
            }
        };
        let article = source.article;
        let existing = store.article_by_slug(practice, kind, &article.slug).await?;
        let outcome = match (existing, dry_run) {
            (Some(_), true) => Outcome::Updated,
            (None, true) => Outcome::Created,
            (Some(found), false) => {
                store
                    .update_article(practice, found.id, &article, now)
                    .await?;
                Outcome::Updated
            }
            (None, false) => {
                store
                    .create_article(practice, kind, &article, source.order.unwrap_or(0), now)
                    .await?;
                Outcome::Created
            }
        };
        report.push((name.clone(), outcome));
    }
    Ok(report)
}
