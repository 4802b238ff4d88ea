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

#[cfg(test)]
mod tests {
    use super::*;
    use store::{ArticleStore, Page, PracticeStore};
    use store_sqlite::{OpenMode, SqliteStore};

    async fn store() -> (tempfile::TempDir, SqliteStore, PracticeId) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("a.db"), OpenMode::CreateIfMissing)
            .await
            .unwrap();
        let practice = store
            .create_practice(&embedded_practice("starter").unwrap(), Timestamp::now())
            .await
            .unwrap();
        (dir, store, practice)
    }

    #[test]
    fn demo_content_is_complete_and_valid() {
        let setup = embedded_practice("demo").unwrap();
        let slugs: Vec<_> = setup.locations.iter().map(|l| l.slug.as_str()).collect();
        assert_eq!(slugs, ["balham", "chancery-lane", "online"]);
        assert!(setup.faq.len() >= 12, "a dozen FAQ entries");
        let today = jiff::civil::date(2026, 11, 25);
        let articles = embedded("demo/articles");
        assert!(articles.len() >= 8, "at least eight articles");
        for (name, text) in articles.iter().chain(embedded("demo/approaches").iter()) {
            assert!(
                ArticleSource::parse(text, today).is_ok(),
                "{name} does not parse"
            );
            assert!(
                !text.contains('@') || text.contains("example.com"),
                "{name}: demo emails use example.com"
            );
        }
    }

    #[tokio::test]
    async fn import_reports_each_file_and_stores_only_good_ones() {
        let (_dir, store, practice) = store().await;
        let files = vec![
            (
                "a.md".to_owned(),
                "---\ntitle: Sleep and worry\ntags: [sleep]\n---\nBody.\n".to_owned(),
            ),
            (
                "b.md".to_owned(),
                "---\ntitle: Bad\ndate: 2026-13-01\n---\nBody.\n".to_owned(),
            ),
            ("c.md".to_owned(), "no front matter".to_owned()),
        ];
        let today = jiff::civil::date(2026, 11, 25);
        let now = Timestamp::now();
        let dry = import(
            &store,
            practice,
            ArticleKind::Article,
            &files,
            today,
            now,
            true,
        )
        .await
        .unwrap();
        assert!(matches!(dry[0].1, Outcome::Created));
        assert!(
            store.all_articles(practice).await.unwrap().is_empty(),
            "a dry run changes nothing"
        );
        let report = import(
            &store,
            practice,
            ArticleKind::Article,
            &files,
            today,
            now,
            false,
        )
        .await
        .unwrap();
        assert!(matches!(report[0].1, Outcome::Created));
        assert!(matches!(&report[1].1, Outcome::Refused(reason) if reason.contains("date")));
        assert!(matches!(report[2].1, Outcome::Refused(_)));
        let (stored, total) = store
            .published_articles(practice, ArticleKind::Article, Page::ALL)
            .await
            .unwrap();
        assert_eq!(total, 1, "refused files are not stored");
        assert_eq!(stored[0].slug.as_str(), "sleep-and-worry");
        let again = vec![(
            "a.md".to_owned(),
            "---\ntitle: Sleep and worry\nsummary: New summary.\n---\nBody.\n".to_owned(),
        )];
        let report = import(
            &store,
            practice,
            ArticleKind::Article,
            &again,
            today,
            now,
            false,
        )
        .await
        .unwrap();
        assert!(matches!(report[0].1, Outcome::Updated));
        let (stored, total) = store
            .published_articles(practice, ArticleKind::Article, Page::ALL)
            .await
            .unwrap();
        assert_eq!((total, stored[0].summary.as_str()), (1, "New summary."));
    }
}
