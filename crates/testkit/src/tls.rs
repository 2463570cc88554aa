//! TLS material for test servers: a small CA and a leaf signed by it,
//! generated in process with rcgen.
//!
//! rustls (webpki) rejects a CA certificate used as the server's own, so
//! the server gets a leaf (CA:FALSE, EKU serverAuth, SAN `localhost` and
//! `127.0.0.1`) and clients trust the CA.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::DOMAIN;
use crate::process::write_file;
/// Writes a PEM of a freshly generated CA that signed nothing the server
/// uses, as `dir/untrusted-ca.pem`, for "untrusted certificate" tests.
pub fn untrusted_ca_file(dir: &Path) -> anyhow::Result<PathBuf> {
    let (ca, _) = new_ca("Wimsy untrusted test CA")?;
    let path = dir.join("untrusted-ca.pem");
    write_file(&path, &ca.pem())?;
    Ok(path)
}

pub(crate) struct TestTls {
    pub(crate) ca_pem: String,
    pub(crate) leaf_pem: String,
    pub(crate) leaf_key_pem: String,
}

impl TestTls {
    /// A new CA and a leaf for [`DOMAIN`] and 127.0.0.1 signed by it.
    pub(crate) fn generate() -> anyhow::Result<Self> {
        use rcgen::{
            CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
        };
        let (ca, issuer) = new_ca("Wimsy test CA")?;
        let mut params = CertificateParams::new(vec![DOMAIN.to_owned(), "127.0.0.1".to_owned()])
            .context("leaf certificate parameters")?;
        params.distinguished_name.push(DnType::CommonName, DOMAIN);
        params.is_ca = IsCa::ExplicitNoCa;
        set_validity(&mut params);
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().context("generating the server key")?;
        let leaf = params
            .signed_by(&key, &issuer)
            .context("signing the server certificate")?;
        Ok(Self {
            ca_pem: ca.pem(),
            leaf_pem: leaf.pem(),
            leaf_key_pem: key.serialize_pem(),
        })
    }
}

fn new_ca(
    name: &str,
) -> anyhow::Result<(rcgen::Certificate, rcgen::Issuer<'static, rcgen::KeyPair>)> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let mut params = CertificateParams::new(Vec::<String>::new()).context("CA parameters")?;
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    set_validity(&mut params);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().context("generating the CA key")?;
    let cert = params.self_signed(&key).context("self-signing the CA")?;
    Ok((cert, Issuer::new(params, key)))
}

/// 2020 to 2049 instead of rcgen's default (1975 to 4096): ejabberd's
/// certificate check (Erlang's pkix) crashes on the year 4096, and dates
/// before 2050 are UTCTime, which every TLS stack reads.
fn set_validity(params: &mut rcgen::CertificateParams) {
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2049, 12, 31);
}
