//! The directory's search form, written as HTML here rather than by the template.
//!
//! It is on every search page, and a search nobody has made before cannot come from the
//! page cache: through the template's form macros it cost about 270 µs a page (some 120
//! fields and options), a third of the whole request (bench/RESULTS.md, 3 December). Here
//! it costs a few microseconds. The markup is the same as `macros.html` writes for
//! `input`, `select`, `radios` and `checkbox` (GOV.UK's pattern: label, hint, error
//! message, `aria-describedby`, `aria-invalid`), so it looks and reads as every other form;
//! a change to those macros' markup should be carried here too, and the web tests read
//! this form back as they read the others.

use std::fmt::Write;

use domain::{
    FieldErrors,
    directory::{APPROACHES, HELP_WITH, REGISTRATION_BODIES, RawSearch, WAYS_OF_WORKING},
};

use crate::templates::write_escaped;

/// Writes the form's HTML, escaping every value that came from the query string.
struct Html<'a> {
    out: String,
    errors: &'a FieldErrors,
}

impl Html<'_> {
    fn raw(&mut self, text: &str) {
        self.out.push_str(text);
    }

    fn text(&mut self, text: &str) {
        // Writing to a String cannot fail.
        let _ = write_escaped(&mut self.out, text);
    }

    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m)
    }

    /// `<div class="field">` with its label, hint and error message; returns the value of
    /// `aria-describedby` and whether the field is in error.
    fn field_start(&mut self, id: &str, label: Option<&str>, hint: &str) -> (String, bool) {
        let error = self.error(id).map(str::to_owned);
        self.raw(if error.is_some() {
            "\n<div class=\"field field-error\">\n"
        } else {
            "\n<div class=\"field\">\n"
        });
        if let Some(label) = label {
            let _ = write!(self.out, "  <label for=\"{id}\">");
            self.text(label);
            self.raw("</label>\n");
        }
        let mut described = Vec::new();
        if !hint.is_empty() {
            let _ = write!(self.out, "  <p class=\"hint\" id=\"{id}-hint\">");
            self.text(hint);
            self.raw("</p>\n");
            described.push(format!("{id}-hint"));
        }
        if let Some(message) = &error {
            let _ = write!(
                self.out,
                "  <p class=\"error-message\" id=\"{id}-error\"><span class=\"visually-hidden\">Error:</span> "
            );
            self.text(message);
            self.raw("</p>\n");
            described.push(format!("{id}-error"));
        }
        (described.join(" "), error.is_some())
    }

    fn described(&mut self, described: &str, invalid: bool) {
        if !described.is_empty() {
            let _ = write!(self.out, " aria-describedby=\"{described}\"");
        }
        if invalid {
            self.raw(" aria-invalid=\"true\"");
        }
    }

    /// A text input (`macros.html`'s `input`).
    fn input(&mut self, input: Input<'_>) {
        let (described, invalid) = self.field_start(input.name, Some(input.label), input.hint);
        let width = if input.width.is_empty() {
            String::new()
        } else {
            format!(" input-{}", input.width)
        };
        let _ = write!(
            self.out,
            "  <input class=\"input{width}\" id=\"{0}\" name=\"{0}\" type=\"text\" value=\"",
            input.name
        );
        self.text(input.value);
        self.raw("\"");
        if let Some(autocomplete) = input.autocomplete {
            let _ = write!(self.out, " autocomplete=\"{autocomplete}\"");
        }
        if let Some(mode) = input.inputmode {
            let _ = write!(self.out, " inputmode=\"{mode}\"");
        }
        self.described(&described, invalid);
        self.raw(">\n</div>\n");
    }

    /// A select with a first, empty choice (`macros.html`'s `select` with a placeholder).
    fn select<'o>(
        &mut self,
        name: &str,
        label: &str,
        options: impl Iterator<Item = (&'o str, String)>,
        value: &str,
        placeholder: &str,
    ) {
        let (described, invalid) = self.field_start(name, Some(label), "");
        let _ = write!(
            self.out,
            "  <select class=\"select\" id=\"{name}\" name=\"{name}\""
        );
        self.described(&described, invalid);
        self.raw(">\n    <option value=\"\"");
        if value.is_empty() {
            self.raw(" selected");
        }
        self.raw(">");
        self.text(placeholder);
        self.raw("</option>");
        for (v, l) in options {
            self.raw("\n    <option value=\"");
            self.text(v);
            self.raw("\"");
            if value == v {
                self.raw(" selected");
            }
            self.raw(">");
            self.text(&l);
            self.raw("</option>");
        }
        self.raw("\n  </select>\n</div>\n");
    }
}

