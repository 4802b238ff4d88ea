//! Locations.

use super::*;

pub(super) fn location_fields(raw: &RawLocation, lat: &str, lon: &str) -> Vec<Field> {
    vec![
        text("name", "Name", "For example, Balham or Online.", &raw.name),
        text(
            "slug",
            "Web address (slug)",
            "Short, lowercase, with hyphens: used in links, for example chancery-lane.",
            &raw.slug,
        ),
        checkbox(
            "online",
            "This is for online sessions (no address)",
            "",
            raw.online,
        ),
        area(
            "address_lines",
            "Address",
            "One line per line, without the postcode.",
            raw.address_lines.join("\n"),
        ),
        text("postcode", "Postcode", "", &raw.postcode),
        text(
            "latitude",
            "Latitude (optional)",
            "For the OpenStreetMap link, for example 51.4431.",
            lat,
        ),
        text(
            "longitude",
            "Longitude (optional)",
            "For example, -0.1527.",
            lon,
        ),
        text("summary", "Summary", "One line.", &raw.summary),
        area(
            "getting_there",
            "Getting there",
            MARKDOWN_HINT,
            &raw.getting_there,
        ),
        area(
            "accessibility",
            "Accessibility",
            "Step-free access, lifts, toilets.",
            &raw.accessibility,
        ),
        area(
            "building",
            "The building and the room",
            MARKDOWN_HINT,
            &raw.building,
        ),
    ]
}

pub(crate) fn location_raw(form: &FormData, errors: &mut FieldErrors) -> RawLocation {
    let mut coordinate = |name: &'static str| -> Option<f64> {
        let text = form.get(name).trim();
        if text.is_empty() {
            return None;
        }
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Some(v),
            _ => {
                errors.add(name, "Enter a number, like 51.4431, or leave it empty");
                None
            }
        }
    };
    let latitude = coordinate("latitude");
    let longitude = coordinate("longitude");
    RawLocation {
        slug: form.get("slug").into(),
        name: form.get("name").into(),
        online: form.has("online"),
        address_lines: split_lines(form.get("address_lines")),
        postcode: form.get("postcode").into(),
        latitude,
        longitude,
        summary: form.get("summary").into(),
        getting_there: form.get("getting_there").into(),
        accessibility: form.get("accessibility").into(),
        building: form.get("building").into(),
    }
}

pub(super) fn coordinates(l: &Location) -> (String, String) {
    (
        l.latitude.map(|v| v.to_string()).unwrap_or_default(),
        l.longitude.map(|v| v.to_string()).unwrap_or_default(),
    )
}

pub(super) async fn new_location_form(state: Here, staff: Staff) -> WebResult<Response> {
    show(
        &state,
        &staff,
        "Add a location",
        "/office/settings/locations/new",
        location_fields(&RawLocation::default(), "", ""),
        None,
        false,
    )
    .await
}

pub(super) async fn find_location(state: &Here, raw: &str) -> WebResult<Location> {
    let slug = Slug::parse(raw).map_err(|_| WebError::NotFound)?;
    let locations = state.store().locations(state.practice_id()).await?;
    locations
        .into_iter()
        .find(|l| l.slug == slug)
        .ok_or(WebError::NotFound)
}

pub(super) async fn location_form(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    Query(q): Query<Saved>,
) -> WebResult<Response> {
    let location = find_location(&state, &raw).await?;
    let (lat, lon) = coordinates(&location);
    let title = format!("Location: {}", location.name);
    show(
        &state,
        &staff,
        &title,
        &format!("/office/settings/locations/{}", location.slug),
        location_fields(&location.to_raw(), &lat, &lon),
        None,
        q.saved.is_some(),
    )
    .await
}

pub(super) async fn store_location(
    state: &Here,
    staff: &Staff,
    existing: Option<&Location>,
    form: &FormData,
) -> WebResult<Response> {
    let mut errors = FieldErrors::new();
    let raw = location_raw(form, &mut errors);
    let (title, action) = match existing {
        Some(l) => (
            format!("Location: {}", l.name),
            format!("/office/settings/locations/{}", l.slug),
        ),
        None => (
            "Add a location".to_owned(),
            "/office/settings/locations/new".to_owned(),
        ),
    };
    let parsed = Location::parse(&raw);
    let redisplay = |errors: FieldErrors| async move {
        show(
            state,
            staff,
            &title,
            &action,
            location_fields(&raw, form.get("latitude"), form.get("longitude")),
            Some(&errors),
            false,
        )
        .await
    };
    let location = match parsed {
        Ok(location) if errors.is_empty() => location,
        Ok(_) => return redisplay(errors).await,
        Err(more) => {
            for (field, message) in more.iter() {
                errors.add(field, message);
            }
            return redisplay(errors).await;
        }
    };
    match state
        .store()
        .save_location(state.practice_id(), existing.map(|l| &l.slug), &location)
        .await
    {
        Ok(()) => {
            state.content_changed();
            Ok(done(&format!(
                "/office/settings/locations/{}",
                location.slug
            )))
        }
        Err(StoreError::Conflict(ConflictKind::LocationSlug)) => {
            let mut errors = FieldErrors::new();
            errors.add(
                "slug",
                "Another location already uses this web address. Choose a different one",
            );
            redisplay(errors).await
        }
        Err(other) => Err(other.into()),
    }
}

pub(super) async fn create_location(
    state: Here,
    staff: Staff,
    form: FormData,
) -> WebResult<Response> {
    store_location(&state, &staff, None, &form).await
}

pub(super) async fn save_location(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    let existing = find_location(&state, &raw).await?;
    store_location(&state, &staff, Some(&existing), &form).await
}

pub(super) async fn confirm_delete_location(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
) -> WebResult<Response> {
    let location = find_location(&state, &raw).await?;
    let ctx = context! {
        title => format!("Remove the location “{}”?", location.name),
        warning => "It will no longer be shown on your site. This cannot be undone.",
        action => format!("/office/settings/locations/{}/delete", location.slug),
        button => "Yes, remove this location",
        back => format!("/office/settings/locations/{}", location.slug),
    };
    page(
        &state,
        &staff,
        StatusCode::OK,
        "office/confirm_delete.html",
        ctx,
    )
    .await
}

pub(super) async fn delete_location(
    state: Here,
    _staff: Staff,
    Path(raw): Path<String>,
) -> WebResult<Response> {
    let location = find_location(&state, &raw).await?;
    state
        .store()
        .delete_location(state.practice_id(), &location.slug)
        .await?;
    state.content_changed();
    Ok(Redirect::to("/office/settings").into_response())
}
