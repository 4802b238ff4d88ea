//! Appointment types.

use super::*;

pub(super) fn type_fields(raw: &RawAppointmentType, locations: &[Location]) -> Vec<Field> {
    let b = &raw.booking;
    let options = locations
        .iter()
        .map(|l| {
            (
                l.slug.to_string(),
                l.name.clone(),
                b.locations.iter().any(|x| x == l.slug.as_str()),
            )
        })
        .collect();
    vec![
        text("name", "Name", "As shown on the fees page.", &raw.name),
        typed("number", "minutes", "Length in minutes", "", &raw.minutes),
        text(
            "fee",
            "Fee in pounds",
            "For example, 75 or 62.50.",
            &raw.fee,
        ),
        text(
            "description",
            "Description",
            "One or two sentences.",
            &raw.description,
        ),
        checkbox(
            "bookable_online",
            "Visitors can book this online",
            "Usually only the first consultation.",
            b.bookable_online,
        ),
        Field {
            name: "locations",
            label: "Where it can be booked",
            hint: "",
            kind: "checkboxes",
            value: String::new(),
            checked: false,
            options,
        },
        typed(
            "number",
            "notice_hours",
            "Minimum notice, in hours",
            "How soon before it starts someone can book.",
            &b.notice_hours,
        ),
        typed(
            "number",
            "horizon_days",
            "How many days ahead it can be booked",
            "",
            &b.horizon_days,
        ),
        typed(
            "number",
            "granularity_minutes",
            "Minutes between possible start times",
            "For example 60 offers 9:00, 10:00, 11:00.",
            &b.granularity_minutes,
        ),
        typed(
            "number",
            "buffer_before",
            "Minutes kept free before",
            "",
            &b.buffer_before,
        ),
        typed(
            "number",
            "buffer_after",
            "Minutes kept free after",
            "Time for notes and a breather.",
            &b.buffer_after,
        ),
        typed(
            "number",
            "travel_minutes",
            "Travel time between rooms, in minutes",
            "Kept free when the appointment before or after is at another location.",
            &b.travel_minutes,
        ),
    ]
}

pub(crate) fn booking_raw(form: &FormData) -> RawBookingRules {
    RawBookingRules {
        bookable_online: form.has("bookable_online"),
        locations: form
            .all("locations")
            .into_iter()
            .map(str::to_owned)
            .collect(),
        buffer_before: form.get("buffer_before").into(),
        buffer_after: form.get("buffer_after").into(),
        travel_minutes: form.get("travel_minutes").into(),
        notice_hours: form.get("notice_hours").into(),
        horizon_days: form.get("horizon_days").into(),
        granularity_minutes: form.get("granularity_minutes").into(),
    }
}

pub(super) async fn find_type(state: &Here, raw: &str) -> WebResult<AppointmentType> {
    let slug = Slug::parse(raw).map_err(|_| WebError::NotFound)?;
    let types = state.store().appointment_types(state.practice_id()).await?;
    types
        .into_iter()
        .find(|t| t.slug == slug)
        .ok_or(WebError::NotFound)
}

pub(super) async fn type_form(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    Query(q): Query<Saved>,
) -> WebResult<Response> {
    let kind = find_type(&state, &raw).await?;
    let form = RawAppointmentType {
        slug: kind.slug.to_string(),
        name: kind.name.clone(),
        minutes: kind.minutes.to_string(),
        fee: format!("{}.{:02}", kind.fee.get() / 100, kind.fee.get() % 100),
        fee_pence: None,
        description: kind.description.clone(),
        booking: kind.booking.to_raw(),
    };
    let locations = state.store().locations(state.practice_id()).await?;
    let title = format!("Appointment type: {}", kind.name);
    show(
        &state,
        &staff,
        &title,
        &format!("/office/settings/appointment-types/{}", kind.slug),
        type_fields(&form, &locations),
        None,
        q.saved.is_some(),
    )
    .await
}

pub(super) async fn save_type(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    let kind = find_type(&state, &raw).await?;
    let raw = RawAppointmentType {
        slug: kind.slug.to_string(),
        name: form.get("name").into(),
        minutes: form.get("minutes").into(),
        fee: form.get("fee").into(),
        fee_pence: None,
        description: form.get("description").into(),
        booking: booking_raw(&form),
    };
    let locations = state.store().locations(state.practice_id()).await?;
    let path = format!("/office/settings/appointment-types/{}", kind.slug);
    match AppointmentType::parse(&raw) {
        Ok(updated) => {
            state
                .store()
                .update_appointment_type(state.practice_id(), &updated)
                .await?;
            state.content_changed();
            Ok(done(&path))
        }
        Err(errors) => {
            show(
                &state,
                &staff,
                &format!("Appointment type: {}", kind.name),
                &path,
                type_fields(&raw, &locations),
                Some(&errors),
                false,
            )
            .await
        }
    }
}
