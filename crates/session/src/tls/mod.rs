//! Our own rustls configuration: either the pinned certificate alone, or
//! the OS roots plus a per-account CA file. tokio-xmpp's connectors cannot
//! take any of these, so we build the TLS layer ourselves.

mod verifier;
mod words;

use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::{CertificateError, ClientConfig, RootCertStore};

use crate::config::AccountConfig;
use crate::error::SessionError;
use crate::fingerprint::Fingerprint;
use verifier::{AccountVerifier, Rejected};
pub(crate) use words::tls_words;

/// The client config for `account`: its pinned certificate if it has one,
/// else the OS roots and its CA file.
pub(crate) fn client_config(account: &AccountConfig) -> Result<Arc<ClientConfig>, SessionError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = match account.pinned_sha256 {
        // A pinned account needs no roots: nothing but that certificate
        // will do, so its CA file is not even read.
        Some(pin) => AccountVerifier::pinned(Fingerprint::from_bytes(pin), &provider),
        None => {
            let (roots, given) = roots(account.ca_file.as_deref())?;
            AccountVerifier::verified(roots, given, &provider)
        }
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SessionError::Protocol(format!("TLS setup failed: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The OS roots and, if given, the CAs in `ca_file`; also the certificates
/// of that file as they are, since a self-signed server certificate given
/// there is trusted as itself (see `verifier`).
fn roots(
    ca_file: Option<&Path>,
) -> Result<(RootCertStore, Vec<CertificateDer<'static>>), SessionError> {
    let mut roots = RootCertStore::empty();
    // Unreadable OS certificates are skipped: the extra CA may be all the
    // account needs, and a server we cannot verify fails loudly anyway.
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    let mut given = Vec::new();
    if let Some(path) = ca_file {
        let ca_error = |detail: String| SessionError::CaFile {
            path: path.display().to_string(),
            detail,
        };
        let file = std::fs::File::open(path).map_err(|e| ca_error(file_words(&e)))?;
        let mut added = 0;
        for cert in rustls_pemfile::certs(&mut BufReader::new(file)) {
            let cert = cert.map_err(|_| ca_error("it is not a readable PEM file".to_owned()))?;
            roots.add(cert.clone()).map_err(|e| {
                ca_error(format!(
                    "a certificate in it cannot be used: {}",
                    words::tls_words(&e)
                ))
            })?;
            given.push(cert);
            added += 1;
        }
        if added == 0 {
            return Err(ca_error("no PEM certificate in the file".to_owned()));
        }
    }
    Ok((roots, given))
}

/// Turn a failed TLS handshake into a certificate error when that is what
/// it was, so it becomes a terminal state instead of a retry.
pub(crate) fn classify_handshake_error(
    host: &str,
    account: &str,
    error: std::io::Error,
) -> SessionError {
    let rustls_error = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    let Some(rustls_error) = rustls_error else {
        return SessionError::Io(error);
    };
    let rejected = match rustls_error {
        rustls::Error::InvalidCertificate(CertificateError::Other(other)) => {
            other.0.downcast_ref::<Rejected>()
        }
        _ => None,
    };
    match (rejected, rustls_error) {
        (Some(Rejected::Untrusted { offered, detail }), _) => SessionError::Certificate {
            host: host.to_owned(),
            account: account.to_owned(),
            detail: detail.clone(),
            fingerprint: Some(offered.to_string()),
        },
        (Some(Rejected::Changed { pinned, offered }), _) => SessionError::CertificateChanged {
            host: host.to_owned(),
            account: account.to_owned(),
            pinned: pinned.to_string(),
            offered: offered.to_string(),
        },
        // A certificate problem our verifier did not see (a bad handshake
        // signature): still terminal, without a fingerprint to offer.
        (None, rustls::Error::InvalidCertificate(detail)) => SessionError::Certificate {
            host: host.to_owned(),
            account: account.to_owned(),
            detail: words::certificate_words(detail),
            fingerprint: None,
        },
        (None, other) => SessionError::Protocol(format!(
            "the encrypted connection to {host} could not be set up: {}",
            tls_words(other)
        )),
    }
}

fn file_words(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => "there is no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "Wimsy is not allowed to read it".to_owned(),
        _ => "it cannot be read".to_owned(),
    }
}
