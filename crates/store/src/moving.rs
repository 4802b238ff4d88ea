//! Moving a practice between databases (and engines): every row of it, as plain cells.
//!
//! [`MoveStore::dump_practice`] reads every row of one practice from the engine's own
//! catalogue (so a table added later comes along without a change here), with the references
//! between them: the foreign keys the catalogue declares, and the few references it cannot
//! know ([`undeclared`]: the audit log's, which point at rows that may be gone).
//! [`Dump::renumber`] gives every row a number of the dump's own (1, 2, … per table), so that
//! two dumps of the same practice from different databases are alike.
//! [`MoveStore::load_practice`] writes a dump into another database in ONE transaction,
//! giving every row a new id there and carrying every reference across.
//!
//! Three kinds of value are sealed with a binding that names their row's id and practice, so
//! they cannot be moved as they are: a client's wrapped data key, a note's body and a staff
//! member's authenticator secret. A [`Rebind`] (above the store, where the keys are) opens
//! each under its old ids and seals it again under the new ones as the row is written. The
//! audit log's hashes name ids too: the loader chains the practice's entries again, in their
//! order, and the caller checks the chain of the dump before it is loaded.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use domain::hosting::PracticeName;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{PracticeId, StoreError, StoreResult};

/// One stored value, as the engines share them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Cell {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Bytes(#[serde(with = "hex")] Vec<u8>),
}

/// Bytes in a dump: lowercase hex in an object of their own (`{"hex": "…"}`), never taken
/// for text.
mod hex {
    use serde::{Deserialize, Deserializer, Serializer, de::Error, ser::SerializeMap};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        let text: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("hex", &text)?;
        map.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Hex {
            hex: String,
        }
        let Hex { hex } = Hex::deserialize(deserializer)?;
        if !hex.len().is_multiple_of(2) {
            return Err(D::Error::custom("odd number of hex digits"));
        }
        (0..hex.len())
            .step_by(2)
            .map(|i| {
                hex.get(i..i + 2)
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                    .ok_or_else(|| D::Error::custom("not hex"))
            })
            .collect()
    }
}

impl Cell {
    /// The integer, if it is one.
    pub fn integer(&self) -> Option<i64> {
        match self {
            Self::Integer(n) => Some(*n),
            _ => None,
        }
    }

    /// The text, if it is some.
    pub fn text(&self) -> Option<&str> {
        match self {
            Self::Text(text) => Some(text),
            _ => None,
        }
    }
}

/// The rows of one table that belong to the practice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableDump {
    pub name: String,
    pub columns: Vec<String>,
    /// Ordered by `id` where the table has one.
    pub rows: Vec<Vec<Cell>>,
}

impl TableDump {
    /// The position of `column`.
    pub fn column(&self, column: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == column)
    }
}

/// A column that holds another row's id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Reference {
    pub table: String,
    pub column: String,
    /// The table whose `id` it holds; for a reference that depends on another column of the
    /// row (the audit log's actor and object), the target for each value of that column.
    pub target: Target,
}

/// What a reference points at.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Target {
    Table(String),
    /// `(column, [(value, table)])`: the table named by the row's `column`; a value not
    /// listed points at nothing that moves (the id is kept as it is).
    ByColumn(String, Vec<(String, String)>),
}

