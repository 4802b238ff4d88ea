//! Articles: the practice's writing, in Markdown with tags.

use jiff::civil::Date;

use crate::{FieldErrors, Slug, TextError, text::parse_text};

/// A tag on an article: a slug, shown with spaces for hyphens.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag(Slug);

impl Tag {
    /// Parse a tag as typed: `Getting started` and `getting-started` are the same tag.
    pub fn parse(raw: &str) -> Result<Self, TextError> {
        let trimmed = raw.trim().trim_start_matches('#');
        Slug::from_title(trimmed).map(Self).map_err(|_| {
            TextError(format!(
                "“{}” cannot be used as a tag: use letters and numbers",
                raw.trim()
            ))
        })
    }

    /// The tag's slug, as used in `/tags/{slug}`.
    pub fn slug(&self) -> &Slug {
        &self.0
    }

    /// How the tag reads on a page: `getting-started` becomes `getting started`.
    pub fn label(&self) -> String {
        self.0.as_str().replace('-', " ")
    }
}

/// Most tags one article may have.
pub const MAX_TAGS: usize = 12;

/// Parse a comma-separated list of tags, dropping duplicates and keeping the order given.
pub fn parse_tags(raw: &str) -> Result<Vec<Tag>, TextError> {
    let mut tags: Vec<Tag> = Vec::new();
    for part in raw.split(',').filter(|part| !part.trim().is_empty()) {
        let tag = Tag::parse(part)?;
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(TextError(format!("Use {MAX_TAGS} tags or fewer")));
    }
    Ok(tags)
}

/// An article as the therapist wrote it, parsed and ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleDraft {
    /// The title, shown as the page's heading.
    pub title: String,
    /// The article's address under `/articles/`.
    pub slug: Slug,
    /// One or two sentences for listings and search results.
    pub summary: String,
    /// The body in Markdown.
    pub body: String,
    /// Tags, in the order given.
    pub tags: Vec<Tag>,
    /// Visible on the public site.
    pub published: bool,
    /// The date shown on the article (publication date).
    pub date: Date,
}

/// The raw fields of the article editor.
#[derive(Debug, Clone, Default)]
pub struct ArticleForm<'a> {
    /// "Title".
    pub title: &'a str,
    /// "Web address (slug)"; empty means "make one from the title".
    pub slug: &'a str,
    /// "Summary".
    pub summary: &'a str,
    /// "Article text (Markdown)".
    pub body: &'a str,
    /// "Tags", comma-separated.
    pub tags: &'a str,
    /// "Date", `YYYY-MM-DD`; empty means today.
    pub date: &'a str,
    /// "Published on the site".
    pub published: bool,
}

/// Longest article body accepted (characters).
pub const MAX_BODY_CHARS: usize = 100_000;

impl ArticleDraft {
    /// Parse the editor's fields; `today` fills an empty date.
    pub fn parse(form: &ArticleForm<'_>, today: Date) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let title = errors.check("title", parse_text(form.title, "a title", 200, false));
        let slug = if form.slug.trim().is_empty() {
            match &title {
                Some(title) => errors.check(
                    "slug",
                    Slug::from_title(title).map_err(|_| {
                        TextError("Enter a web address made of letters and numbers, like sleep-and-anxiety".into())
                    }),
                ),
                None => None,
            }
        } else {
            errors.check("slug", Slug::parse(form.slug))
        };
        let summary = errors.check("summary", parse_text(form.summary, "a summary", 400, false));
        let body = errors.check(
            "body",
            parse_text(form.body, "the article text", MAX_BODY_CHARS, true),
        );
        let tags = errors.check("tags", parse_tags(form.tags));
        let date = if form.date.trim().is_empty() {
            Some(today)
        } else {
            errors.check("date", parse_date(form.date))
        };
        match (title, slug, summary, body, tags, date) {
            (Some(title), Some(slug), Some(summary), Some(body), Some(tags), Some(date))
                if errors.is_empty() =>
            {
                Ok(Self {
                    title,
                    slug,
                    summary,
                    body,
                    tags,
                    published: form.published,
                    date,
                })
            }
            _ => Err(errors),
        }
    }
}

fn parse_date(raw: &str) -> Result<Date, TextError> {
    raw.trim()
        .parse::<Date>()
        .map_err(|_| TextError("Enter a real date in the form 2026-05-14".into()))
}

