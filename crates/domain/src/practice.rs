//! The practice as it presents itself: details, therapist profile, locations, appointment
//! types, policies, privacy settings, social links and FAQ.
//!
//! Each record has a `Raw*` twin holding the text exactly as typed (from the back office or
//! from `practice.toml`); `parse` is the only way from the raw form to the checked one.

use serde::{Deserialize, Serialize};

use crate::{
    EmailAddress, FieldErrors, Pence, PersonName, PhoneNumber, Postcode, Slug, TextError,
    text::parse_text,
};

fn optional_text(raw: &str, what: &str, max: usize, newlines: bool) -> Result<String, TextError> {
    if raw.trim().is_empty() {
        Ok(String::new())
    } else {
        parse_text(raw, what, max, newlines)
    }
}

fn lines(raw: &[String], what: &str, max_items: usize) -> Result<Vec<String>, TextError> {
    let items: Vec<String> = raw
        .iter()
        .map(|line| line.trim())
        .filter(|line| !line.is_empty())
        .map(|line| parse_text(line, what, 200, false))
        .collect::<Result<_, _>>()?;
    if items.len() > max_items {
        return Err(TextError(format!("List {max_items} or fewer {what}")));
    }
    Ok(items)
}

/// Split a textarea into its non-empty lines (the back office edits lists one per line).
pub fn split_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

const LONG: usize = 20_000;

/// The practice's own details.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PracticeDetails {
    /// Shown in the header and page titles.
    pub name: String,
    /// One line under the name.
    pub tagline: String,
    /// IANA time zone, e.g. `Europe/London`.
    pub time_zone: String,
    /// Where notifications go; never shown on the site.
    pub notify_email: EmailAddress,
    /// A phone number to show publicly, if the therapist wants one.
    pub public_phone: Option<PhoneNumber>,
    /// Home page introduction (Markdown).
    pub intro: String,
    /// Home page "how I work" (Markdown).
    pub how_i_work: String,
}

/// [`PracticeDetails`] as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawPracticeDetails {
    pub name: String,
    pub tagline: String,
    pub time_zone: String,
    pub notify_email: String,
    pub public_phone: String,
    pub intro: String,
    pub how_i_work: String,
}

impl PracticeDetails {
    /// Check every field.
    pub fn parse(raw: &RawPracticeDetails) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        let name = e.check(
            "name",
            parse_text(&raw.name, "the practice name", 120, false),
        );
        let tagline = e.check(
            "tagline",
            optional_text(&raw.tagline, "the tagline", 200, false),
        );
        let time_zone = raw.time_zone.trim();
        let time_zone = if jiff::tz::TimeZone::get(time_zone).is_ok() && !time_zone.is_empty() {
            Some(time_zone.to_owned())
        } else {
            e.add(
                "time_zone",
                "Enter a time zone from the IANA list, like Europe/London",
            );
            None
        };
        let notify_email = e.check("notify_email", EmailAddress::parse(&raw.notify_email));
        let public_phone = if raw.public_phone.trim().is_empty() {
            Some(None)
        } else {
            e.check(
                "public_phone",
                PhoneNumber::parse(&raw.public_phone).map(Some),
            )
        };
        let intro = e.check(
            "intro",
            parse_text(&raw.intro, "an introduction", LONG, true),
        );
        let how_i_work = e.check(
            "how_i_work",
            optional_text(&raw.how_i_work, "how you work", LONG, true),
        );
        match (
            name,
            tagline,
            time_zone,
            notify_email,
            public_phone,
            intro,
            how_i_work,
        ) {
            (
                Some(name),
                Some(tagline),
                Some(time_zone),
                Some(notify_email),
                Some(public_phone),
                Some(intro),
                Some(how_i_work),
            ) if e.is_empty() => Ok(Self {
                name,
                tagline,
                time_zone,
                notify_email,
                public_phone,
                intro,
                how_i_work,
            }),
            _ => Err(e),
        }
    }

    /// Back to the raw form, for filling the editor.
    pub fn to_raw(&self) -> RawPracticeDetails {
        RawPracticeDetails {
            name: self.name.clone(),
            tagline: self.tagline.clone(),
            time_zone: self.time_zone.clone(),
            notify_email: self.notify_email.to_string(),
            public_phone: self
                .public_phone
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            intro: self.intro.clone(),
            how_i_work: self.how_i_work.clone(),
        }
    }
}

/// The therapist's public profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TherapistProfile {
    pub name: PersonName,
    pub title: String,
    pub professional_body: String,
    pub registration: String,
    pub qualifications: Vec<String>,
    pub languages: Vec<String>,
    /// About page (Markdown).
    pub about: String,
}

