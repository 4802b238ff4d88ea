//! The audit log, as the owner reads it: the latest entries, and a check of the whole chain.

use axum::{
    Router,
    extract::{Query, State},
    http::StatusCode,
    response::Response,
    routing::get,
};
use minijinja::context;
use serde::Deserialize;
use store::{Actor, audit};

use super::{Staff, page};
use crate::{AppState, error::WebResult, therapy::PracticeView};

/// How many entries the page lists.
const SHOWN: u32 = 200;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/office/settings/audit", get(show))
}

#[derive(Deserialize)]
struct AuditQuery {
    check: Option<String>,
}

/// The latest entries, newest first; `?check=1` also walks the whole chain.
async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<AuditQuery>,
) -> WebResult<Response> {
    if !staff.user.owner {
        return Err(staff.refused(&state).await);
    }
    let view = PracticeView::load(&state).await?;
    let staff_names = state.store().staff_names(state.practice_id()).await?;
    let entries: Vec<_> = state
        .store()
        .recent_audit(state.practice_id(), SHOWN)
        .await?
        .into_iter()
        .map(|e| {
            let who = match e.actor {
                Actor::Staff(user) => staff_names
                    .iter()
                    .find(|(id, _)| *id == user)
                    .map_or_else(|| "A former member of staff".to_owned(), |(_, n)| n.clone()),
                Actor::Client(client) => format!("Client {}", client.get()),
                Actor::Anonymous => "Someone not signed in".to_owned(),
                Actor::System => "Anteroom".to_owned(),
            };
            let record = match (e.object_kind.as_deref(), e.object_id) {
                (Some(kind), Some(id)) => format!("{kind} {id}"),
                _ => String::new(),
            };
            context! {
                when => e.at.to_zoned_datetime(view.zone.clone()).strftime("%-d %b %Y, %H:%M:%S").to_string(),
                who,
                what => e.label(),
                record,
                client => e.client.map(|c| c.get()),
                source => e.source,
            }
        })
        .collect();
    let check = match q.check {
        Some(_) => Some(match audit::verify(state.store()).await? {
            Ok(count) => context! { intact => true, count },
            Err(broken) => context! { intact => false, problem => broken.to_string() },
        }),
        None => None,
    };
    let ctx = context! { entries, check, shown => SHOWN };
    page(&state, &staff, StatusCode::OK, "office/audit_log.html", ctx).await
}
