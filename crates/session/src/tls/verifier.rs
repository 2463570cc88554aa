//! Which server certificates an account accepts (trust on first use):
//!
//! - with a pin, exactly the pinned end-entity certificate, whoever signed
//!   it and whatever its names and dates: the user vouched for those bytes.
//!   Any other certificate is refused, even one a public CA signed, because
//!   a changed certificate is exactly what an attacker would present;
//! - without a pin, the usual checks (the OS roots plus the account's CA
//!   file, the server's name, the dates); a certificate that fails them is
//!   refused with its fingerprint, so the user can check it out of band
//!   and pin it;
//! - a certificate in the account's CA file that is byte for byte the
//!   server's own is trusted as that server's certificate, though not as an
//!   authority: its name and dates are still checked. This is how a
//!   self-signed server certificate is given: `openssl req -x509` makes it
//!   with CA:TRUE, which webpki refuses as an end entity
//!   (`CaUsedAsEndEntity`), and a certificate without CA:TRUE cannot anchor
//!   a chain either.
//!
//! Either way the handshake signatures are verified with the provider's
//! algorithms, so the server must hold the certificate's private key.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, RootCertStore, SignatureScheme};

use super::words::certificate_words;
use crate::fingerprint::Fingerprint;

/// Why our verifier refused a certificate. It travels inside rustls's
/// error (as `CertificateError::Other`) and is taken out again by
/// `classify_handshake_error`.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum Rejected {
    /// Not verifiable from the roots, and nothing is pinned.
    #[error("certificate {offered} is not trusted: {detail}")]
    Untrusted {
        /// The offered certificate.
        offered: Fingerprint,
        /// What the usual verification said.
        detail: String,
    },
    /// Not the pinned certificate.
    #[error("certificate {offered} is not the pinned {pinned}")]
    Changed {
        /// The certificate the user accepted.
        pinned: Fingerprint,
        /// The one the server offered now.
        offered: Fingerprint,
    },
}

impl Rejected {
    fn into_error(self) -> rustls::Error {
        rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(self))))
    }
}

#[derive(Debug)]
enum Trust {
    Pinned(Fingerprint),
    Verified {
        /// `None` when there is not a single root (no OS store, no CA
        /// file): then nothing verifies through a chain, and every other
        /// certificate is offered for pinning.
        webpki: Option<Arc<WebPkiServerVerifier>>,
        /// The certificates of the account's CA file, as given.
        given: Vec<CertificateDer<'static>>,
    },
}

/// One account's certificate check.
#[derive(Debug)]
pub(crate) struct AccountVerifier {
    trust: Trust,
    algorithms: WebPkiSupportedAlgorithms,
}

impl AccountVerifier {
    /// Accept only the certificate with this fingerprint.
    pub(crate) fn pinned(pin: Fingerprint, provider: &Arc<CryptoProvider>) -> Self {
        Self {
            trust: Trust::Pinned(pin),
            algorithms: provider.signature_verification_algorithms,
        }
    }

    /// Verify against `roots`, or find the certificate among `given`;
    /// offer the fingerprint on failure.
    pub(crate) fn verified(
        roots: RootCertStore,
        given: Vec<CertificateDer<'static>>,
        provider: &Arc<CryptoProvider>,
    ) -> Self {
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| tracing::debug!("no usual certificate verification: {e}"))
            .ok();
        Self {
            trust: Trust::Verified { webpki, given },
            algorithms: provider.signature_verification_algorithms,
        }
    }
}

