//! The audit log (SECURITY.md R9): who did what to which record, when and from where.
//!
//! Entries are append-only (the database refuses updates and deletes) and hash-chained:
//! each entry's hash covers its own fields and the hash of the entry before it, so changing,
//! removing or reordering any entry breaks every hash after it, which [`verify`] finds.
//! Entries name records by id only: never note text, never a token, never what was typed.

use async_trait::async_trait;
use jiff::Timestamp;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{ClientId, PracticeId, StoreResult, UserId};

/// The hash before the first entry.
pub const GENESIS: [u8; 32] = [0; 32];

/// Who acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Actor {
    /// A member of staff.
    Staff(UserId),
    /// A client, through the portal.
    Client(ClientId),
    /// Someone not signed in (a failed sign-in, a portal link request).
    Anonymous,
    /// Anteroom itself (background jobs, the command line).
    System,
}

impl Actor {
    /// The stored kind.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Staff(_) => "staff",
            Self::Client(_) => "client",
            Self::Anonymous => "anonymous",
            Self::System => "system",
        }
    }
    /// The stored id, if the kind has one.
    pub fn id(self) -> Option<i64> {
        match self {
            Self::Staff(user) => Some(user.get()),
            Self::Client(client) => Some(client.get()),
            Self::Anonymous | Self::System => None,
        }
    }
    /// Rebuild from stored columns.
    pub fn from_parts(kind: &str, id: Option<i64>) -> Option<Self> {
        Some(match (kind, id) {
            ("staff", Some(id)) => Self::Staff(UserId::new(id)),
            ("client", Some(id)) => Self::Client(ClientId::new(id)),
            ("anonymous", None) => Self::Anonymous,
            ("system", None) => Self::System,
            _ => return None,
        })
    }
}

