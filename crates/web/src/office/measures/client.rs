//! A client's measures, for their page: a chart per measure, the change in words, every
//! score in a table, flags and what is waiting.

use super::*;

/// One score in the table.
struct ScoreRow {
    id: i64,
    when: String,
    session: String,
    total: u32,
    band: usize,
    risk: bool,
}

/// How many of the latest scores a client's page lists; the rest are a link away.
const SHOWN: usize = 6;

/// A table of scores, newest first (`rows` are oldest first), written directly (a client
/// with years of weekly scores has hundreds; see the therapy benchmark). `caption` names
/// which scores they are.
fn score_table(instrument: &Instrument, rows: &[ScoreRow], caption: &str) -> String {
    use std::fmt::Write as _;
    let text = |out: &mut String, value: &str| {
        let _ = crate::templates::write_escaped(out, value);
    };
    let mut out = String::with_capacity(300 + rows.len() * 260);
    out.push_str("<table class=\"table\">\n  <caption>");
    text(&mut out, caption);
    out.push_str("</caption>\n  <thead><tr><th scope=\"col\">Answered</th><th scope=\"col\">When</th><th scope=\"col\">Score</th><th scope=\"col\">Band</th></tr></thead>\n  <tbody>\n");
    for row in rows.iter().rev() {
        out.push_str("  <tr>");
        let _ = write!(
            out,
            "<th scope=\"row\"><a href=\"/office/questionnaires/{}\">{}<span class=\"visually-hidden\">: see each answer</span></a>",
            row.id, row.when
        );
        if row.risk {
            out.push_str(" <strong class=\"tag tag-red\">Risk answer</strong>");
        }
        out.push_str("</th><td>");
        text(&mut out, &row.session);
        let _ = write!(out, "</td><td class=\"amount\">{}</td><td>", row.total);
        text(&mut out, &instrument.bands[row.band].label);
        out.push_str("</td></tr>\n");
    }
    out.push_str("  </tbody>\n</table>");
    out
}

/// One measure of the client's, as their page shows it.
#[derive(Serialize)]
struct MeasureView {
    id: String,
    short: String,
    attribution: String,
    chart: String,
    summary: Vec<String>,
    /// The table of the latest scores (HTML, escaped as it was written).
    table: String,
    /// How many scores there are in all (more than the table lists: a link to them all).
    count: usize,
}