/// References the catalogue cannot know, because their rows may be gone (an erased client,
/// a deleted session): the audit log's, and the records kept about erased clients.
pub fn undeclared() -> Vec<Reference> {
    let table = |table: &str, column: &str, target: &str| Reference {
        table: table.into(),
        column: column.into(),
        target: Target::Table(target.into()),
    };
    let by = |table: &str, column: &str, by: &str, pairs: &[(&str, &str)]| Reference {
        table: table.into(),
        column: column.into(),
        target: Target::ByColumn(
            by.into(),
            pairs
                .iter()
                .map(|(v, t)| ((*v).to_owned(), (*t).to_owned()))
                .collect(),
        ),
    };
    vec![
        table("audit_log", "client_id", "clients"),
        by(
            "audit_log",
            "actor_id",
            "actor_kind",
            &[("staff", "users"), ("client", "clients")],
        ),
        by(
            "audit_log",
            "object_id",
            "object_kind",
            &[
                ("client", "clients"),
                ("session", "sessions"),
                ("invoice", "invoices"),
                ("booking", "bookings"),
                ("enquiry", "enquiries"),
                ("questionnaire", "questionnaires"),
            ],
        ),
        table("subject_access_requests", "client_id", "clients"),
        table("erased_clients", "client_id", "clients"),
    ]
}

/// Tables that stay behind: this deployment's hosts and keys, and what lives only minutes
/// or belongs to a browser (sessions, sign-in, confirmation and password links, rate
/// counters). The practice's therapist and clients sign in again at its new address. (The
/// operator console's tables belong to no practice, so no practice's move reads them.)
pub const LEFT_BEHIND: &[&str] = &[
    "practice_hosts",
    "practice_keys",
    "host_key",
    "staff_sessions",
    "portal_sessions",
    "portal_links",
    "password_links",
    "email_changes",
    "rate_counters",
    "job_runs",
    "directory_reviews",
    "anteroom_schema",
    "_sqlx_migrations",
];

/// A whole practice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dump {
    /// The id its rows' `practice_id` holds.
    pub practice: i64,
    /// `practices` first (one row), then the others, parents before children.
    pub tables: Vec<TableDump>,
    pub references: Vec<Reference>,
}

impl Dump {
    /// The table called `name`.
    pub fn table(&self, name: &str) -> Option<&TableDump> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// Every id each table's rows have or are referred to by: `table → ids`, the ids of rows
    /// that are gone (an erased client's) included.
    fn ids(&self) -> BTreeMap<String, BTreeSet<i64>> {
        let mut ids: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
        for table in &self.tables {
            if let Some(at) = table.column("id") {
                let set = ids.entry(table.name.clone()).or_default();
                set.extend(table.rows.iter().filter_map(|row| row[at].integer()));
            }
        }
        self.each_reference(|_, target, id| {
            ids.entry(target.to_owned()).or_default().insert(id);
        });
        ids
    }

    /// Call `found(table, target, id)` for every reference held in a row.
    fn each_reference(&self, mut found: impl FnMut(&str, &str, i64)) {
        for reference in &self.references {
            let Some(table) = self.table(&reference.table) else {
                continue;
            };
            let Some(at) = table.column(&reference.column) else {
                continue;
            };
            for row in &table.rows {
                if let (Some(id), Some(target)) =
                    (row[at].integer(), target_of(table, row, reference))
                {
                    found(&table.name, target, id);
                }
            }
        }
    }

    /// The same practice with every id replaced by `new(table, old)`: the rows' own ids, the
    /// references and `practice_id`. Sealed values are not touched (see [`Rebind`]).
    pub fn map_ids(&self, practice: i64, mut new: impl FnMut(&str, i64) -> i64) -> Self {
        let mut out = self.clone();
        out.practice = practice;
        for table in &mut out.tables {
            let id_at = table.column("id");
            let practice_at = table.column("practice_id");
            let refs: Vec<(usize, &Reference)> = self
                .references
                .iter()
                .filter(|r| r.table == table.name)
                .filter_map(|r| Some((table.column(&r.column)?, r)))
                .collect();
            let name = table.name.clone();
            let snapshot = table.clone();
            for (row, before) in table.rows.iter_mut().zip(&snapshot.rows) {
                if name == "practices" {
                    if let Some(at) = id_at {
                        row[at] = Cell::Integer(practice);
                    }
                } else if let Some(at) = id_at
                    && let Some(old) = before[at].integer()
                {
                    row[at] = Cell::Integer(new(&name, old));
                }
                if let Some(at) = practice_at {
                    row[at] = Cell::Integer(practice);
                }
                for (at, reference) in &refs {
                    if let (Some(old), Some(target)) = (
                        before[*at].integer(),
                        target_of(&snapshot, before, reference),
                    ) {
                        row[*at] = Cell::Integer(new(target, old));
                    }
                }
            }
        }
        out
    }

