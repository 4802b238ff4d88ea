//! The audit log, as the owner reads it: the latest entries, and a check of the whole chain.

use axum::{http::StatusCode, response::Response};
use minijinja::context;
use serde::Deserialize;
use store::{Actor, audit};

use super::{Staff, page};
use crate::query::Query;
use crate::{Here, error::WebResult, therapy::PracticeView};

/// How many entries the page lists.
const SHOWN: u32 = 200;

crate::routing::routes! {
    GET "/office/settings/audit" => Staff: show;
}

#[derive(Deserialize)]
struct AuditQuery {
    check: Option<String>,
}

/// The latest entries, newest first; `?check=1` also walks the whole chain.
async fn show(state: Here, staff: Staff, Query(q): Query<AuditQuery>) -> WebResult<Response> {
    if !staff.user.owner {
        return Err(staff.refused(&state).await);
    }
    let view = PracticeView::load(&state).await?;
    let staff_names = state.store().staff_names(state.practice_id()).await?;
    let clients = state.store().clients(state.practice_id()).await?;
    let client_name = |id: store::ClientId| {
        clients
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.name.to_string())
    };
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
                Actor::Client(client) => format!(
                    "{} (the client)",
                    client_name(client).unwrap_or_else(|| format!("Client {client}"))
                ),
                Actor::Anonymous => "Someone not signed in".to_owned(),
                Actor::System => "Anteroom".to_owned(),
            };
            // The record: the client's name, and which of their records if not the client's
            // own page (a session, an invoice, a consultation).
            let link = match (e.object_kind.as_deref(), e.object_id) {
                (Some(kind @ ("session" | "invoice" | "booking")), Some(id)) => {
                    Some((format!("/office/{kind}s/{id}"), format!("{kind} {id}")))
                }
                (Some("enquiry"), Some(id)) => {
                    Some((format!("/office/enquiries/{id}"), format!("enquiry {id}")))
                }
                _ => None,
            };
            // An erased client has no page and no name any more: only their number.
            let client = e.client.map(|c| match client_name(c) {
                Some(name) => context! { href => format!("/office/clients/{c}"), name },
                None => context! { name => format!("Client {c} (erased)") },
            });
            context! {
                when => crate::words::audit_time(view.zone.to_datetime(e.at)),
                who,
                what => e.label(),
                link,
                client,
                source => e.source,
            }
        })
        .collect();
    let check = match q.check {
        Some(_) => Some(
            match audit::verify(state.store(), state.practice_id()).await? {
                Ok(count) => context! { intact => true, count },
                Err(broken) => context! { intact => false, problem => broken.to_string() },
            },
        ),
        None => None,
    };
    let ctx = context! { entries, check, shown => SHOWN };
    page(&state, &staff, StatusCode::OK, "office/audit_log.html", ctx).await
}