/// [`TherapistProfile`] as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawTherapistProfile {
    pub name: String,
    pub title: String,
    pub professional_body: String,
    pub registration: String,
    pub qualifications: Vec<String>,
    pub languages: Vec<String>,
    pub about: String,
}

impl TherapistProfile {
    /// Check every field.
    pub fn parse(raw: &RawTherapistProfile) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        let name = e.check(
            "name",
            PersonName::parse(&raw.name)
                .map_err(|_| TextError("Enter the therapist's name".into())),
        );
        let title = e.check(
            "title",
            parse_text(&raw.title, "a job title, like Psychotherapist", 120, false),
        );
        let professional_body = e.check(
            "professional_body",
            parse_text(&raw.professional_body, "your professional body", 200, false),
        );
        let registration = e.check(
            "registration",
            parse_text(
                &raw.registration,
                "your registration or membership number",
                120,
                false,
            ),
        );
        let qualifications = e.check(
            "qualifications",
            lines(&raw.qualifications, "qualifications", 20),
        );
        let languages = e.check("languages", lines(&raw.languages, "languages", 20));
        let about = e.check(
            "about",
            parse_text(&raw.about, "something about yourself", LONG, true),
        );
        match (
            name,
            title,
            professional_body,
            registration,
            qualifications,
            languages,
            about,
        ) {
            (
                Some(name),
                Some(title),
                Some(professional_body),
                Some(registration),
                Some(qualifications),
                Some(languages),
                Some(about),
            ) if e.is_empty() => Ok(Self {
                name,
                title,
                professional_body,
                registration,
                qualifications,
                languages,
                about,
            }),
            _ => Err(e),
        }
    }

    /// Back to the raw form.
    pub fn to_raw(&self) -> RawTherapistProfile {
        RawTherapistProfile {
            name: self.name.to_string(),
            title: self.title.clone(),
            professional_body: self.professional_body.clone(),
            registration: self.registration.clone(),
            qualifications: self.qualifications.clone(),
            languages: self.languages.clone(),
            about: self.about.clone(),
        }
    }
}

/// A place where the therapist sees people, or `online`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Location {
    pub slug: Slug,
    pub name: String,
    pub online: bool,
    pub address_lines: Vec<String>,
    pub postcode: Option<Postcode>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub summary: String,
    /// Markdown.
    pub getting_there: String,
    /// Markdown.
    pub accessibility: String,
    /// Markdown.
    pub building: String,
}

/// [`Location`] as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLocation {
    pub slug: String,
    pub name: String,
    pub online: bool,
    pub address_lines: Vec<String>,
    pub postcode: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub summary: String,
    pub getting_there: String,
    pub accessibility: String,
    pub building: String,
}

impl Location {
    /// Check every field. A room needs an address and postcode; online needs neither.
    pub fn parse(raw: &RawLocation) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        let slug = e.check("slug", Slug::parse(&raw.slug));
        let name = e.check(
            "name",
            parse_text(&raw.name, "a name for this location", 80, false),
        );
        let address_lines = e.check(
            "address_lines",
            lines(&raw.address_lines, "address lines", 6),
        );
        if !raw.online && matches!(&address_lines, Some(l) if l.is_empty()) {
            e.add("address_lines", "Enter the address, one line per line");
        }
        let postcode = if raw.online && raw.postcode.trim().is_empty() {
            Some(None)
        } else {
            e.check("postcode", Postcode::parse(&raw.postcode).map(Some))
        };
        let latitude = match raw.latitude {
            Some(v) if !(-90.0..=90.0).contains(&v) => {
                e.add(
                    "latitude",
                    "Enter a latitude between -90 and 90, like 51.4431",
                );
                None
            }
            other => Some(other),
        };
        let longitude = match raw.longitude {
            Some(v) if !(-180.0..=180.0).contains(&v) => {
                e.add(
                    "longitude",
                    "Enter a longitude between -180 and 180, like -0.1527",
                );
                None
            }
            other => Some(other),
        };
        let summary = e.check(
            "summary",
            optional_text(&raw.summary, "a summary", 300, false),
        );
        let getting_there = e.check(
            "getting_there",
            optional_text(&raw.getting_there, "how to get there", LONG, true),
        );
        let accessibility = e.check(
            "accessibility",
            optional_text(&raw.accessibility, "accessibility", LONG, true),
        );
        let building = e.check(
            "building",
            optional_text(&raw.building, "the building", LONG, true),
        );
        match (
            slug,
            name,
            address_lines,
            postcode,
            latitude,
            longitude,
            summary,
            getting_there,
            accessibility,
            building,
        ) {
            (
                Some(slug),
                Some(name),
                Some(address_lines),
                Some(postcode),
                Some(latitude),
                Some(longitude),
                Some(summary),
                Some(getting_there),
                Some(accessibility),
                Some(building),
            ) if e.is_empty() => Ok(Self {
                slug,
                name,
                online: raw.online,
                address_lines,
                postcode,
                latitude,
                longitude,
                summary,
                getting_there,
                accessibility,
                building,
            }),
            _ => Err(e),
        }
    }

    /// Back to the raw form.
    pub fn to_raw(&self) -> RawLocation {
        RawLocation {
            slug: self.slug.to_string(),
            name: self.name.clone(),
            online: self.online,
            address_lines: self.address_lines.clone(),
            postcode: self
                .postcode
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            latitude: self.latitude,
            longitude: self.longitude,
            summary: self.summary.clone(),
            getting_there: self.getting_there.clone(),
            accessibility: self.accessibility.clone(),
            building: self.building.clone(),
        }
    }

    /// A plain OpenStreetMap link for the location, if it has coordinates.
    pub fn map_url(&self) -> Option<String> {
        match (self.latitude, self.longitude) {
            (Some(lat), Some(lon)) => Some(format!(
                "https://www.openstreetmap.org/?mlat={lat:.5}&mlon={lon:.5}#map=17/{lat:.5}/{lon:.5}"
            )),
            _ => None,
        }
    }
}

