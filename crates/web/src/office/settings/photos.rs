//! Photos: the therapist's portrait and photos of each room, each with the alt text that
//! describes it to someone who cannot see it. Uploads are cleaned and resized by
//! `crate::photos` (one at a time) and stored whole or not at all.

use super::*;

use axum::extract::{FromRequest, Request};
use store::{ImageInfo, ImageRole, ROOM_PHOTOS_MAX};

use crate::{
    photos::{PhotoView, new_image},
    upload::Upload,
};

/// Longest alt text: a sentence or two. Screen readers read it in one go.
const ALT_MAX: usize = 250;

/// The alt text field's hint: what good alt text is.
const ALT_HINT: &str = "Say in a sentence what someone who cannot see the photo would want to \
    know: for example \u{201c}Alex smiling, in a blue jumper\u{201d} or \u{201c}Two armchairs \
    facing each other by a tall window\u{201d}. There is no need to begin with \u{201c}A photo \
    of\u{201d}. Screen readers read this out, and it shows if the photo cannot load.";

/// Alt text as typed, tidied: one line, no outer spaces.
fn tidy_alt(raw: &str) -> String {
    raw.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Check alt text, or say what is wrong with it.
fn check_alt(alt: &str) -> Result<(), &'static str> {
    let lower = alt.to_ascii_lowercase();
    if alt.is_empty() {
        Err("Describe the photo, so people who cannot see it know what it shows")
    } else if alt.chars().count() > ALT_MAX {
        Err("Keep the description to 250 characters or fewer")
    } else if [".jpg", ".jpeg", ".png", ".webp", ".heic"]
        .iter()
        .any(|ending| lower.ends_with(ending))
    {
        Err("Describe what the photo shows, not its file name")
    } else {
        Ok(())
    }
}

/// Where a photo goes, from the upload's address.
enum Target {
    Portrait,
    /// The location's slug and name.
    Room(Slug, String),
}

impl Target {
    fn role(&self) -> ImageRole {
        match self {
            Self::Portrait => ImageRole::Portrait,
            Self::Room(slug, _) => ImageRole::Room(slug.clone()),
        }
    }
    fn action(&self) -> String {
        match self {
            Self::Portrait => "/office/settings/photos/portrait".into(),
            Self::Room(slug, _) => format!("/office/settings/photos/rooms/{slug}"),
        }
    }
    fn title(&self) -> String {
        match self {
            Self::Portrait => "Your portrait".into(),
            Self::Room(_, name) => format!("Add a photo of {name}"),
        }
    }
}

async fn room(state: &Here, slug: &str) -> WebResult<Location> {
    let slug = Slug::parse(slug).map_err(|_| WebError::NotFound)?;
    state
        .store()
        .locations(state.practice_id())
        .await?
        .into_iter()
        .find(|l| l.slug == slug)
        .ok_or(WebError::NotFound)
}

pub(super) async fn photos_page(
    state: Here,
    staff: Staff,
    Query(q): Query<Saved>,
) -> WebResult<Response> {
    let id = state.practice_id();
    let images = state.store().images(id).await?;
    let locations = state.store().locations(id).await?;
    let views: Vec<PhotoView> = images.iter().map(PhotoView::of).collect();
    let portrait = views.iter().find(|v| v.location.is_none());
    let rooms: Vec<_> = locations
        .iter()
        .map(|l| {
            let photos: Vec<&PhotoView> = views
                .iter()
                .filter(|v| v.location.as_deref() == Some(l.slug.as_str()))
                .collect();
            let full = photos.len() >= ROOM_PHOTOS_MAX;
            context! { slug => l.slug.as_str(), name => &l.name, photos => value(&photos), full }
        })
        .collect();
    let ctx = context! {
        portrait => value(&portrait),
        rooms,
        saved => q.saved.is_some(),
        most => ROOM_PHOTOS_MAX,
    };
    page(&state, &staff, StatusCode::OK, "office/photos.html", ctx).await
}

pub(super) async fn portrait_form(state: Here, staff: Staff) -> WebResult<Response> {
    upload_page(&state, &staff, &Target::Portrait, "", None).await
}

pub(super) async fn room_form(
    state: Here,
    staff: Staff,
    Path(slug): Path<String>,
) -> WebResult<Response> {
    let location = room(&state, &slug).await?;
    let target = Target::Room(location.slug, location.name);
    upload_page(&state, &staff, &target, "", None).await
}

pub(super) async fn upload_portrait(
    state: Here,
    staff: Staff,
    request: Request,
) -> WebResult<Response> {
    upload(&state, &staff, Target::Portrait, request).await
}

pub(super) async fn upload_room(
    state: Here,
    staff: Staff,
    Path(slug): Path<String>,
    request: Request,
) -> WebResult<Response> {
    let location = room(&state, &slug).await?;
    let target = Target::Room(location.slug, location.name);
    upload(&state, &staff, target, request).await
}

async fn upload_page(
    state: &Here,
    staff: &Staff,
    target: &Target,
    alt: &str,
    errors: Option<&FieldErrors>,
) -> WebResult<Response> {
    let (list, map, status) = form_errors(errors);
    let current = match target {
        Target::Portrait => state
            .store()
            .portrait(state.practice_id())
            .await?
            .as_ref()
            .map(PhotoView::of),
        Target::Room(..) => None,
    };
    let ctx = context! {
        title => target.title(),
        action => target.action(),
        portrait => matches!(target, Target::Portrait),
        current => value(&current),
        alt,
        alt_hint => ALT_HINT,
        errors => list,
        error => map,
    };
    page(state, staff, status, "office/photo_upload.html", ctx).await
}

