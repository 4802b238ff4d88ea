//! The client list.

use super::*;

#[derive(Serialize)]
pub(crate) struct ClientRow {
    id: ClientId,
    name: String,
    next: Option<String>,
    work: String,
}

pub(crate) async fn list(state: Here, staff: Staff) -> WebResult<Response> {
    let id = state.practice_id();
    let view = PracticeView::load(&state).await?;
    let clients = state.store().clients(id).await?;
    let contracts = state.store().active_contracts(id).await?;
    let now = state.now();
    let ahead = now
        .checked_add(jiff::SignedDuration::from_hours(24 * LOOK_AHEAD_DAYS))
        .unwrap_or(now);
    let upcoming = state.store().sessions_between(id, now, ahead).await?;
    let mut active = Vec::new();
    let mut ended = Vec::new();
    for client in clients {
        let contract = contracts.iter().find(|c| c.client == client.id);
        // A client whose work has ended is listed with the ended ones; one still waiting for
        // a first contract is active. Only a client with no active contract needs the rest.
        let contracts_active: Vec<bool> = match contract {
            Some(_) => vec![true],
            None => state
                .store()
                .contracts(id, client.id)
                .await?
                .iter()
                .map(|c| c.active)
                .collect(),
        };
        let finished = domain_sessions::work_has_ended(client.active, &contracts_active);
        let next = upcoming
            .iter()
            .find(|s| s.client == client.id && s.status == SessionStatus::Scheduled)
            .map(|s| format!("{}, {}", view.when_short(s.start), view.place(&s.location)));
        let work = match contract {
            Some(c) => work_label(&c.current().terms),
            None if finished => "Ended".to_owned(),
            None => "No contract yet".to_owned(),
        };
        let row = ClientRow {
            id: client.id,
            name: client.name.to_string(),
            next,
            work,
        };
        if finished {
            ended.push(row);
        } else {
            active.push(row);
        }
    }
    let to_review = crate::office::rights::due_for_review(&state, &view)
        .await?
        .len();
    let ctx = context! { working => value(&active), ended => value(&ended), to_review };
    page(
        &state,
        &staff,
        StatusCode::OK,
        "office/clients/list.html",
        ctx,
    )
    .await
}
