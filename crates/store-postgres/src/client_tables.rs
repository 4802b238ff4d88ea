//! Which of this backend's tables hold a client's rows: the description that the export
//! and erasure (`rights.rs`) are driven by. Each table says the kind of record it holds,
//! which of its rows are the client's, how erasure treats them, and every column with what
//! it holds (secrets too, so they are never read). Nothing here is discovered from the
//! schema at run time; the tests check this list against the schema instead, so a new table
//! with a `client_id` or a new column in a listed table fails them until it is described.

use store::rights::{
    Column,
    Kind::{self, Bool, Date, Instant, Integer, Note, Secret, Text},
    Record,
};

/// How erasure treats a table's rows about the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Erase {
    /// Deleted before anything else: the wrapped data key (crypto-shredding).
    Shred,
    /// Kept, with the person's details replaced (`SET` clause; `?5` is now).
    Anonymise(&'static str),
    /// Deleted, later tables in [`CLIENT_TABLES`] first (they may be found through earlier
    /// ones).
    Delete,
    /// Kept: the audit log (ids only, append-only), the requests (dates only), the erasure.
    Keep,
}

/// One table that holds rows about a client.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientTable {
    pub table: &'static str,
    pub record: Record,
    /// Which rows are the client's: a condition over `?1` (client id), `?2` (practice id),
    /// `?3` (their email address) and `?4` (their full name when it has two words or more,
    /// else NULL).
    pub rows: &'static str,
    /// The order an export lists the rows in.
    pub order_by: &'static str,
    pub erase: Erase,
    /// Every column of the table, in the table's order.
    pub columns: &'static [Column],
}

const fn c(name: &'static str, kind: Kind) -> Column {
    Column::new(name, kind)
}

/// The consultation keeps its time, not the person: it still held the therapist's time, so
/// its slot stays in the history (a future one is cancelled). The address is unroutable
/// (RFC 2606).
const ERASED_BOOKING: &str = "name = 'Erased', email = 'erased@erased.invalid', phone = NULL,
    note = NULL, client_id = NULL, idempotency_key = NULL,
    status = CASE WHEN status IN ('requested', 'confirmed') AND starts_at > ?5
        THEN 'cancelled' ELSE status END";

/// No column holds the client's id here. Emails are theirs when sent to their address, or
/// when they are the practice's own notices (to its notification address) naming them as a
/// whole word — never by a substring of someone else's address or name — or when a change
/// of email address they asked for names the email (the link to confirm a new address,
/// which goes to an address not yet on their record). Listed after `email_changes`, so
/// erasure deletes these emails before the changes that find them.
const OUTBOX_ROWS: &str = "practice_id = $2 AND (lower(recipient) = lower($3)
    OR ($4 IS NOT NULL
        AND recipient IN (SELECT notify_email FROM practices WHERE id = $2)
        AND strpos(' ' || replace(replace(replace(replace(subject || ' ' || body_text,
                chr(10), ' '), ',', ' '), '.', ' '), ':', ' ') || ' ',
            ' ' || $4::text || ' ') > 0)
    OR id IN (SELECT outbox_id FROM email_changes
        WHERE client_id = $1 AND practice_id = $2 AND outbox_id IS NOT NULL))";