    /// The same practice numbered by the dump itself: practice 1, and each table's ids
    /// (those of its rows and those referred to) 1, 2, … in their order. Two dumps of the
    /// same practice from different databases are then alike but for their sealed values.
    pub fn renumber(&self) -> (Self, BTreeMap<(String, i64), i64>) {
        let mut numbers = BTreeMap::new();
        for (table, ids) in self.ids() {
            for (n, id) in ids.into_iter().enumerate() {
                numbers.insert(
                    (table.clone(), id),
                    i64::try_from(n).unwrap_or(i64::MAX) + 1,
                );
            }
        }
        let mut renumbered = self.map_ids(1, |table, id| {
            numbers.get(&(table.to_owned(), id)).copied().unwrap_or(id)
        });
        // Rows in a dump's own order: by id, or, without one, by what they hold.
        for table in &mut renumbered.tables {
            match table.column("id") {
                Some(at) => table.rows.sort_by_key(|row| row[at].integer()),
                None => table.rows.sort_by_cached_key(|row| format!("{row:?}")),
            }
        }
        (renumbered, numbers)
    }

    /// How many ids each table needs in a database the dump is loaded into.
    pub fn id_counts(&self) -> BTreeMap<String, usize> {
        self.ids()
            .into_iter()
            .map(|(t, ids)| (t, ids.len()))
            .collect()
    }
}

impl Dump {
    /// Chain the audit log again under the ids it now has (each entry's hash names its id
    /// and practice), in the order of those ids.
    pub fn rechain(&mut self) -> StoreResult<()> {
        use crate::audit::{GENESIS, Hashed, entry_hash};
        let practice = PracticeId::new(self.practice);
        let Some(table) = self.tables.iter_mut().find(|t| t.name == "audit_log") else {
            return Ok(());
        };
        let at = |name: &str| {
            table
                .column(name)
                .ok_or_else(|| unfit(format!("the audit log has no column {name}")))
        };
        let [
            id,
            when,
            actor_kind,
            actor_id,
            action,
            client,
            object_kind,
            object_id,
            source,
            prev_hash,
            hash,
        ] = [
            "id",
            "at",
            "actor_kind",
            "actor_id",
            "action",
            "client_id",
            "object_kind",
            "object_id",
            "source",
            "prev_hash",
            "hash",
        ]
        .map(at);
        let (id, when, actor_kind, actor_id, action, client) =
            (id?, when?, actor_kind?, actor_id?, action?, client?);
        let (object_kind, object_id, source, prev_hash, hash) =
            (object_kind?, object_id?, source?, prev_hash?, hash?);
        table.rows.sort_by_key(|row| row[id].integer());
        let bad = || unfit("an audit entry of the export is damaged");
        let mut prev = GENESIS.to_vec();
        for row in &mut table.rows {
            let kind = row[actor_kind].text().ok_or_else(bad)?;
            let entry = Hashed {
                id: row[id].integer().ok_or_else(bad)?,
                practice,
                at: Timestamp::from_second(row[when].integer().ok_or_else(bad)?)
                    .map_err(|_| bad())?,
                actor: crate::Actor::from_parts(kind, row[actor_id].integer()).ok_or_else(bad)?,
                action: row[action].text().ok_or_else(bad)?,
                client: row[client].integer().map(crate::ClientId::new),
                object_kind: row[object_kind].text(),
                object_id: row[object_id].integer(),
                source: row[source].text(),
            };
            let next = entry_hash(&prev, &entry).to_vec();
            row[prev_hash] = Cell::Bytes(prev);
            row[hash] = Cell::Bytes(next.clone());
            prev = next;
        }
        Ok(())
    }

