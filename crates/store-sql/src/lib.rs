//! SQL that both backends share, as macros that expand inside each backend with its own
//! store type, sqlx database and placeholder style.
//!
//! The SQLite and PostgreSQL backends keep the same tables and columns (see each backend's
//! migrations), so much of their SQL is the same text. A macro here holds it once: the
//! backend passes its store type, its `sqlx` database type, a function `sql` that turns a
//! statement written with `?` placeholders into what its driver takes (SQLite: the text as
//! it is; PostgreSQL: numbered `$1`, `$2`, …), and what the two engines write differently
//! (a row lock SQLite has no words for). The expansion uses the backend's own `map_err`,
//! `convert::secs`, `write()` (a write transaction) and `read()` (the pool for reads),
//! which both backends name alike.
//!
//! One module per macro: `keys` (the practices' own keys), `operator` (suspend, resume, the
//! overview, closing), `moving` (export and import), `jobs` (the timed jobs' claims),
//! `operator_accounts` (the operator console's accounts, its rate counters and staff
//! password links), `directory` (the directory's listings and the operator's reviews of them), `measures`
//! (questionnaires, plans and flags), `health` (what the operations endpoints ask), `images` (the practice's photos). Each macro is exported at the crate's root (`store_sql::practice_keys!`,
//! …).
// `crate::` inside the macros names the backend they expand in (its `map_err` and
// `convert`), on purpose: see `clippy::crate_in_macro_def` on each.

mod directory;
mod health;
mod images;
mod jobs;
mod keys;
mod measures;
mod moving;
mod operator;
mod operator_accounts;