/// A kind of appointment with its length and fee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppointmentType {
    pub slug: Slug,
    pub name: String,
    pub minutes: u32,
    pub fee: Pence,
    pub description: String,
    /// How (and whether) visitors can book it online.
    pub booking: BookingRules,
}

/// When and where an appointment type can be booked online.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BookingRules {
    /// Visitors can book it on the site (only consultations, in practice).
    pub bookable_online: bool,
    /// Locations it can be booked at, in the practice's order.
    pub locations: Vec<Slug>,
    /// Minutes kept free before it.
    pub buffer_before: u32,
    /// Minutes kept free after it (notes, a breather).
    pub buffer_after: u32,
    /// Minutes needed to get between two different locations.
    pub travel_minutes: u32,
    /// Minimum notice, in minutes, between booking and the start.
    pub notice_minutes: u32,
    /// How many days ahead it can be booked.
    pub horizon_days: u32,
    /// Start times fall on multiples of this many minutes from the start of the hours.
    pub granularity_minutes: u32,
}

impl Default for BookingRules {
    fn default() -> Self {
        Self {
            bookable_online: false,
            locations: Vec::new(),
            buffer_before: 0,
            buffer_after: 10,
            travel_minutes: 60,
            notice_minutes: 24 * 60,
            horizon_days: 56,
            granularity_minutes: 60,
        }
    }
}

/// [`BookingRules`] as typed in the back office.
#[derive(Debug, Clone, Default)]
pub struct RawBookingRules {
    pub bookable_online: bool,
    pub locations: Vec<String>,
    pub buffer_before: String,
    pub buffer_after: String,
    pub travel_minutes: String,
    pub notice_hours: String,
    pub horizon_days: String,
    pub granularity_minutes: String,
}

impl BookingRules {
    /// Check the typed rules, recording problems in `e`.
    pub fn parse(raw: &RawBookingRules, e: &mut FieldErrors) -> Option<Self> {
        use crate::booking::parse_whole;
        let locations = raw
            .locations
            .iter()
            .map(|l| Slug::parse(l))
            .collect::<Result<Vec<_>, _>>();
        let locations = e.check("locations", locations);
        if raw.bookable_online && matches!(&locations, Some(l) if l.is_empty()) {
            e.add(
                "locations",
                "Choose at least one location where it can be booked",
            );
        }
        let buffer_before = e.check(
            "buffer_before",
            parse_whole(&raw.buffer_before, "the minutes before", 0..=240),
        );
        let buffer_after = e.check(
            "buffer_after",
            parse_whole(&raw.buffer_after, "the minutes after", 0..=240),
        );
        let travel = e.check(
            "travel_minutes",
            parse_whole(&raw.travel_minutes, "the travel time in minutes", 0..=240),
        );
        let notice = e.check(
            "notice_hours",
            parse_whole(&raw.notice_hours, "the notice in hours", 0..=336),
        );
        let horizon = e.check(
            "horizon_days",
            parse_whole(&raw.horizon_days, "how many days ahead", 1..=366),
        );
        let granularity = e.check(
            "granularity_minutes",
            parse_whole(
                &raw.granularity_minutes,
                "the minutes between start times",
                5..=120,
            ),
        );
        Some(Self {
            bookable_online: raw.bookable_online,
            locations: locations?,
            buffer_before: buffer_before?,
            buffer_after: buffer_after?,
            travel_minutes: travel?,
            notice_minutes: notice? * 60,
            horizon_days: horizon?,
            granularity_minutes: granularity?,
        })
    }

