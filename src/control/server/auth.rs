//! Authentication: Argon2id password hashes, bearer tokens (sessions and API tokens, stored as
//! SHA-256 hashes, with expiry, scopes and revocation), the caller of a request
//! ([`Principal`]), bounded password hashing ([`Hasher`]) and a login rate limiter per user
//! and client address ([`LoginLimiter`]).

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::RngCore;
use rusqlite::params;
use sha2::{Digest, Sha256};

use super::ControlError;
use super::store::{Db, now, optional};

/// Sessions last a working day.
pub const SESSION_HOURS: i64 = 12;
/// Failed logins per user name allowed within [`LOGIN_WINDOW`] (from unknown addresses).
pub const LOGIN_ATTEMPTS: u32 = 5;
pub const LOGIN_WINDOW: Duration = Duration::from_secs(60);

thread_local! {
    /// Argon2's working memory (19 MiB), kept by each thread that hashes and reused: a fresh
    /// 64-byte-aligned allocation per check fragments glibc's heap, and the process grew by
    /// the full 19 MiB at every login.
    static ARGON2_MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Argon2 of `password` and `salt` into `out`, in this thread's reused memory.
fn argon2_into(
    argon2: &Argon2<'_>,
    params: &Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), argon2::Error> {
    ARGON2_MEMORY.with_borrow_mut(|memory| {
        let blocks = params.block_count();
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        argon2.hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])
    })
}

/// An Argon2id PHC string of `password` with a new random salt.
pub fn hash_password(password: &str) -> Result<String, ControlError> {
    let failed =
        |e: &dyn std::fmt::Display| ControlError::Internal(format!("password hashing: {e}"));
    let params = Params::default();
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let mut out = [0u8; 32];
    argon2_into(&argon2, &params, password.as_bytes(), &salt, &mut out).map_err(|e| failed(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| failed(&e))?,
        salt: Some(Salt::new(&salt).map_err(|e| failed(&e))?),
        hash: Some(Output::new(&out).map_err(|e| failed(&e))?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `phc` (its algorithm, version and parameters).
pub fn verify_password(password: &str, phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return false;
    };
    let algorithm = Algorithm::try_from(hash.algorithm.as_str());
    let version = hash
        .version
        .map_or(Ok(Version::default()), Version::try_from);
    let (Ok(algorithm), Ok(version), Ok(params)) = (algorithm, version, Params::try_from(&hash))
    else {
        return false;
    };
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    argon2_into(&argon2, &params, password.as_bytes(), salt, &mut out).is_ok()
        // `Output`'s comparison takes constant time.
        && Output::new(&out).is_ok_and(|computed| computed == *expected)
}

/// A new secret: 32 random bytes as hex, with a prefix saying what it is.
pub fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{hex}")
}

pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The authenticated caller of a request.
#[derive(Clone, Debug)]
pub struct Principal {
    pub user_id: i64,
    /// The token the request came with (logout revokes it).
    pub token_id: i64,
    pub user: String,
    /// Read-only tokens may only GET.
    pub can_write: bool,
    /// A login session, not an API token (only sessions mint tokens).
    pub session: bool,
}

/// Resolve `Authorization: Bearer …` to a user: unknown, expired and revoked tokens are all
/// "unauthenticated", with the reason in the message.
pub fn principal(db: &Db, header: Option<&str>) -> Result<Principal, ControlError> {
    let token = header
        .and_then(|h| h.strip_prefix("Bearer "))
        .ok_or_else(|| {
            ControlError::Unauthenticated("missing `Authorization: Bearer <token>`".into())
        })?;
    let hash = sha256_hex(token.trim());
    let row = db.read(|c| {
        optional(c.query_row(
            "SELECT u.id, u.name, t.scopes, t.expires_at, t.revoked_at, t.id, t.kind FROM tokens t JOIN users u ON u.id = t.user_id
             WHERE t.token_hash = ?",
            params![hash],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, String>(6)?,
                ))
            },
        ))
    })?;
    let Some((user_id, user, scopes, expires_at, revoked_at, token_id, kind)) = row else {
        return Err(ControlError::Unauthenticated("unknown token".into()));
    };
    if revoked_at.is_some() {
        return Err(ControlError::Unauthenticated(
            "the token was revoked".into(),
        ));
    }
    if expires_at <= now() {
        return Err(ControlError::Unauthenticated(
            "the token has expired".into(),
        ));
    }
    Ok(Principal {
        user_id,
        token_id,
        user,
        can_write: scopes.split(',').any(|s| s == "write"),
        session: kind == "session",
    })
}

/// Threads checking passwords (Argon2id): each holds 19 MiB while it hashes.
pub const HASHING_THREADS: usize = 2;
/// Checks waiting for a thread at most, in each lane; beyond it a request is answered 503 at once, with
/// no hashing, so a flood of logins can neither grow memory nor queue without end.
pub const HASHING_QUEUE: usize = 16;

