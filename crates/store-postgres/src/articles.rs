//! Articles, approach pages and their tags.

use async_trait::async_trait;
use domain::{ArticleDraft, Slug, markdown::reading_minutes};
use jiff::Timestamp;
use sqlx::postgres::PgRow;
use store::{
    Article, ArticleId, ArticleKind, ArticleStore, ArticleSummary, Page, PracticeId, StoreError,
    StoreResult, TagCount,
};

use crate::{PgStore, affected, convert::*, map_err, practice::get};

fn kind(row: &PgRow) -> StoreResult<ArticleKind> {
    ArticleKind::parse(&get::<String>(row, "kind")?).ok_or_else(|| corrupt("article kind"))
}

fn tags_of(row: &PgRow) -> StoreResult<Vec<Slug>> {
    let joined: Option<String> = get(row, "tags")?;
    joined
        .unwrap_or_default()
        .split(' ')
        .filter(|t| !t.is_empty())
        .map(slug)
        .collect()
}

fn summary_from_row(row: &PgRow) -> StoreResult<ArticleSummary> {
    Ok(ArticleSummary {
        id: ArticleId::new(get(row, "id")?),
        kind: kind(row)?,
        slug: slug(&get::<String>(row, "slug")?)?,
        title: get(row, "title")?,
        summary: get(row, "summary")?,
        tags: tags_of(row)?,
        published: get::<i64>(row, "published")? == 1,
        date: date(&get::<String>(row, "date")?)?,
        reading_minutes: u32_col(get(row, "reading_minutes")?)?,
        updated_at: timestamp(get(row, "updated_at")?)?,
    })
}

fn article_from_row(row: &PgRow) -> StoreResult<Article> {
    Ok(Article {
        id: ArticleId::new(get(row, "id")?),
        kind: kind(row)?,
        slug: slug(&get::<String>(row, "slug")?)?,
        title: get(row, "title")?,
        summary: get(row, "summary")?,
        body: get(row, "body")?,
        tags: tags_of(row)?,
        published: get::<i64>(row, "published")? == 1,
        date: date(&get::<String>(row, "date")?)?,
        position: get(row, "position")?,
        updated_at: timestamp(get(row, "updated_at")?)?,
    })
}

/// Columns of a listing, with tags gathered in their given order (space-separated slugs).
const SUMMARY_COLUMNS: &str = "a.id, a.kind, a.slug, a.title, a.summary, a.published, a.date, a.reading_minutes, a.updated_at,
    (SELECT string_agg(tag, ' ' ORDER BY position) FROM article_tags t WHERE t.article_id = a.id) AS tags";

