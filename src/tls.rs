//! TLS for Lyceum's own HTTP, on rustls with the `ring` provider (no C toolchain beyond the
//! compiler's): [`client_config`] trusts the public web roots plus the certificates of a
//! certificate authority's PEM file (a plant's own CA); [`server_config`] serves a certificate
//! chain and key from PEM files; [`self_signed`] makes such a pair for a lab. Used by the
//! ClickHouse client ([`crate::source::clickhouse::tls`]), the control plane's server and its
//! client.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A certificate or key file that cannot be used, and why.
    #[error("{}: {detail}", path.display())]
    File { path: PathBuf, detail: String },
    #[error("TLS setup: {0}")]
    Config(String),
}

fn file_error(path: &Path, detail: impl std::fmt::Display) -> TlsError {
    TlsError::File {
        path: path.to_owned(),
        detail: detail.to_string(),
    }
}

/// Make `ring` the process's rustls provider (once), for HTTP clients built without a
/// configuration of their own (reqwest is built without a provider: its default would need
/// aws-lc's C build).
pub fn install_default_provider() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        // Another part of the process installed one first: that one serves.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// An HTTP client builder whose TLS runs on [`install_default_provider`]'s provider.
pub fn http_client_builder() -> reqwest::ClientBuilder {
    install_default_provider();
    reqwest::Client::builder()
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificates of a PEM file, or why there are none.
pub fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|e| file_error(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(path, format!("not PEM certificates ({e})")))?;
    if certificates.is_empty() {
        return Err(file_error(path, "holds no PEM certificate"));
    }
    Ok(certificates)
}

/// A client trusting the public web roots and, if given, the certificates in `ca_file`.
pub fn client_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, TlsError> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(ca_file) = ca_file {
        for certificate in read_certificates(ca_file)? {
            roots.add(certificate).map_err(|e| {
                file_error(ca_file, format!("a certificate rustls cannot use ({e})"))
            })?;
        }
    }
    Ok(rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// A server presenting the certificate chain in `cert_file` with the private key in
/// `key_file` (both PEM).
pub fn server_config(cert_file: &Path, key_file: &Path) -> Result<rustls::ServerConfig, TlsError> {
    let chain = read_certificates(cert_file)?;
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| file_error(key_file, format!("not a PEM private key ({e})")))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| file_error(cert_file, format!("does not go with its key ({e})")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// A self-signed certificate for `names` (host names or addresses) and its key, written as
/// `cert.pem` and `key.pem` (this user's only) in `dir` unless both exist already (then
/// kept: clients trust the certificate they were given). Returns their paths. For a lab;
/// a plant's control plane takes a certificate from its own CA.
pub fn self_signed(dir: &Path, names: &[String]) -> Result<(PathBuf, PathBuf), TlsError> {
    use std::os::unix::fs::OpenOptionsExt;
    let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
    if cert_file.is_file() && key_file.is_file() {
        return Ok((cert_file, key_file));
    }
    std::fs::create_dir_all(dir).map_err(|e| file_error(dir, e))?;
    let certified = rcgen::generate_simple_self_signed(names.to_vec())
        .map_err(|e| TlsError::Config(format!("cannot make a certificate: {e}")))?;
    let write = |path: &Path, text: &str, mode: u32| {
        std::io::Write::write_all(
            &mut std::fs::OpenOptions::new()
                .create(true)
                .truncate(true)
                .write(true)
                .mode(mode)
                .open(path)
                .map_err(|e| file_error(path, e))?,
            text.as_bytes(),
        )
        .map_err(|e| file_error(path, e))
    };
    write(&key_file, &certified.signing_key.serialize_pem(), 0o600)?;
    write(&cert_file, &certified.cert.pem(), 0o644)?;
    Ok((cert_file, key_file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_self_signed_pair_serves_and_is_trusted_by_its_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = self_signed(dir.path(), &["localhost".to_owned()]).unwrap();
        assert!(server_config(&cert, &key).is_ok());
        assert!(client_config(Some(&cert)).is_ok());
        // Made once: a second call keeps the pair clients already trust.
        let before = std::fs::read(&cert).unwrap();
        self_signed(dir.path(), &["localhost".to_owned()]).unwrap();
        assert_eq!(std::fs::read(&cert).unwrap(), before);
        // A key that is not one is named.
        std::fs::write(&key, "no key here\n").unwrap();
        let err = server_config(&cert, &key).unwrap_err().to_string();
        assert!(err.contains("key.pem"), "{err}");
    }
}
