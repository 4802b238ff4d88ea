//! Templates: embedded in the binary, each overridable from a theme folder.

use std::path::Path;

use minijinja::{Environment, UndefinedBehavior, Value, value::Serde};

macro_rules! embedded {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../templates/", $name)))),*]
    };
}

/// Every template, by name.
const TEMPLATES: &[(&str, &str)] = embedded![
    "layout.html",
    "macros.html",
    "crisis.html",
    "site/home.html",
    "site/about.html",
    "site/approaches.html",
    "site/approach.html",
    "site/articles.html",
    "site/article.html",
    "site/tags.html",
    "site/tag.html",
    "site/faq.html",
    "site/locations.html",
    "site/fees.html",
    "site/privacy.html",
    "site/urgent_help.html",
    "site/contact.html",
    "site/contact_thanks.html",
    "site/error.html",
    "site/feed.xml",
    "site/sitemap.xml",
    "booking/location.html",
    "booking/times.html",
    "booking/details.html",
    "booking/check.html",
    "booking/manage.html",
    "booking/cancel.html",
    "booking/taken.html",
    "booking/move.html",
    "booking/already.html",
    "office/layout.html",
    "office/sign_in.html",
    "office/sign_in_code.html",
    "office/set_up_authenticator.html",
    "office/recovery_codes.html",
    "office/security.html",
    "office/security_confirm.html",
    "office/dashboard.html",
    "office/articles.html",
    "office/article_form.html",
    "office/confirm_delete.html",
    "office/enquiries.html",
    "office/enquiry.html",
    "office/outbox.html",
    "office/settings.html",
    "office/settings_form.html",
    "office/list_form.html",
    "office/hours_form.html",
    "office/away.html",
    "office/calendar.html",
    "office/booking.html",
    "office/booking_words.html",
    "office/calendar_feed.html",
    "office/move.html",
    "office/move_confirm.html",
    "office/invoices.html",
    "office/invoice.html",
    "office/audit_log.html",
    "invoice/document.html",
    "invoice/public.html",
    "portal/nav.html",
    "portal/sign_in.html",
    "portal/check_email.html",
    "portal/continue.html",
    "portal/link_gone.html",
    "portal/other_browser.html",
    "portal/home.html",
    "portal/cancel.html",
    "portal/invoices.html",
    "portal/invoice.html",
    "portal/details.html",
    "portal/email_confirm.html",
    "portal/email_changed.html",
    "portal/email_not_changed.html",
    "portal/email_link_gone.html",
    "office/clients/list.html",
    "office/clients/client.html",
    "office/clients/client_form.html",
    "office/clients/contract_form.html",
    "office/clients/outcome.html",
    "office/clients/session.html",
    "office/rights/subject_access.html",
    "office/rights/extend.html",
    "office/rights/decision.html",
    "office/rights/erase.html",
    "office/rights/review.html",
    "rights/export.html",
];

pub(crate) struct Templates {
    env: Environment<'static>,
}

fn markdown(text: &str) -> Value {
    Value::from_safe_string(domain::markdown::to_html(text))
}

fn money(pence: u32) -> String {
    domain::Pence::new(pence).to_string()
}

/// `2026-05-14` → `14 May 2026`.
fn long_date(text: &str) -> String {
    match text
        .get(..10)
        .and_then(|d| d.parse::<jiff::civil::Date>().ok())
    {
        Some(date) => date.strftime("%-d %B %Y").to_string(),
        None => text.to_owned(),
    }
}

fn tag_label(slug: &str) -> String {
    slug.replace('-', " ")
}

impl Templates {
    /// Load the built-in templates, replacing any that `theme` provides.
    pub fn load(theme: Option<&Path>) -> anyhow::Result<Self> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        for (name, source) in TEMPLATES {
            let themed = theme
                .map(|dir| dir.join(name))
                .filter(|path| path.is_file());
            match themed {
                Some(path) => {
                    let text = std::fs::read_to_string(&path).map_err(|e| {
                        anyhow::anyhow!("cannot read theme template {}: {e}", path.display())
                    })?;
                    env.add_template_owned(*name, text).map_err(|e| {
                        anyhow::anyhow!("theme template {} has an error: {e}", path.display())
                    })?;
                }
                None => env.add_template(name, source)?,
            }
        }
        env.add_global(
            "css_href",
            format!("/assets/site.css?v={}", crate::site::feeds::css_version()),
        );
        env.add_global(
            "notes_js_href",
            format!(
                "/assets/notes.js?v={}",
                crate::site::feeds::notes_js_version()
            ),
        );
        env.add_filter("markdown", markdown);
        env.add_filter("markdown_html", |text: &str| {
            domain::markdown::to_html(text)
        });
        env.add_filter("money", money);
        env.add_filter("long_date", long_date);
        env.add_filter("tag_label", tag_label);
        Ok(Self { env })
    }

    /// Render a template with a context.
    pub fn render(&self, name: &str, context: Value) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(context)
    }
}

/// Turn any serialisable value into a template value.
pub(crate) fn value<T: serde::Serialize>(data: &T) -> Value {
    Value::from(Serde(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles() {
        let templates = Templates::load(None).unwrap();
        for (name, _) in TEMPLATES {
            assert!(
                templates.env.get_template(name).is_ok(),
                "{name} does not compile"
            );
        }
    }

    #[test]
    fn filters() {
        assert_eq!(long_date("2026-05-14"), "14 May 2026");
        assert_eq!(money(6250), "£62.50");
        assert_eq!(
            markdown("<b>x</b>").to_string(),
            "<p>&lt;b&gt;x&lt;/b&gt;</p>\n"
        );
    }
}
