//! Practice details, profile, locations, appointment types, links and FAQ.

use async_trait::async_trait;
use domain::{
    Pence, Slug,
    practice::{
        AppointmentType, BookingRules, FaqEntry, Location, Policies, PracticeDetails,
        PracticeSetup, PrivacySettings, SocialLink, TherapistProfile,
    },
};
use jiff::Timestamp;
use sqlx::{Row, postgres::PgRow};
use store::{Practice, PracticeId, PracticeStore, StoreError, StoreResult};

use crate::{PgStore, affected, convert::*, map_err};

pub(crate) fn get<'r, T>(row: &'r PgRow, column: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(column).map_err(map_err)
}

fn practice_from_row(row: &PgRow) -> StoreResult<Practice> {
    let details = PracticeDetails {
        name: get(row, "name")?,
        tagline: get(row, "tagline")?,
        time_zone: get(row, "time_zone")?,
        notify_email: email(&get::<String>(row, "notify_email")?)?,
        public_phone: phone(get(row, "public_phone")?)?,
        intro: get(row, "intro")?,
        how_i_work: get(row, "how_i_work")?,
    };
    let therapist = TherapistProfile {
        name: name(&get::<String>(row, "therapist_name")?)?,
        title: get(row, "therapist_title")?,
        professional_body: get(row, "professional_body")?,
        registration: get(row, "registration")?,
        qualifications: lines(&get::<String>(row, "qualifications")?),
        languages: lines(&get::<String>(row, "languages")?),
        about: get(row, "about")?,
    };
    let policies = Policies {
        fees: get(row, "fees_text")?,
        cancellation: get(row, "cancellation_text")?,
        confidentiality: get(row, "confidentiality_text")?,
    };
    let privacy = PrivacySettings {
        controller: get(row, "privacy_controller")?,
        ico_registration: get(row, "ico_registration")?,
        retention_years: u32_col(get(row, "retention_years")?)?,
        extra: get(row, "privacy_extra")?,
    };
    Ok(Practice {
        id: PracticeId::new(get(row, "id")?),
        details,
        therapist,
        policies,
        privacy,
    })
}

fn location_from_row(row: &PgRow) -> StoreResult<Location> {
    Ok(Location {
        slug: slug(&get::<String>(row, "slug")?)?,
        name: get(row, "name")?,
        online: get::<i64>(row, "online")? == 1,
        address_lines: lines(&get::<String>(row, "address_lines")?),
        postcode: postcode(get(row, "postcode")?)?,
        latitude: get(row, "latitude")?,
        longitude: get(row, "longitude")?,
        summary: get(row, "summary")?,
        getting_there: get(row, "getting_there")?,
        accessibility: get(row, "accessibility")?,
        building: get(row, "building")?,
    })
}

async fn insert_location(
    tx: &mut sqlx::PgConnection,
    practice: PracticeId,
    position: i64,
    l: &Location,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO locations (practice_id, slug, position, name, online, address_lines, postcode,
            latitude, longitude, summary, getting_there, accessibility, building)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(practice.get())
    .bind(l.slug.as_str())
    .bind(position)
    .bind(&l.name)
    .bind(i64::from(l.online))
    .bind(l.address_lines.join("\n"))
    .bind(l.postcode.as_ref().map(|p| p.as_str().to_owned()))
    .bind(l.latitude)
    .bind(l.longitude)
    .bind(&l.summary)
    .bind(&l.getting_there)
    .bind(&l.accessibility)
    .bind(&l.building)
    .execute(&mut *tx)
    .await
    .map_err(map_err)?;
    Ok(())
}

async fn insert_links(
    tx: &mut sqlx::PgConnection,
    practice: PracticeId,
    links: &[SocialLink],
) -> StoreResult<()> {
    sqlx::query("DELETE FROM social_links WHERE practice_id = $1")
        .bind(practice.get())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    for (position, link) in (0_i64..).zip(links) {
        sqlx::query(
            "INSERT INTO social_links (practice_id, position, label, url) VALUES ($1, $2, $3, $4)",
        )
        .bind(practice.get())
        .bind(position)
        .bind(&link.label)
        .bind(&link.url)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    }
    Ok(())
}

async fn insert_faq(
    tx: &mut sqlx::PgConnection,
    practice: PracticeId,
    entries: &[FaqEntry],
) -> StoreResult<()> {
    sqlx::query("DELETE FROM faq_entries WHERE practice_id = $1")
        .bind(practice.get())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    for (position, entry) in (0_i64..).zip(entries) {
        sqlx::query(
            "INSERT INTO faq_entries (practice_id, position, question, answer) VALUES ($1, $2, $3, $4)",
        )
        .bind(practice.get())
        .bind(position)
        .bind(&entry.question)
        .bind(&entry.answer)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    }
    Ok(())
}