    /// Back to the typed form.
    pub fn to_raw(&self) -> RawBookingRules {
        RawBookingRules {
            bookable_online: self.bookable_online,
            locations: self.locations.iter().map(ToString::to_string).collect(),
            buffer_before: self.buffer_before.to_string(),
            buffer_after: self.buffer_after.to_string(),
            travel_minutes: self.travel_minutes.to_string(),
            notice_hours: (self.notice_minutes / 60).to_string(),
            horizon_days: self.horizon_days.to_string(),
            granularity_minutes: self.granularity_minutes.to_string(),
        }
    }
}

/// [`AppointmentType`] as typed; `fee_pence` comes from files, `fee` (pounds) from forms.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAppointmentType {
    pub slug: String,
    pub name: String,
    pub minutes: String,
    pub fee: String,
    pub fee_pence: Option<u32>,
    pub description: String,
    #[serde(skip)]
    pub booking: RawBookingRules,
}

impl AppointmentType {
    /// Check every field.
    pub fn parse(raw: &RawAppointmentType) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        let slug = e.check("slug", Slug::parse(&raw.slug));
        let name = e.check("name", parse_text(&raw.name, "a name", 80, false));
        let minutes = match raw.minutes.trim().parse::<u32>() {
            Ok(m) if (10..=240).contains(&m) => Some(m),
            _ => {
                e.add(
                    "minutes",
                    "Enter a length in minutes between 10 and 240, like 50",
                );
                None
            }
        };
        let fee = match raw.fee_pence {
            Some(pence) => Some(Pence::new(pence)),
            None => e.check("fee", Pence::parse_pounds(&raw.fee)),
        };
        let description = e.check(
            "description",
            optional_text(&raw.description, "a description", 500, false),
        );
        let booking = BookingRules::parse(&raw.booking, &mut e);
        match (slug, name, minutes, fee, description, booking) {
            (
                Some(slug),
                Some(name),
                Some(minutes),
                Some(fee),
                Some(description),
                Some(booking),
            ) if e.is_empty() => Ok(Self {
                slug,
                name,
                minutes,
                fee,
                description,
                booking,
            }),
            _ => Err(e),
        }
    }
}

/// Fees, cancellation and confidentiality policies (Markdown).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policies {
    pub fees: String,
    pub cancellation: String,
    pub confidentiality: String,
}

impl Policies {
    /// Check every field.
    pub fn parse(raw: &Policies) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        let fees = e.check(
            "fees",
            optional_text(&raw.fees, "the fees text", LONG, true),
        );
        let cancellation = e.check(
            "cancellation",
            parse_text(&raw.cancellation, "your cancellation policy", LONG, true),
        );
        let confidentiality = e.check(
            "confidentiality",
            parse_text(
                &raw.confidentiality,
                "your confidentiality policy",
                LONG,
                true,
            ),
        );
        match (fees, cancellation, confidentiality) {
            (Some(fees), Some(cancellation), Some(confidentiality)) if e.is_empty() => Ok(Self {
                fees,
                cancellation,
                confidentiality,
            }),
            _ => Err(e),
        }
    }
}

/// What the privacy notice needs from the practice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrivacySettings {
    pub controller: String,
    pub ico_registration: String,
    pub retention_years: u32,
    pub extra: String,
}

/// [`PrivacySettings`] as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawPrivacySettings {
    pub controller: String,
    pub ico_registration: String,
    pub retention_years: Option<u32>,
    pub extra: String,
}

