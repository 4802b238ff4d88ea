//! Confidential notes (SECURITY.md R8): sealed with the client's data key before they reach
//! the store, opened only to be shown to the signed-in therapist. A note's text never goes
//! into a log, an email, a feed or an error page; failures name the note, never its words.

use crypto::{CryptoError, DataKey};
use jiff::Timestamp;
use store::{ClientId, NoteId, SessionId};

use crate::{Here, WebError, error::WebResult};

/// A note opened for the therapist.
pub(crate) struct OpenNote {
    pub id: NoteId,
    pub session: Option<SessionId>,
    pub text: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

fn unreadable(what: &str, error: CryptoError) -> WebError {
    WebError::Internal(anyhow::anyhow!("{what}: {error}"))
}

/// The client's data key: unwrapped from the store, or made and stored the first time.
async fn data_key(state: &Here, client: ClientId) -> WebResult<DataKey> {
    let master = state.practice_key().await?;
    let practice = state.practice_id();
    let binding = crate::keys::client_key_binding(practice, client);
    let wrapped = match state.store().client_key(practice, client).await? {
        Some(wrapped) => wrapped,
        None => {
            let fresh = master.wrap(&DataKey::generate(), &binding);
            state
                .store()
                .add_client_key(practice, client, &fresh, state.now())
                .await?
        }
    };
    master.unwrap(&wrapped, &binding).map_err(|e| {
        unreadable(
            &format!("client {client}'s key (is this the practice's key file?)"),
            e,
        )
    })
}

fn note_binding(state: &Here, note: NoteId) -> Vec<u8> {
    crate::keys::note_binding(state.practice_id(), note)
}

/// Write a note (see `NoteStore::save_note`).
pub(crate) async fn save(
    state: &Here,
    client: ClientId,
    session: Option<SessionId>,
    id: Option<NoteId>,
    text: &str,
) -> WebResult<NoteId> {
    let key = data_key(state, client).await?;
    let seal = |note: NoteId| key.seal(text.as_bytes(), &note_binding(state, note));
    Ok(state
        .store()
        .save_note(state.practice_id(), client, session, id, &seal, state.now())
        .await?)
}

fn open(state: &Here, key: &DataKey, note: &store::SealedNote) -> WebResult<OpenNote> {
    let text = key
        .open(&note.body, &note_binding(state, note.id))
        .map_err(|e| unreadable(&format!("note {}", note.id), e))?;
    Ok(OpenNote {
        id: note.id,
        session: note.session,
        text: String::from_utf8_lossy(&text).into_owned(),
        created_at: note.created_at,
        updated_at: note.updated_at,
    })
}

/// All of a client's notes, opened, newest first (none without a key: nothing to open).
pub(crate) async fn all(state: &Here, client: ClientId) -> WebResult<Vec<OpenNote>> {
    let sealed = state.store().notes(state.practice_id(), client).await?;
    if sealed.is_empty() {
        return Ok(Vec::new());
    }
    let key = data_key(state, client).await?;
    sealed.iter().map(|n| open(state, &key, n)).collect()
}

/// The note on one session, opened.
pub(crate) async fn on_session(
    state: &Here,
    client: ClientId,
    session: SessionId,
) -> WebResult<Option<OpenNote>> {
    match state
        .store()
        .session_note(state.practice_id(), session)
        .await?
    {
        Some(note) => {
            let key = data_key(state, client).await?;
            Ok(Some(open(state, &key, &note)?))
        }
        None => Ok(None),
    }
}

/// Whether notes can be written on this server.
pub(crate) fn available(state: &Here) -> bool {
    state.keys().loaded()
}

/// Check a note's text: there must be something to keep. (Its length is bounded only by
/// the request size limit, so nothing typed is ever turned away for being long.)
pub(crate) fn check(text: &str) -> Result<String, &'static str> {
    let text = text.replace("\r\n", "\n");
    if text.trim().is_empty() {
        Err("Write the note before saving it")
    } else {
        Ok(text)
    }
}

/// True when the request is the notes script saving while the therapist types (it asks
/// for a JSON answer instead of a page).
pub(crate) fn is_autosave(headers: &axum::http::HeaderMap) -> bool {
    headers.get("x-autosave").is_some_and(|v| v == "1")
}

/// The script's answer to a save: the local time it was saved and the note's id (so that
/// a new general note is changed, not added again, by the next save).
pub(crate) async fn autosaved(state: &Here, id: NoteId) -> WebResult<axum::response::Response> {
    let view = crate::therapy::PracticeView::load(state).await?;
    let saved = crate::words::hours_minutes(view.zone.to_datetime(state.now()));
    Ok(crate::api::json_response(
        axum::http::StatusCode::OK,
        serde_json::json!({ "saved": saved, "id": id.get() }),
    ))
}

/// The script's answer when a save is refused.
pub(crate) fn autosave_refused(message: &str) -> axum::response::Response {
    crate::api::json_response(
        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        serde_json::json!({ "message": message }),
    )
}
