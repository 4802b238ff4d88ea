//! The pure middle of Anteroom: parsed value types and the rules of the practice.
//!
//! Nothing here does I/O, reads the clock or knows about HTTP or SQL. Every value that
//! comes from outside (a form, a file, a database row written by an older version) is
//! parsed into one of these types at the edge; code deeper in only ever sees parsed values.
#![forbid(unsafe_code)]

pub mod article;
pub mod availability;
pub mod booking;
pub mod directory;
pub mod enquiry;
pub mod fields;
pub mod guide;
pub mod hosting;
pub mod look;
pub mod markdown;
pub mod measures;
pub mod money;
pub mod practice;
pub mod rights;
pub mod staff;
pub mod text;
pub mod therapy;

pub use article::{ArticleDraft, ArticleSource, FrontMatterError, Tag};
pub use enquiry::{ContactPreference, NewEnquiry};
pub use fields::FieldErrors;
pub use money::Pence;
pub use text::{EmailAddress, PersonName, PhoneNumber, Postcode, Slug, TextError};
