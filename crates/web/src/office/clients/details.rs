//! Adding and changing a client.

use super::*;

/// The client form's fields as typed.
#[derive(Serialize)]
pub(crate) struct ClientValues {
    name: String,
    email: String,
    phone: String,
    contact_preference: String,
    reminders: bool,
}

impl ClientValues {
    fn from_form(form: &FormData) -> Self {
        Self {
            name: form.get("name").to_owned(),
            email: form.get("email").to_owned(),
            phone: form.get("phone").to_owned(),
            contact_preference: form.get("contact_preference").to_owned(),
            reminders: form.has("reminders"),
        }
    }

    fn of(client: &Client) -> Self {
        Self {
            name: client.name.to_string(),
            email: client.email.to_string(),
            phone: client
                .phone
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            contact_preference: client.contact_preference.as_str().to_owned(),
            reminders: client.reminders,
        }
    }
}

/// Parse the client form with the same rules as the public forms, in words for the therapist.
pub(crate) fn parse_client(form: &FormData) -> Result<NewClient, FieldErrors> {
    let mut errors = FieldErrors::new();
    let contact = Contact::parse(
        form.get("name"),
        form.get("email"),
        form.get("phone"),
        form.get("contact_preference"),
        &mut errors,
    );
    match contact {
        Some(c) if errors.is_empty() => Ok(NewClient {
            name: c.name,
            email: c.email,
            phone: c.phone,
            contact_preference: c.contact_preference,
            reminders: form.has("reminders"),
        }),
        _ => Err(about_the_client(&errors)),
    }
}

/// The public forms speak to the visitor ("Enter your name"); here the therapist is
/// writing about someone else.
pub(crate) fn about_the_client(errors: &FieldErrors) -> FieldErrors {
    let mut out = FieldErrors::new();
    for (field, message) in errors.iter() {
        let message = match (field, message) {
            ("name", "Enter your name") => "Enter the client’s name".to_owned(),
            ("email", "Enter your email address") => "Enter the client’s email address".to_owned(),
            ("contact_preference", _) => {
                "Choose how the client would like to be contacted".to_owned()
            }
            ("phone", m) if m.starts_with("Enter a phone number, or") => {
                "Enter a phone number, or choose email as the way to contact them".to_owned()
            }
            (_, m) => m.replace("your name", "the client’s name"),
        };
        out.add(field, message);
    }
    out
}

pub(crate) async fn client_form(
    state: &Here,
    staff: &Staff,
    client: Option<&Client>,
    values: &ClientValues,
    errors: Option<&FieldErrors>,
) -> WebResult<Response> {
    let (list, map) = errors.map_or((Value::UNDEFINED, Value::UNDEFINED), errors_value);
    let status = if errors.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let (heading, action, back) = match client {
        Some(c) => (
            format!("Change {}’s details", c.name),
            format!("/office/clients/{}/edit", c.id),
            format!("/office/clients/{}", c.id),
        ),
        None => (
            "Add a client".to_owned(),
            "/office/clients/new".to_owned(),
            "/office/clients".to_owned(),
        ),
    };
    let ctx = context! {
        heading, action, back,
        is_new => client.is_none(),
        values => value(values),
        errors => list,
        error => map,
    };
    page(state, staff, status, "office/clients/client_form.html", ctx).await
}

pub(crate) async fn new_form(state: Here, staff: Staff) -> WebResult<Response> {
    let values = ClientValues {
        name: String::new(),
        email: String::new(),
        phone: String::new(),
        contact_preference: "email".to_owned(),
        reminders: true,
    };
    client_form(&state, &staff, None, &values, None).await
}

pub(crate) async fn create(state: Here, staff: Staff, form: FormData) -> WebResult<Response> {
    match parse_client(&form) {
        Ok(client) => {
            let id = state
                .store()
                .create_client(state.practice_id(), &client, None, state.now())
                .await?;
            Ok(Redirect::to(&format!("/office/clients/{id}")).into_response())
        }
        Err(errors) => {
            client_form(
                &state,
                &staff,
                None,
                &ClientValues::from_form(&form),
                Some(&errors),
            )
            .await
        }
    }
}

/// One of the practice's clients by the id in the URL; anything else is "not found".
pub(crate) async fn find_client(state: &Here, raw: &str) -> WebResult<Client> {
    let id = ClientId::parse(raw).ok_or(WebError::NotFound)?;
    Ok(state.store().client(state.practice_id(), id).await?)
}

pub(crate) async fn edit_form(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
) -> WebResult<Response> {
    let client = find_client(&state, &raw).await?;
    client_form(
        &state,
        &staff,
        Some(&client),
        &ClientValues::of(&client),
        None,
    )
    .await
}

pub(crate) async fn update(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    let client = find_client(&state, &raw).await?;
    match parse_client(&form) {
        Ok(details) => {
            state
                .store()
                .update_client(state.practice_id(), client.id, &details, state.now())
                .await?;
            Ok(Redirect::to(&format!("/office/clients/{}", client.id)).into_response())
        }
        Err(errors) => {
            client_form(
                &state,
                &staff,
                Some(&client),
                &ClientValues::from_form(&form),
                Some(&errors),
            )
            .await
        }
    }
}