macro_rules! actions {
    ($($variant:ident = $code:literal, $label:literal;)*) => {
        /// What was done. The code is what is stored; the label is what the office shows.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        #[serde(into = "&'static str")]
        pub enum AuditAction {
            $($variant,)*
        }

        impl AuditAction {
            /// Every action, in declaration order.
            pub const ALL: &[Self] = &[$(Self::$variant,)*];
            /// The stored code, e.g. `client.view`.
            pub fn code(self) -> &'static str {
                match self {
                    $(Self::$variant => $code,)*
                }
            }
            /// Words for the office, e.g. "Viewed the client’s record".
            pub fn label(self) -> &'static str {
                match self {
                    $(Self::$variant => $label,)*
                }
            }
            /// The action with this stored code.
            pub fn from_code(code: &str) -> Option<Self> {
                match code {
                    $($code => Some(Self::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

actions! {
    SignIn = "staff.sign_in", "Signed in";
    SignInFailed = "staff.sign_in_failed", "A sign-in was refused";
    SignOut = "staff.sign_out", "Signed out";
    SecondFactorEnabled = "staff.second_factor_on", "Turned on the second factor";
    SecondFactorDisabled = "staff.second_factor_off", "Turned off the second factor";
    SecondFactorFailed = "staff.second_factor_failed", "A sign-in code was refused";
    RecoveryCodeUsed = "staff.recovery_code_used", "Signed in with a recovery code";
    AccessRefused = "access.refused", "Access was refused";
    SettingsChanged = "settings.change", "Changed settings";
    EnquiryViewed = "enquiry.view", "Read an enquiry";
    EnquiryChanged = "enquiry.change", "Marked or deleted an enquiry";
    ConsultationViewed = "consultation.view", "Viewed a consultation";
    ConsultationChanged = "consultation.change", "Changed a consultation";
    ClientCreated = "client.create", "Added the client";
    ClientViewed = "client.view", "Viewed the client’s record";
    ClientChanged = "client.change", "Changed the client’s details";
    ContractChanged = "contract.change", "Changed the contract";
    SessionViewed = "session.view", "Viewed a session";
    SessionChanged = "session.change", "Changed a session";
    NoteWritten = "note.write", "Wrote a note";
    InvoiceViewed = "invoice.view", "Viewed an invoice";
    InvoiceChanged = "invoice.change", "Changed an invoice";
    DataExported = "client.export", "Exported the client’s data";
    SubjectAccessRecorded = "client.subject_access", "Recorded a subject access request";
    ErasureRefused = "client.erasure_refused", "Refused erasure, with a reason";
    ClientErased = "client.erase", "Erased the client’s record";
    PortalLinkRequested = "portal.link_requested", "A portal sign-in link was asked for";
    PortalSignIn = "portal.sign_in", "Signed in to the portal";
    PortalSignInFailed = "portal.sign_in_failed", "A portal sign-in link was refused";
    PortalSignOut = "portal.sign_out", "Signed out of the portal";
    PortalViewed = "portal.view", "Opened the portal";
    PortalCancelled = "portal.cancel", "Cancelled a session in the portal";
    PortalDetailsChanged = "portal.details", "Changed their contact details in the portal";
    PortalEmailChangeRequested = "portal.email_change_requested", "Asked in the portal to change their email address";
    PortalEmailChanged = "portal.email_changed", "Changed their email address, confirmed from the new address";
    PasswordLinkSent = "staff.password_link", "Your host emailed a link to set a password";
    PasswordSet = "staff.password_set", "Set a password with an emailed link";
    HostSuspended = "host.suspend", "Your host suspended the practice: its website is paused";
    HostResumed = "host.resume", "Your host resumed the practice";
    HostDomainAdded = "host.domain", "Your host gave the practice a domain of its own";
    HostExported = "host.export", "Your host exported the whole practice";
    HostDirectoryChecked = "host.directory_check", "Your host checked the practice’s registration on the public register";
    HostDirectoryUnchecked = "host.directory_uncheck", "Your host withdrew its check of the practice’s registration";
    HostDirectoryHidden = "host.directory_hide", "Your host took the practice’s listing out of its directory";
    HostDirectoryShown = "host.directory_show", "Your host put the practice’s listing back in its directory";
    QuestionnaireViewed = "questionnaire.view", "Viewed a questionnaire’s answers";
    QuestionnaireAsked = "questionnaire.ask", "Asked the client to fill in a questionnaire";
    QuestionnaireEntered = "questionnaire.enter", "Entered a questionnaire’s answers given in a session";
    FlagAcknowledged = "questionnaire.acknowledge", "Acknowledged an answer that needed attention, with a note";
    PortalQuestionnaireAnswered = "portal.questionnaire", "Answered a questionnaire in the portal";
    PortalQuestionnairesStopped = "portal.questionnaires_stop", "Asked in the portal not to be sent questionnaires";
    PortalQuestionnairesResumed = "portal.questionnaires_resume", "Asked in the portal to be sent questionnaires again";
    PortalEmailChangeRefused = "portal.email_change_refused", "A confirmed change of email address was not made: another client record has the address";
}

impl From<AuditAction> for &'static str {
    fn from(action: AuditAction) -> Self {
        action.code()
    }
}

/// An entry to append. `object` names the record acted on by kind and id, e.g.
/// `("session", 42)`; `client` is the client it concerns, if any (for "who has seen this
/// record" and the subject-access export).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    pub actor: Actor,
    pub action: AuditAction,
    pub client: Option<ClientId>,
    pub object: Option<(&'static str, i64)>,
    /// Where the request came from (an IP address), if it came over the network.
    pub source: Option<String>,
}

/// An entry as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub practice: PracticeId,
    pub at: Timestamp,
    pub actor: Actor,
    /// The stored action code (kept as text so that a log written by a newer version still
    /// verifies and lists).
    pub action: String,
    pub client: Option<ClientId>,
    pub object_kind: Option<String>,
    pub object_id: Option<i64>,
    pub source: Option<String>,
    #[serde(skip)]
    pub prev_hash: Vec<u8>,
    #[serde(skip)]
    pub hash: Vec<u8>,
}

/// Words for a stored action code; a code this version does not know is shown as it is.
pub fn label_of(code: &str) -> &str {
    match AuditAction::from_code(code) {
        Some(action) => action.label(),
        None => code,
    }
}

impl AuditEntry {
    /// Words for the office.
    pub fn label(&self) -> &str {
        label_of(&self.action)
    }
}

/// The fields an entry's hash covers, in order.
pub struct Hashed<'a> {
    pub id: i64,
    pub practice: PracticeId,
    pub at: Timestamp,
    pub actor: Actor,
    pub action: &'a str,
    pub client: Option<ClientId>,
    pub object_kind: Option<&'a str>,
    pub object_id: Option<i64>,
    pub source: Option<&'a str>,
}

/// SHA-256 over the previous hash and every field, each length-prefixed or fixed-width so
/// that no two different entries encode alike.
pub fn entry_hash(prev: &[u8], entry: &Hashed<'_>) -> [u8; 32] {
    fn text(hasher: &mut Sha256, value: Option<&str>) {
        match value {
            None => hasher.update([0]),
            Some(text) => {
                hasher.update([1]);
                hasher.update((text.len() as u64).to_be_bytes());
                hasher.update(text.as_bytes());
            }
        }
    }
    fn number(hasher: &mut Sha256, value: Option<i64>) {
        match value {
            None => hasher.update([0]),
            Some(n) => {
                hasher.update([1]);
                hasher.update(n.to_be_bytes());
            }
        }
    }
    let mut hasher = Sha256::new();
    hasher.update(b"anteroom-audit-v1");
    hasher.update((prev.len() as u64).to_be_bytes());
    hasher.update(prev);
    number(&mut hasher, Some(entry.id));
    number(&mut hasher, Some(entry.practice.get()));
    number(&mut hasher, Some(entry.at.as_second()));
    text(&mut hasher, Some(entry.actor.kind()));
    number(&mut hasher, entry.actor.id());
    text(&mut hasher, Some(entry.action));
    number(&mut hasher, entry.client.map(ClientId::get));
    text(&mut hasher, entry.object_kind);
    number(&mut hasher, entry.object_id);
    text(&mut hasher, entry.source);
    hasher.finalize().into()
}

impl AuditEntry {
    fn hashed(&self) -> Hashed<'_> {
        Hashed {
            id: self.id,
            practice: self.practice,
            at: self.at,
            actor: self.actor,
            action: &self.action,
            client: self.client,
            object_kind: self.object_kind.as_deref(),
            object_id: self.object_id,
            source: self.source.as_deref(),
        }
    }
}

/// Where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// The entry does not point at the hash of the entry before it (one was removed or
    /// inserted, or the order changed).
    #[error("entry {id} does not follow the entry before it")]
    Link { id: i64 },
    /// The entry's fields do not match its hash (it was changed).
    #[error("entry {id} was changed after it was written")]
    Altered { id: i64 },
}

