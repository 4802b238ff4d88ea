//! Converting between stored columns and domain values.

use domain::{EmailAddress, PersonName, PhoneNumber, Postcode, Slug};
use jiff::{Timestamp, civil::Date};
use store::StoreError;

/// A stored value that no longer parses: the file was edited by hand or is damaged.
pub(crate) fn corrupt(what: &str) -> StoreError {
    StoreError::Other(format!("stored {what} is not valid").into())
}

pub(crate) fn secs(at: Timestamp) -> i64 {
    at.as_second()
}

pub(crate) fn timestamp(secs: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_second(secs).map_err(|_| corrupt("time"))
}

pub(crate) fn opt_timestamp(secs: Option<i64>) -> Result<Option<Timestamp>, StoreError> {
    secs.map(timestamp).transpose()
}

pub(crate) fn date(text: &str) -> Result<Date, StoreError> {
    text.parse().map_err(|_| corrupt("date"))
}

pub(crate) fn slug(text: &str) -> Result<Slug, StoreError> {
    Slug::parse(text).map_err(|_| corrupt("slug"))
}

pub(crate) fn email(text: &str) -> Result<EmailAddress, StoreError> {
    EmailAddress::parse(text).map_err(|_| corrupt("email address"))
}

pub(crate) fn name(text: &str) -> Result<PersonName, StoreError> {
    PersonName::parse(text).map_err(|_| corrupt("name"))
}

pub(crate) fn phone(text: Option<String>) -> Result<Option<PhoneNumber>, StoreError> {
    text.map(|t| PhoneNumber::parse(&t).map_err(|_| corrupt("phone number")))
        .transpose()
}

pub(crate) fn postcode(text: Option<String>) -> Result<Option<Postcode>, StoreError> {
    text.map(|t| Postcode::parse(&t).map_err(|_| corrupt("postcode")))
        .transpose()
}

pub(crate) fn lines(text: &str) -> Vec<String> {
    domain::practice::split_lines(text)
}

pub(crate) fn u32_col(value: i64) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| corrupt("number"))
}
