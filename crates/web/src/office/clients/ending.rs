//! Ending the work.

use super::*;

/// The client and one of their contracts, by the ids in the URL.
pub(crate) async fn find_contract(
    state: &Here,
    raw_client: &str,
    raw_contract: &str,
) -> WebResult<(Client, Contract)> {
    let client = find_client(state, raw_client).await?;
    let id = ContractId::parse(raw_contract).ok_or(WebError::NotFound)?;
    let contract = state.store().contract(state.practice_id(), id).await?;
    if contract.client != client.id {
        return Err(WebError::NotFound);
    }
    Ok((client, contract))
}

pub(crate) async fn confirm_end(
    state: Here,
    staff: Staff,
    Path((raw_client, raw_contract)): Path<(String, String)>,
) -> WebResult<Response> {
    let (client, contract) = find_contract(&state, &raw_client, &raw_contract).await?;
    let back = format!("/office/clients/{}", client.id);
    if !contract.active {
        return Ok(Redirect::to(&back).into_response());
    }
    let ctx = context! {
        title => format!("End the work with {}?", client.name),
        warning => "Sessions that have not happened yet are removed from your calendar. Sessions that have happened, their outcomes and charges are kept, and so is the contract with every version. The client is not emailed.",
        action => format!("/office/clients/{}/contracts/{}/end", client.id, contract.id),
        button => "Yes, end this work",
        back,
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

pub(crate) async fn end(
    state: Here,
    _staff: Staff,
    Path((raw_client, raw_contract)): Path<(String, String)>,
) -> WebResult<Response> {
    let (client, contract) = find_contract(&state, &raw_client, &raw_contract).await?;
    match state
        .store()
        .end_contract(state.practice_id(), contract.id, state.now())
        .await
    {
        // Already ended (a second click): nothing more to do.
        Ok(()) | Err(StoreError::NotFound) => {}
        Err(other) => return Err(other.into()),
    }
    // Questionnaires still waiting for answers are no longer needed.
    state
        .store()
        .withdraw_questionnaires(state.practice_id(), contract.id, state.now())
        .await?;
    state.booking_changed();
    Ok(Redirect::to(&format!("/office/clients/{}", client.id)).into_response())
}