impl ServerCertVerifier for AccountVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let offered = Fingerprint::of_der(end_entity.as_ref());
        match &self.trust {
            Trust::Pinned(pinned) if *pinned == offered => Ok(ServerCertVerified::assertion()),
            Trust::Pinned(pinned) => Err(Rejected::Changed {
                pinned: *pinned,
                offered,
            }
            .into_error()),
            Trust::Verified { webpki, given } => {
                let usual = match webpki {
                    Some(webpki) => webpki.verify_server_cert(
                        end_entity,
                        intermediates,
                        server_name,
                        ocsp_response,
                        now,
                    ),
                    None => Err(rustls::Error::InvalidCertificate(
                        CertificateError::UnknownIssuer,
                    )),
                };
                match usual {
                    Ok(verified) => Ok(verified),
                    Err(_) if given.iter().any(|c| c.as_ref() == end_entity.as_ref()) => {
                        given_as_itself(end_entity, server_name, now)
                            .map(|()| ServerCertVerified::assertion())
                            .map_err(|detail| Rejected::Untrusted { offered, detail }.into_error())
                    }
                    Err(rustls::Error::InvalidCertificate(detail)) => Err(Rejected::Untrusted {
                        offered,
                        detail: match webpki {
                            Some(_) => certificate_words(&detail),
                            None => "this computer has no trusted authorities at all".to_owned(),
                        },
                    }
                    .into_error()),
                    Err(other) => Err(other),
                }
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The checks left for a certificate the user gave as itself: the name it
/// is for and its dates. Its signature does not matter (the user vouched
/// for these bytes), and the handshake still proves the server holds its
/// key.
fn given_as_itself(
    end_entity: &CertificateDer<'_>,
    server_name: &ServerName<'_>,
    now: UnixTime,
) -> Result<(), String> {
    let malformed = || "the certificate is malformed".to_owned();
    let cert = webpki::EndEntityCert::try_from(end_entity).map_err(|_| malformed())?;
    cert.verify_is_valid_for_subject_name(server_name)
        .map_err(|_| certificate_words(&CertificateError::NotValidForName))?;
    let (_, parsed) =
        x509_parser::parse_x509_certificate(end_entity.as_ref()).map_err(|_| malformed())?;
    let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    let validity = parsed.validity();
    if now < validity.not_before.timestamp() {
        return Err(certificate_words(&CertificateError::NotValidYet));
    }
    if now > validity.not_after.timestamp() {
        return Err(certificate_words(&CertificateError::Expired));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

    use super::*;

    fn provider() -> Arc<CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    /// A CA and a leaf for `localhost` signed by it.
    fn ca_and_leaf() -> (CertificateDer<'static>, CertificateDer<'static>) {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_key = KeyPair::generate().unwrap();
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .signed_by(&leaf_key, &issuer)
            .unwrap();
        (ca.der().clone(), leaf.der().clone())
    }

    fn check(verifier: &AccountVerifier, leaf: &CertificateDer<'_>) -> Result<(), rustls::Error> {
        let name = ServerName::try_from("localhost").unwrap();
        verifier
            .verify_server_cert(leaf, &[], &name, &[], UnixTime::now())
            .map(|_| ())
    }

    fn rejection(error: rustls::Error) -> Rejected {
        let rustls::Error::InvalidCertificate(CertificateError::Other(other)) = error else {
            panic!("not our rejection: {error:?}");
        };
        other.0.downcast_ref::<Rejected>().unwrap().clone()
    }

    #[test]
    fn a_pin_accepts_exactly_its_certificate() {
        let (_, leaf) = ca_and_leaf();
        let (_, other) = ca_and_leaf();
        let pin = Fingerprint::of_der(&leaf);
        let verifier = AccountVerifier::pinned(pin, &provider());
        check(&verifier, &leaf).unwrap();
        match rejection(check(&verifier, &other).unwrap_err()) {
            Rejected::Changed { pinned, offered } => {
                assert_eq!(pinned, pin);
                assert_eq!(offered, Fingerprint::of_der(&other));
            }
            r => panic!("{r:?}"),
        }
    }

    #[test]
    fn without_a_pin_the_usual_checks_apply_and_a_failure_offers_the_fingerprint() {
        let (ca, leaf) = ca_and_leaf();
        let mut roots = RootCertStore::empty();
        roots.add(ca).unwrap();
        check(
            &AccountVerifier::verified(roots, Vec::new(), &provider()),
            &leaf,
        )
        .unwrap();

        let (other_ca, _) = ca_and_leaf();
        let mut wrong = RootCertStore::empty();
        wrong.add(other_ca).unwrap();
        for verifier in [
            AccountVerifier::verified(wrong, Vec::new(), &provider()),
            AccountVerifier::verified(RootCertStore::empty(), Vec::new(), &provider()),
        ] {
            match rejection(check(&verifier, &leaf).unwrap_err()) {
                Rejected::Untrusted { offered, detail } => {
                    assert_eq!(offered, Fingerprint::of_der(&leaf));
                    assert!(!detail.is_empty());
                }
                r => panic!("{r:?}"),
            }
        }
    }

    #[test]
    fn the_handshake_error_becomes_a_terminal_certificate_error() {
        let (_, leaf) = ca_and_leaf();
        let (_, other) = ca_and_leaf();
        let verifier = AccountVerifier::pinned(Fingerprint::of_der(&leaf), &provider());
        let io = |e: rustls::Error| std::io::Error::new(std::io::ErrorKind::InvalidData, e);
        let changed = super::super::classify_handshake_error(
            "localhost",
            "a@localhost",
            io(check(&verifier, &other).unwrap_err()),
        );
        assert!(changed.is_terminal());
        assert_eq!(
            changed.fingerprint(),
            Some(Fingerprint::of_der(&other).to_string().as_str())
        );
        assert!(changed.to_string().contains("changed"), "{changed}");

        let verifier = AccountVerifier::verified(RootCertStore::empty(), Vec::new(), &provider());
        let untrusted = super::super::classify_handshake_error(
            "localhost",
            "a@localhost",
            io(check(&verifier, &leaf).unwrap_err()),
        );
        assert!(untrusted.is_terminal());
        assert_eq!(
            untrusted.fingerprint(),
            Some(Fingerprint::of_der(&leaf).to_string().as_str())
        );
    }

    /// A server certificate as `openssl req -x509` makes it: self-signed,
    /// CA:TRUE, for `names`, valid from the start of year `from` to the
    /// start of year `to`.
    fn self_signed_ca(names: &[&str], from: i32, to: i32) -> CertificateDer<'static> {
        let mut params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                .unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.not_before = rcgen::date_time_ymd(from, 1, 1);
        params.not_after = rcgen::date_time_ymd(to, 1, 1);
        let key = KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().clone()
    }

    /// Mid-2025.
    fn now() -> UnixTime {
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_750_000_000))
    }

    fn check_now(
        verifier: &AccountVerifier,
        leaf: &CertificateDer<'_>,
    ) -> Result<(), rustls::Error> {
        let name = ServerName::try_from("localhost").unwrap();
        verifier
            .verify_server_cert(leaf, &[], &name, &[], now())
            .map(|_| ())
    }

    fn given(cert: &CertificateDer<'static>) -> AccountVerifier {
        let mut roots = RootCertStore::empty();
        roots.add(cert.clone()).unwrap();
        AccountVerifier::verified(roots, vec![cert.clone()], &provider())
    }

    #[test]
    fn a_self_signed_ca_certificate_given_in_the_ca_file_is_trusted_as_itself() {
        let cert = self_signed_ca(&["localhost"], 2024, 2027);
        check_now(&given(&cert), &cert).unwrap();
        // Without CA:TRUE (`-addext basicConstraints=CA:FALSE`) as well.
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params.is_ca = IsCa::ExplicitNoCa;
        params.not_before = rcgen::date_time_ymd(2024, 1, 1);
        params.not_after = rcgen::date_time_ymd(2027, 1, 1);
        let plain = params.self_signed(&KeyPair::generate().unwrap()).unwrap();
        check_now(&given(plain.der()), plain.der()).unwrap();
    }

    #[test]
    fn a_given_certificate_must_still_be_for_the_name_and_in_its_dates() {
        for (cert, words) in [
            (
                self_signed_ca(&["other.example"], 2024, 2027),
                "for another name",
            ),
            (self_signed_ca(&["localhost"], 2020, 2024), "expired"),
            (self_signed_ca(&["localhost"], 2026, 2028), "not valid yet"),
        ] {
            match rejection(check_now(&given(&cert), &cert).unwrap_err()) {
                Rejected::Untrusted { offered, detail } => {
                    assert_eq!(offered, Fingerprint::of_der(&cert));
                    assert!(detail.contains(words), "{detail}");
                }
                r => panic!("{r:?}"),
            }
        }
    }

    #[test]
    fn another_self_signed_certificate_is_refused_in_words() {
        let mine = self_signed_ca(&["localhost"], 2024, 2027);
        let theirs = self_signed_ca(&["localhost"], 2024, 2027);
        let error = check_now(&given(&mine), &theirs).unwrap_err();
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, error);
        let refused = super::super::classify_handshake_error("localhost", "a@localhost", io);
        let text = refused.to_string();
        assert!(refused.is_terminal());
        assert_eq!(
            refused.fingerprint(),
            Some(Fingerprint::of_der(&theirs).to_string().as_str())
        );
        for bad in ["Other(", "CaUsedAsEndEntity", "::", "http", "wimsyctl"] {
            assert!(!text.contains(bad), "{bad:?} in {text}");
        }
        assert!(text.contains("the account's CA file"), "{text}");
    }
}
