//! A client's page.

use super::*;

/// One line of a summary list.
#[derive(Serialize)]
pub(crate) struct Row {
    label: &'static str,
    text: String,
    tag: Option<&'static str>,
}

pub(crate) fn row(label: &'static str, text: impl Into<String>) -> Row {
    Row {
        label,
        text: text.into(),
        tag: None,
    }
}

#[derive(Serialize)]
pub(crate) struct EarlierVersion {
    from: String,
    terms: String,
    note: String,
}

/// The active contract as the client's page tells it.
#[derive(Serialize)]
pub(crate) struct Work {
    id: ContractId,
    heading: &'static str,
    focus: Option<String>,
    rows: Vec<Row>,
    review_due: bool,
    earlier: Vec<EarlierVersion>,
    /// The next session, where "Change from a date" starts by default.
    next: Option<SessionId>,
    /// Brief work: the start of its last session, to which the page lists sessions to come.
    #[serde(skip)]
    planned_ending: Option<Timestamp>,
}

pub(crate) fn work(
    view: &PracticeView,
    contract: &Contract,
    sessions: &[Session],
    now: Timestamp,
) -> Work {
    let current = contract.current();
    let terms = &current.terms;
    let own: Vec<&Session> = sessions
        .iter()
        .filter(|s| s.contract == contract.id)
        .collect();
    let facts: Vec<SessionFacts> = own.iter().map(|s| s.facts()).collect();
    let progress = domain_sessions::progress(terms, &facts, now, view.today(now));
    let next = progress.next.map(|i| own[i]);
    let mut rows = Vec::new();
    let next_text = next.map_or_else(
        || "None planned".to_owned(),
        |s| {
            let number = number_label(Some(contract), s);
            let when = format!("{}, {}", view.when(s.start), view.place(&s.location));
            if number.is_empty() {
                when
            } else {
                format!("{number}: {when}")
            }
        },
    );
    rows.push(row("Next session", next_text));
    let review_tag = progress.review_due.then_some("Review due");
    let focus = match &terms.kind {
        ContractKind::Brief {
            focus,
            sessions: total,
            reviews_at,
        } => {
            let remaining = progress.remaining.unwrap_or(0);
            let mut remaining_row = row("Sessions remaining", format!("{remaining} of {total}"));
            // The ending is part of the work: flag it while there is time to prepare for it.
            remaining_row.tag = progress.ending_soon.then_some("Ending soon");
            rows.push(remaining_row);
            rows.push(row(
                "Planned ending",
                progress
                    .planned_ending
                    .map_or_else(|| "Not planned yet".to_owned(), |at| view.day(at)),
            ));
            let reviews: Vec<String> = reviews_at
                .iter()
                .map(|n| match own.iter().find(|s| s.number == Some(*n)) {
                    Some(s) => format!("session {n} ({})", view.day(s.start)),
                    None => format!("session {n}"),
                })
                .collect();
            let mut reviews_row = row(
                "Reviews",
                if reviews.is_empty() {
                    "None agreed".to_owned()
                } else {
                    capitalise(&reviews.join(", "))
                },
            );
            reviews_row.tag = review_tag;
            rows.push(reviews_row);
            Some(focus.clone())
        }
        ContractKind::OpenEnded { review_every_weeks } => {
            let mut review_row = row(
                "Next review",
                match progress.next_review {
                    Some(d) => format!(
                        "{} (every {review_every_weeks} week{})",
                        words::weekday_date(d),
                        if *review_every_weeks == 1 { "" } else { "s" }
                    ),
                    None => format!("Every {review_every_weeks} weeks"),
                },
            );
            review_row.tag = review_tag;
            rows.push(review_row);
            None
        }
    };
    rows.push(row(
        "When",
        capitalise(&format!(
            "{}: {}",
            terms.frequency.label(),
            regular_times(&terms.times)
        )),
    ));
    rows.push(row("Where", view.place(&terms.location)));
    rows.push(row("Length", format!("{} minutes", terms.minutes)));
    rows.push(row("Fee", format!("{} a session", terms.fee)));
    rows.push(row("Started", words::weekday_date(terms.start)));
    rows.push(row(
        "Cancellation policy",
        format!("Version {}", terms.policy_version),
    ));
    if !current.note.is_empty() {
        rows.push(row(
            "Last change",
            format!(
                "From {}: {}",
                view.day(current.effective_from),
                current.note
            ),
        ));
    }
    let earlier = contract
        .versions
        .iter()
        .rev()
        .skip(1)
        .map(|v| EarlierVersion {
            from: view.day(v.effective_from),
            terms: terms_line(view, &v.terms),
            note: v.note.clone(),
        })
        .collect();
    Work {
        id: contract.id,
        heading: match terms.kind {
            ContractKind::Brief { .. } => "Brief work",
            ContractKind::OpenEnded { .. } => "Open-ended work",
        },
        focus,
        rows,
        review_due: progress.review_due,
        earlier,
        next: next.map(|s| s.id),
        planned_ending: progress.planned_ending,
    }
}