type HashJob = Box<dyn FnOnce() + Send>;

/// Checks waiting, in two lanes: logins from an address the user logged in from before (and
/// accounts made by the owner) go first, so a flood of strangers' attempts does not keep the
/// user out.
#[derive(Default)]
struct HashQueue {
    first: std::collections::VecDeque<HashJob>,
    rest: std::collections::VecDeque<HashJob>,
    closed: bool,
}

#[derive(Default)]
struct HashLanes {
    queue: Mutex<HashQueue>,
    ready: std::sync::Condvar,
}

impl HashLanes {
    /// The next job, first lane first; `None` once the hasher is gone.
    fn next(&self) -> Option<HashJob> {
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(job) = queue.first.pop_front().or_else(|| queue.rest.pop_front()) {
                return Some(job);
            }
            if queue.closed {
                return None;
            }
            queue = self
                .ready
                .wait(queue)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// Argon2id work, bounded: on [`HASHING_THREADS`] threads of its own (never on the async
/// workers, where it would stall every other request; not on the blocking pool either, where
/// every new thread's allocator would keep another 19 MiB), at most [`HASHING_QUEUE`] waiting
/// in each of two lanes.
pub struct Hasher {
    lanes: Arc<HashLanes>,
    /// A hash of a random password: unknown users are checked against it, so they take as
    /// long as known ones (no user enumeration by timing).
    dummy: OnceLock<String>,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher").finish_non_exhaustive()
    }
}

impl Default for Hasher {
    fn default() -> Self {
        let lanes = Arc::new(HashLanes::default());
        for index in 0..HASHING_THREADS {
            let lanes = Arc::clone(&lanes);
            let spawned = std::thread::Builder::new()
                .name(format!("password hashing {index}"))
                .spawn(move || {
                    while let Some(job) = lanes.next() {
                        job();
                    }
                });
            if let Err(error) = spawned {
                tracing::error!(%error, "cannot start a password hashing thread");
            }
        }
        Self {
            lanes,
            dummy: OnceLock::new(),
        }
    }
}

impl Drop for Hasher {
    fn drop(&mut self) {
        self.lanes
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .closed = true;
        self.lanes.ready.notify_all();
    }
}

impl Hasher {
    async fn run<T: Send + 'static>(
        &self,
        first: bool,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ControlError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: HashJob = Box::new(move || {
            // The request may have gone away meanwhile; nobody is left to answer.
            let _ = done.send(work());
        });
        {
            let mut queue = self
                .lanes
                .queue
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let lane = if first {
                &mut queue.first
            } else {
                &mut queue.rest
            };
            if lane.len() >= HASHING_QUEUE {
                return Err(ControlError::Busy(
                    "the server is busy checking passwords; try again in a second".into(),
                ));
            }
            lane.push_back(job);
        }
        self.lanes.ready.notify_one();
        result
            .await
            .map_err(|_| ControlError::Internal("a password check was dropped".into()))
    }

    /// Hash a new password (an authenticated request: the first lane).
    pub async fn hash(&self, password: String) -> Result<String, ControlError> {
        self.run(true, move || hash_password(&password)).await?
    }

    /// Whether `password` matches `phc`; with no `phc` (an unknown user) the check runs
    /// against a dummy hash and fails, taking as long as a real one. `first`: a login from an
    /// address the user logged in from before, checked ahead of everyone else's.
    pub async fn verify(
        &self,
        password: String,
        phc: Option<String>,
        first: bool,
    ) -> Result<bool, ControlError> {
        let known = phc.is_some();
        let phc = match phc {
            Some(phc) => phc,
            None => self.dummy_hash().await?,
        };
        let matches = self
            .run(first, move || verify_password(&password, &phc))
            .await?;
        Ok(known && matches)
    }

    async fn dummy_hash(&self) -> Result<String, ControlError> {
        if let Some(hash) = self.dummy.get() {
            return Ok(hash.clone());
        }
        let hash = self.hash(new_secret("")).await?;
        Ok(self.dummy.get_or_init(|| hash).clone())
    }
}

/// Failed logins allowed per client address within [`LOGIN_WINDOW`] (an office behind one
/// address has several people).
pub const ADDRESS_ATTEMPTS: u32 = 20;
/// User names and addresses tracked at most; beyond, expired entries are dropped and new
/// ones refused until some expire.
pub const LIMITER_ENTRIES: usize = 10_000;

/// Attempts in one window: failures plus those still being checked.
#[derive(Clone, Copy, Debug)]
struct Window {
    attempts: u32,
    since: Instant,
}

impl Window {
    fn current(&mut self) -> &mut Self {
        if self.since.elapsed() >= LOGIN_WINDOW {
            *self = Self {
                attempts: 0,
                since: Instant::now(),
            };
        }
        self
    }

