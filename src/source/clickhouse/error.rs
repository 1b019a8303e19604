//! [`ClickHouseError`]: what went wrong talking to a server, in words a person understands.
//!
//! The `clickhouse` crate reports server failures as a response body with the server's own
//! exception text; [`ClickHouseError::from_client`] sorts them by the exception code into the
//! cases the app explains differently (unreachable, authentication, unknown table, …) and keeps
//! the server's text.

use std::time::Duration;

/// Server exception codes Lyceum treats specially (see ClickHouse `ErrorCodes.cpp`).
mod code {
    pub const UNKNOWN_TABLE: u32 = 60;
    pub const UNKNOWN_DATABASE: u32 = 81;
    pub const UNKNOWN_USER: u32 = 192;
    pub const WRONG_PASSWORD: u32 = 193;
    pub const REQUIRED_PASSWORD: u32 = 194;
    pub const IP_ADDRESS_NOT_ALLOWED: u32 = 195;
    pub const QUERY_WAS_CANCELLED: u32 = 394;
    pub const AUTHENTICATION_FAILED: u32 = 516;
}

#[derive(Debug, thiserror::Error)]
pub enum ClickHouseError {
    #[error("cannot reach the ClickHouse server at {url}: {detail}")]
    Unreachable { url: String, detail: String },
    #[error("authentication failed for user `{user}`: {server_message}")]
    AuthenticationFailed {
        user: String,
        server_message: String,
    },
    #[error("unknown table: {server_message}")]
    UnknownTable { server_message: String },
    #[error("unknown database: {server_message}")]
    UnknownDatabase { server_message: String },
    #[error("the server refused the query (code {code}): {server_message}")]
    Server { code: u32, server_message: String },
    #[error("the connection to the server was lost: {detail}")]
    ConnectionLost { detail: String },
    #[error("no answer within {:.1} s", timeout.as_secs_f64())]
    Timeout { timeout: Duration },
    #[error("the query was cancelled")]
    Cancelled,
    #[error("the server's answer could not be decoded: {detail}")]
    Decode { detail: String },
    #[error("invalid connection settings: {0}")]
    InvalidProfile(String),
    #[error("{0}")]
    InvalidRequest(String),
    #[error(transparent)]
    Secrets(#[from] crate::secrets::SecretsError),
    #[error(transparent)]
    Mapping(#[from] super::schema::MappingError),
    #[error(transparent)]
    Store(#[from] crate::curves::StoreError),
}

pub type Result<T, E = ClickHouseError> = std::result::Result<T, E>;

impl ClickHouseError {
    /// Sort a `clickhouse` crate error into a case a person can act on.
    pub fn from_client(error: clickhouse::error::Error, url: &str, user: &str) -> Self {
        use clickhouse::error::Error as E;
        match error {
            E::BadResponse(text) => Self::from_server_text(&text, user),
            E::Network(source) => {
                let mut detail = error_chain(source.as_ref());
                // TLS spoken to a plain-HTTP port: the one hint that helps.
                if url.starts_with("https://") && detail.contains("InvalidContentType") {
                    detail.push_str(" (the server answered in plain HTTP: try http://)");
                }
                if looks_like_connect_failure(&detail) {
                    Self::Unreachable {
                        url: url.to_owned(),
                        detail,
                    }
                } else {
                    Self::ConnectionLost { detail }
                }
            }
            E::TimedOut => Self::Timeout {
                timeout: Duration::ZERO,
            },
            E::NotEnoughData => Self::Decode {
                detail: "the answer ended early: the connection dropped, or the row type does not \
                         match the server's column types"
                    .to_owned(),
            },
            other => {
                let detail = other.to_string();
                // A body cut short mid-stream surfaces as a decompression or data error.
                if detail.contains("connection") || detail.contains("unexpected end") {
                    Self::ConnectionLost { detail }
                } else {
                    Self::Decode { detail }
                }
            }
        }
    }

    /// Sort a server exception text (`Code: 60, e.displayText() = DB::Exception: …` on old
    /// servers, `Code: 60. DB::Exception: …` on new ones).
    pub fn from_server_text(text: &str, user: &str) -> Self {
        let server_message = clean_server_message(text);
        match parse_exception_code(text) {
            Some(
                code::UNKNOWN_USER
                | code::WRONG_PASSWORD
                | code::REQUIRED_PASSWORD
                | code::IP_ADDRESS_NOT_ALLOWED
                | code::AUTHENTICATION_FAILED,
            ) => Self::AuthenticationFailed {
                user: user.to_owned(),
                server_message,
            },
            Some(code::UNKNOWN_TABLE) => Self::UnknownTable { server_message },
            Some(code::UNKNOWN_DATABASE) => Self::UnknownDatabase { server_message },
            Some(code::QUERY_WAS_CANCELLED) => Self::Cancelled,
            Some(code) => Self::Server {
                code,
                server_message,
            },
            None if text.contains("Connection refused") => Self::Unreachable {
                url: String::new(),
                detail: server_message,
            },
            None => Self::Server {
                code: 0,
                server_message,
            },
        }
    }

    /// True for failures of the link rather than of the query: worth a retry.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Unreachable { .. } | Self::ConnectionLost { .. } | Self::Timeout { .. }
        )
    }
}

fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

fn looks_like_connect_failure(detail: &str) -> bool {
    let detail = detail.to_ascii_lowercase();
    [
        "connection refused",
        "client error (connect)",
        "dns error",
        "no route to host",
        "failed to lookup",
    ]
    .iter()
    .any(|needle| detail.contains(needle))
}

fn parse_exception_code(text: &str) -> Option<u32> {
    let rest = &text[text.find("Code: ")? + "Code: ".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The server's message without the code prefix, the stack trace and the version suffix.
fn clean_server_message(text: &str) -> String {
    let text = text.trim();
    let message = match text.find("DB::Exception: ") {
        Some(i) => &text[i + "DB::Exception: ".len()..],
        None => text,
    };
    let message = message
        .split(", e.what()")
        .next()
        .unwrap_or(message)
        .split(", Stack trace")
        .next()
        .unwrap_or(message)
        .split(" (version ")
        .next()
        .unwrap_or(message);
    message.lines().next().unwrap_or(message).trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_and_new_server_texts_are_sorted_by_code() {
        let old = "Code: 193, e.displayText() = DB::Exception: Wrong password for user lyceum, e.what() = DB::Exception\n";
        match ClickHouseError::from_server_text(old, "lyceum") {
            ClickHouseError::AuthenticationFailed {
                user,
                server_message,
            } => {
                assert_eq!(user, "lyceum");
                assert_eq!(server_message, "Wrong password for user lyceum");
            }
            other => panic!("unexpected {other:?}"),
        }
        let new = "Code: 60. DB::Exception: Table default.nope does not exist. (UNKNOWN_TABLE) (version 24.3.1.1)";
        assert!(matches!(
            ClickHouseError::from_server_text(new, "u"),
            ClickHouseError::UnknownTable { server_message } if server_message == "Table default.nope does not exist. (UNKNOWN_TABLE)"
        ));
        assert!(matches!(
            ClickHouseError::from_server_text(
                "Code: 62, e.displayText() = DB::Exception: Syntax error",
                "u"
            ),
            ClickHouseError::Server { code: 62, .. }
        ));
        assert!(matches!(
            ClickHouseError::from_server_text("garbage", "u"),
            ClickHouseError::Server { code: 0, .. }
        ));
    }
}