/// Store an appointment type's booking rules and the locations it can be booked at.
async fn write_type_rules(
    tx: &mut sqlx::PgConnection,
    practice: PracticeId,
    kind: &AppointmentType,
) -> StoreResult<()> {
    let r = &kind.booking;
    let type_id: i64 = sqlx::query_scalar(
        "UPDATE appointment_types SET bookable_online = $1, buffer_before = $2, buffer_after = $3, travel_minutes = $4,
            notice_minutes = $5, horizon_days = $6, granularity_minutes = $7
         WHERE practice_id = $8 AND slug = $9 RETURNING id",
    )
    .bind(i64::from(r.bookable_online))
    .bind(i64::from(r.buffer_before))
    .bind(i64::from(r.buffer_after))
    .bind(i64::from(r.travel_minutes))
    .bind(i64::from(r.notice_minutes))
    .bind(i64::from(r.horizon_days))
    .bind(i64::from(r.granularity_minutes))
    .bind(practice.get())
    .bind(kind.slug.as_str())
    .fetch_one(&mut *tx)
    .await
    .map_err(map_err)?;
    sqlx::query("DELETE FROM appointment_type_locations WHERE type_id = $1")
        .bind(type_id)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    for location in &r.locations {
        let inserted = sqlx::query(
            "INSERT INTO appointment_type_locations (type_id, location_id)
             SELECT $1, id FROM locations WHERE practice_id = $2 AND slug = $3",
        )
        .bind(type_id)
        .bind(practice.get())
        .bind(location.as_str())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
    }
    Ok(())
}

#[async_trait]
impl PracticeStore for PgStore {
    async fn create_practice(
        &self,
        setup: &PracticeSetup,
        now: Timestamp,
    ) -> StoreResult<PracticeId> {
        let mut tx = self.write().await?;
        let practice = insert_practice(&mut tx, setup, now).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(practice)
    }

    async fn first_practice(&self) -> StoreResult<Option<PracticeId>> {
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM practices ORDER BY id LIMIT 1")
            .fetch_optional(self.read())
            .await
            .map_err(map_err)?;
        Ok(id.map(PracticeId::new))
    }

    async fn practice_ids(&self) -> StoreResult<Vec<PracticeId>> {
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM practices ORDER BY id")
            .fetch_all(self.read())
            .await
            .map_err(map_err)?;
        Ok(ids.into_iter().map(PracticeId::new).collect())
    }

    async fn practice(&self, practice: PracticeId) -> StoreResult<Practice> {
        let row = sqlx::query("SELECT * FROM practices WHERE id = $1")
            .bind(practice.get())
            .fetch_one(self.read())
            .await
            .map_err(map_err)?;
        practice_from_row(&row)
    }

    async fn update_details(&self, practice: PracticeId, d: &PracticeDetails) -> StoreResult<()> {
        let result = sqlx::query(
            "UPDATE practices SET name = $1, tagline = $2, time_zone = $3, notify_email = $4, public_phone = $5,
                intro = $6, how_i_work = $7 WHERE id = $8",
        )
        .bind(&d.name)
        .bind(&d.tagline)
        .bind(&d.time_zone)
        .bind(d.notify_email.as_str())
        .bind(d.public_phone.as_ref().map(|p| p.as_str().to_owned()))
        .bind(&d.intro)
        .bind(&d.how_i_work)
        .bind(practice.get())
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        affected(result)
    }

    async fn update_therapist(
        &self,
        practice: PracticeId,
        t: &TherapistProfile,
    ) -> StoreResult<()> {
        let result = sqlx::query(
            "UPDATE practices SET therapist_name = $1, therapist_title = $2, professional_body = $3, registration = $4,
                qualifications = $5, languages = $6, about = $7 WHERE id = $8",
        )
        .bind(t.name.as_str())
        .bind(&t.title)
        .bind(&t.professional_body)
        .bind(&t.registration)
        .bind(t.qualifications.join("\n"))
        .bind(t.languages.join("\n"))
        .bind(&t.about)
        .bind(practice.get())
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        affected(result)
    }

    async fn update_policies(&self, practice: PracticeId, p: &Policies) -> StoreResult<()> {
        let result = sqlx::query(
            "UPDATE practices SET fees_text = $1, cancellation_text = $2, confidentiality_text = $3 WHERE id = $4",
        )
        .bind(&p.fees)
        .bind(&p.cancellation)
        .bind(&p.confidentiality)
        .bind(practice.get())
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        affected(result)
    }