pub(crate) fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// How many past sessions a client's page shows before "Show all".
pub(crate) const RECENT_PAST: u32 = 20;

/// How many upcoming sessions a client's page lists (for brief work: all to the ending).
pub(crate) const COMING_SHOWN: u32 = 12;

#[derive(serde::Deserialize)]
pub(crate) struct ShowQuery {
    past: Option<String>,
    /// After asking for a questionnaire: "sent", "already" or "none" (no session to come).
    asked: Option<String>,
    note_error: Option<String>,
}

pub(crate) async fn show(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    crate::query::Query(q): crate::query::Query<ShowQuery>,
) -> WebResult<Response> {
    let client = find_client(&state, &raw).await?;
    let id = state.practice_id();
    let now = state.now();
    // The record's parts do not depend on each other: ask for them together (the reader
    // pool has several connections), in two rounds.
    let (view, contracts, opened, invoices, balance, measured) = tokio::try_join!(
        PracticeView::load(&state),
        async { Ok(state.store().contracts(id, client.id).await?) },
        async {
            // Without the key file the rest of the record still shows; the notes say they
            // are locked.
            if crate::notes::available(&state) {
                crate::notes::all(&state, client.id).await
            } else {
                Ok(Vec::new())
            }
        },
        async { Ok(state.store().invoices(id, Some(client.id)).await?) },
        async { Ok(state.store().balance(id, client.id).await?) },
        crate::office::measures::load_client_measures(&state, client.id),
    )?;
    let all_past = q.past.as_deref() == Some("all");
    let brief_active = contracts
        .iter()
        .any(|c| c.active && matches!(c.current().terms.kind, ContractKind::Brief { .. }));
    let (around, seen_by, rights) = tokio::try_join!(
        async {
            Ok(state
                .store()
                .client_sessions_around(
                    id,
                    client.id,
                    now,
                    // Brief work lists every session to the planned ending; otherwise the
                    // next few.
                    (!brief_active).then_some(COMING_SHOWN),
                    (!all_past).then_some(RECENT_PAST),
                )
                .await?)
        },
        record_access(&state, &view, client.id),
        crate::office::rights::client_section(&state, &view, &client),
    )?;
    let measures = crate::office::measures::client_section(&view, &contracts, &measured)?;
    // Earliest first, as the work's summary reads them.
    let sessions: Vec<Session> = around
        .past
        .iter()
        .rev()
        .chain(&around.coming)
        .cloned()
        .collect();
    let active = contracts.iter().find(|c| c.active);
    let current = active.map(|c| work(&view, c, &sessions, now));
    let ended: Vec<String> = contracts
        .iter()
        .filter(|c| !c.active)
        .map(|c| terms_line(&view, &c.current().terms))
        .collect();
    // The next 12 sessions; brief work lists every one up to its planned ending.
    let ending = current.as_ref().and_then(|w| w.planned_ending);
    let coming: Vec<SessionRow> = sessions
        .iter()
        .filter(|s| s.start > now)
        .enumerate()
        .take_while(|(i, s)| *i < COMING_SHOWN as usize || ending.is_some_and(|end| s.start <= end))
        .map(|(_, s)| session_row(&view, &contracts, s, now))
        .collect();
    let past_count = around.past_total;
    let past: Vec<SessionRow> = around
        .past
        .iter()
        .map(|s| session_row(&view, &contracts, s, now))
        .collect();
    let general_notes: Vec<Value> = opened
        .iter()
        .filter(|n| n.session.is_none())
        .map(|n| {
            context! {
                html => domain::markdown::to_html(&n.text),
                written => view.when(n.created_at),
                changed => (n.updated_at != n.created_at).then(|| view.when(n.updated_at)),
            }
        })
        .collect();
    let session_notes = opened.iter().filter(|n| n.session.is_some()).count();
    let today = view.today(now);
    let invoice_rows: Vec<_> = invoices
        .iter()
        .map(|i| {
            context! {
                id => i.id.get(),
                number => i.number,
                period => i.period.clone(),
                total => i.total.to_string(),
                status => match i.paid_on {
                    Some(day) => format!("Paid {}", words::date(day)),
                    None if i.due_on < today => "Overdue".to_owned(),
                    None => format!("Due {}", words::date(i.due_on)),
                },
                overdue => i.paid_on.is_none() && i.due_on < today,
            }
        })
        .collect();
    let ctx = context! {
        client => context! {
            id => client.id.get(),
            name => client.name.as_str(),
            email => client.email.as_str(),
            phone => client.phone.as_ref().map(|p| p.as_str().to_owned()),
            contact_preference => client.contact_preference.as_str(),
            reminders => client.reminders,
            consultation => client.consultation.map(BookingId::get),
            since => view.day(client.created_at),
        },
        work => value(&current),
        ended => value(&ended),
        coming => value(&coming),
        past => value(&past),
        past_count,
        all_past,
        invoices => invoice_rows,
        invoiced_unpaid => balance.invoiced_unpaid.to_string(),
        not_invoiced => balance.not_invoiced.to_string(),
        owes => balance.invoiced_unpaid.get() + balance.not_invoiced.get() > 0,
        can_invoice => balance.not_invoiced.get() > 0,
        notes => general_notes,
        session_notes,
        notes_available => crate::notes::available(&state),
        note_error => q.note_error.as_deref().map(|_| "Write the note before saving it"),
        seen_by,
        rights,
        measures,
        asked => q.asked.as_deref(),
    };
    page(
        &state,
        &staff,
        StatusCode::OK,
        "office/clients/client.html",
        ctx,
    )
    .await
}

/// "Who has seen this record": each person who opened or changed it, and the latest entries.
pub(crate) async fn record_access(
    state: &Here,
    view: &PracticeView,
    client: ClientId,
) -> WebResult<Value> {
    let when = |at: jiff::Timestamp| words::date_and_time(view.zone.to_datetime(at));
    let (access, latest) = tokio::try_join!(
        state.store().record_access(state.practice_id(), client),
        state.store().client_audit(state.practice_id(), client, 20),
    )?;
    let entries: Vec<_> = latest
        .into_iter()
        .map(|e| {
            let who = access
                .iter()
                .find(|a| a.actor == e.actor)
                .map_or("Anteroom", |a| a.name.as_str());
            context! { when => when(e.at), what => e.label(), who }
        })
        .collect();
    let people: Vec<_> = access
        .iter()
        .map(|a| context! { name => a.name.as_str(), count => a.count, last => when(a.last_at) })
        .collect();
    Ok(context! { people, entries })
}