    /// True when the audit log's hashes are those its entries give, in order: the chain as
    /// it was written (checked before a dump is loaded).
    pub fn chain_holds(&self) -> StoreResult<bool> {
        let mut again = self.clone();
        again.rechain()?;
        Ok(again.table("audit_log") == self.table("audit_log"))
    }

    /// `moved` (this practice with new ids, see [`Dump::map_ids`]) with every sealed value
    /// sealed again under its new ids by `rebind`.
    pub fn rebound(&self, moved: &Dump, rebind: &dyn Rebind) -> Result<Dump, String> {
        let mut out = moved.clone();
        let ids = Moved {
            old: self.practice,
            new: moved.practice,
        };
        // (table, the row's id column, its client column, the sealed column)
        for (name, id_column, client_column, sealed) in [
            ("client_keys", "client_id", "client_id", "wrapped"),
            ("notes", "id", "client_id", "body"),
            ("users", "id", "id", "totp_secret"),
        ] {
            let (Some(before), Some(after)) = (
                self.table(name),
                out.tables.iter_mut().find(|t| t.name == name),
            ) else {
                continue;
            };
            let columns = [id_column, client_column, sealed].map(|c| before.column(c));
            let [Some(id_at), Some(client_at), Some(sealed_at)] = columns else {
                return Err(format!("{name} has not the columns it should"));
            };
            for (old_row, new_row) in before.rows.iter().zip(after.rows.iter_mut()) {
                let Cell::Bytes(value) = &old_row[sealed_at] else {
                    continue;
                };
                let moved = |at: usize| -> Result<Moved, String> {
                    match (old_row[at].integer(), new_row[at].integer()) {
                        (Some(old), Some(new)) => Ok(Moved { old, new }),
                        _ => Err(format!("a row of {name} has no id")),
                    }
                };
                let sealed = match name {
                    "client_keys" => rebind.client_key(ids, moved(id_at)?, value)?,
                    "notes" => rebind.note(ids, moved(client_at)?, moved(id_at)?, value)?,
                    _ => rebind.secret(ids, moved(id_at)?, value)?,
                };
                new_row[sealed_at] = Cell::Bytes(sealed);
            }
        }
        Ok(out)
    }
}

/// The table a reference in `row` points at, if it points at one that moves.
fn target_of<'a>(table: &TableDump, row: &[Cell], reference: &'a Reference) -> Option<&'a str> {
    match &reference.target {
        Target::Table(target) => Some(target),
        Target::ByColumn(column, pairs) => {
            let value = row[table.column(column)?].text()?;
            pairs
                .iter()
                .find(|(v, _)| v == value)
                .map(|(_, t)| t.as_str())
        }
    }
}

/// The sealed values a move must seal again under their new ids (see the module doc). Each
/// gets the old ids (the dump's) and the new ones (the target's); an `Err` stops the load
/// and nothing is written.
pub trait Rebind: Send + Sync {
    /// The practice's own key, wrapped for the target (its binding names the new practice).
    fn practice_key(&self, practice: PracticeId) -> Result<Vec<u8>, String>;
    /// A client's wrapped data key.
    fn client_key(&self, ids: Moved, client: Moved, wrapped: &[u8]) -> Result<Vec<u8>, String>;
    /// A note's body; `client` is the note's client.
    fn note(&self, ids: Moved, client: Moved, note: Moved, body: &[u8]) -> Result<Vec<u8>, String>;
    /// A staff member's authenticator secret.
    fn secret(&self, ids: Moved, user: Moved, sealed: &[u8]) -> Result<Vec<u8>, String>;
}

/// An id before and after the move (for `ids`: the practice's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moved {
    pub old: i64,
    pub new: i64,
}