/// Every table that holds rows about a client. A parent comes before the tables whose rows
/// are found through it (erasure deletes in reverse order).
pub(crate) const CLIENT_TABLES: &[ClientTable] = &[
    ClientTable {
        table: "clients",
        record: Record::Client,
        rows: "id = $1 AND practice_id = $2",
        order_by: "id",
        erase: Erase::Delete,
        columns: &[
            c("id", Integer),
            c("practice_id", Integer),
            c("name", Text),
            c("email", Text),
            c("phone", Text),
            c("contact_preference", Text),
            c("reminders", Bool),
            c("status", Text),
            c("consultation_id", Integer),
            c("created_at", Instant),
            c("updated_at", Instant),
        ],
    },
    ClientTable {
        table: "client_keys",
        record: Record::DataKey,
        rows: "client_id = $1 AND practice_id = $2",
        order_by: "client_id",
        erase: Erase::Shred,
        columns: &[
            c("client_id", Integer),
            c("practice_id", Integer),
            c("wrapped", Secret),
            c("created_at", Instant),
        ],
    },
    ClientTable {
        table: "bookings",
        record: Record::Consultation,
        rows: "practice_id = $2 AND (client_id = $1
            OR id IN (SELECT consultation_id FROM clients WHERE id = $1)
            OR lower(email) = lower($3))",
        order_by: "id",
        erase: Erase::Anonymise(ERASED_BOOKING),
        columns: &[
            c("id", Integer),
            c("practice_id", Integer),
            c("type_id", Integer),
            c("location_id", Integer),
            c("starts_at", Instant),
            c("ends_at", Instant),
            c("status", Text),
            c("name", Text),
            c("email", Text),
            c("phone", Text),
            c("contact_preference", Text),
            c("note", Text),
            c("manage_token_hash", Secret),
            c("uid", Text),
            c("sequence", Integer),
            c("hold_expires_at", Instant),
            c("reminded_at", Instant),
            c("idempotency_key", Text),
            c("created_at", Instant),
            c("updated_at", Instant),
            c("outcome", Text),
            c("outcome_at", Instant),
            c("client_id", Integer),
        ],
    },
    ClientTable {
        table: "contracts",
        record: Record::Contract,
        rows: "client_id = $1 AND practice_id = $2",
        order_by: "id",
        erase: Erase::Delete,
        columns: &[
            c("id", Integer),
            c("practice_id", Integer),
            c("client_id", Integer),
            c("status", Text),
            c("ended_at", Instant),
            c("created_at", Instant),
        ],
    },
    ClientTable {
        table: "contract_versions",
        record: Record::ContractVersion,
        rows: "contract_id IN (SELECT id FROM contracts WHERE client_id = $1 AND practice_id = $2)",
        order_by: "id",
        erase: Erase::Delete,
        columns: &[
            c("id", Integer),
            c("contract_id", Integer),
            c("version", Integer),
            c("kind", Text),
            c("focus", Text),
            c("sessions", Integer),
            c("reviews_at", Text),
            c("review_every_weeks", Integer),
            c("frequency", Text),
            c("times", Text),
            c("location_id", Integer),
            c("minutes", Integer),
            c("fee_pence", Integer),
            c("start_date", Date),
            c("policy_version", Integer),
            c("effective_from", Instant),
            c("note", Text),
            c("created_at", Instant),
        ],
    },
    ClientTable {
        table: "sessions",
        record: Record::Session,
        rows: "client_id = $1 AND practice_id = $2",
        order_by: "id",
        erase: Erase::Delete,
        columns: &[
            c("id", Integer),
            c("practice_id", Integer),
            c("contract_id", Integer),
            c("client_id", Integer),
            c("version_id", Integer),
            c("location_id", Integer),
            c("occurrence_at", Instant),
            c("starts_at", Instant),
            c("ends_at", Instant),
            c("moved", Bool),
            c("status", Text),
            c("number", Integer),
            c("fee_pence", Integer),
            c("told_at", Instant),
            c("recorded_at", Instant),
            c("reminded_at", Instant),
            c("uid", Text),
            c("sequence", Integer),
            c("created_at", Instant),
            c("updated_at", Instant),
        ],
    },
    ClientTable {
        table: "charges",
        record: Record::Charge,
        rows: "client_id = $1 AND practice_id = $2",
        order_by: "id",
        erase: Erase::Delete,
        columns: &[
            c("id", Integer),
            c("practice_id", Integer),
            c("client_id", Integer),
            c("session_id", Integer),
            c("amount_pence", Integer),
            c("rule", Text),
            c("policy_version", Integer),
            c("used_free_allowance", Bool),
            c("waived_reason", Text),
            c("waived_at", Instant),
            c("invoice_id", Integer),
            c("created_at", Instant),
        ],
    },
    ClientTable {
        table: "invoices",
        record: Record::Invoice,
        rows: "client_id = $1 AND practice_id = $2",
        order_by: "id",
        erase: Erase::Delete,
        columns: &[
            c("id", Integer),
            c("practice_id", Integer),
            c("client_id", Integer),
            c("number", Integer),
            c("issued_on", Date),
            c("due_on", Date),
            c("period", Text),
            c("total_pence", Integer),
            c("paid_on", Date),
            c("token_hash", Secret),
            c("created_at", Instant),
        ],
    },
    ClientTable {
        table: "invoice_lines",
        record: Record::InvoiceLine,
        rows: "invoice_id IN (SELECT id FROM invoices WHERE client_id = $1 AND practice_id = $2)",
        order_by: "id",
        erase: Erase::Delete,
        columns: &[
            c("id", Integer),
            c("invoice_id", Integer),
            c("position", Integer),
            c("description", Text),
            c("detail", Text),
            c("amount_pence", Integer),
        ],
    },
    ClientTable {
        table: "notes",
        record: Record::Note,
        rows: "client_id = $1 AND practice_id = $2",
        order_by: "id",
        erase: Erase::Delete,
        columns: &[
            c("id", Integer),
            c("practice_id", Integer),
            c("client_id", Integer),
            c("session_id", Integer),
            c("body", Note),
            c("created_at", Instant),
            c("updated_at", Instant),
        ],
    },
    ClientTable {
        table: "break_notices",
        record: Record::BreakNotice,
        rows: "client_id = $1",
        order_by: "away_id",
        erase: Erase::Delete,
        columns: &[
            c("away_id", Integer),
            c("client_id", Integer),
            c("send_at", Instant),
            c("sent_at", Instant),
        ],
    },
    ClientTable {
        table: "portal_links",
        record: Record::PortalLink,
        rows: "client_id = $1 AND practice_id = $2",
        order_by: "created_at, token_hash",
        erase: Erase::Delete,
        columns: &[
            c("token_hash", Secret),
            c("practice_id", Integer),
            c("client_id", Integer),
            c("browser_hash", Secret),
            c("created_at", Instant),
            c("expires_at", Instant),
            c("used_at", Instant),
        ],
    },
    ClientTable {
        table: "portal_sessions",
        record: Record::PortalSession,
        rows: "client_id = $1 AND practice_id = $2",
        order_by: "created_at, token_hash",
        erase: Erase::Delete,
        columns: &[
            c("token_hash", Secret),
            c("practice_id", Integer),
            c("client_id", Integer),
            c("created_at", Instant),
            c("last_seen_at", Instant),
        ],
    },
    ClientTable {
        table: "email_changes",
        record: Record::EmailChange,
        rows: "client_id = $1 AND practice_id = $2",
        order_by: "id",
        erase: Erase::Delete,
        columns: &[
            c("id", Integer),
            c("practice_id", Integer),
            c("client_id", Integer),
            c("new_email", Text),
            c("token_hash", Secret),
            c("outbox_id", Integer),
            c("created_at", Instant),
            c("expires_at", Instant),
            c("used_at", Instant),
            c("replaced_at", Instant),
        ],
    },
    ClientTable {
        table: "outbox",
        record: Record::Email,
        rows: OUTBOX_ROWS,
        order_by: "id",
        erase: Erase::Delete,
        columns: &[
            c("id", Integer),
            c("practice_id", Integer),
            c("message_id", Text),
            c("kind", Text),
            c("recipient", Text),
            c("subject", Text),
            c("body_text", Text),
            c("status", Text),
            c("attempts", Integer),
            c("last_error", Text),
            c("next_attempt_at", Instant),
            c("created_at", Instant),
            c("sent_at", Instant),
            c("calendar_method", Text),
            c("calendar", Text),
            c("claimed_until", Instant),
        ],
    },
    ClientTable {
        table: "enquiries",
        record: Record::Enquiry,
        rows: "practice_id = $2 AND lower(email) = lower($3)",
        order_by: "id",
        erase: Erase::Delete,
        columns: &[
            c("id", Integer),
            c("practice_id", Integer),
            c("name", Text),
            c("email", Text),
            c("phone", Text),
            c("contact_preference", Text),
            c("message", Text),
            c("received_at", Instant),
            c("handled_at", Instant),
        ],
    },
    ClientTable {
        table: "audit_log",
        record: Record::AuditEntry,
        rows: "client_id = $1 AND practice_id = $2",
        order_by: "id",
        erase: Erase::Keep,
        columns: &[
            c("id", Integer),
            c("practice_id", Integer),
            c("at", Instant),
            c("actor_kind", Text),
            c("actor_id", Integer),
            c("action", Text),
            c("client_id", Integer),
            c("object_kind", Text),
            c("object_id", Integer),
            c("source", Text).practice_only(),
            c("prev_hash", Secret),
            c("hash", Secret),
        ],
    },
    ClientTable {
        table: "subject_access_requests",
        record: Record::SubjectAccessRequest,
        rows: "client_id = $1 AND practice_id = $2",
        order_by: "id",
        erase: Erase::Keep,
        columns: &[
            c("id", Integer),
            c("practice_id", Integer),
            c("client_id", Integer),
            c("received_on", Date),
            c("due_on", Date),
            c("extended_due_on", Date),
            c("extension_reason", Text),
            c("completed_on", Date),
            c("created_at", Instant),
        ],
    },
    ClientTable {
        table: "retention_decisions",
        record: Record::RetentionDecision,
        rows: "client_id = $1 AND practice_id = $2",
        order_by: "id",
        erase: Erase::Delete,
        columns: &[
            c("id", Integer),
            c("practice_id", Integer),
            c("client_id", Integer),
            c("kind", Text),
            c("reason", Text),
            c("review_on", Date),
            c("decided_at", Instant),
        ],
    },
    ClientTable {
        table: "erased_clients",
        record: Record::Erasure,
        rows: "client_id = $1 AND practice_id = $2",
        order_by: "erased_at",
        erase: Erase::Keep,
        columns: &[
            c("client_id", Integer),
            c("practice_id", Integer),
            c("erased_at", Instant),
        ],
    },
];
