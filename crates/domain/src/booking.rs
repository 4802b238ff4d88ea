//! Booking a consultation: the practice's booking settings and the visitor's details.

use crate::{
    ContactPreference, EmailAddress, FieldErrors, PersonName, PhoneNumber, TextError,
    text::parse_text,
};

/// Whether a consultation is confirmed at once or held until the therapist accepts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BookingMode {
    /// Confirmed the moment the visitor books.
    Instant,
    /// Held as a request for a number of hours until the therapist accepts or declines.
    Request,
}

impl BookingMode {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Instant => "instant",
            Self::Request => "request",
        }
    }
    /// Parse the stored form.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "instant" => Some(Self::Instant),
            "request" => Some(Self::Request),
            _ => None,
        }
    }
}

/// How online booking behaves for a practice.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BookingSettings {
    /// Instant confirmation or request-and-approve.
    pub mode: BookingMode,
    /// How long a request holds its slot before it is released.
    pub request_hold_hours: u32,
    /// Whether the booking form offers an optional note.
    pub note_enabled: bool,
    /// Hours before a consultation that the reminder is sent (0: no reminder).
    pub reminder_hours: u32,
}

impl Default for BookingSettings {
    fn default() -> Self {
        Self {
            mode: BookingMode::Instant,
            request_hold_hours: 48,
            note_enabled: true,
            reminder_hours: 24,
        }
    }
}

/// Where a booking is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BookingStatus {
    /// Waiting for the therapist to accept; holds its slot until it expires.
    Requested,
    /// Booked.
    Confirmed,
    /// Cancelled by the visitor or the therapist.
    Cancelled,
    /// The therapist could not offer it.
    Declined,
    /// A request nobody answered in time; its slot was released.
    Expired,
}

impl BookingStatus {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Confirmed => "confirmed",
            Self::Cancelled => "cancelled",
            Self::Declined => "declined",
            Self::Expired => "expired",
        }
    }
    /// Parse the stored form.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "requested" => Some(Self::Requested),
            "confirmed" => Some(Self::Confirmed),
            "cancelled" => Some(Self::Cancelled),
            "declined" => Some(Self::Declined),
            "expired" => Some(Self::Expired),
            _ => None,
        }
    }
    /// Held and confirmed bookings occupy the therapist's time.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Requested | Self::Confirmed)
    }
}

/// The raw "your details" fields of the booking form.
#[derive(Debug, Clone, Default)]
pub struct DetailsForm<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub phone: &'a str,
    pub contact_preference: &'a str,
    pub note: &'a str,
    pub consent: bool,
}

/// Who is booking and how to reach them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VisitorDetails {
    pub name: PersonName,
    pub email: EmailAddress,
    pub phone: Option<PhoneNumber>,
    #[serde(serialize_with = "preference")]
    pub contact_preference: ContactPreference,
    pub note: Option<String>,
}

fn preference<S: serde::Serializer>(value: &ContactPreference, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(value.as_str())
}

/// Longest note accepted with a booking.
pub const MAX_NOTE_CHARS: usize = 1000;

impl VisitorDetails {
    /// Parse the details; a note is ignored when the practice has turned notes off.
    pub fn parse(form: &DetailsForm<'_>, note_enabled: bool) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let contact = crate::enquiry::Contact::parse(
            form.name,
            form.email,
            form.phone,
            form.contact_preference,
            &mut errors,
        );
        let note = if !note_enabled || form.note.trim().is_empty() {
            Some(None)
        } else {
            errors.check(
                "note",
                parse_text(form.note, "your note", MAX_NOTE_CHARS, true).map(Some),
            )
        };
        if !form.consent {
            errors.add(
                "consent",
                "Tick the box to agree that your details can be kept for this booking",
            );
        }
        match (contact, note) {
            (Some(c), Some(note)) if errors.is_empty() => Ok(Self {
                name: c.name,
                email: c.email,
                phone: c.phone,
                contact_preference: c.contact_preference,
                note,
            }),
            _ => Err(errors),
        }
    }
}

/// Check a whole number of minutes or hours typed in a settings form.
pub fn parse_whole(
    raw: &str,
    what: &str,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32, TextError> {
    match raw.trim().parse::<u32>() {
        Ok(value) if range.contains(&value) => Ok(value),
        _ => Err(TextError(format!(
            "Enter {what} as a whole number from {} to {}",
            range.start(),
            range.end()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> DetailsForm<'static> {
        DetailsForm {
            name: "Sam Jones",
            email: "sam@example.com",
            phone: "",
            contact_preference: "email",
            note: "Evenings suit me.",
            consent: true,
        }
    }

    #[test]
    fn parses_details_and_respects_the_note_setting() {
        let details = VisitorDetails::parse(&form(), true).unwrap();
        assert_eq!(details.note.as_deref(), Some("Evenings suit me."));
        let details = VisitorDetails::parse(&form(), false).unwrap();
        assert_eq!(details.note, None, "notes switched off are not stored");
    }

    #[test]
    fn reports_every_bad_field() {
        let errors = VisitorDetails::parse(&DetailsForm::default(), true).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["name", "email", "contact_preference", "consent"]);
        let long = "x".repeat(MAX_NOTE_CHARS + 1);
        let errors = VisitorDetails::parse(
            &DetailsForm {
                note: &long,
                ..form()
            },
            true,
        )
        .unwrap_err();
        assert!(errors.get("note").is_some());
    }

    #[test]
    fn statuses_round_trip() {
        for status in [
            BookingStatus::Requested,
            BookingStatus::Confirmed,
            BookingStatus::Cancelled,
            BookingStatus::Declined,
            BookingStatus::Expired,
        ] {
            assert_eq!(BookingStatus::parse(status.as_str()), Some(status));
        }
        assert!(BookingStatus::Requested.is_active() && !BookingStatus::Expired.is_active());
        assert_eq!(parse_whole("48", "hours", 1..=336).unwrap(), 48);
        assert!(parse_whole("0", "hours", 1..=336).is_err());
    }
}
