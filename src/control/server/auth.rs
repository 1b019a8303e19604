//! Authentication: Argon2id password hashes, bearer tokens (sessions and API tokens, stored as
//! SHA-256 hashes, with expiry, scopes and revocation), the caller of a request
//! ([`Principal`]), and a login rate limiter.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use rand::RngCore;
use rusqlite::params;
use sha2::{Digest, Sha256};

use super::ControlError;
use super::store::{Db, now, optional};

/// Sessions last a working day.
pub const SESSION_HOURS: i64 = 12;
/// Failed logins per user name allowed within [`LOGIN_WINDOW`].
pub const LOGIN_ATTEMPTS: u32 = 5;
pub const LOGIN_WINDOW: Duration = Duration::from_secs(60);

pub fn hash_password(password: &str) -> Result<String, ControlError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| ControlError::Internal(format!("password hashing: {e}")))
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
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
            "SELECT u.id, u.name, t.scopes, t.expires_at, t.revoked_at, t.id FROM tokens t JOIN users u ON u.id = t.user_id
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
                ))
            },
        ))
    })?;
    let Some((user_id, user, scopes, expires_at, revoked_at, token_id)) = row else {
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
    })
}

/// Failed logins per user name in a sliding window.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl LoginLimiter {
    /// Refuse while `user` has used up its attempts.
    pub fn check(&self, user: &str) -> Result<(), ControlError> {
        let failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        match failures.get(user) {
            Some(&(count, since)) if count >= LOGIN_ATTEMPTS && since.elapsed() < LOGIN_WINDOW => {
                Err(ControlError::TooManyRequests(format!(
                    "too many failed logins for `{user}`; try again in {} s",
                    (LOGIN_WINDOW - since.elapsed()).as_secs() + 1
                )))
            }
            _ => Ok(()),
        }
    }

    pub fn failed(&self, user: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = failures
            .entry(user.to_owned())
            .or_insert((0, Instant::now()));
        if entry.1.elapsed() >= LOGIN_WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    pub fn succeeded(&self, user: &str) {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(user);
    }
}