/// Moving practices.
#[async_trait]
pub trait MoveStore: Send + Sync {
    /// Every row of the practice, with the references between them.
    async fn dump_practice(&self, practice: PracticeId) -> StoreResult<Dump>;
    /// Write `dump` as a new practice in ONE transaction: every row under a new id, its
    /// own key wrapped for this database (`rebind`), its sealed values sealed again, its
    /// audit log chained again, and, with `name`, that name as its host. A column this
    /// database does not have, an email address already an account here
    /// (`Conflict(UserEmail)`) or a name already taken (`Conflict(HostTaken)`) leaves
    /// nothing behind.
    async fn load_practice(
        &self,
        dump: &Dump,
        rebind: &dyn Rebind,
        name: Option<&PracticeName>,
        host_key_id: &[u8],
        now: Timestamp,
    ) -> StoreResult<PracticeId>;
}

/// A dump that does not fit this database.
pub fn unfit(why: impl Into<String>) -> StoreError {
    StoreError::Other(why.into().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dump() -> Dump {
        Dump {
            practice: 7,
            tables: vec![
                TableDump {
                    name: "practices".into(),
                    columns: vec!["id".into(), "name".into()],
                    rows: vec![vec![Cell::Integer(7), Cell::Text("P".into())]],
                },
                TableDump {
                    name: "clients".into(),
                    columns: vec!["id".into(), "practice_id".into()],
                    rows: vec![
                        vec![Cell::Integer(40), Cell::Integer(7)],
                        vec![Cell::Integer(12), Cell::Integer(7)],
                    ],
                },
                TableDump {
                    name: "audit_log".into(),
                    columns: vec![
                        "id".into(),
                        "practice_id".into(),
                        "client_id".into(),
                        "actor_kind".into(),
                        "actor_id".into(),
                    ],
                    rows: vec![
                        // An erased client (99) and a client actor.
                        vec![
                            Cell::Integer(500),
                            Cell::Integer(7),
                            Cell::Integer(99),
                            Cell::Text("client".into()),
                            Cell::Integer(40),
                        ],
                        vec![
                            Cell::Integer(501),
                            Cell::Integer(7),
                            Cell::Null,
                            Cell::Text("system".into()),
                            Cell::Null,
                        ],
                    ],
                },
            ],
            references: undeclared(),
        }
    }

    #[test]
    fn renumbering_numbers_every_id_and_reference_of_a_table_together() {
        let (renumbered, _) = dump().renumber();
        assert_eq!(renumbered.practice, 1);
        let clients = renumbered.table("clients").unwrap();
        // 12, 40 and the erased 99 are clients 1, 2 and 3; rows in the order of their ids.
        assert_eq!(
            clients.rows,
            vec![
                vec![Cell::Integer(1), Cell::Integer(1)],
                vec![Cell::Integer(2), Cell::Integer(1)],
            ]
        );
        let audit = renumbered.table("audit_log").unwrap();
        assert_eq!(audit.rows[0][0], Cell::Integer(1));
        assert_eq!(audit.rows[0][2], Cell::Integer(3), "the erased client");
        assert_eq!(audit.rows[0][4], Cell::Integer(2), "the actor is client 40");
        assert_eq!(audit.rows[1][4], Cell::Null);
        assert_eq!(renumbered.id_counts()["clients"], 3);
        // Renumbering again changes nothing.
        assert_eq!(renumbered.renumber().0, renumbered);
    }

    #[test]
    fn cells_keep_their_kind_through_json() {
        let cells = vec![
            Cell::Null,
            Cell::Integer(-3),
            Cell::Real(51.5),
            Cell::Text("{\"hex\": \"00\"}".into()),
            Cell::Bytes(vec![0, 255, 16]),
        ];
        let text = serde_json::to_string(&cells).unwrap();
        assert_eq!(
            text,
            r#"[null,-3,51.5,"{\"hex\": \"00\"}",{"hex":"00ff10"}]"#
        );
        let back: Vec<Cell> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, cells);
    }
}