struct Input<'a> {
    name: &'a str,
    label: &'a str,
    value: &'a str,
    hint: &'a str,
    width: &'a str,
    autocomplete: Option<&'a str>,
    inputmode: Option<&'a str>,
}

impl<'a> Input<'a> {
    fn new(name: &'a str, label: &'a str, value: &'a str, hint: &'a str) -> Self {
        Self {
            name,
            label,
            value,
            hint,
            width: "",
            autocomplete: None,
            inputmode: None,
        }
    }
}

/// The search form as typed, with each field's error (if any) at the field.
pub(super) fn search_form(raw: &RawSearch, errors: &FieldErrors) -> String {
    let mut h = Html {
        out: String::with_capacity(14_000),
        errors,
    };
    h.raw("<form method=\"get\" action=\"/\" novalidate class=\"directory-search\">\n");

    // What they would like help with: a disclosure of checkboxes, open when any is chosen.
    let help_error = h.error("help").map(str::to_owned);
    h.raw(if help_error.is_some() {
        "  <div class=\"field field-error\">\n"
    } else {
        "  <div class=\"field\">\n"
    });
    h.raw("    <details id=\"help\"");
    if !raw.help.is_empty() || help_error.is_some() {
        h.raw(" open");
    }
    h.raw(">\n      <summary>What would you like help with?");
    if !raw.help.is_empty() {
        let _ = write!(h.out, " ({} chosen)", raw.help.len());
    }
    h.raw("</summary>\n");
    if let Some(message) = &help_error {
        h.raw("      <p class=\"error-message\"><span class=\"visually-hidden\">Error:</span> ");
        h.text(message);
        h.raw("</p>\n");
    }
    h.raw("      <fieldset class=\"fieldset\">\n        <legend class=\"visually-hidden\">What would you like help with? Choose any.</legend>\n        <div class=\"radios checkbox-columns\">\n");
    for term in HELP_WITH {
        let slug = term.slug;
        let _ = write!(
            h.out,
            "          <div class=\"checkbox\"><input id=\"help-{slug}\" name=\"help\" type=\"checkbox\" value=\"{slug}\""
        );
        if raw.help.iter().any(|chosen| chosen == slug) {
            h.raw(" checked");
        }
        let _ = write!(h.out, "><label for=\"help-{slug}\">");
        h.text(term.label);
        h.raw("</label></div>\n");
    }
    h.raw("        </div>\n      </fieldset>\n    </details>\n  </div>\n");

    // How they would like to meet: radios.
    let meeting_error = h.error("meeting").map(str::to_owned);
    h.raw(if meeting_error.is_some() {
        "\n<div class=\"field field-error\">\n"
    } else {
        "\n<div class=\"field\">\n"
    });
    h.raw("  <fieldset class=\"fieldset\" id=\"meeting\"");
    if meeting_error.is_some() {
        h.raw(" aria-describedby=\"meeting-error\"");
    }
    h.raw(">\n    <legend>How would you like to meet?</legend>\n");
    if let Some(message) = &meeting_error {
        h.raw("    <p class=\"error-message\" id=\"meeting-error\"><span class=\"visually-hidden\">Error:</span> ");
        h.text(message);
        h.raw("</p>\n");
    }
    h.raw("    <div class=\"radios\">");
    for (value, label) in [
        ("", "In person or online"),
        ("in-person", "In person"),
        ("online", "Online"),
    ] {
        let _ = write!(
            h.out,
            "\n      <div class=\"radio\">\n        <input id=\"meeting-{value}\" name=\"meeting\" type=\"radio\" value=\"{value}\""
        );
        if raw.meeting == value {
            h.raw(" checked");
        }
        let _ = write!(
            h.out,
            ">\n        <label for=\"meeting-{value}\">{label}</label>\n      </div>"
        );
    }
    h.raw("\n    </div>\n  </fieldset>\n</div>\n");

    h.input(Input {
        width: "20",
        autocomplete: Some("postal-code"),
        ..Input::new(
            "near",
            "Near (for meeting in person)",
            &raw.near,
            "A postcode, a postcode district like SW12, or a place like Balham",
        )
    });
    h.select(
        "within",
        "First consultation free",
        [
            ("7", "Within 7 days"),
            ("14", "Within 14 days"),
            ("28", "Within 28 days"),
        ]
        .into_iter()
        .map(|(v, l)| (v, l.to_owned())),
        &raw.within,
        "Any time",
    );
    h.input(Input {
        width: "5",
        inputmode: Some("decimal"),
        ..Input::new(
            "fee",
            "Most you can pay a session, in pounds",
            &raw.fee,
            "For example, 60",
        )
    });

    // Reduced-fee places only: one checkbox.
    let (described, invalid) = h.field_start("concessions", None, "");
    h.raw("  <div class=\"checkbox\">\n    <input id=\"concessions\" name=\"concessions\" type=\"checkbox\" value=\"true\"");
    if raw.concessions {
        h.raw(" checked");
    }
    h.described(&described, invalid);
    h.raw(">\n    <label for=\"concessions\">Only therapists with reduced-fee places</label>\n  </div>\n</div>\n");

    // More ways to search: open when any of them is used or wrong.
    let more = ["q", "approach", "way", "language", "identity", "body"];
    let used = [
        &raw.q,
        &raw.approach,
        &raw.way,
        &raw.language,
        &raw.identity,
        &raw.body,
    ]
    .iter()
    .any(|v| !v.is_empty())
        || more.iter().any(|f| h.error(f).is_some());
    h.raw("  <details class=\"more-filters\"");
    if used {
        h.raw(" open");
    }
    h.raw(">\n    <summary>More ways to search</summary>\n");
    h.input(Input::new(
        "q",
        "Words to look for",
        &raw.q,
        "A name, an approach or anything the therapist might write, like grief or couples",
    ));
    h.select(
        "approach",
        "Approach",
        APPROACHES.iter().map(|t| (t.slug, t.label.to_owned())),
        &raw.approach,
        "Any approach",
    );
    h.select(
        "way",
        "Way of working",
        WAYS_OF_WORKING.iter().map(|t| (t.slug, t.label.to_owned())),
        &raw.way,
        "Either",
    );
    h.input(Input {
        width: "20",
        ..Input::new(
            "language",
            "Language",
            &raw.language,
            "For example, Welsh or Polish",
        )
    });
    h.input(Input::new(
        "identity",
        "Who you would like to see",
        &raw.identity,
        "Matched against how therapists describe themselves, for those who chose to, like woman, gay or Black British",
    ));
    h.select(
        "body",
        "Registered with",
        REGISTRATION_BODIES
            .iter()
            .map(|b| (b.slug, format!("{} ({})", b.short, b.name))),
        &raw.body,
        "Any professional body",
    );
    h.raw("  </details>\n  <button class=\"button\" type=\"submit\">Search</button>\n</form>");
    h.out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_keeps_what_was_typed_escaped_and_shows_errors_at_their_fields() {
        let raw = RawSearch {
            help: vec!["anxiety".into(), "loss".into()],
            near: "\"><script>".into(),
            meeting: "online".into(),
            within: "14".into(),
            body: "bacp".into(),
            concessions: true,
            ..RawSearch::default()
        };
        let mut errors = FieldErrors::default();
        errors.add("near", "No listing has a room in a place called “x”");
        let html = search_form(&raw, &errors);
        assert!(html.contains("value=\"anxiety\" checked>"));
        assert!(html.contains("value=\"loss\" checked>"));
        assert!(!html.contains("value=\"trauma\" checked"));
        assert!(html.contains("(2 chosen)"));
        assert!(html.contains("value=\"online\" checked>"));
        assert!(html.contains("<option value=\"14\" selected>"));
        assert!(html.contains("<option value=\"bacp\" selected>"));
        assert!(html.contains("<option value=\"\" selected>Any approach</option>"));
        assert!(html.contains("value=\"true\" checked>"));
        assert!(
            html.contains("value=\"&quot;&gt;&lt;script&gt;\""),
            "escaped"
        );
        assert!(!html.contains("<script>"));
        assert!(html.contains("aria-describedby=\"near-hint near-error\" aria-invalid=\"true\""));
        assert!(html.contains("<div class=\"field field-error\">\n  <label for=\"near\">"));
        assert!(
            html.contains("<details class=\"more-filters\" open>"),
            "a body is chosen"
        );
    }
}
