//! Staff passwords: Argon2id with the crate's recommended parameters, run on a small pool
//! of threads of its own.
//!
//! Each Argon2id hash holds 19 MiB while it runs, on purpose. Run freely, forty wrong
//! passwords sent at once lifted the server from 20 MB to 780 MB, and the allocator kept
//! most of it (every thread that hashed kept its own arena). So hashes run on at most one
//! thread per core ([`workers`]), so at most that many allocator arenas ever hold a
//! hash's memory, and a few more wait in a
//! short queue ([`QUEUE_PER_WORKER`] each); past that the answer is [`Busy`] at once (503
//! with `Retry-After`), which costs nothing. The timing-equalising hash for unknown
//! addresses goes through the same pool, so it is bounded the same way.

use std::{
    sync::{Mutex, OnceLock, mpsc},
    thread,
};

use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, PasswordHasher, Version};

/// Shortest password accepted for a staff account.
pub const MIN_LENGTH: usize = 12;

/// Check a new password is long enough and not obviously weak.
pub fn check_new(password: &str) -> Result<(), String> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(format!(
            "Use a password of at least {MIN_LENGTH} characters (this one has {length})"
        ));
    }
    if length > 1024 {
        return Err("Use a password of 1024 characters or fewer".into());
    }
    if password
        .chars()
        .all(|c| c == password.chars().next().unwrap_or(' '))
    {
        return Err("Use a password that is not one character repeated".into());
    }
    Ok(())
}

/// Hash a password (slow on purpose: call from a blocking thread).
pub fn hash(password: &str) -> anyhow::Result<String> {
    let hash = Argon2::default()
        .hash_password(password.as_bytes())
        .map_err(|e| anyhow::anyhow!("could not hash the password: {e}"))?;
    Ok(hash.to_string())
}

/// True when `password` matches `hash` (slow on purpose: call from a blocking thread, or
/// better [`check`]). The memory Argon2 works in is kept per thread and reused.
pub fn verify(password: &str, hash: &str) -> bool {
    thread_local! {
        static MEMORY: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    MEMORY.with(|memory| verify_in(&mut memory.borrow_mut(), password, hash))
}

/// The most memory a stored hash may ask for: 64 MiB. Ours ask for 19 MiB; a hash asking
/// for more was not made here and is refused rather than allowed to exhaust memory.
const MAX_BLOCKS: usize = 64 * 1024;

fn verify_in(memory: &mut Vec<Block>, password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(version), Ok(params)) = (
        Algorithm::try_from(parsed.algorithm.as_str()),
        Version::try_from(parsed.version.unwrap_or(Version::default().into())),
        Params::try_from(&parsed),
    ) else {
        return false;
    };
    if params.block_count() > MAX_BLOCKS {
        return false;
    }
    if memory.len() < params.block_count() {
        memory.resize(params.block_count(), Block::default());
    }
    let mut computed = vec![0_u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(
            password.as_bytes(),
            salt.as_ref(),
            &mut computed,
            &mut memory[..],
        )
        .is_ok()
        && constant_time_eq(&computed, expected.as_bytes())
}

/// Equal without stopping at the first difference.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Jobs waiting for a hashing thread, per thread, before new ones are refused.
const QUEUE_PER_WORKER: usize = 4;

/// Every hashing thread is busy and the queue is full: try again in a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many passwords are being checked at once")]
pub struct Busy;

type Job = Box<dyn FnOnce() + Send>;

/// How many hashes may run at once: one per core, at most four.
pub fn workers() -> usize {
    thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4))
}