    async fn update_privacy(&self, practice: PracticeId, p: &PrivacySettings) -> StoreResult<()> {
        let result = sqlx::query(
            "UPDATE practices SET privacy_controller = $1, ico_registration = $2, retention_years = $3, privacy_extra = $4
             WHERE id = $5",
        )
        .bind(&p.controller)
        .bind(&p.ico_registration)
        .bind(i64::from(p.retention_years))
        .bind(&p.extra)
        .bind(practice.get())
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        affected(result)
    }

    async fn locations(&self, practice: PracticeId) -> StoreResult<Vec<Location>> {
        let rows =
            sqlx::query("SELECT * FROM locations WHERE practice_id = $1 ORDER BY position, id")
                .bind(practice.get())
                .fetch_all(self.read())
                .await
                .map_err(map_err)?;
        rows.iter().map(location_from_row).collect()
    }

    async fn save_location(
        &self,
        practice: PracticeId,
        existing: Option<&Slug>,
        location: &Location,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        match existing {
            // Updated in place, so the location keeps its id (hours and bookings refer to it).
            Some(slug) => {
                let l = location;
                let result = sqlx::query(
                    "UPDATE locations SET slug = $1, name = $2, online = $3, address_lines = $4, postcode = $5,
                        latitude = $6, longitude = $7, summary = $8, getting_there = $9, accessibility = $10,
                        building = $11
                     WHERE practice_id = $12 AND slug = $13",
                )
                .bind(l.slug.as_str())
                .bind(&l.name)
                .bind(i64::from(l.online))
                .bind(l.address_lines.join("\n"))
                .bind(l.postcode.as_ref().map(|p| p.as_str().to_owned()))
                .bind(l.latitude)
                .bind(l.longitude)
                .bind(&l.summary)
                .bind(&l.getting_there)
                .bind(&l.accessibility)
                .bind(&l.building)
                .bind(practice.get())
                .bind(slug.as_str())
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                affected(result)?;
            }
            None => {
                let position: i64 = sqlx::query_scalar(
                    "SELECT COALESCE(MAX(position) + 1, 0) FROM locations WHERE practice_id = $1",
                )
                .bind(practice.get())
                .fetch_one(&mut *tx)
                .await
                .map_err(map_err)?;
                insert_location(&mut tx, practice, position, location).await?;
            }
        }
        tx.commit().await.map_err(map_err)
    }

    async fn delete_location(&self, practice: PracticeId, slug: &Slug) -> StoreResult<()> {
        let result = sqlx::query("DELETE FROM locations WHERE practice_id = $1 AND slug = $2")
            .bind(practice.get())
            .bind(slug.as_str())
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        affected(result)
    }

    async fn appointment_types(&self, practice: PracticeId) -> StoreResult<Vec<AppointmentType>> {
        let rows = sqlx::query(
            "SELECT t.*, (SELECT string_agg(l.slug, ' ' ORDER BY l.position, l.id)
                    FROM appointment_type_locations tl JOIN locations l ON l.id = tl.location_id
                    WHERE tl.type_id = t.id) AS location_slugs
             FROM appointment_types t WHERE t.practice_id = $1 ORDER BY t.position, t.id",
        )
        .bind(practice.get())
        .fetch_all(self.read())
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|row| {
                let locations: Option<String> = get(row, "location_slugs")?;
                Ok(AppointmentType {
                    slug: slug(&get::<String>(row, "slug")?)?,
                    name: get(row, "name")?,
                    minutes: u32_col(get(row, "minutes")?)?,
                    fee: Pence::new(u32_col(get(row, "fee_pence")?)?),
                    description: get(row, "description")?,
                    booking: BookingRules {
                        bookable_online: get::<i64>(row, "bookable_online")? == 1,
                        locations: locations
                            .unwrap_or_default()
                            .split(' ')
                            .filter(|l| !l.is_empty())
                            .map(slug)
                            .collect::<StoreResult<_>>()?,
                        buffer_before: u32_col(get(row, "buffer_before")?)?,
                        buffer_after: u32_col(get(row, "buffer_after")?)?,
                        travel_minutes: u32_col(get(row, "travel_minutes")?)?,
                        notice_minutes: u32_col(get(row, "notice_minutes")?)?,
                        horizon_days: u32_col(get(row, "horizon_days")?)?,
                        granularity_minutes: u32_col(get(row, "granularity_minutes")?)?,
                    },
                })
            })
            .collect()
    }

    async fn update_appointment_type(
        &self,
        practice: PracticeId,
        kind: &AppointmentType,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let result = sqlx::query(
            "UPDATE appointment_types SET name = $1, minutes = $2, fee_pence = $3, description = $4
             WHERE practice_id = $5 AND slug = $6",
        )
        .bind(&kind.name)
        .bind(i64::from(kind.minutes))
        .bind(i64::from(kind.fee.get()))
        .bind(&kind.description)
        .bind(practice.get())
        .bind(kind.slug.as_str())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        affected(result)?;
        write_type_rules(&mut tx, practice, kind).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn social_links(&self, practice: PracticeId) -> StoreResult<Vec<SocialLink>> {
        let rows = sqlx::query(
            "SELECT label, url FROM social_links WHERE practice_id = $1 ORDER BY position",
        )
        .bind(practice.get())
        .fetch_all(self.read())
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|row| {
                Ok(SocialLink {
                    label: get(row, "label")?,
                    url: get(row, "url")?,
                })
            })
            .collect()
    }

    async fn replace_social_links(
        &self,
        practice: PracticeId,
        links: &[SocialLink],
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        insert_links(&mut tx, practice, links).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn faq(&self, practice: PracticeId) -> StoreResult<Vec<FaqEntry>> {
        let rows = sqlx::query(
            "SELECT question, answer FROM faq_entries WHERE practice_id = $1 ORDER BY position",
        )
        .bind(practice.get())
        .fetch_all(self.read())
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|row| {
                Ok(FaqEntry {
                    question: get(row, "question")?,
                    answer: get(row, "answer")?,
                })
            })
            .collect()
    }

    async fn replace_faq(&self, practice: PracticeId, entries: &[FaqEntry]) -> StoreResult<()> {
        let mut tx = self.write().await?;
        insert_faq(&mut tx, practice, entries).await?;
        tx.commit().await.map_err(map_err)
    }
}

