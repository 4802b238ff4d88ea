//! The practice's look: a designed theme, previewed before it is chosen, and an accent
//! colour checked for contrast (`domain::look`).

use super::*;

use domain::look::{Accent, Colour, Theme};
use store::Look;

/// The themes as the form's radios offer them.
fn theme_options() -> Vec<Value> {
    Theme::ALL
        .into_iter()
        .map(|t| context! { value => t.as_str(), label => t.name(), hint => t.description() })
        .collect()
}

async fn look_page(
    state: &Here,
    staff: &Staff,
    theme: &str,
    accent: &str,
    errors: Option<&FieldErrors>,
    saved: bool,
) -> WebResult<Response> {
    let (list, map, status) = form_errors(errors);
    let ctx = context! {
        themes => theme_options(),
        theme,
        accent,
        errors => list,
        error => map,
        saved,
    };
    page(state, staff, status, "office/look.html", ctx).await
}

pub(super) async fn look_form(
    state: Here,
    staff: Staff,
    Query(q): Query<Saved>,
) -> WebResult<Response> {
    let look = state.store().look(state.practice_id()).await?;
    let accent = look.accent.map(|a| a.colour().hex()).unwrap_or_default();
    look_page(
        &state,
        &staff,
        look.theme.as_str(),
        &accent,
        None,
        q.saved.is_some(),
    )
    .await
}

/// A submitted look, or what is wrong with it.
pub(crate) fn parse_look(theme: &str, accent: &str) -> Result<Look, FieldErrors> {
    let mut errors = FieldErrors::new();
    let theme = Theme::parse(theme);
    if theme.is_none() {
        errors.add("theme", "Choose a theme");
    }
    let accent = match (accent.trim(), theme) {
        ("", _) => None,
        (raw, theme) => match Colour::parse(raw) {
            None => {
                errors.add(
                    "accent",
                    "Enter the colour as a hex code: a # and six digits or letters a to f, like #2f6b4f",
                );
                None
            }
            Some(colour) => match theme.map(|theme| Accent::check(theme, colour)) {
                Some(Ok(accent)) => Some(accent),
                Some(Err(refused)) => {
                    errors.add("accent", refused.to_string());
                    None
                }
                None => None,
            },
        },
    };
    match theme {
        Some(theme) if errors.is_empty() => Ok(Look { theme, accent }),
        _ => Err(errors),
    }
}

pub(super) async fn save_look(state: Here, staff: Staff, form: FormData) -> WebResult<Response> {
    match parse_look(form.get("theme"), form.get("accent")) {
        Ok(look) => {
            state.store().set_look(state.practice_id(), &look).await?;
            state.content_changed();
            Ok(done("/office/settings/look"))
        }
        Err(errors) => {
            look_page(
                &state,
                &staff,
                form.get("theme"),
                form.get("accent"),
                Some(&errors),
                false,
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub(super) struct PreviewQuery {
    accent: Option<String>,
}

/// The home page in another theme (and accent, if one that passes is given), with a banner
/// saying so. Staff only, never cached.
pub(super) async fn preview_look(
    state: Here,
    _staff: Staff,
    Path(theme): Path<String>,
    Query(q): Query<PreviewQuery>,
) -> WebResult<Response> {
    let theme = Theme::parse(&theme).ok_or(WebError::NotFound)?;
    let accent = q
        .accent
        .as_deref()
        .and_then(Colour::parse)
        .and_then(|colour| Accent::check(theme, colour).ok());
    let extra = context! {
        preview_css => crate::site::feeds::theme_href(theme, accent),
        preview => context! { name => theme.name() },
    };
    let body = crate::site::pages::home_html(&state, extra).await?;
    Ok(crate::render::html(StatusCode::OK, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_look_is_read_with_a_message_per_field() {
        assert_eq!(
            parse_look("warm", "").unwrap(),
            Look {
                theme: Theme::Warm,
                accent: None
            }
        );
        let look = parse_look("modern", " #1F5FBF ").unwrap();
        assert_eq!(look.accent.unwrap().colour().hex(), "#1f5fbf");
        let errors = parse_look("gothic", "").unwrap_err();
        assert_eq!(errors.get("theme"), Some("Choose a theme"));
        let errors = parse_look("plain", "green").unwrap_err();
        assert!(errors.get("accent").unwrap().contains("hex code"));
        let errors = parse_look("plain", "#f4a6c0").unwrap_err();
        assert!(
            errors
                .get("accent")
                .unwrap()
                .contains("nearest colour that passes is #")
        );
    }
}