/// Why an imported Markdown file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrontMatterError {
    /// The file does not start with a `---` block.
    #[error("the file does not start with a front matter block between two lines of ---")]
    Missing,
    /// A line of the block is not `key: value`.
    #[error("line {line} of the front matter is not `key: value`")]
    BadLine {
        /// 1-based line number within the file.
        line: usize,
    },
    /// A key we do not know (a typo would otherwise be ignored silently).
    #[error("unknown front matter key `{0}` (known keys: title, slug, summary, tags, date, draft)")]
    UnknownKey(String),
    /// A value failed to parse.
    #[error("{field}: {message}")]
    Invalid {
        /// The front matter key.
        field: &'static str,
        /// What was wrong.
        message: String,
    },
}

/// A Markdown file with front matter, as written by hand or exported from another site.
///
/// ```text
/// ---
/// title: What is psychodynamic therapy?
/// slug: what-is-psychodynamic-therapy
/// summary: One or two sentences.
/// tags: [psychodynamic, getting-started]
/// date: 2026-05-14
/// draft: false
/// ---
/// Body in Markdown…
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleSource {
    /// The parsed article.
    pub article: ArticleDraft,
    /// Extra `order` key, used by approach pages; `None` for articles.
    pub order: Option<i64>,
}

fn unquote(value: &str) -> &str {
    let v = value.trim();
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

impl ArticleSource {
    /// Parse a file's text. `today` is used when there is no `date`.
    pub fn parse(text: &str, today: Date) -> Result<Self, FrontMatterError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut lines = text.split_inclusive('\n');
        match lines.next() {
            Some(first) if first.trim_end() == "---" => {}
            _ => return Err(FrontMatterError::Missing),
        }
        let mut fields: Vec<(&str, String)> = Vec::new();
        let mut consumed = text.find('\n').map_or(text.len(), |i| i + 1);
        let mut closed = false;
        let mut list_key: Option<usize> = None;
        for (index, line) in lines.enumerate() {
            consumed += line.len();
            let content = line.trim_end();
            if content == "---" {
                closed = true;
                break;
            }
            if content.trim().is_empty() || content.trim_start().starts_with('#') {
                continue;
            }
            if let (Some(item), Some(key_index)) =
                (content.trim_start().strip_prefix("- "), list_key)
            {
                let list = &mut fields[key_index].1;
                if !list.is_empty() {
                    list.push(',');
                }
                list.push_str(unquote(item));
                continue;
            }
            let Some((key, value)) = content.split_once(':') else {
                return Err(FrontMatterError::BadLine { line: index + 2 });
            };
            let key = key.trim();
            // A quoted value is taken as it stands: `title: "[Draft] notes [1]"` is a title.
            let quoted = unquote(value).len() != value.trim().len();
            let value = unquote(value);
            let known = ["title", "slug", "summary", "tags", "date", "draft", "order"];
            let Some(key) = known.iter().find(|k| **k == key) else {
                return Err(FrontMatterError::UnknownKey(key.to_owned()));
            };
            let value = value
                .strip_prefix('[')
                .filter(|_| !quoted)
                .and_then(|v| v.strip_suffix(']'))
                .map_or(value.to_owned(), |inner| {
                    inner.split(',').map(unquote).collect::<Vec<_>>().join(",")
                });
            list_key = (value.is_empty()).then_some(fields.len());
            fields.push((key, value));
        }
        if !closed {
            return Err(FrontMatterError::Missing);
        }
        let get = |key: &str| {
            fields
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.as_str())
        };
        let draft = match get("draft").map(str::trim) {
            None | Some("false") | Some("no") => false,
            Some("true") | Some("yes") => true,
            Some(_) => {
                return Err(FrontMatterError::Invalid {
                    field: "draft",
                    message: "use true or false".into(),
                });
            }
        };
        let order = match get("order") {
            None => None,
            Some(v) => Some(
                v.trim()
                    .parse::<i64>()
                    .map_err(|_| FrontMatterError::Invalid {
                        field: "order",
                        message: "use a whole number".into(),
                    })?,
            ),
        };
        let body = text[consumed.min(text.len())..].trim_matches('\n');
        let summary_fallback;
        let summary = match get("summary") {
            Some(summary) if !summary.trim().is_empty() => summary,
            _ => {
                summary_fallback = first_paragraph(body);
                summary_fallback.as_str()
            }
        };
        let form = ArticleForm {
            title: get("title").unwrap_or(""),
            slug: get("slug").unwrap_or(""),
            summary,
            body,
            tags: get("tags").unwrap_or(""),
            date: get("date").unwrap_or(""),
            published: !draft,
        };
        let article = ArticleDraft::parse(&form, today).map_err(|errors| {
            let (field, message) = errors
                .iter()
                .next()
                .map_or(("file", String::new()), |(f, m)| (f, m.to_owned()));
            FrontMatterError::Invalid { field, message }
        })?;
        Ok(Self { article, order })
    }
}