/// Checks a chain one entry at a time, in id order.
#[derive(Debug)]
pub struct Verifier {
    prev: Vec<u8>,
    checked: u64,
}

impl Default for Verifier {
    fn default() -> Self {
        Self {
            prev: GENESIS.to_vec(),
            checked: 0,
        }
    }
}

impl Verifier {
    /// Check the next entry.
    pub fn check(&mut self, entry: &AuditEntry) -> Result<(), ChainError> {
        if entry.prev_hash != self.prev {
            return Err(ChainError::Link { id: entry.id });
        }
        if entry_hash(&self.prev, &entry.hashed())[..] != entry.hash[..] {
            return Err(ChainError::Altered { id: entry.id });
        }
        self.prev.clone_from(&entry.hash);
        self.checked += 1;
        Ok(())
    }
    /// How many entries were checked.
    pub fn checked(&self) -> u64 {
        self.checked
    }
}

/// One staff member's access to a record, summed up for "who has seen this record".
#[derive(Debug, Clone, Serialize)]
pub struct RecordAccess {
    pub actor: Actor,
    /// The staff member's name (or "The client" for the client's own access).
    pub name: String,
    pub count: u64,
    pub last_at: Timestamp,
}

/// The audit log.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Append an entry, chained to the practice's last one, in its own durable write.
    /// Reading the last entry and inserting this one are serialised against every writer
    /// of the practice (one chain per practice; crate docs, "Several writers"), so the
    /// practice's ids follow commit order and each of its entries links to the one before.
    async fn append_audit(
        &self,
        practice: PracticeId,
        entry: &NewAuditEntry,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// The client a record belongs to: `kind` is `client`, `session`, `invoice` or `booking`
    /// (`None` for a record of another practice, one that does not exist, or a consultation
    /// that did not become a client).
    async fn audit_subject(
        &self,
        practice: PracticeId,
        kind: &str,
        id: i64,
    ) -> StoreResult<Option<ClientId>>;
    /// When `actor` last did `action` to `object`, looking back over the practice's latest
    /// 500 entries (for folding a burst of autosaves into one entry).
    async fn last_audit_at(
        &self,
        practice: PracticeId,
        actor: Actor,
        action: AuditAction,
        object: (&'static str, i64),
    ) -> StoreResult<Option<Timestamp>>;
    /// Entries about one client, newest first (at most `limit`).
    async fn client_audit(
        &self,
        practice: PracticeId,
        client: ClientId,
        limit: u32,
    ) -> StoreResult<Vec<AuditEntry>>;
    /// Who has opened or changed a client's record: one row per actor, latest first.
    async fn record_access(
        &self,
        practice: PracticeId,
        client: ClientId,
    ) -> StoreResult<Vec<RecordAccess>>;
    /// A practice's whole log, in id order, `limit` entries after id `after`.
    async fn audit_after(
        &self,
        practice: PracticeId,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<AuditEntry>>;
    /// The latest entries of a practice, newest first.
    async fn recent_audit(&self, practice: PracticeId, limit: u32) -> StoreResult<Vec<AuditEntry>>;
}

/// Check a practice's whole chain. Returns how many entries it holds.
pub async fn verify(
    store: &dyn AuditStore,
    practice: PracticeId,
) -> StoreResult<Result<u64, ChainError>> {
    let mut verifier = Verifier::default();
    let mut after = 0;
    loop {
        let page = store.audit_after(practice, after, 1000).await?;
        let Some(last) = page.last() else {
            return Ok(Ok(verifier.checked()));
        };
        after = last.id;
        for entry in &page {
            if let Err(broken) = verifier.check(entry) {
                return Ok(Err(broken));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: i64, prev: &[u8], action: &str) -> AuditEntry {
        let mut entry = AuditEntry {
            id,
            practice: PracticeId::new(1),
            at: Timestamp::from_second(1_800_000_000 + id).unwrap(),
            actor: Actor::Staff(UserId::new(1)),
            action: action.into(),
            client: Some(ClientId::new(7)),
            object_kind: Some("client".into()),
            object_id: Some(7),
            source: Some("127.0.0.1".into()),
            prev_hash: prev.to_vec(),
            hash: Vec::new(),
        };
        entry.hash = entry_hash(prev, &entry.hashed()).to_vec();
        entry
    }

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut prev = GENESIS.to_vec();
        (1..=n)
            .map(|id| {
                let e = entry(id, &prev, "client.view");
                prev.clone_from(&e.hash);
                e
            })
            .collect()
    }

    fn run(entries: &[AuditEntry]) -> Result<u64, ChainError> {
        let mut v = Verifier::default();
        for e in entries {
            v.check(e)?;
        }
        Ok(v.checked())
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert_eq!(run(&chain(5)), Ok(5));
        assert_eq!(run(&[]), Ok(0));
    }

    #[test]
    fn any_change_removal_or_swap_breaks_it() {
        let mut changed = chain(5);
        changed[2].action = "client.change".into();
        assert_eq!(run(&changed), Err(ChainError::Altered { id: 3 }));

        let mut source = chain(5);
        source[1].source = None;
        assert_eq!(run(&source), Err(ChainError::Altered { id: 2 }));

        let mut removed = chain(5);
        removed.remove(1);
        assert_eq!(run(&removed), Err(ChainError::Link { id: 3 }));

        let mut swapped = chain(5);
        swapped.swap(3, 4);
        assert_eq!(run(&swapped), Err(ChainError::Link { id: 5 }));
    }

    #[test]
    fn fields_do_not_run_into_each_other() {
        let a = entry(1, &GENESIS, "ab");
        let mut b = a.clone();
        b.action = "a".into();
        b.object_kind = Some("bclient".into());
        assert_ne!(
            entry_hash(&GENESIS, &a.hashed()),
            entry_hash(&GENESIS, &b.hashed())
        );
    }

    #[test]
    fn action_codes_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for action in AuditAction::ALL {
            assert!(seen.insert(action.code()), "{}", action.code());
            assert_eq!(AuditAction::from_code(action.code()), Some(*action));
        }
    }
}
