//! Our own rustls configuration: the OS roots plus a per-account CA file.
//! tokio-xmpp's connectors cannot take either, so we build the TLS layer
//! ourselves.

use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use rustls::{ClientConfig, RootCertStore};

use crate::error::SessionError;

/// A client config trusting the OS roots and, if given, the CAs in `ca_file`.
pub(crate) fn client_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, SessionError> {
    let mut roots = RootCertStore::empty();
    // Unreadable OS certificates are skipped: the extra CA may be all the
    // account needs, and a server we cannot verify fails loudly anyway.
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if let Some(path) = ca_file {
        let ca_error = |detail: String| SessionError::CaFile {
            path: path.display().to_string(),
            detail,
        };
        let file = std::fs::File::open(path).map_err(|e| ca_error(e.to_string()))?;
        let mut added = 0;
        for cert in rustls_pemfile::certs(&mut BufReader::new(file)) {
            let cert = cert.map_err(|e| ca_error(e.to_string()))?;
            roots
                .add(cert)
                .map_err(|e| ca_error(format!("not a usable CA certificate: {e}")))?;
            added += 1;
        }
        if added == 0 {
            return Err(ca_error("no PEM certificate in the file".to_owned()));
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SessionError::Protocol(format!("TLS setup failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Turn a failed TLS handshake into a certificate error when that is what
/// it was, so it becomes a terminal state instead of a retry.
pub(crate) fn classify_handshake_error(host: &str, error: std::io::Error) -> SessionError {
    let rustls_error = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match rustls_error {
        Some(rustls::Error::InvalidCertificate(detail)) => SessionError::Certificate {
            host: host.to_owned(),
            detail: format!("{detail:?}"),
        },
        Some(other) => SessionError::Protocol(format!("TLS handshake with {host} failed: {other}")),
        None => SessionError::Io(error),
    }
}