/// A plain-text summary from the first paragraph of Markdown, cut at a word near 300 characters.
fn first_paragraph(body: &str) -> String {
    let paragraph = body
        .split("\n\n")
        .map(str::trim)
        .find(|p| !p.is_empty() && !p.starts_with('#'))
        .unwrap_or("");
    let plain: String = crate::markdown::plain_text(paragraph);
    if plain.chars().count() <= 300 {
        return plain;
    }
    let cut: String = plain.chars().take(297).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    const TODAY: Date = date(2026, 11, 25);

    #[test]
    fn parses_front_matter() {
        let text = "---\ntitle: \"What is CBT?\"\nslug: what-is-cbt\nsummary: A short guide.\ntags: [CBT, getting-started]\ndate: 2026-05-14\n---\n\n## Hello\n\nBody.\n";
        let source = ArticleSource::parse(text, TODAY).unwrap();
        let a = source.article;
        assert_eq!(a.title, "What is CBT?");
        assert_eq!(a.slug.as_str(), "what-is-cbt");
        assert_eq!(
            a.tags.iter().map(|t| t.slug().as_str()).collect::<Vec<_>>(),
            ["cbt", "getting-started"]
        );
        assert_eq!(a.date, date(2026, 5, 14));
        assert!(a.published);
        assert_eq!(a.body, "## Hello\n\nBody.");
    }

    #[test]
    fn yaml_lists_drafts_and_defaults() {
        let text = "---\ntitle: Endings\ntags:\n  - endings\n  - long-term-therapy\ndraft: true\n---\nWhen therapy ends, *something* changes.\n";
        let a = ArticleSource::parse(text, TODAY).unwrap().article;
        assert_eq!(a.slug.as_str(), "endings");
        assert_eq!(a.tags.len(), 2);
        assert!(!a.published);
        assert_eq!(a.date, TODAY);
        assert_eq!(a.summary, "When therapy ends, something changes.");
    }

    #[test]
    fn refuses_bad_files_with_reasons() {
        assert_eq!(
            ArticleSource::parse("no front matter", TODAY),
            Err(FrontMatterError::Missing)
        );
        assert_eq!(
            ArticleSource::parse("---\ntitle: x\n", TODAY),
            Err(FrontMatterError::Missing)
        );
        assert_eq!(
            ArticleSource::parse("---\ntitel: x\n---\nbody", TODAY),
            Err(FrontMatterError::UnknownKey("titel".into()))
        );
        assert_eq!(
            ArticleSource::parse("---\ntitle x\n---\nbody", TODAY),
            Err(FrontMatterError::BadLine { line: 2 })
        );
        let err =
            ArticleSource::parse("---\ntitle: x\ndate: 2026-02-30\n---\nbody", TODAY).unwrap_err();
        assert!(
            matches!(err, FrontMatterError::Invalid { field: "date", .. }),
            "{err:?}"
        );
        let err = ArticleSource::parse("---\ntitle: x\n---\n", TODAY).unwrap_err();
        assert!(
            matches!(
                err,
                FrontMatterError::Invalid {
                    field: "summary" | "body",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    /// Found by the `front_matter` fuzz target: a quoted value was still read as a list,
    /// and `\r\r\n` in a body became `\r\n`, changed again on the next save.
    #[test]
    fn quoted_values_are_literal_and_line_breaks_settle() {
        let text = "---\ntitle: \"[Draft] notes [1]\"\ntags: [a, b]\n---\nOne\r\r\ntwo\n";
        let a = ArticleSource::parse(text, TODAY).unwrap().article;
        assert_eq!(a.title, "[Draft] notes [1]");
        assert_eq!(a.tags.len(), 2);
        assert_eq!(a.body, "One\n\ntwo");
        assert_eq!(parse_text(&a.body, "x", 100, true).unwrap(), a.body);
    }

    #[test]
    fn editor_form_collects_errors() {
        let errors = ArticleDraft::parse(
            &ArticleForm {
                slug: "Bad Slug",
                ..Default::default()
            },
            TODAY,
        )
        .unwrap_err();
        let fields: Vec<_> = errors.iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["title", "slug", "summary", "body"]);
    }

    #[test]
    fn tags_are_normalised_and_deduplicated() {
        let tags = parse_tags("Anxiety, #sleep, anxiety, , Getting Started").unwrap();
        let slugs: Vec<_> = tags.iter().map(|t| t.slug().as_str()).collect();
        assert_eq!(slugs, ["anxiety", "sleep", "getting-started"]);
        assert_eq!(tags[2].label(), "getting started");
        assert!(parse_tags("ok, ???").is_err());
    }
}