async fn write_tags(tx: &mut sqlx::PgConnection, id: i64, draft: &ArticleDraft) -> StoreResult<()> {
    sqlx::query("DELETE FROM article_tags WHERE article_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    for (position, tag) in (0_i64..).zip(&draft.tags) {
        sqlx::query("INSERT INTO article_tags (article_id, tag, position) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(tag.slug().as_str())
            .bind(position)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
    }
    Ok(())
}

fn minutes(draft: &ArticleDraft) -> i64 {
    i64::from(reading_minutes(&draft.body))
}

#[async_trait]
impl ArticleStore for PgStore {
    async fn create_article(
        &self,
        practice: PracticeId,
        kind: ArticleKind,
        draft: &ArticleDraft,
        position: i64,
        now: Timestamp,
    ) -> StoreResult<ArticleId> {
        let mut tx = self.write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO articles (practice_id, kind, slug, title, summary, body, reading_minutes, published, date,
                position, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        )
        .bind(practice.get())
        .bind(kind.as_str())
        .bind(draft.slug.as_str())
        .bind(&draft.title)
        .bind(&draft.summary)
        .bind(&draft.body)
        .bind(minutes(draft))
        .bind(i64::from(draft.published))
        .bind(draft.date.to_string())
        .bind(position)
        .bind(secs(now))
        .bind(secs(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
        write_tags(&mut tx, id, draft).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(ArticleId::new(id))
    }

    async fn update_article(
        &self,
        practice: PracticeId,
        id: ArticleId,
        draft: &ArticleDraft,
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let result = sqlx::query(
            "UPDATE articles SET slug = $1, title = $2, summary = $3, body = $4, reading_minutes = $5, published = $6,
                date = $7, updated_at = $8
             WHERE practice_id = $9 AND id = $10",
        )
        .bind(draft.slug.as_str())
        .bind(&draft.title)
        .bind(&draft.summary)
        .bind(&draft.body)
        .bind(minutes(draft))
        .bind(i64::from(draft.published))
        .bind(draft.date.to_string())
        .bind(secs(now))
        .bind(practice.get())
        .bind(id.get())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        write_tags(&mut tx, id.get(), draft).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn delete_article(&self, practice: PracticeId, id: ArticleId) -> StoreResult<()> {
        let result = sqlx::query("DELETE FROM articles WHERE practice_id = $1 AND id = $2")
            .bind(practice.get())
            .bind(id.get())
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        affected(result)
    }

    async fn article(&self, practice: PracticeId, id: ArticleId) -> StoreResult<Article> {
        let row = sqlx::query(
            "SELECT a.*, (SELECT string_agg(tag, ' ' ORDER BY position) FROM article_tags t WHERE t.article_id = a.id) AS tags
             FROM articles a WHERE a.practice_id = $1 AND a.id = $2",
        )
        .bind(practice.get())
        .bind(id.get())
        .fetch_one(self.read())
        .await
        .map_err(map_err)?;
        article_from_row(&row)
    }

    async fn published_article(
        &self,
        practice: PracticeId,
        kind: ArticleKind,
        slug: &Slug,
    ) -> StoreResult<Article> {
        match self.article_by_slug(practice, kind, slug).await? {
            Some(article) if article.published => Ok(article),
            _ => Err(StoreError::NotFound),
        }
    }

    async fn article_by_slug(
        &self,
        practice: PracticeId,
        kind: ArticleKind,
        slug: &Slug,
    ) -> StoreResult<Option<Article>> {
        let row = sqlx::query(
            "SELECT a.*, (SELECT string_agg(tag, ' ' ORDER BY position) FROM article_tags t WHERE t.article_id = a.id) AS tags
             FROM articles a WHERE a.practice_id = $1 AND a.kind = $2 AND a.slug = $3",
        )
        .bind(practice.get())
        .bind(kind.as_str())
        .bind(slug.as_str())
        .fetch_optional(self.read())
        .await
        .map_err(map_err)?;
        row.as_ref().map(article_from_row).transpose()
    }

    async fn published_articles(
        &self,
        practice: PracticeId,
        kind: ArticleKind,
        page: Page,
    ) -> StoreResult<(Vec<ArticleSummary>, u64)> {
        let sql = match kind {
            ArticleKind::Article => crate::numbered(format!(
                "SELECT {SUMMARY_COLUMNS} FROM articles a WHERE a.practice_id = ? AND a.kind = 'article' AND a.published = 1
                 ORDER BY a.date DESC, a.id DESC LIMIT ? OFFSET ?"
            )),
            ArticleKind::Approach => crate::numbered(format!(
                "SELECT {SUMMARY_COLUMNS} FROM articles a WHERE a.practice_id = ? AND a.kind = 'approach' AND a.published = 1
                 ORDER BY a.position, a.title LIMIT ? OFFSET ?"
            )),
        };
        let limit = i64::from(page.size);
        let offset = i64::try_from(page.offset()).unwrap_or(i64::MAX);
        let rows = sqlx::query(sql)
            .bind(practice.get())
            .bind(limit)
            .bind(offset)
            .fetch_all(self.read())
            .await
            .map_err(map_err)?;
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM articles WHERE practice_id = $1 AND kind = $2 AND published = 1",
        )
        .bind(practice.get())
        .bind(kind.as_str())
        .fetch_one(self.read())
        .await
        .map_err(map_err)?;
        let list = rows
            .iter()
            .map(summary_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((list, u64::try_from(total).unwrap_or(0)))
    }

    async fn all_articles(&self, practice: PracticeId) -> StoreResult<Vec<ArticleSummary>> {
        let sql = crate::numbered(format!(
            "SELECT {SUMMARY_COLUMNS} FROM articles a WHERE a.practice_id = ? ORDER BY a.kind DESC, a.updated_at DESC, a.id DESC"
        ));
        let rows = sqlx::query(sql)
            .bind(practice.get())
            .fetch_all(self.read())
            .await
            .map_err(map_err)?;
        rows.iter().map(summary_from_row).collect()
    }

    async fn tags(&self, practice: PracticeId) -> StoreResult<Vec<TagCount>> {
        let rows = sqlx::query(
            "SELECT t.tag AS tag, COUNT(*) AS count FROM article_tags t JOIN articles a ON a.id = t.article_id
             WHERE a.practice_id = $1 AND a.kind = 'article' AND a.published = 1 GROUP BY t.tag ORDER BY t.tag",
        )
        .bind(practice.get())
        .fetch_all(self.read())
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|row| {
                Ok(TagCount {
                    tag: slug(&get::<String>(row, "tag")?)?,
                    count: u64::try_from(get::<i64>(row, "count")?).unwrap_or(0),
                })
            })
            .collect()
    }

    async fn articles_tagged(
        &self,
        practice: PracticeId,
        tag: &Slug,
    ) -> StoreResult<Vec<ArticleSummary>> {
        let sql = crate::numbered(format!(
            "SELECT {SUMMARY_COLUMNS} FROM articles a JOIN article_tags tt ON tt.article_id = a.id AND tt.tag = ?
             WHERE a.practice_id = ? AND a.kind = 'article' AND a.published = 1 ORDER BY a.date DESC, a.id DESC"
        ));
        let rows = sqlx::query(sql)
            .bind(tag.as_str())
            .bind(practice.get())
            .fetch_all(self.read())
            .await
            .map_err(map_err)?;
        rows.iter().map(summary_from_row).collect()
    }

    async fn related_articles(
        &self,
        practice: PracticeId,
        id: ArticleId,
        limit: u32,
    ) -> StoreResult<Vec<ArticleSummary>> {
        let sql = crate::numbered(format!(
            "SELECT {SUMMARY_COLUMNS},
                (SELECT COUNT(*) FROM article_tags x JOIN article_tags y ON x.tag = y.tag
                 WHERE x.article_id = a.id AND y.article_id = ?) AS shared
             FROM articles a
             WHERE a.practice_id = ? AND a.kind = 'article' AND a.published = 1 AND a.id <> ?
             ORDER BY shared DESC, a.date DESC LIMIT ?"
        ));
        let rows = sqlx::query(sql)
            .bind(id.get())
            .bind(practice.get())
            .bind(id.get())
            .bind(i64::from(limit))
            .fetch_all(self.read())
            .await
            .map_err(map_err)?;
        let mut related = Vec::new();
        for row in &rows {
            if get::<i64>(row, "shared")? > 0 {
                related.push(summary_from_row(row)?);
            }
        }
        Ok(related)
    }
}
