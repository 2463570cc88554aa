//! rustls and webpki errors in the words a person reads, by variant.

use rustls::{AlertDescription, CertificateError};

/// Why a certificate was refused.
pub(crate) fn certificate_words(error: &CertificateError) -> String {
    use CertificateError as C;
    match error {
        C::BadEncoding => "the certificate is malformed".to_owned(),
        C::Expired | C::ExpiredContext { .. } => "the certificate has expired".to_owned(),
        C::NotValidYet | C::NotValidYetContext { .. } => {
            "the certificate is not valid yet (or this computer's clock is wrong)".to_owned()
        }
        C::Revoked => "the certificate has been revoked".to_owned(),
        C::UnknownIssuer => "it is signed by an authority this computer does not know".to_owned(),
        C::BadSignature => "its signature does not verify".to_owned(),
        #[allow(deprecated)]
        C::UnsupportedSignatureAlgorithm => {
            "it is signed with an algorithm Wimsy does not accept".to_owned()
        }
        C::UnsupportedSignatureAlgorithmContext { .. }
        | C::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
            "it is signed with an algorithm Wimsy does not accept".to_owned()
        }
        C::NotValidForName => "the certificate is for another name".to_owned(),
        C::NotValidForNameContext { presented, .. } => {
            let names: Vec<&str> = presented.iter().filter_map(|n| dns_name(n)).collect();
            if names.is_empty() {
                "the certificate is for another name".to_owned()
            } else {
                format!("the certificate is for another name ({})", names.join(", "))
            }
        }
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
            "the certificate is not meant for servers".to_owned()
        }
        C::UnhandledCriticalExtension => {
            "the certificate has a critical extension Wimsy does not understand".to_owned()
        }
        C::UnknownRevocationStatus
        | C::ExpiredRevocationList
        | C::ExpiredRevocationListContext { .. }
        | C::InvalidOcspResponse => "its revocation status could not be checked".to_owned(),
        C::ApplicationVerificationFailure => "the certificate was refused".to_owned(),
        C::Other(other) => match other.0.downcast_ref::<webpki::Error>() {
            Some(pki) => webpki_words(pki),
            None => "the certificate could not be verified".to_owned(),
        },
        _ => "the certificate could not be verified".to_owned(),
    }
}

/// webpki lists the names a certificate is for as `DnsName("host")`:
/// keep the host, drop what is not a DNS name.
fn dns_name(presented: &str) -> Option<&str> {
    presented
        .strip_prefix("DnsName(\"")?
        .strip_suffix("\")")
        .filter(|name| !name.is_empty() && name.chars().all(|c| c.is_ascii_graphic()))
}

/// The webpki errors rustls does not turn into a `CertificateError` of its
/// own.
fn webpki_words(error: &webpki::Error) -> String {
    use webpki::Error as P;
    match error {
        P::CaUsedAsEndEntity => {
            "the server presents a certificate authority's certificate as its own (a self-signed certificate made as a CA)"
        }
        P::EndEntityUsedAsCa => "a certificate in its chain is not allowed to sign others",
        P::PathLenConstraintViolated | P::NameConstraintViolation => {
            "its chain breaks the limits its authority set"
        }
        P::MaximumPathDepthExceeded
        | P::MaximumPathBuildCallsExceeded
        | P::MaximumSignatureChecksExceeded
        | P::MaximumNameConstraintComparisonsExceeded => "its chain is too long to verify",
        P::UnsupportedCertVersion => "the certificate is of a version Wimsy does not accept",
        P::MalformedExtensions | P::ExtensionValueInvalid => {
            "the certificate has malformed extensions"
        }
        P::SignatureAlgorithmMismatch => "its signature algorithms do not match",
        _ => "the certificate could not be verified",
    }
    .to_owned()
}

/// A TLS failure other than a refused certificate.
pub(crate) fn tls_words(error: &rustls::Error) -> String {
    match error {
        rustls::Error::InvalidCertificate(cert) => certificate_words(cert),
        rustls::Error::AlertReceived(alert) => match alert {
            AlertDescription::HandshakeFailure | AlertDescription::InsufficientSecurity => {
                "the server and Wimsy share no TLS version or cipher (the server may be too old)"
                    .to_owned()
            }
            AlertDescription::ProtocolVersion => {
                "the server does not speak a TLS version Wimsy accepts (1.2 or 1.3)".to_owned()
            }
            AlertDescription::UnrecognisedName => {
                "the server does not know the account's domain name".to_owned()
            }
            AlertDescription::CertificateRequired => {
                "the server wants a client certificate, which Wimsy does not have".to_owned()
            }
            _ => "the server ended the encrypted connection with an error".to_owned(),
        },
        rustls::Error::PeerIncompatible(_) => {
            "the server and Wimsy share no TLS version or cipher (the server may be too old)"
                .to_owned()
        }
        rustls::Error::DecryptError => "the encrypted data was damaged on the way".to_owned(),
        _ => "the encrypted connection failed (a TLS error)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rustls::OtherError;

    use super::*;

    #[test]
    fn certificate_errors_are_words() {
        let other = |e: webpki::Error| CertificateError::Other(OtherError(Arc::new(e)));
        for error in [
            CertificateError::BadEncoding,
            CertificateError::Expired,
            CertificateError::NotValidYet,
            CertificateError::Revoked,
            CertificateError::UnknownIssuer,
            CertificateError::BadSignature,
            CertificateError::NotValidForName,
            CertificateError::NotValidForNameContext {
                expected: rustls::pki_types::ServerName::try_from("localhost")
                    .unwrap()
                    .to_owned(),
                presented: vec!["DnsName(\"other.example\")".to_owned()],
            },
            CertificateError::InvalidPurpose,
            CertificateError::UnhandledCriticalExtension,
            CertificateError::UnknownRevocationStatus,
            CertificateError::ApplicationVerificationFailure,
            other(webpki::Error::CaUsedAsEndEntity),
            other(webpki::Error::EndEntityUsedAsCa),
            other(webpki::Error::MaximumPathDepthExceeded),
            CertificateError::Other(OtherError(Arc::new(std::io::Error::other("x")))),
        ] {
            let text = certificate_words(&error);
            for bad in ["Other(", "http", "::", "{", "Error"] {
                assert!(!text.contains(bad), "{bad:?} in {text:?} for {error:?}");
            }
        }
        let wrong_name = CertificateError::NotValidForNameContext {
            expected: rustls::pki_types::ServerName::try_from("localhost")
                .unwrap()
                .to_owned(),
            presented: vec![
                "DnsName(\"other.example\")".to_owned(),
                "IpAddress(127.0.0.1)".to_owned(),
            ],
        };
        assert_eq!(
            certificate_words(&wrong_name),
            "the certificate is for another name (other.example)"
        );
        assert_eq!(
            certificate_words(&CertificateError::UnknownIssuer),
            "it is signed by an authority this computer does not know"
        );
        assert!(
            certificate_words(&other(webpki::Error::CaUsedAsEndEntity)).contains("self-signed")
        );
    }

    #[test]
    fn tls_errors_are_words() {
        for error in [
            rustls::Error::AlertReceived(AlertDescription::HandshakeFailure),
            rustls::Error::AlertReceived(AlertDescription::InternalError),
            rustls::Error::DecryptError,
            rustls::Error::General("x".into()),
            rustls::Error::InvalidCertificate(CertificateError::Expired),
        ] {
            let text = tls_words(&error);
            for bad in ["Other(", "http", "::", "{", "Error"] {
                assert!(!text.contains(bad), "{bad:?} in {text:?}");
            }
        }
    }
}
