//! `anteroom import`: a Markdown file with front matter (`domain::ArticleSource::parse`).
//!
//! Properties: parsing never panics; an accepted file's article is one the article editor
//! accepts unchanged (its fields re-validate), and written back out as front matter it
//! imports as the same article. The other way round, any article the editor accepts
//! (its fields read from the same bytes), written out as front matter, imports unchanged.

use domain::{ArticleDraft, ArticleSource, article::ArticleForm};
use jiff::civil::{Date, date};

const TODAY: Date = date(2026, 11, 25);

/// Front matter for `article`, as an export would write it: every text value quoted.
pub fn write(article: &ArticleDraft, order: Option<i64>) -> String {
    let tags: Vec<&str> = article.tags.iter().map(|t| t.slug().as_str()).collect();
    let mut out = String::from("---\n");
    out.push_str(&format!("title: \"{}\"\n", article.title));
    out.push_str(&format!("slug: {}\n", article.slug));
    out.push_str(&format!("summary: \"{}\"\n", article.summary));
    out.push_str(&format!("tags: [{}]\n", tags.join(", ")));
    out.push_str(&format!("date: {}\n", article.date));
    out.push_str(&format!("draft: {}\n", !article.published));
    if let Some(order) = order {
        out.push_str(&format!("order: {order}\n"));
    }
    out.push_str("---\n");
    out.push_str(&article.body);
    out.push('\n');
    out
}

/// The article editor's form filled from `input`, as the editor reads it (`None`: refused).
pub(crate) fn drafted(
    input: &mut crate::Input<'_>,
    today: jiff::civil::Date,
) -> Option<ArticleDraft> {
    let t: Vec<String> = (0..6).map(|_| input.text()).collect();
    let form = ArticleForm {
        title: &t[0],
        slug: &t[1],
        summary: &t[2],
        body: &t[3],
        tags: &t[4],
        date: &t[5],
        published: input.bool(),
    };
    ArticleDraft::parse(&form, today).ok()
}

/// An article the editor accepts, written out, imports as the same article.
fn export_imports(data: &[u8]) {
    let mut input = crate::Input::new(data);
    let Some(article) = drafted(&mut input, TODAY) else {
        return;
    };
    let file = write(&article, None);
    match ArticleSource::parse(&file, TODAY) {
        Ok(again) => assert_eq!(
            again.article, article,
            "an exported article changes:\n{file}"
        ),
        Err(error) => panic!("an exported article is refused ({error}):\n{file}"),
    }
}

pub fn check(data: &[u8]) {
    export_imports(data);
    let text = String::from_utf8_lossy(data);
    let source = match ArticleSource::parse(&text, TODAY) {
        Ok(source) => source,
        Err(error) => {
            assert!(!error.to_string().is_empty());
            return;
        }
    };
    let article = &source.article;

    // The editor accepts the article as it stands.
    let tags: Vec<&str> = article.tags.iter().map(|t| t.slug().as_str()).collect();
    let tags = tags.join(", ");
    let day = article.date.to_string();
    let form = ArticleForm {
        title: &article.title,
        slug: article.slug.as_str(),
        summary: &article.summary,
        body: &article.body,
        tags: &tags,
        date: &day,
        published: article.published,
    };
    match ArticleDraft::parse(&form, TODAY) {
        Ok(again) => assert_eq!(&again, article, "the editor changes an imported article"),
        Err(errors) => panic!("the editor refuses an imported article: {errors:?}\n{article:?}"),
    }

    // Written back out, it imports as the same article.
    let file = write(article, source.order);
    match ArticleSource::parse(&file, TODAY) {
        Ok(again) => assert_eq!(again, source, "front matter does not round-trip:\n{file}"),
        Err(error) => panic!("our own front matter is refused ({error}):\n{file}"),
    }
}
