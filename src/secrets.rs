//! Passwords in the OS keychain, through the keyring family of crates (`keyring-core` plus
//! the platform's store). Nothing here writes a secret to a file or a log: [`Password`]
//! prints as `***`.
//!
//! The store is process-global in `keyring-core`; the binary calls [`use_platform_store`]
//! once at start, unit tests install `keyring_core::mock::Store` instead. On Linux the Secret
//! Service is preferred (persistent), the kernel keyring is the fallback.

use std::fmt;
use std::sync::Arc;

/// Service name under which Lyceum files its keychain entries.
pub const KEYCHAIN_SERVICE: &str = "lyceum";

/// A secret that never shows itself in `Debug` or `Display` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself, for handing to a client library.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("no OS keychain is available: {0}")]
    NoKeychain(String),
    #[error("the OS keychain refused access to `{account}`: {detail}")]
    Access { account: String, detail: String },
}

/// Install the platform's credential store as the process default; returns its name.
pub fn use_platform_store() -> Result<String, SecretsError> {
    let store = platform_store().map_err(|e| SecretsError::NoKeychain(e.to_string()))?;
    let name = store.vendor();
    keyring_core::set_default_store(store);
    Ok(name)
}

/// Secret Service (GNOME Keyring, KWallet) keeps secrets across reboots; the kernel keyring
/// only for the login session, so it is the fallback where no Secret Service runs.
#[cfg(target_os = "linux")]
fn platform_store() -> keyring_core::Result<Arc<keyring_core::CredentialStore>> {
    match zbus_secret_service_keyring_store::Store::new() {
        Ok(store) => Ok(store),
        Err(_) => Ok(linux_keyutils_keyring_store::Store::new()?),
    }
}

#[cfg(target_os = "macos")]
fn platform_store() -> keyring_core::Result<Arc<keyring_core::CredentialStore>> {
    Ok(apple_native_keyring_store::keychain::Store::new()?)
}

#[cfg(target_os = "windows")]
fn platform_store() -> keyring_core::Result<Arc<keyring_core::CredentialStore>> {
    Ok(windows_native_keyring_store::Store::new()?)
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
fn platform_store() -> keyring_core::Result<Arc<keyring_core::CredentialStore>> {
    Err(keyring_core::Error::NoDefaultStore)
}

fn entry(account: &str) -> Result<keyring_core::Entry, SecretsError> {
    keyring_core::Entry::new(KEYCHAIN_SERVICE, account).map_err(|e| access_error(account, &e))
}

fn access_error(account: &str, e: &keyring_core::Error) -> SecretsError {
    match e {
        keyring_core::Error::NoDefaultStore => SecretsError::NoKeychain(e.to_string()),
        _ => SecretsError::Access {
            account: account.to_owned(),
            detail: e.to_string(),
        },
    }
}

/// Store `password` for `account` (Lyceum uses `user@host:port`), replacing any earlier one.
pub fn store_password(account: &str, password: &Password) -> Result<(), SecretsError> {
    entry(account)?
        .set_password(password.expose())
        .map_err(|e| access_error(account, &e))
}

/// The password stored for `account`, or `None` when there is none.
pub fn load_password(account: &str) -> Result<Option<Password>, SecretsError> {
    match entry(account)?.get_password() {
        Ok(secret) => Ok(Some(Password(secret))),
        Err(keyring_core::Error::NoEntry) => Ok(None),
        Err(e) => Err(access_error(account, &e)),
    }
}

/// Remove the password stored for `account`; removing a missing one is not an error.
pub fn delete_password(account: &str) -> Result<(), SecretsError> {
    match entry(account)?.delete_credential() {
        Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
        Err(e) => Err(access_error(account, &e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_round_trips_through_the_store_and_never_prints() -> Result<(), SecretsError> {
        let store = keyring_core::mock::Store::new()
            .map_err(|e| SecretsError::NoKeychain(e.to_string()))?;
        keyring_core::set_default_store(store);
        let account = "lyceum@db.example:8443";
        assert_eq!(load_password(account)?, None);
        store_password(account, &Password::new("s3cret"))?;
        let loaded = load_password(account)?;
        assert_eq!(loaded.as_ref().map(Password::expose), Some("s3cret"));
        assert_eq!(format!("{loaded:?}"), "Some(Password(***))");
        delete_password(account)?;
        delete_password(account)?;
        assert_eq!(load_password(account)?, None);
        Ok(())
    }
}