/// A client's answered questionnaires of one instrument, earliest first, each with when
/// it was answered and its total.
fn answered<'a>(
    summaries: &'a [QuestionnaireSummary],
    instrument: &'a Instrument,
) -> impl Iterator<Item = (&'a QuestionnaireSummary, jiff::Timestamp, u32)> + 'a {
    summaries
        .iter()
        .filter(move |q| q.instrument == instrument.id)
        .filter_map(|q| q.completed.map(|(at, total)| (q, at, total)))
}

/// The table rows of answered questionnaires.
fn score_rows(
    view: &PracticeView,
    instrument: &Instrument,
    done: &[(&QuestionnaireSummary, jiff::Timestamp, u32)],
) -> Vec<ScoreRow> {
    done.iter()
        .map(|&(q, at, total)| ScoreRow {
            id: q.id.get(),
            when: view.day(at),
            session: m::occasion_words(q.occasion, q.session_number),
            total,
            band: instrument.band_of(total),
            risk: q.risk,
        })
        .collect()
}

/// Every score of one measure of a client's, newest first (linked from their page when
/// there are more than it lists).
pub(crate) async fn all_scores(
    state: Here,
    staff: Staff,
    Path((raw, id)): Path<(String, String)>,
) -> WebResult<Response> {
    let client = find_client(&state, &raw).await?;
    let (view, catalogue, summaries) =
        tokio::try_join!(PracticeView::load(&state), Catalogue::load(&state), async {
            Ok(state
                .store()
                .questionnaire_summaries(state.practice_id(), client.id)
                .await?)
        },)?;
    let instrument = catalogue.get(&id).ok_or(WebError::NotFound)?;
    let done: Vec<_> = answered(&summaries, instrument).collect();
    let rows = score_rows(&view, instrument, &done);
    let caption = format!("Every {} score", instrument.short);
    page(
        &state,
        &staff,
        StatusCode::OK,
        "office/clients/scores.html",
        context! {
            client => context! { id => client.id.get(), name => client.name.as_str() },
            short => instrument.short.clone(),
            count => rows.len(),
            table => score_table(instrument, &rows, &caption),
            attribution => instrument.attribution.clone(),
        },
    )
    .await
}

/// The change from `first` to `latest` in words, by the reliable change figure and the
/// clinical cut-off.
pub(crate) fn change_words(instrument: &Instrument, first: u32, latest: u32) -> Vec<String> {
    let rc = instrument.reliable_change;
    let cut = instrument.cut_off;
    let change = instrument.change(first, latest);
    let moved = match first.cmp(&latest) {
        std::cmp::Ordering::Equal => format!("No change: {first} at the first and the latest."),
        std::cmp::Ordering::Greater => {
            format!("Down {} points, from {first} to {latest}.", first - latest)
        }
        std::cmp::Ordering::Less => {
            format!("Up {} points, from {first} to {latest}.", latest - first)
        }
    };
    let reliable = match change.reliable {
        Reliable::Improved => format!(
            "That is a reliable improvement: a fall of at least {rc} points, more than measurement error alone would explain."
        ),
        Reliable::Deteriorated => format!(
            "That is a reliable deterioration: a rise of at least {rc} points, more than measurement error alone would explain."
        ),
        Reliable::NoReliableChange => format!(
            "That is not a reliable change: a change of less than {rc} points could be measurement error."
        ),
    };
    let crossing = match (change.started_above, change.ended_above) {
        (true, false) => format!(
            "The score has moved below the clinical cut-off ({cut}): out of the range typical of people seeking help."
        ),
        (false, true) => format!("The score has moved to or above the clinical cut-off ({cut})."),
        (true, true) => format!("The score is still at or above the clinical cut-off ({cut})."),
        (false, false) => format!("The score has stayed below the clinical cut-off ({cut})."),
    };
    vec![moved, reliable, crossing]
}

/// What a client's page needs about their measures, read together (and alongside the
/// page's first reads: none of it waits for the contracts).
pub(crate) struct ClientMeasures {
    catalogue: Catalogue,
    /// Answered (with totals) and waiting, without the answers: years of weekly measures
    /// are hundreds.
    summaries: Vec<QuestionnaireSummary>,
    /// The plans of every active contract of the practice (a few rows).
    plans: Vec<(store::ContractId, MeasurePlan)>,
    stopped: Option<jiff::Timestamp>,
}

/// Read [`ClientMeasures`].
pub(crate) async fn load_client_measures(
    state: &Here,
    client: store::ClientId,
) -> WebResult<ClientMeasures> {
    let practice = state.practice_id();
    let (catalogue, summaries, plans, stopped) = tokio::try_join!(
        Catalogue::load(state),
        async {
            Ok(state
                .store()
                .questionnaire_summaries(practice, client)
                .await?)
        },
        async { Ok(state.store().measure_plans(practice, None).await?) },
        async { Ok(state.store().measures_stopped(practice, client).await?) },
    )?;
    Ok(ClientMeasures {
        catalogue,
        summaries,
        plans,
        stopped,
    })
}

/// The measures section of a client's page: flags, the plan, open questionnaires, and a
/// chart per measure over the current (or latest) contract with every score in a table.
pub(crate) fn client_section(
    view: &PracticeView,
    contracts: &[Contract],
    data: &ClientMeasures,
) -> WebResult<Value> {
    let ClientMeasures {
        catalogue,
        summaries,
        plans,
        stopped,
    } = data;
    let active_contract = contracts.iter().find(|c| c.active).map(|c| c.id);
    let plans: Vec<&(store::ContractId, MeasurePlan)> = plans
        .iter()
        .filter(|(c, _)| Some(*c) == active_contract)
        .collect();
    let flags: Vec<Value> = summaries
        .iter()
        .filter(|q| q.is_flagged())
        .map(|q| {
            let short = catalogue
                .get(&q.instrument)
                .map_or(q.instrument.clone(), |i| i.short.clone());
            context! {
                id => q.id.get(),
                short,
                when => q.completed.map(|(at, _)| view.when(at)),
            }
        })
        .collect();
    let open: Vec<Value> = summaries
        .iter()
        .filter_map(|q| q.requested_at.filter(|_| q.completed.is_none()).map(|at| (q, at)))
        .map(|(q, at)| {
            context! {
                short => catalogue.get(&q.instrument).map_or(q.instrument.clone(), |i| i.short.clone()),
                occasion => m::occasion_words(q.occasion, q.session_number),
                asked => view.day(at),
            }
        })
        .collect();
    let plan: Vec<Value> = plans
        .iter()
        .map(|(_, p)| {
            context! {
                short => catalogue.get(&p.instrument).map_or(p.instrument.clone(), |i| i.short.clone()),
                when => schedule_words(&p.schedule),
            }
        })
        .collect();
    // The chart covers the current contract, or the latest one with answers.
    let charted = contracts
        .iter()
        .find(|c| c.active)
        .or_else(|| contracts.first())
        .map(|c| c.id);
    let mut measures = Vec::new();
    for instrument in catalogue.all() {
        let done: Vec<_> = answered(summaries, instrument).collect();
        if done.is_empty() {
            continue;
        }
        let points: Vec<Point> = done
            .iter()
            .filter(|(q, _, _)| Some(q.contract) == charted)
            .map(|&(q, _, total)| Point {
                session: q.session_number,
                total,
            })
            .collect();
        let rows = score_rows(view, instrument, &done[done.len().saturating_sub(SHOWN)..]);
        let summary = match (points.first(), points.last()) {
            (Some(first), Some(latest)) if points.len() > 1 => {
                change_words(instrument, first.total, latest.total)
            }
            (Some(only), _) => vec![format!(
                "One score so far: {} ({}).",
                only.total,
                instrument.bands[instrument.band_of(only.total)]
                    .label
                    .to_lowercase()
            )],
            _ => vec!["No scores in the current work yet.".to_owned()],
        };
        let description = format!(
            "{} scores at {} sessions. {}",
            instrument.short,
            points.len(),
            summary.join(" ")
        );
        let chart = if points.is_empty() {
            String::new()
        } else {
            chart::svg(
                instrument,
                &points,
                &format!("chart-{}", instrument.id),
                &description,
            )
        };
        measures.push(MeasureView {
            id: instrument.id.clone(),
            short: instrument.short.clone(),
            attribution: instrument.attribution.clone(),
            chart,
            summary,
            table: score_table(
                instrument,
                &rows,
                &if done.len() > SHOWN {
                    format!("The latest {SHOWN} {} scores", instrument.short)
                } else {
                    format!("Every {} score", instrument.short)
                },
            ),
            count: done.len(),
        });
    }
    let active = contracts.iter().find(|c| c.active).map(|c| c.id.get());
    let instruments: Vec<Value> = catalogue
        .all()
        .map(|i| context! { id => i.id.clone(), short => i.short.clone() })
        .collect();
    Ok(context! {
        flags,
        open,
        plan,
        measures => crate::templates::value(&measures),
        stopped => stopped.map(|at| view.day(at)),
        active,
        instruments,
    })
}

/// Risk answers not yet acknowledged, for Today: initials, the measure and when.
pub(crate) async fn open_flags(state: &Here, view: &PracticeView) -> WebResult<Vec<Value>> {
    let flags = state.store().open_flags(state.practice_id()).await?;
    if flags.is_empty() {
        return Ok(Vec::new());
    }
    let catalogue = Catalogue::load(state).await?;
    Ok(flags
        .iter()
        .map(|q| {
            context! {
                id => q.id.get(),
                client => q.client.get(),
                initials => crate::office::calendar::initials(q.client_name.as_str()),
                short => catalogue.get(&q.instrument).map_or(q.instrument.clone(), |i| i.short.clone()),
                when => q.completed.as_ref().map(|(at, _, _)| view.when(*at)),
            }
        })
        .collect())
}
