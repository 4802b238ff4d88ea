//! The practice's outcomes over ended work, on a page and as CSV.

use super::*;

/// One row of the outcomes: a measure, or all measures together.
#[derive(Serialize)]
struct OutcomeRow {
    measure: String,
    finished: u32,
    clients: usize,
    shown: bool,
    started_above: u32,
    reliable_improvement: u32,
    reliable_deterioration: u32,
    recovered: u32,
    reliably_recovered: u32,
}

fn outcome_row(measure: String, tally: &Tally) -> OutcomeRow {
    let shown = tally.shown().is_some();
    let hide = |n: u32| if shown { n } else { 0 };
    OutcomeRow {
        measure,
        finished: hide(tally.finished),
        clients: tally.clients(),
        shown,
        started_above: hide(tally.started_above),
        reliable_improvement: hide(tally.reliable_improvement),
        reliable_deterioration: hide(tally.reliable_deterioration),
        recovered: hide(tally.recovered),
        reliably_recovered: hide(tally.reliably_recovered),
    }
}

/// The outcomes over ended work: per measure, then all measures together.
async fn outcome_rows(state: &Here) -> WebResult<Vec<OutcomeRow>> {
    let (catalogue, done) = tokio::try_join!(Catalogue::load(state), async {
        Ok(state
            .store()
            .ended_work_questionnaires(state.practice_id())
            .await?)
    })?;
    tally_outcomes(&catalogue, &done)
}

/// The tallies of `done` (completed questionnaires of ended contracts, by contract then
/// when answered): a course per contract and measure with at least two scores.
fn tally_outcomes(catalogue: &Catalogue, done: &[Questionnaire]) -> WebResult<Vec<OutcomeRow>> {
    let mut per_measure: Vec<(&Instrument, Tally)> =
        catalogue.all().map(|i| (i, Tally::default())).collect();
    let mut together = Tally::default();
    let mut start = 0;
    while start < done.len() {
        let contract = done[start].contract;
        let end = done[start..]
            .iter()
            .position(|q| q.contract != contract)
            .map_or(done.len(), |n| start + n);
        let course = &done[start..end];
        let mut changes = Vec::new();
        for (instrument, tally) in &mut per_measure {
            let totals: Vec<u32> = course
                .iter()
                .filter(|q| q.instrument == instrument.id)
                .filter_map(|q| q.completed.as_ref())
                .map(|(_, _, a)| a.total)
                .collect();
            if let (2.., Some(first), Some(latest)) = (totals.len(), totals.first(), totals.last())
            {
                let change = instrument.change(*first, *latest);
                tally.add(Course {
                    client: course[0].client.get(),
                    change,
                });
                changes.push(change);
            }
        }
        if let Some(change) = tallies::across(&changes) {
            together.add(Course {
                client: course[0].client.get(),
                change,
            });
        }
        start = end;
    }
    let mut rows: Vec<OutcomeRow> = per_measure
        .iter()
        .filter(|(_, t)| t.finished > 0)
        .map(|(i, t)| outcome_row(i.short.clone(), t))
        .collect();
    rows.push(outcome_row("All measures together".into(), &together));
    Ok(rows)
}

pub(crate) async fn outcomes_page(state: Here, staff: Staff) -> WebResult<Response> {
    let rows = outcome_rows(&state).await?;
    page(
        &state,
        &staff,
        StatusCode::OK,
        "office/outcomes.html",
        context! {
            rows => crate::templates::value(&rows),
            min => tallies::MIN_CLIENTS,
        },
    )
    .await
}

pub(crate) async fn outcomes_csv(state: Here, _staff: Staff) -> WebResult<Response> {
    let rows = outcome_rows(&state).await?;
    let mut csv = String::from(
        "measure,finished_courses,started_above_cut_off,reliable_improvement,reliable_deterioration,recovered,reliably_recovered\n",
    );
    for row in rows {
        if row.shown {
            csv.push_str(&format!(
                "{},{},{},{},{},{},{}\n",
                row.measure,
                row.finished,
                row.started_above,
                row.reliable_improvement,
                row.reliable_deterioration,
                row.recovered,
                row.reliably_recovered
            ));
        } else {
            csv.push_str(&format!(
                "{},fewer than {} clients,,,,,\n",
                row.measure,
                tallies::MIN_CLIENTS
            ));
        }
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"outcomes.csv\"",
            ),
        ],
        csv,
    )
        .into_response())
}