    fn retry_secs(&self) -> u64 {
        LOGIN_WINDOW.saturating_sub(self.since.elapsed()).as_secs() + 1
    }
}

#[derive(Debug, Default)]
struct LimiterState {
    users: HashMap<String, Window>,
    addresses: HashMap<IpAddr, Window>,
    /// (user, address) pairs that logged in, and when: a correct password from one passes a
    /// lockout of the user that someone else caused.
    known: HashMap<(String, IpAddr), Instant>,
}

impl LimiterState {
    fn prune(&mut self) {
        self.users.retain(|_, w| w.since.elapsed() < LOGIN_WINDOW);
        self.addresses
            .retain(|_, w| w.since.elapsed() < LOGIN_WINDOW);
        self.known
            .retain(|_, at| at.elapsed() < Duration::from_secs(KNOWN_ADDRESS_HOURS * 3_600));
    }
}

/// How long an address stays known for a user after a login from it.
const KNOWN_ADDRESS_HOURS: u64 = 24 * 30;

/// Login attempts per user name and per client address, each in a sliding window. An
/// attempt counts from the moment it starts, so simultaneous attempts cannot all pass; a
/// success takes its own back. A user locked out by failures from elsewhere can still log in
/// from an address they logged in from before (subject to that address's own limit).
#[derive(Debug, Default)]
pub struct LoginLimiter {
    state: Mutex<LimiterState>,
}

/// One login attempt, counted until it is known to have succeeded.
#[derive(Debug)]
pub struct Attempt {
    user: String,
    address: IpAddr,
    /// The user logged in from this address before.
    pub known_address: bool,
}

impl LoginLimiter {
    /// Count an attempt by `user` from `address`, or refuse it (429) while either is over
    /// its limit.
    pub fn begin(&self, user: &str, address: IpAddr) -> Result<Attempt, ControlError> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if (state.users.len() >= LIMITER_ENTRIES && !state.users.contains_key(user))
            || (state.addresses.len() >= LIMITER_ENTRIES && !state.addresses.contains_key(&address))
        {
            state.prune();
            if state.users.len() >= LIMITER_ENTRIES || state.addresses.len() >= LIMITER_ENTRIES {
                return Err(ControlError::TooManyRequests(
                    "too many failed logins on this server; try again in a minute".into(),
                ));
            }
        }
        let now = Instant::now();
        let known = state.known.contains_key(&(user.to_owned(), address));
        let by_address = *state
            .addresses
            .entry(address)
            .or_insert(Window {
                attempts: 0,
                since: now,
            })
            .current();
        if by_address.attempts >= ADDRESS_ATTEMPTS {
            return Err(ControlError::TooManyRequests(format!(
                "too many failed logins from this address; try again in {} s",
                by_address.retry_secs()
            )));
        }
        let by_user = *state
            .users
            .entry(user.to_owned())
            .or_insert(Window {
                attempts: 0,
                since: now,
            })
            .current();
        if by_user.attempts >= LOGIN_ATTEMPTS && !known {
            return Err(ControlError::TooManyRequests(format!(
                "too many failed logins for `{user}`; try again in {} s",
                by_user.retry_secs()
            )));
        }
        let state = &mut *state;
        for window in [state.addresses.get_mut(&address), state.users.get_mut(user)]
            .into_iter()
            .flatten()
        {
            window.attempts += 1;
        }
        Ok(Attempt {
            user: user.to_owned(),
            address,
            known_address: known,
        })
    }

    /// The attempt succeeded: it no longer counts, and the address is known for the user.
    /// Earlier failures still count until their window ends: a success by the user must not
    /// hand whoever is guessing a fresh set of tries.
    pub fn succeeded(&self, attempt: Attempt) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let state = &mut *state;
        for window in [
            state.addresses.get_mut(&attempt.address),
            state.users.get_mut(&attempt.user),
        ]
        .into_iter()
        .flatten()
        {
            window.attempts = window.attempts.saturating_sub(1);
        }
        if state.known.len() >= LIMITER_ENTRIES {
            state.prune();
        }
        state
            .known
            .insert((attempt.user, attempt.address), Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::PasswordHasher;

    #[test]
    fn hashes_verify_and_match_the_crates_own() {
        let ours = super::hash_password("a-long-password").unwrap_or_default();
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        assert!(super::verify_password("a-long-password", &ours));
        assert!(!super::verify_password("a-long-passwore", &ours));
        assert!(!super::verify_password("a-long-password", "not a hash"));
        // Hashes stored by the crate's own hasher (earlier versions of this server) still verify.
        let theirs = argon2::Argon2::default()
            .hash_password(b"a-long-password")
            .map(|h| h.to_string())
            .unwrap_or_default();
        assert!(super::verify_password("a-long-password", &theirs));
        assert!(!super::verify_password("another-password", &theirs));
    }
}