impl PrivacySettings {
    /// Check every field.
    pub fn parse(raw: &RawPrivacySettings) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        let controller = e.check(
            "controller",
            parse_text(
                &raw.controller,
                "who is responsible for the data (usually your name)",
                200,
                false,
            ),
        );
        let ico_registration = e.check(
            "ico_registration",
            optional_text(
                &raw.ico_registration,
                "your ICO registration number",
                60,
                false,
            ),
        );
        let retention_years = match raw.retention_years {
            Some(y) if (1..=30).contains(&y) => Some(y),
            _ => {
                e.add(
                    "retention_years",
                    "Enter how many years records are kept, between 1 and 30",
                );
                None
            }
        };
        let extra = e.check(
            "extra",
            optional_text(&raw.extra, "extra privacy information", LONG, true),
        );
        match (controller, ico_registration, retention_years, extra) {
            (Some(controller), Some(ico_registration), Some(retention_years), Some(extra))
                if e.is_empty() =>
            {
                Ok(Self {
                    controller,
                    ico_registration,
                    retention_years,
                    extra,
                })
            }
            _ => Err(e),
        }
    }
}

/// A link to the practice elsewhere (a directory profile, a professional page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocialLink {
    pub label: String,
    pub url: String,
}

impl SocialLink {
    /// Check a link: a label and an `https://` address.
    pub fn parse(label: &str, url: &str) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        let label = e.check(
            "label",
            parse_text(label, "a label for the link", 80, false),
        );
        let url = url.trim();
        let url_ok = url.starts_with("https://")
            && url.len() > "https://".len() + 3
            && url.len() <= 500
            && !url
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<' || c == '>');
        if !url_ok {
            e.add("url", "Enter a full web address starting with https://");
        }
        match label {
            Some(label) if e.is_empty() => Ok(Self {
                label,
                url: url.to_owned(),
            }),
            _ => Err(e),
        }
    }
}

/// A question and its answer (Markdown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaqEntry {
    pub question: String,
    pub answer: String,
}

impl FaqEntry {
    /// Check both parts.
    pub fn parse(question: &str, answer: &str) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        let question = e.check("question", parse_text(question, "the question", 300, false));
        let answer = e.check("answer", parse_text(answer, "the answer", LONG, true));
        match (question, answer) {
            (Some(question), Some(answer)) if e.is_empty() => Ok(Self { question, answer }),
            _ => Err(e),
        }
    }
}

/// `practice.toml`: everything needed to set up a practice from a file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPracticeFile {
    pub practice: RawPracticeDetails,
    pub therapist: RawTherapistProfile,
    #[serde(default)]
    pub locations: Vec<RawLocation>,
    #[serde(default)]
    pub appointment_types: Vec<RawAppointmentTypeFile>,
    #[serde(default)]
    pub policies: Policies,
    #[serde(default)]
    pub privacy: RawPrivacySettings,
    #[serde(default)]
    pub social_links: Vec<SocialLink>,
    #[serde(default)]
    pub faq: Vec<FaqEntry>,
    #[serde(default)]
    pub booking: RawBookingFile,
    #[serde(default)]
    pub hours: Vec<RawHours>,
    #[serde(default)]
    pub away: Vec<RawAway>,
}

/// `[booking]` in `practice.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawBookingFile {
    pub mode: Option<String>,
    pub request_hold_hours: Option<u32>,
    pub note_enabled: Option<bool>,
    pub reminder_hours: Option<u32>,
}

/// One `[[hours]]` entry: `location`, `day` (monday…sunday), `start` and `end` (HH:MM).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHours {
    pub location: String,
    pub day: String,
    pub start: String,
    pub end: String,
}

/// One `[[away]]` entry: a break from `first_day` to `last_day` inclusive (local dates).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAway {
    pub label: String,
    pub first_day: String,
    pub last_day: String,
}

/// Weekly opening hours at one location, in local wall-clock time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpeningHours {
    pub location: Slug,
    #[serde(serialize_with = "weekday_name")]
    pub weekday: jiff::civil::Weekday,
    pub start: jiff::civil::Time,
    pub end: jiff::civil::Time,
}

fn weekday_name<S: serde::Serializer>(day: &jiff::civil::Weekday, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(weekday_label(*day))
}

/// The weekday's English name, e.g. `Monday`.
pub fn weekday_label(day: jiff::civil::Weekday) -> &'static str {
    use jiff::civil::Weekday::*;
    match day {
        Monday => "Monday",
        Tuesday => "Tuesday",
        Wednesday => "Wednesday",
        Thursday => "Thursday",
        Friday => "Friday",
        Saturday => "Saturday",
        Sunday => "Sunday",
    }
}

