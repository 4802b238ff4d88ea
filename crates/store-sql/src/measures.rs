/// A statement reading questionnaires (`q`, joined to their clients `c`) where `$condition`
/// holds, with the columns `measures!` reads them from.
#[macro_export]
macro_rules! questionnaires_where {
    ($condition:literal) => {
        concat!(
            "SELECT q.id, q.client_id, c.name AS client_name, q.contract_id, q.instrument,
                 q.occasion, q.session_number, q.requested_at, q.withdrawn_at, q.completed_at,
                 q.entered_by, q.answers, q.follow_up, q.total, q.risk, q.acknowledged_at,
                 q.acknowledged_by, q.acknowledgement
             FROM questionnaires q JOIN clients c ON c.id = q.client_id
             JOIN contracts k ON k.id = q.contract_id WHERE ",
            $condition
        )
    };
}

/// Measures (`MeasureStore`), implemented for the store: the instruments a practice added,
/// contracts' plans, questionnaires, their answers and flags, and clients who asked to
/// stop. `sql` turns a statement written with `?` placeholders into what the driver takes;
/// `pack` is how the engine packs rows into one JSON array of arrays (its two halves around
/// the column list: SQLite's `json_group_array(json_array(…))`, PostgreSQL's
/// `json_agg(json_build_array(…))::text`).
#[allow(clippy::crate_in_macro_def)]
#[macro_export]
macro_rules! measures {
    ($store:ident, sql = $sql:path, pack = ($pack_open:literal, $pack_close:literal)) => {
        use domain::measures::plan::{Occasion, Schedule};
        use jiff::Timestamp;
        use sqlx::Row as _;
        use store::{
            Acknowledgement, Answers, ClientId, Completion, ContractId, EnteredBy, MeasurePlan,
            MeasureStore, NewMessage, NewRequest, PracticeId, Questionnaire, QuestionnaireId,
            QuestionnaireSummary, RequestEmail, StoreError, StoreResult, UserId,
        };

        use crate::{
            convert::{corrupt, name, opt_timestamp, secs, timestamp, u32_col},
            enquiries::insert_messages,
            map_err,
        };

        fn column<'r, T, R>(row: &'r R, column: &str) -> StoreResult<T>
        where
            R: sqlx::Row,
            T: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'c> &'c str: sqlx::ColumnIndex<R>,
        {
            row.try_get(column).map_err(map_err)
        }

        type Parts = store::QuestionnaireParts;

        /// A questionnaire from its own columns and its client.
        fn build(
            parts: Parts,
            client: ClientId,
            client_name: domain::PersonName,
        ) -> StoreResult<Questionnaire> {
            let (
                id,
                contract,
                instrument,
                occasion,
                number,
                requested_at,
                withdrawn_at,
                completed_at,
                entered_by,
                answers,
                follow_up,
                total,
                risk,
                acknowledged_at,
                acknowledged_by,
                acknowledgement,
            ) = parts;
            let completed = match completed_at {
                None => None,
                Some(at) => {
                    let by = entered_by
                        .as_deref()
                        .and_then(EnteredBy::parse)
                        .ok_or_else(|| corrupt("questionnaire"))?;
                    let values = answers
                        .as_deref()
                        .and_then(Answers::parse_values)
                        .ok_or_else(|| corrupt("answers"))?;
                    let answers = Answers {
                        values,
                        follow_up: follow_up
                            .map(|v| u8::try_from(v).map_err(|_| corrupt("answers")))
                            .transpose()?,
                        total: total
                            .and_then(|t| u32::try_from(t).ok())
                            .ok_or_else(|| corrupt("answers"))?,
                        risk: risk == 1,
                    };
                    Some((timestamp(at)?, by, answers))
                }
            };
            let acknowledged = match acknowledged_at {
                None => None,
                Some(at) => Some(Acknowledgement {
                    at: timestamp(at)?,
                    by: acknowledged_by.map(UserId::new),
                    note: acknowledgement.unwrap_or_default(),
                }),
            };
            Ok(Questionnaire {
                id: QuestionnaireId::new(id),
                client,
                client_name,
                contract: ContractId::new(contract),
                instrument,
                occasion: Occasion::parse(&occasion).ok_or_else(|| corrupt("occasion"))?,
                session_number: u32_col(number)?,
                requested_at: timestamp(requested_at)?,
                withdrawn_at: opt_timestamp(withdrawn_at)?,
                completed,
                acknowledged,
            })
        }

        /// A questionnaire from a row of `questionnaires_where!` (by column name).
        fn questionnaire<R>(row: &R) -> StoreResult<Questionnaire>
        where
            R: sqlx::Row,
            for<'c> &'c str: sqlx::ColumnIndex<R>,
            for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        {
            let parts: Parts = (
                column(row, "id")?,
                column(row, "contract_id")?,
                column(row, "instrument")?,
                column(row, "occasion")?,
                column(row, "session_number")?,
                column(row, "requested_at")?,
                column(row, "withdrawn_at")?,
                column(row, "completed_at")?,
                column(row, "entered_by")?,
                column(row, "answers")?,
                column(row, "follow_up")?,
                column(row, "total")?,
                column(row, "risk")?,
                column(row, "acknowledged_at")?,
                column(row, "acknowledged_by")?,
                column(row, "acknowledgement")?,
            );
            build(
                parts,
                ClientId::new(column(row, "client_id")?),
                name(&column::<String, _>(row, "client_name")?)?,
            )
        }

        fn every(plan: &MeasurePlan) -> Option<i64> {
            plan.schedule.every.map(i64::from)
        }

        #[async_trait::async_trait]
        impl MeasureStore for $store {
            async fn practice_instruments(
                &self,
                practice: PracticeId,
            ) -> StoreResult<Vec<(String, String)>> {
                sqlx::query_as($sql(
                    "SELECT instrument, wording FROM practice_instruments
                     WHERE practice_id = ? ORDER BY instrument",
                ))
                .bind(practice.get())
                .fetch_all(self.read())
                .await
                .map_err(map_err)
            }

            async fn save_practice_instrument(
                &self,
                practice: PracticeId,
                instrument: &str,
                wording: &str,
                now: Timestamp,
            ) -> StoreResult<()> {
                let mut tx = self.write().await?;
                sqlx::query($sql(
                    "INSERT INTO practice_instruments (practice_id, instrument, wording, added_at)
                     VALUES (?, ?, ?, ?)
                     ON CONFLICT (practice_id, instrument)
                     DO UPDATE SET wording = excluded.wording, added_at = excluded.added_at",
                ))
                .bind(practice.get())
                .bind(instrument)
                .bind(wording)
                .bind(secs(now))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                tx.commit().await.map_err(map_err)
            }

            async fn measure_plans(
                &self,
                practice: PracticeId,
                contract: Option<ContractId>,
            ) -> StoreResult<Vec<(ContractId, MeasurePlan)>> {
                let rows = sqlx::query($sql(
                    "SELECT p.contract_id, p.instrument, p.at_first, p.every_sessions,
                         p.at_reviews, p.at_ending
                     FROM measure_plans p JOIN contracts k ON k.id = p.contract_id
                     WHERE p.practice_id = ?
                       AND ((? IS NULL AND k.status = 'active') OR p.contract_id = ?)
                     ORDER BY p.contract_id, p.instrument",
                ))
                .bind(practice.get())
                .bind(contract.map(ContractId::get))
                .bind(contract.map(ContractId::get))
                .fetch_all(self.read())
                .await
                .map_err(map_err)?;
                rows.iter()
                    .map(|row| {
                        let every: Option<i64> = column(row, "every_sessions")?;
                        Ok((
                            ContractId::new(column(row, "contract_id")?),
                            MeasurePlan {
                                instrument: column(row, "instrument")?,
                                schedule: Schedule {
                                    first: column::<i64, _>(row, "at_first")? == 1,
                                    every: every.map(u32_col).transpose()?,
                                    reviews: column::<i64, _>(row, "at_reviews")? == 1,
                                    ending: column::<i64, _>(row, "at_ending")? == 1,
                                },
                            },
                        ))
                    })
                    .collect()
            }

            async fn set_measure_plans(
                &self,
                practice: PracticeId,
                contract: ContractId,
                plans: &[MeasurePlan],
                now: Timestamp,
            ) -> StoreResult<()> {
                let mut tx = self.write().await?;
                let found: Option<i64> = sqlx::query_scalar($sql(
                    "SELECT id FROM contracts WHERE practice_id = ? AND id = ?",
                ))
                .bind(practice.get())
                .bind(contract.get())
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
                if found.is_none() {
                    return Err(StoreError::NotFound);
                }
                sqlx::query($sql(
                    "DELETE FROM measure_plans WHERE practice_id = ? AND contract_id = ?",
                ))
                .bind(practice.get())
                .bind(contract.get())
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                for plan in plans.iter().filter(|p| !p.schedule.is_empty()) {
                    sqlx::query($sql(
                        "INSERT INTO measure_plans (practice_id, contract_id, instrument,
                             at_first, every_sessions, at_reviews, at_ending, changed_at)
                         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    ))
                    .bind(practice.get())
                    .bind(contract.get())
                    .bind(plan.instrument.as_str())
                    .bind(i64::from(plan.schedule.first))
                    .bind(every(plan))
                    .bind(i64::from(plan.schedule.reviews))
                    .bind(i64::from(plan.schedule.ending))
                    .bind(secs(now))
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                }
                tx.commit().await.map_err(map_err)
            }

            async fn request_questionnaires(
                &self,
                practice: PracticeId,
                requests: &[NewRequest],
                email: &RequestEmail<'_>,
                now: Timestamp,
            ) -> StoreResult<Vec<QuestionnaireId>> {
                let mut tx = self.write().await?;
                let mut asked = Vec::new();
                let mut messages = Vec::new();
                for request in requests {
                    let id: Option<i64> = sqlx::query_scalar($sql(
                        "INSERT INTO questionnaires (practice_id, client_id, contract_id,
                             instrument, occasion, session_number, requested_at)
                         SELECT k.practice_id, k.client_id, k.id, ?, ?, ?, ?
                         FROM contracts k
                         WHERE k.practice_id = ? AND k.id = ? AND k.client_id = ?
                           AND k.status = 'active'
                           AND NOT EXISTS (SELECT 1 FROM measure_stops s
                                           WHERE s.client_id = k.client_id)
                         ON CONFLICT (contract_id, session_number, instrument) DO NOTHING
                         RETURNING id",
                    ))
                    .bind(request.instrument.as_str())
                    .bind(request.occasion.as_str())
                    .bind(i64::from(request.session_number))
                    .bind(secs(now))
                    .bind(practice.get())
                    .bind(request.contract.get())
                    .bind(request.client.get())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map_err)?;
                    let Some(id) = id else { continue };
                    let row = sqlx::query($sql($crate::questionnaires_where!("q.id = ?")))
                        .bind(id)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(map_err)?;
                    let stored = questionnaire(&row)?;
                    messages.extend(email(&stored));
                    asked.push(stored.id);
                }
                insert_messages(&mut tx, practice, &messages, now).await?;
                tx.commit().await.map_err(map_err)?;
                Ok(asked)
            }

            async fn questionnaires(
                &self,
                practice: PracticeId,
                client: ClientId,
            ) -> StoreResult<Vec<Questionnaire>> {
                // A client's page reads years of weekly answers: their own columns only, by
                // position, and the client's name once.
                let client_name: Option<String> = sqlx::query_scalar($sql(
                    "SELECT name FROM clients WHERE practice_id = ? AND id = ?",
                ))
                .bind(practice.get())
                .bind(client.get())
                .fetch_optional(self.read())
                .await
                .map_err(map_err)?;
                let Some(client_name) = client_name else {
                    return Ok(Vec::new());
                };
                let client_name = name(&client_name)?;
                // One packed value, not a row each (see `store::unpack_questionnaires`).
                let packed: Option<String> = sqlx::query_scalar($sql(concat!(
                    "SELECT ",
                    $pack_open,
                    "id, contract_id, instrument, occasion, session_number, requested_at,
                     withdrawn_at, completed_at, entered_by, answers, follow_up, total, risk,
                     acknowledged_at, acknowledged_by, acknowledgement",
                    $pack_close,
                    " FROM questionnaires WHERE practice_id = ? AND client_id = ?"
                )))
                .bind(practice.get())
                .bind(client.get())
                .fetch_one(self.read())
                .await
                .map_err(map_err)?;
                store::unpack_questionnaires(packed.as_deref())
                    .map_err(|e| StoreError::Other(e.into()))?
                    .into_iter()
                    .map(|parts| build(parts, client, client_name.clone()))
                    .collect()
            }

            async fn questionnaire_summaries(
                &self,
                practice: PracticeId,
                client: ClientId,
            ) -> StoreResult<Vec<QuestionnaireSummary>> {
                // The answered ones from an index that holds every column read; those
                // waiting from their own (see migration 0021). One packed value.
                let packed: Option<String> = sqlx::query_scalar($sql(concat!(
                    "SELECT ",
                    $pack_open,
                    "id, contract_id, instrument, occasion, session_number, requested_at,
                     completed_at, total, risk, acknowledged",
                    $pack_close,
                    " FROM (SELECT id, contract_id, instrument, occasion, session_number,
                         NULL AS requested_at, completed_at, total, risk,
                         CASE WHEN acknowledged_at IS NULL THEN 0 ELSE 1 END AS acknowledged
                       FROM questionnaires
                       WHERE client_id = ? AND practice_id = ? AND completed_at IS NOT NULL
                     UNION ALL
                     SELECT id, contract_id, instrument, occasion, session_number, requested_at,
                         NULL, NULL, 0, 0
                       FROM questionnaires
                       WHERE client_id = ? AND practice_id = ? AND completed_at IS NULL
                         AND withdrawn_at IS NULL) s"
                )))
                .bind(client.get())
                .bind(practice.get())
                .bind(client.get())
                .bind(practice.get())
                .fetch_one(self.read())
                .await
                .map_err(map_err)?;
                let rows = store::unpack_summaries(packed.as_deref())
                    .map_err(|e| StoreError::Other(e.into()))?;
                rows.into_iter()
                    .map(
                        |(
                            id,
                            contract,
                            instrument,
                            occasion,
                            number,
                            requested_at,
                            completed_at,
                            total,
                            risk,
                            acknowledged,
                        )| {
                            let completed = match (completed_at, total) {
                                (Some(at), Some(total)) => Some((
                                    timestamp(at)?,
                                    u32::try_from(total).map_err(|_| corrupt("total"))?,
                                )),
                                (None, _) => None,
                                (Some(_), None) => return Err(corrupt("total")),
                            };
                            Ok(QuestionnaireSummary {
                                id: QuestionnaireId::new(id),
                                contract: ContractId::new(contract),
                                instrument,
                                occasion: Occasion::parse(&occasion)
                                    .ok_or_else(|| corrupt("occasion"))?,
                                session_number: u32_col(number)?,
                                requested_at: opt_timestamp(requested_at)?,
                                completed,
                                risk: risk == 1,
                                acknowledged: acknowledged == 1,
                            })
                        },
                    )
                    .collect()
            }

            async fn questionnaire(
                &self,
                practice: PracticeId,
                id: QuestionnaireId,
            ) -> StoreResult<Questionnaire> {
                let row = sqlx::query($sql($crate::questionnaires_where!(
                    "q.practice_id = ? AND q.id = ?"
                )))
                .bind(practice.get())
                .bind(id.get())
                .fetch_optional(self.read())
                .await
                .map_err(map_err)?
                .ok_or(StoreError::NotFound)?;
                questionnaire(&row)
            }

            async fn complete_questionnaire(
                &self,
                practice: PracticeId,
                id: QuestionnaireId,
                answers: &Answers,
                by: EnteredBy,
                flag_messages: &[NewMessage],
                now: Timestamp,
            ) -> StoreResult<Completion> {
                let mut tx = self.write().await?;
                let done = sqlx::query($sql(
                    "UPDATE questionnaires SET completed_at = ?, entered_by = ?, answers = ?,
                         follow_up = ?, total = ?, risk = ?
                     WHERE practice_id = ? AND id = ? AND completed_at IS NULL
                       AND withdrawn_at IS NULL",
                ))
                .bind(secs(now))
                .bind(by.as_str())
                .bind(answers.values_text())
                .bind(answers.follow_up.map(i64::from))
                .bind(i64::from(answers.total))
                .bind(i64::from(answers.risk))
                .bind(practice.get())
                .bind(id.get())
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                if done.rows_affected() != 1 {
                    let exists: Option<i64> = sqlx::query_scalar($sql(
                        "SELECT id FROM questionnaires WHERE practice_id = ? AND id = ?",
                    ))
                    .bind(practice.get())
                    .bind(id.get())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map_err)?;
                    return match exists {
                        Some(_) => Ok(Completion::AlreadyDone),
                        None => Err(StoreError::NotFound),
                    };
                }
                if answers.risk {
                    insert_messages(&mut tx, practice, flag_messages, now).await?;
                }
                tx.commit().await.map_err(map_err)?;
                Ok(Completion::Stored(id))
            }

            async fn enter_questionnaire(
                &self,
                practice: PracticeId,
                request: &NewRequest,
                answers: &Answers,
                flag_messages: &[NewMessage],
                now: Timestamp,
            ) -> StoreResult<Completion> {
                let mut tx = self.write().await?;
                let contract: Option<i64> = sqlx::query_scalar($sql(
                    "SELECT id FROM contracts WHERE practice_id = ? AND id = ? AND client_id = ?",
                ))
                .bind(practice.get())
                .bind(request.contract.get())
                .bind(request.client.get())
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
                if contract.is_none() {
                    return Err(StoreError::NotFound);
                }
                // The questionnaire asked for that session, answered in it instead; else a
                // new one.
                let mut id: Option<i64> = sqlx::query_scalar($sql(
                    "UPDATE questionnaires SET completed_at = ?, entered_by = 'therapist',
                         answers = ?, follow_up = ?, total = ?, risk = ?, withdrawn_at = NULL
                     WHERE practice_id = ? AND contract_id = ? AND session_number = ?
                       AND instrument = ? AND completed_at IS NULL
                     RETURNING id",
                ))
                .bind(secs(now))
                .bind(answers.values_text())
                .bind(answers.follow_up.map(i64::from))
                .bind(i64::from(answers.total))
                .bind(i64::from(answers.risk))
                .bind(practice.get())
                .bind(request.contract.get())
                .bind(i64::from(request.session_number))
                .bind(request.instrument.as_str())
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
                if id.is_none() {
                    id = sqlx::query_scalar($sql(
                        "INSERT INTO questionnaires (practice_id, client_id, contract_id,
                             instrument, occasion, session_number, requested_at, completed_at,
                             entered_by, answers, follow_up, total, risk)
                         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'therapist', ?, ?, ?, ?)
                         ON CONFLICT (contract_id, session_number, instrument) DO NOTHING
                         RETURNING id",
                    ))
                    .bind(practice.get())
                    .bind(request.client.get())
                    .bind(request.contract.get())
                    .bind(request.instrument.as_str())
                    .bind(request.occasion.as_str())
                    .bind(i64::from(request.session_number))
                    .bind(secs(now))
                    .bind(secs(now))
                    .bind(answers.values_text())
                    .bind(answers.follow_up.map(i64::from))
                    .bind(i64::from(answers.total))
                    .bind(i64::from(answers.risk))
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map_err)?;
                }
                let Some(id) = id else {
                    return Ok(Completion::AlreadyDone);
                };
                if answers.risk {
                    insert_messages(&mut tx, practice, flag_messages, now).await?;
                }
                tx.commit().await.map_err(map_err)?;
                Ok(Completion::Stored(QuestionnaireId::new(id)))
            }

            async fn acknowledge_flag(
                &self,
                practice: PracticeId,
                id: QuestionnaireId,
                by: UserId,
                note: &str,
                now: Timestamp,
            ) -> StoreResult<bool> {
                let mut tx = self.write().await?;
                let done = sqlx::query($sql(
                    "UPDATE questionnaires SET acknowledged_at = ?, acknowledged_by = ?,
                         acknowledgement = ?
                     WHERE practice_id = ? AND id = ? AND risk = 1 AND acknowledged_at IS NULL",
                ))
                .bind(secs(now))
                .bind(by.get())
                .bind(note)
                .bind(practice.get())
                .bind(id.get())
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                tx.commit().await.map_err(map_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn open_flags(&self, practice: PracticeId) -> StoreResult<Vec<Questionnaire>> {
                sqlx::query($sql($crate::questionnaires_where!(
                    "q.practice_id = ? AND q.risk = 1 AND q.acknowledged_at IS NULL
                     ORDER BY q.completed_at, q.id"
                )))
                .bind(practice.get())
                .fetch_all(self.read())
                .await
                .map_err(map_err)?
                .iter()
                .map(questionnaire)
                .collect()
            }

            async fn ended_work_questionnaires(
                &self,
                practice: PracticeId,
            ) -> StoreResult<Vec<Questionnaire>> {
                sqlx::query($sql($crate::questionnaires_where!(
                    "q.practice_id = ? AND k.status = 'ended' AND q.completed_at IS NOT NULL
                     ORDER BY q.contract_id, q.completed_at, q.id"
                )))
                .bind(practice.get())
                .fetch_all(self.read())
                .await
                .map_err(map_err)?
                .iter()
                .map(questionnaire)
                .collect()
            }

            async fn measures_stopped(
                &self,
                practice: PracticeId,
                client: ClientId,
            ) -> StoreResult<Option<Timestamp>> {
                let at: Option<i64> = sqlx::query_scalar($sql(
                    "SELECT stopped_at FROM measure_stops WHERE practice_id = ? AND client_id = ?",
                ))
                .bind(practice.get())
                .bind(client.get())
                .fetch_optional(self.read())
                .await
                .map_err(map_err)?;
                opt_timestamp(at)
            }

            async fn set_measures_stopped(
                &self,
                practice: PracticeId,
                client: ClientId,
                stop: bool,
                messages: &[NewMessage],
                now: Timestamp,
            ) -> StoreResult<bool> {
                let mut tx = self.write().await?;
                let changed = if stop {
                    let done = sqlx::query($sql(
                        "INSERT INTO measure_stops (practice_id, client_id, stopped_at)
                         SELECT practice_id, id, ? FROM clients WHERE practice_id = ? AND id = ?
                         ON CONFLICT (client_id) DO NOTHING",
                    ))
                    .bind(secs(now))
                    .bind(practice.get())
                    .bind(client.get())
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                    if done.rows_affected() == 1 {
                        sqlx::query($sql(
                            "UPDATE questionnaires SET withdrawn_at = ?
                             WHERE practice_id = ? AND client_id = ? AND completed_at IS NULL
                               AND withdrawn_at IS NULL",
                        ))
                        .bind(secs(now))
                        .bind(practice.get())
                        .bind(client.get())
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                        insert_messages(&mut tx, practice, messages, now).await?;
                    }
                    done.rows_affected() == 1
                } else {
                    let done = sqlx::query($sql(
                        "DELETE FROM measure_stops WHERE practice_id = ? AND client_id = ?",
                    ))
                    .bind(practice.get())
                    .bind(client.get())
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                    done.rows_affected() == 1
                };
                tx.commit().await.map_err(map_err)?;
                Ok(changed)
            }

            async fn withdraw_questionnaires(
                &self,
                practice: PracticeId,
                contract: ContractId,
                now: Timestamp,
            ) -> StoreResult<()> {
                let mut tx = self.write().await?;
                sqlx::query($sql(
                    "UPDATE questionnaires SET withdrawn_at = ?
                     WHERE practice_id = ? AND contract_id = ? AND completed_at IS NULL
                       AND withdrawn_at IS NULL",
                ))
                .bind(secs(now))
                .bind(practice.get())
                .bind(contract.get())
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                tx.commit().await.map_err(map_err)
            }
        }
    };
}
