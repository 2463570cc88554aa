//! A minimal blocking XMPP login (STARTTLS, then SASL), for checks inside
//! the harness and in tests, and the rules for test account names and
//! passwords.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use base64::Engine as _;

use crate::DOMAIN;
pub(crate) fn check_login(
    addr: SocketAddr,
    ca_file: &Path,
    user: &str,
    password: &str,
) -> anyhow::Result<bool> {
    let (mut tls, features) = starttls(addr, ca_file)?;
    let header = stream_header();
    if !features.contains(">PLAIN<") {
        bail!("server does not offer SASL PLAIN: {features}");
    }
    let creds = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
    tls.write_all(
        format!("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{creds}</auth>")
            .as_bytes(),
    )?;
    let outcome = read_until(&mut tls, &["<success", "<failure"]).context("SASL outcome")?;
    let success = outcome.contains("<success");
    // Best effort: close politely. After <success/> the stream must be
    // restarted, so a bare </stream:stream> would be not-well-formed there.
    let _ = tls.write_all(if success {
        header.as_bytes()
    } else {
        b"</stream:stream>"
    });
    if success {
        let _ = tls.write_all(b"</stream:stream>");
    }
    tls.conn.send_close_notify();
    let _ = tls.flush();
    Ok(success)
}

/// The SASL mechanisms the server offers after STARTTLS, in its order.
pub(crate) fn offered_mechanisms(addr: SocketAddr, ca_file: &Path) -> anyhow::Result<Vec<String>> {
    let (mut tls, features) = starttls(addr, ca_file)?;
    let _ = tls.write_all(b"</stream:stream>");
    tls.conn.send_close_notify();
    let _ = tls.flush();
    Ok(features
        .split("<mechanism>")
        .skip(1)
        .filter_map(|rest| rest.split_once("</mechanism>"))
        .map(|(name, _)| name.to_owned())
        .collect())
}

fn stream_header() -> String {
    format!(
        "<?xml version='1.0'?><stream:stream to='{DOMAIN}' version='1.0' \
         xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
    )
}

/// Connects, upgrades with STARTTLS (verified against `ca_file` with
/// rustls, like a real client), restarts the stream and returns the TLS
/// stream with the features that followed.
fn starttls(
    addr: SocketAddr,
    ca_file: &Path,
) -> anyhow::Result<(
    rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
    String,
)> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, ServerName};

    const TIMEOUT: Duration = Duration::from_secs(5);
    let header = stream_header();
    let mut tcp = TcpStream::connect_timeout(&addr, TIMEOUT).context("connecting")?;
    tcp.set_read_timeout(Some(TIMEOUT))?;
    tcp.set_write_timeout(Some(TIMEOUT))?;
    tcp.set_nodelay(true)?;
    tcp.write_all(header.as_bytes())?;
    let features = read_until(&mut tcp, &["</stream:features>"]).context("stream features")?;
    if !features.contains("urn:ietf:params:xml:ns:xmpp-tls") {
        bail!("server does not offer STARTTLS: {features}");
    }
    tcp.write_all(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")?;
    let answer = read_until(&mut tcp, &["<proceed", "<failure"]).context("STARTTLS answer")?;
    if !answer.contains("<proceed") {
        bail!("STARTTLS refused: {answer}");
    }

    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(ca_file)
        .map_err(|e| anyhow!("reading {}: {e:?}", ca_file.display()))?;
    for cert in certs {
        let cert = cert.map_err(|e| anyhow!("parsing {}: {e:?}", ca_file.display()))?;
        roots.add(cert).context("adding the CA to the root store")?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let conn = rustls::ClientConnection::new(Arc::new(config), ServerName::try_from(DOMAIN)?)?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);

    tls.write_all(header.as_bytes()).context("TLS handshake")?;
    let features = read_until(&mut tls, &["</stream:features>"]).context("features after TLS")?;
    Ok((tls, features))
}

/// Reads until one of `needles` appears, then keeps reading until the
/// element is complete enough to inspect (the next `>`).
fn read_until(stream: &mut impl Read, needles: &[&str]) -> anyhow::Result<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            bail!(
                "connection closed; got so far: {}",
                String::from_utf8_lossy(&buf)
            );
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        for needle in needles {
            if text.find(needle).is_some_and(|at| text[at..].contains('>')) {
                return Ok(text.into_owned());
            }
        }
        if buf.len() > 1 << 20 {
            bail!("no {needles:?} in the first MiB");
        }
    }
}

pub(crate) fn check_user(user: &str) -> anyhow::Result<()> {
    if user.is_empty()
        || user
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "@/\"&'<>:".contains(c))
    {
        bail!("unsupported test username {user:?}");
    }
    Ok(())
}

pub(crate) fn check_password(password: &str) -> anyhow::Result<()> {
    if password.is_empty() || password.contains(['\n', '\r', '\0']) {
        bail!("test passwords must be non-empty and single-line");
    }
    Ok(())
}

/// Opens a TCP connection, sends a stream header and waits for the
/// server's stream features (which must offer STARTTLS), then closes the
/// stream: proof that the server speaks XMPP on `addr`, not only that its
/// port accepts connections.
pub(crate) fn probe_stream(addr: SocketAddr, timeout: Duration) -> anyhow::Result<()> {
    let header = format!(
        "<?xml version='1.0'?><stream:stream to='{DOMAIN}' version='1.0' \
         xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
    );
    let mut tcp = TcpStream::connect_timeout(&addr, timeout).context("connecting")?;
    tcp.set_read_timeout(Some(timeout))?;
    tcp.set_write_timeout(Some(timeout))?;
    tcp.write_all(header.as_bytes())?;
    let features = read_until(&mut tcp, &["</stream:features>"]).context("stream features")?;
    if !features.contains("urn:ietf:params:xml:ns:xmpp-tls") {
        bail!("the server does not offer STARTTLS: {features}");
    }
    let _ = tcp.write_all(b"</stream:stream>");
    Ok(())
}