/// Parse a weekday name such as `monday` or `Mon`.
pub fn parse_weekday(raw: &str) -> Result<jiff::civil::Weekday, TextError> {
    use jiff::civil::Weekday::*;
    let day = raw.trim().to_lowercase();
    let found = [
        ("mon", Monday),
        ("tue", Tuesday),
        ("wed", Wednesday),
        ("thu", Thursday),
        ("fri", Friday),
        ("sat", Saturday),
        ("sun", Sunday),
    ]
    .into_iter()
    .find(|(prefix, _)| day.starts_with(prefix));
    found
        .map(|(_, d)| d)
        .ok_or_else(|| TextError(format!("“{}” is not a day of the week", raw.trim())))
}

/// Parse a time of day such as `09:00` or `9:30`.
pub fn parse_time(raw: &str) -> Result<jiff::civil::Time, TextError> {
    let wrong = || {
        TextError(format!(
            "Enter a time like 09:00 or 17:30 (not “{}”)",
            raw.trim()
        ))
    };
    let (h, m) = raw.trim().split_once(':').ok_or_else(wrong)?;
    let h: i8 = h.parse().map_err(|_| wrong())?;
    let m: i8 = m.parse().map_err(|_| wrong())?;
    if h == 24 && m == 0 {
        return Ok(jiff::civil::Time::MAX);
    }
    jiff::civil::Time::new(h, m, 0, 0).map_err(|_| wrong())
}

impl OpeningHours {
    /// Check one weekly range: a known weekday and a start before the end.
    pub fn parse(location: Slug, day: &str, start: &str, end: &str) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        let weekday = e.check("day", parse_weekday(day));
        let start = e.check("start", parse_time(start));
        let end = e.check("end", parse_time(end));
        if let (Some(s), Some(t)) = (start, end)
            && s >= t
        {
            e.add("end", "The end time must be after the start time");
        }
        match (weekday, start, end) {
            (Some(weekday), Some(start), Some(end)) if e.is_empty() => Ok(Self {
                location,
                weekday,
                start,
                end,
            }),
            _ => Err(e),
        }
    }
}

/// A break, in local dates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AwayDates {
    pub label: String,
    pub first_day: jiff::civil::Date,
    pub last_day: jiff::civil::Date,
}

impl AwayDates {
    /// Check a break's label and dates.
    pub fn parse(label: &str, first: &str, last: &str) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        let label = e.check(
            "label",
            parse_text(label, "a short label, like Easter break", 80, false),
        );
        let date = |raw: &str| {
            raw.trim()
                .parse::<jiff::civil::Date>()
                .map_err(|_| TextError("Enter a real date in the form 2027-04-05".into()))
        };
        let first_day = e.check("first_day", date(first));
        let last_day = e.check("last_day", date(last));
        if let (Some(f), Some(l)) = (first_day, last_day)
            && l < f
        {
            e.add("last_day", "The last day must be on or after the first day");
        }
        match (label, first_day, last_day) {
            (Some(label), Some(first_day), Some(last_day)) if e.is_empty() => Ok(Self {
                label,
                first_day,
                last_day,
            }),
            _ => Err(e),
        }
    }
}

/// An appointment type as written in `practice.toml` (minutes as a number).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAppointmentTypeFile {
    pub slug: String,
    pub name: String,
    pub minutes: u32,
    pub fee_pence: u32,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub bookable_online: bool,
    #[serde(default)]
    pub locations: Vec<String>,
    pub buffer_before: Option<u32>,
    pub buffer_after: Option<u32>,
    pub travel_minutes: Option<u32>,
    pub notice_hours: Option<u32>,
    pub horizon_days: Option<u32>,
    pub granularity_minutes: Option<u32>,
}

/// A whole practice, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct PracticeSetup {
    pub details: PracticeDetails,
    pub therapist: TherapistProfile,
    pub locations: Vec<Location>,
    pub appointment_types: Vec<AppointmentType>,
    pub policies: Policies,
    pub privacy: PrivacySettings,
    pub social_links: Vec<SocialLink>,
    pub faq: Vec<FaqEntry>,
    pub booking: crate::booking::BookingSettings,
    pub hours: Vec<OpeningHours>,
    pub away: Vec<AwayDates>,
}

/// Why a practice file was refused.
#[derive(Debug, thiserror::Error)]
pub enum PracticeFileError {
    #[error("practice.toml is not valid TOML: {0}")]
    Toml(String),
    #[error("practice.toml, [{section}] {field}: {message}")]
    Field {
        section: String,
        field: String,
        message: String,
    },
}

fn first_error(section: impl Into<String>, errors: &FieldErrors) -> PracticeFileError {
    let (field, message) = errors.iter().next().map_or(("?", ""), |(f, m)| (f, m));
    PracticeFileError::Field {
        section: section.into(),
        field: field.to_owned(),
        message: message.to_owned(),
    }
}