async fn upload(
    state: &Here,
    staff: &Staff,
    target: Target,
    request: Request,
) -> WebResult<Response> {
    // The place is taken before the body is read, so at most two bodies are held at once.
    let slot = state.photo_jobs().slot()?;
    let form = match Upload::from_request(request, &()).await {
        Ok(form) => form,
        Err(response) if response.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let mut errors = FieldErrors::new();
            errors.add("photo", images::Refusal::TooLarge.to_string());
            return upload_page(state, staff, &target, "", Some(&errors)).await;
        }
        Err(response) => return Ok(response),
    };
    let alt = tidy_alt(form.fields.get("alt"));
    let file = form
        .file
        .filter(|(name, _)| name == "photo")
        .map(|(_, bytes)| bytes)
        .unwrap_or_default();
    let mut errors = FieldErrors::new();
    if let Err(message) = check_alt(&alt) {
        // Nothing is processed until the form is whole; the file has to be chosen again.
        if file.is_empty() {
            errors.add("photo", images::Refusal::Empty.to_string());
        } else {
            errors.add("photo", "Choose the photo again");
        }
        errors.add("alt", message);
        return upload_page(state, staff, &target, &alt, Some(&errors)).await;
    }
    let processed = match state.photo_jobs().process(&slot, file).await? {
        Ok(processed) => processed,
        Err(refusal) => {
            errors.add("photo", refusal.to_string());
            return upload_page(state, staff, &target, &alt, Some(&errors)).await;
        }
    };
    let image = new_image(target.role(), alt, processed);
    match state
        .store()
        .save_image(state.practice_id(), &image, state.now())
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict(ConflictKind::PhotoTwice)) => {
            errors.add("photo", "This photo is on your site already");
            return upload_page(state, staff, &target, &image.alt, Some(&errors)).await;
        }
        Err(StoreError::Conflict(ConflictKind::TooManyPhotos)) => {
            errors.add(
                "photo",
                "This room has six photos already: remove one before adding another",
            );
            return upload_page(state, staff, &target, &image.alt, Some(&errors)).await;
        }
        Err(other) => return Err(other.into()),
    }
    drop(slot);
    state.content_changed();
    Ok(done("/office/settings/photos"))
}

async fn find_photo(state: &Here, key: &str) -> WebResult<ImageInfo> {
    let images = state.store().images(state.practice_id()).await?;
    images
        .into_iter()
        .find(|i| i.key == key)
        .ok_or(WebError::NotFound)
}

pub(super) async fn photo_form(
    state: Here,
    staff: Staff,
    Path(key): Path<String>,
) -> WebResult<Response> {
    let photo = find_photo(&state, &key).await?;
    photo_page(&state, &staff, &photo, &photo.alt, None).await
}

async fn photo_page(
    state: &Here,
    staff: &Staff,
    photo: &ImageInfo,
    alt: &str,
    errors: Option<&FieldErrors>,
) -> WebResult<Response> {
    let (list, map, status) = form_errors(errors);
    let place = match &photo.role {
        ImageRole::Portrait => "Your portrait".to_owned(),
        ImageRole::Room(slug) => room(state, slug.as_str())
            .await
            .map_or_else(|_| slug.to_string(), |l| format!("A photo of {}", l.name)),
    };
    let ctx = context! {
        photo => value(&PhotoView::of(photo)),
        place,
        alt,
        alt_hint => ALT_HINT,
        errors => list,
        error => map,
    };
    page(state, staff, status, "office/photo.html", ctx).await
}

pub(super) async fn save_photo(
    state: Here,
    staff: Staff,
    Path(key): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    let photo = find_photo(&state, &key).await?;
    let alt = tidy_alt(form.get("alt"));
    if let Err(message) = check_alt(&alt) {
        let mut errors = FieldErrors::new();
        errors.add("alt", message);
        return photo_page(&state, &staff, &photo, &alt, Some(&errors)).await;
    }
    state
        .store()
        .set_image_alt(state.practice_id(), &photo.key, &alt)
        .await?;
    state.content_changed();
    Ok(done("/office/settings/photos"))
}

pub(super) async fn delete_photo(
    state: Here,
    _staff: Staff,
    Path(key): Path<String>,
) -> WebResult<Response> {
    let photo = find_photo(&state, &key).await?;
    state
        .store()
        .delete_image(state.practice_id(), &photo.key)
        .await?;
    state.content_changed();
    Ok(done("/office/settings/photos"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alt_text_is_tidied_and_checked() {
        assert_eq!(
            tidy_alt("  Two chairs\n by a   window "),
            "Two chairs by a window"
        );
        assert!(check_alt("Two green armchairs facing each other by a window").is_ok());
        assert!(check_alt("").is_err());
        assert!(check_alt("IMG_2041.JPG").is_err());
        assert!(check_alt(&"a".repeat(251)).is_err());
        assert!(check_alt(&"é".repeat(250)).is_ok(), "characters, not bytes");
    }
}
