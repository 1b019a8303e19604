//! HTTPS to a server whose certificate a plant's own certificate authority signed: the HTTP
//! client the `clickhouse` crate runs on, built with rustls trusting the public web roots and
//! the PEM certificates of the user's CA file. Without a CA file the crate's default client
//! (public roots only) is used.

use std::path::Path;
use std::time::Duration;

use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls_pki_types::CertificateDer;

use super::error::{ClickHouseError, Result};

/// As the crate's own client: idle sockets closed before the server's keep-alive ends.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(2);
const TCP_KEEPALIVE: Duration = Duration::from_secs(60);

/// The certificates of a PEM file, or why there are none.
pub fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    crate::tls::read_certificates(path).map_err(ca_error)
}

fn ca_error(error: crate::tls::TlsError) -> ClickHouseError {
    ClickHouseError::InvalidProfile(format!("CA file {error}"))
}

/// A `clickhouse` client whose HTTPS trusts the public roots and the certificates in
/// `ca_file`.
pub fn client_with_ca(ca_file: &Path) -> Result<clickhouse::Client> {
    let config = crate::tls::client_config(Some(ca_file)).map_err(ca_error)?;
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_keepalive(Some(TCP_KEEPALIVE));
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    let hyper = HyperClient::builder(TokioExecutor::new())
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .build(connector);
    Ok(clickhouse::Client::with_http_client(hyper))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_must_hold_pem_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let err = client_with_ca(&missing).unwrap_err().to_string();
        assert!(err.contains("missing.pem"), "{err}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "just text\n").unwrap();
        let err = client_with_ca(&empty).unwrap_err().to_string();
        assert!(err.contains("holds no PEM certificate"), "{err}");
        let good = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls/ca.pem");
        assert_eq!(read_ca_file(&good).unwrap().len(), 1);
        assert!(client_with_ca(&good).is_ok());
    }
}