impl PracticeSetup {
    /// Parse and check a `practice.toml`.
    pub fn from_toml(text: &str) -> Result<Self, PracticeFileError> {
        let raw: RawPracticeFile =
            toml::from_str(text).map_err(|e| PracticeFileError::Toml(e.to_string()))?;
        Self::from_raw(&raw)
    }

    /// Check a practice file already read (or built by code, as the demo's are).
    pub fn from_raw(raw: &RawPracticeFile) -> Result<Self, PracticeFileError> {
        let details =
            PracticeDetails::parse(&raw.practice).map_err(|e| first_error("practice", &e))?;
        let therapist =
            TherapistProfile::parse(&raw.therapist).map_err(|e| first_error("therapist", &e))?;
        let locations = raw
            .locations
            .iter()
            .enumerate()
            .map(|(i, l)| {
                Location::parse(l).map_err(|e| first_error(format!("locations #{}", i + 1), &e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let appointment_types = raw
            .appointment_types
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let typed = RawAppointmentType {
                    slug: t.slug.clone(),
                    name: t.name.clone(),
                    minutes: t.minutes.to_string(),
                    fee: String::new(),
                    fee_pence: Some(t.fee_pence),
                    description: t.description.clone(),
                    booking: {
                        let d = BookingRules::default().to_raw();
                        let or =
                            |v: Option<u32>, default: String| v.map_or(default, |v| v.to_string());
                        RawBookingRules {
                            bookable_online: t.bookable_online,
                            locations: t.locations.clone(),
                            buffer_before: or(t.buffer_before, d.buffer_before),
                            buffer_after: or(t.buffer_after, d.buffer_after),
                            travel_minutes: or(t.travel_minutes, d.travel_minutes),
                            notice_hours: or(t.notice_hours, d.notice_hours),
                            horizon_days: or(t.horizon_days, d.horizon_days),
                            granularity_minutes: or(t.granularity_minutes, d.granularity_minutes),
                        }
                    },
                };
                AppointmentType::parse(&typed)
                    .map_err(|e| first_error(format!("appointment_types #{}", i + 1), &e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let policies = Policies::parse(&raw.policies).map_err(|e| first_error("policies", &e))?;
        let privacy =
            PrivacySettings::parse(&raw.privacy).map_err(|e| first_error("privacy", &e))?;
        let social_links = raw
            .social_links
            .iter()
            .map(|l| {
                SocialLink::parse(&l.label, &l.url).map_err(|e| first_error("social_links", &e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let faq = raw
            .faq
            .iter()
            .enumerate()
            .map(|(i, f)| {
                FaqEntry::parse(&f.question, &f.answer)
                    .map_err(|e| first_error(format!("faq #{}", i + 1), &e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let defaults = crate::booking::BookingSettings::default();
        let mode = match raw.booking.mode.as_deref() {
            None => defaults.mode,
            Some(m) => {
                crate::booking::BookingMode::parse(m).ok_or_else(|| PracticeFileError::Field {
                    section: "booking".into(),
                    field: "mode".into(),
                    message: "use \"instant\" or \"request\"".into(),
                })?
            }
        };
        let booking = crate::booking::BookingSettings {
            mode,
            request_hold_hours: raw
                .booking
                .request_hold_hours
                .unwrap_or(defaults.request_hold_hours)
                .clamp(1, 336),
            note_enabled: raw.booking.note_enabled.unwrap_or(defaults.note_enabled),
            reminder_hours: raw
                .booking
                .reminder_hours
                .unwrap_or(defaults.reminder_hours)
                .min(168),
        };
        let known = |slug: &str| locations.iter().any(|l| l.slug.as_str() == slug);
        for (i, t) in appointment_types.iter().enumerate() {
            if let Some(missing) = t.booking.locations.iter().find(|l| !known(l.as_str())) {
                return Err(PracticeFileError::Field {
                    section: format!("appointment_types #{}", i + 1),
                    field: "locations".into(),
                    message: format!("there is no location “{missing}”"),
                });
            }
        }
        let hours = raw
            .hours
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let section = format!("hours #{}", i + 1);
                let location = Slug::parse(&h.location)
                    .ok()
                    .filter(|s| known(s.as_str()))
                    .ok_or_else(|| PracticeFileError::Field {
                        section: section.clone(),
                        field: "location".into(),
                        message: format!("there is no location “{}”", h.location),
                    })?;
                OpeningHours::parse(location, &h.day, &h.start, &h.end)
                    .map_err(|e| first_error(section, &e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let away = raw
            .away
            .iter()
            .enumerate()
            .map(|(i, a)| {
                AwayDates::parse(&a.label, &a.first_day, &a.last_day)
                    .map_err(|e| first_error(format!("away #{}", i + 1), &e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            details,
            therapist,
            locations,
            appointment_types,
            policies,
            privacy,
            social_links,
            faq,
            booking,
            hours,
            away,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_need_an_address_unless_online() {
        let raw = RawLocation {
            slug: "balham".into(),
            name: "Balham".into(),
            ..Default::default()
        };
        let errors = Location::parse(&raw).unwrap_err();
        assert!(errors.get("address_lines").is_some());
        assert!(errors.get("postcode").is_some());
        let online = RawLocation {
            slug: "online".into(),
            name: "Online".into(),
            online: true,
            ..Default::default()
        };
        assert!(Location::parse(&online).is_ok());
    }

    #[test]
    fn map_link_is_plain_openstreetmap() {
        let raw = RawLocation {
            slug: "balham".into(),
            name: "Balham".into(),
            address_lines: vec!["1 High Road".into()],
            postcode: "sw12 9aa".into(),
            latitude: Some(51.4431),
            longitude: Some(-0.1527),
            ..Default::default()
        };
        let location = Location::parse(&raw).unwrap();
        assert_eq!(location.postcode.as_ref().unwrap().as_str(), "SW12 9AA");
        assert_eq!(
            location.map_url().unwrap(),
            "https://www.openstreetmap.org/?mlat=51.44310&mlon=-0.15270#map=17/51.44310/-0.15270"
        );
    }

    #[test]
    fn time_zone_is_checked() {
        let raw = RawPracticeDetails {
            name: "P".into(),
            time_zone: "Europe/Londres".into(),
            notify_email: "p@example.com".into(),
            intro: "Hi".into(),
            ..Default::default()
        };
        assert!(
            PracticeDetails::parse(&raw)
                .unwrap_err()
                .get("time_zone")
                .is_some()
        );
        let raw = RawPracticeDetails {
            time_zone: "Europe/London".into(),
            ..raw
        };
        assert!(PracticeDetails::parse(&raw).is_ok());
    }

    #[test]
    fn social_links_must_be_https() {
        assert!(SocialLink::parse("Profile", "https://www.example.com/me").is_ok());
        for bad in [
            "http://example.com",
            "javascript:alert(1)",
            "https://",
            "https://exa mple.com",
        ] {
            assert!(SocialLink::parse("Profile", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn practice_file_errors_name_the_place() {
        let err = PracticeSetup::from_toml("[practice]\nname='x'\n").unwrap_err();
        assert!(err.to_string().contains("therapist"), "{err}");
        let err = PracticeSetup::from_toml("[practice]\nnmae='x'\n[therapist]\n").unwrap_err();
        assert!(err.to_string().contains("nmae"), "{err}");
    }
}

#[cfg(test)]
mod booking_file_tests {
    use super::*;

    #[test]
    fn hours_and_away_are_checked() {
        let slug = Slug::parse("balham").unwrap();
        let h = OpeningHours::parse(slug.clone(), "Monday", "9:00", "13:30").unwrap();
        assert_eq!((h.start.hour(), h.end.minute()), (9, 30));
        assert!(
            OpeningHours::parse(slug.clone(), "Funday", "09:00", "10:00")
                .unwrap_err()
                .get("day")
                .is_some()
        );
        assert!(
            OpeningHours::parse(slug.clone(), "tue", "10:00", "09:00")
                .unwrap_err()
                .get("end")
                .is_some()
        );
        assert!(OpeningHours::parse(slug, "tue", "25:00", "26:00").is_err());
        assert!(AwayDates::parse("Easter", "2027-04-05", "2027-04-11").is_ok());
        assert!(
            AwayDates::parse("Easter", "2027-04-11", "2027-04-05")
                .unwrap_err()
                .get("last_day")
                .is_some()
        );
    }
}

impl AwayDates {
    /// The break as instants: from the start of the first day to the start of the day after
    /// the last, in the practice's time zone.
    pub fn instants(
        &self,
        zone: &jiff::tz::TimeZone,
    ) -> Option<(jiff::Timestamp, jiff::Timestamp)> {
        let start = self
            .first_day
            .to_zoned_datetime(zone.clone())
            .ok()?
            .timestamp();
        let end = self
            .last_day
            .tomorrow()
            .ok()?
            .to_zoned_datetime(zone.clone())
            .ok()?
            .timestamp();
        Some((start, end))
    }
}