fn queue() -> &'static mpsc::SyncSender<Job> {
    static QUEUE: OnceLock<mpsc::SyncSender<Job>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let workers = workers();
        let (sender, receiver) = mpsc::sync_channel::<Job>(workers * QUEUE_PER_WORKER);
        let receiver = std::sync::Arc::new(Mutex::new(receiver));
        for n in 0..workers {
            let receiver = receiver.clone();
            let spawned = thread::Builder::new()
                .name(format!("password-{n}"))
                .spawn(move || {
                    loop {
                        let job = receiver
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .recv();
                        match job {
                            // A panic in one hash must not take a worker away for good.
                            Ok(job) => {
                                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                            }
                            Err(_) => return,
                        }
                    }
                });
            if let Err(error) = spawned {
                tracing::error!(error = %error, "could not start a password thread");
            }
        }
        sender
    })
}

/// Run `work` on the password pool, or refuse at once when it is full.
async fn on_pool<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, Busy> {
    let (answer, answered) = tokio::sync::oneshot::channel();
    queue()
        .try_send(Box::new(move || {
            let _ = answer.send(work());
        }))
        .map_err(|_| Busy)?;
    answered.await.map_err(|_| Busy)
}

/// [`verify`] on the password pool.
pub async fn check(password: String, hash: String) -> Result<bool, Busy> {
    on_pool(move || verify(&password, &hash)).await
}

/// [`verify`] against [`dummy_hash`] on the password pool: as slow as a real check, for an
/// address that has no account.
pub async fn check_nothing(password: String) -> Result<bool, Busy> {
    on_pool(move || {
        verify(&password, dummy_hash());
        false
    })
    .await
}

/// [`hash`] on the password pool (the `user` commands and anything else that sets one).
pub async fn make(password: String) -> Result<anyhow::Result<String>, Busy> {
    on_pool(move || hash(&password)).await
}

/// A hash to verify against when the account does not exist, so that the answer takes
/// as long for unknown addresses as for known ones. Made once, with the same parameters as
/// every real hash (a test checks they stay the same), and kept here so that no server
/// spends a hash (and its memory) making it.
pub fn dummy_hash() -> &'static str {
    "$argon2id$v=19$m=19456,t=2,p=1$G67SEaHYsjOKtXyqBJewHg$DcH3ajYMMZs/owP18ocDR9qa0XNqbcPfGDAjcUBGV3w"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_verifies() {
        let hashed = hash("correct horse battery").unwrap();
        assert!(hashed.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &hashed));
        assert!(!verify("correct horse battery!", &hashed));
        assert!(!verify("anything", "not a hash"));
    }

    #[test]
    fn the_timing_hash_costs_what_a_real_one_does() {
        let real = hash("any long enough password").unwrap();
        let params = |h: &str| h.rsplitn(3, '$').nth(2).unwrap().to_owned();
        assert_eq!(params(dummy_hash()), params(&real));
        assert!(verify("not a real password, only for timing", dummy_hash()));
    }

    #[test]
    fn reused_memory_gives_the_same_answers() {
        let first = hash("the first long password").unwrap();
        let second = hash("the second long password").unwrap();
        for _ in 0..2 {
            assert!(verify("the first long password", &first));
            assert!(!verify("the second long password", &first));
            assert!(verify("the second long password", &second));
            assert!(!verify("the first long password", &second));
        }
    }

    #[test]
    fn a_stored_hash_asking_for_too_much_memory_is_refused() {
        let greedy = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(128 * 1024, 1, 1, None).unwrap(),
        )
        .hash_password(b"a long enough password")
        .unwrap()
        .to_string();
        assert!(!verify("a long enough password", &greedy));
    }

    #[tokio::test]
    async fn checks_on_the_pool_agree_with_checks_in_place() {
        let stored = hash("checked on the pool").unwrap();
        assert_eq!(
            check("checked on the pool".into(), stored.clone()).await,
            Ok(true)
        );
        assert_eq!(check("not the password".into(), stored).await, Ok(false));
        assert_eq!(check_nothing("anything at all".into()).await, Ok(false));
    }

    #[test]
    fn refuses_weak_passwords() {
        assert!(check_new("short").is_err());
        assert!(check_new("aaaaaaaaaaaaaaa").is_err());
        assert!(check_new("a long enough passphrase").is_ok());
    }
}