/// Insert a practice from a checked setup, with its locations, types, hours, breaks, links
/// and FAQ, in the caller's transaction.
pub(crate) async fn insert_practice(
    conn: &mut sqlx::PgConnection,
    setup: &PracticeSetup,
    now: Timestamp,
) -> StoreResult<PracticeId> {
    let d = &setup.details;
    let t = &setup.therapist;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO practices (name, tagline, time_zone, notify_email, public_phone, intro, how_i_work,
            therapist_name, therapist_title, professional_body, registration, qualifications, languages, about,
            fees_text, cancellation_text, confidentiality_text,
            privacy_controller, ico_registration, retention_years, privacy_extra, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22) RETURNING id",
    )
    .bind(&d.name)
    .bind(&d.tagline)
    .bind(&d.time_zone)
    .bind(d.notify_email.as_str())
    .bind(d.public_phone.as_ref().map(|p| p.as_str().to_owned()))
    .bind(&d.intro)
    .bind(&d.how_i_work)
    .bind(t.name.as_str())
    .bind(&t.title)
    .bind(&t.professional_body)
    .bind(&t.registration)
    .bind(t.qualifications.join("\n"))
    .bind(t.languages.join("\n"))
    .bind(&t.about)
    .bind(&setup.policies.fees)
    .bind(&setup.policies.cancellation)
    .bind(&setup.policies.confidentiality)
    .bind(&setup.privacy.controller)
    .bind(&setup.privacy.ico_registration)
    .bind(i64::from(setup.privacy.retention_years))
    .bind(&setup.privacy.extra)
    .bind(secs(now))
    .fetch_one(&mut *conn)
    .await
    .map_err(map_err)?;
    let practice = PracticeId::new(id);
    for (position, location) in (0_i64..).zip(&setup.locations) {
        insert_location(&mut *conn, practice, position, location).await?;
    }
    for (position, kind) in (0_i64..).zip(&setup.appointment_types) {
        sqlx::query(
            "INSERT INTO appointment_types (practice_id, slug, position, name, minutes, fee_pence, description)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(kind.slug.as_str())
        .bind(position)
        .bind(&kind.name)
        .bind(i64::from(kind.minutes))
        .bind(i64::from(kind.fee.get()))
        .bind(&kind.description)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
        write_type_rules(&mut *conn, practice, kind).await?;
    }
    crate::booking::write_settings(&mut *conn, practice, &setup.booking).await?;
    let zone = jiff::tz::TimeZone::get(&setup.details.time_zone)
        .map_err(|e| StoreError::Other(Box::new(e)))?;
    for hours in &setup.hours {
        crate::booking::insert_hours(&mut *conn, practice, hours).await?;
    }
    for away in &setup.away {
        let (start, end) = away.instants(&zone).ok_or_else(|| {
            StoreError::Other("a break's dates cannot be placed in the time zone".into())
        })?;
        crate::booking::insert_away(&mut *conn, practice, &away.label, start, end).await?;
    }
    insert_links(&mut *conn, practice, &setup.social_links).await?;
    insert_faq(&mut *conn, practice, &setup.faq).await?;
    Ok(practice)
}
