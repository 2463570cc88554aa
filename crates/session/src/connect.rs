//! One connection attempt: DNS, TCP, STARTTLS with our own TLS config, SASL,
//! resource binding and XEP-0198 enable. Everything that can fail here is
//! turned into a [`SessionError`] that says whether retrying can help.

use std::borrow::Cow;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use minidom::Element;
use tokio::io::BufStream;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_xmpp::connect::DnsConfig;
use tokio_xmpp::xmlstream::{self, ReadError, RecvFeaturesError, StreamHeader, XmlStream};
use xmpp_parsers::bind::{BindQuery, BindResponse};
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::FullJid;
use xmpp_parsers::ns;
use xmpp_parsers::sm;
use xmpp_parsers::stanza_error::DefinedCondition as StanzaCondition;
use xmpp_parsers::starttls;

use crate::config::{AccountConfig, ServerOverride, Timeouts};
use crate::error::LoginRefusal;
use crate::error::SessionError;
use crate::login;
use crate::names::{resolve_words, stanza_words, stream_error};
use crate::tls;

pub(crate) type Transport = BufStream<TlsStream<TcpStream>>;
pub(crate) type Xml = XmlStream<Transport, Element>;

/// XEP-0198 state of a freshly enabled stream.
#[derive(Debug, Clone)]
pub(crate) struct Enabled {
    pub(crate) id: Option<String>,
    pub(crate) location: Option<String>,
    pub(crate) resume: bool,
}

/// A stream that is logged in and bound, ready for stanzas.
pub(crate) struct LoggedIn {
    pub(crate) stream: Xml,
    pub(crate) jid: FullJid,
    /// `None` when the server does not offer stream management.
    pub(crate) sm: Option<Enabled>,
    /// The server offers XEP-0352 client state indication.
    pub(crate) csi: bool,
    /// Elements that arrived while we waited for bind or enable.
    pub(crate) early: Vec<Element>,
}

/// An authenticated stream, before bind or resume.
pub(crate) struct Authenticated {
    pub(crate) stream: Xml,
    sm_offered: bool,
    csi: bool,
}

/// What a `<resume/>` led to.
pub(crate) enum Resumption {
    /// The old session goes on; the server had handled `h` of our stanzas.
    Resumed { stream: Xml, h: u32, csi: bool },
    /// The server no longer knows the session (`h`, if it said, is how many
    /// of our stanzas it handled). The stream is still authenticated: bind
    /// on it for a fresh session.
    Failed {
        authenticated: Authenticated,
        h: Option<u32>,
        condition: String,
    },
}

/// Run `work` within the login timeout.
pub(crate) async fn within_login<T>(
    timeouts: &Timeouts,
    work: impl std::future::Future<Output = Result<T, SessionError>>,
) -> Result<T, SessionError> {
    match tokio::time::timeout(timeouts.login, work).await {
        Ok(result) => result,
        Err(_) => Err(SessionError::Timeout {
            step: "connecting and logging in",
            after: timeouts.login,
        }),
    }
}

async fn dial(
    account: &AccountConfig,
    location: Option<&ServerOverride>,
) -> Result<(TcpStream, String), SessionError> {
    let domain = account.jid.domain().as_str();
    match location.or(account.server.as_ref()) {
        Some(server) => {
            let addrs: Vec<_> = tokio::net::lookup_host((server.host.as_str(), server.port))
                .await
                .map_err(|e| SessionError::Resolve {
                    host: server.host.clone(),
                    detail: crate::names::io_words(&e),
                })?
                .collect();
            let mut last = None;
            for addr in addrs {
                match TcpStream::connect(addr).await {
                    Ok(tcp) => return Ok((tcp, addr.to_string())),
                    Err(e) => last = Some((addr.to_string(), e)),
                }
            }
            Err(match last {
                Some((addr, source)) => SessionError::Tcp { addr, source },
                None => SessionError::Resolve {
                    host: server.host.clone(),
                    detail: "its name has no address".to_owned(),
                },
            })
        }
        None => {
            let tcp = DnsConfig::srv_default_client(domain)
                .resolve()
                .await
                .map_err(|e| match e {
                    // The lookup found addresses; connecting to them failed.
                    tokio_xmpp::Error::Io(source) => SessionError::Tcp {
                        addr: domain.to_owned(),
                        source,
                    },
                    other => SessionError::Resolve {
                        host: domain.to_owned(),
                        detail: resolve_words(&other),
                    },
                })?;
            let peer = tcp
                .peer_addr()
                .map(|a| a.to_string())
                .unwrap_or_else(|_| domain.to_owned());
            Ok((tcp, peer))
        }
    }
}

fn header(domain: &str) -> StreamHeader<'_> {
    StreamHeader {
        to: Some(Cow::Borrowed(domain)),
        from: None,
        id: None,
    }
}

fn xml_timeouts(timeouts: &Timeouts) -> xmlstream::Timeouts {
    xmlstream::Timeouts {
        read_timeout: timeouts.idle_probe,
        response_timeout: timeouts.probe_answer,
    }
}

fn features_error(e: RecvFeaturesError) -> SessionError {
    match e {
        RecvFeaturesError::Io(e) => SessionError::Io(e),
        RecvFeaturesError::StreamError(e) => stream_error(&e.0),
    }
}

/// Dial (the resume `location` if the server gave one), STARTTLS and SASL.
pub(crate) async fn authenticate(
    account: &AccountConfig,
    timeouts: &Timeouts,
    location: Option<&ServerOverride>,
) -> Result<Authenticated, SessionError> {
    let domain = account.jid.domain().as_str().to_owned();
    let tls_config = tls::client_config(account)?;
    let (tcp, peer) = dial(account, location).await?;
    tracing::debug!(account = %account.jid, %peer, "tcp connected");
    // Nagle delays our small stanzas behind delayed ACKs; chat wants latency.
    tcp.set_nodelay(true).ok();
    let xml_timeouts = xml_timeouts(timeouts);

    let plain = xmlstream::initiate_stream(
        BufStream::new(tcp),
        ns::JABBER_CLIENT,
        header(&domain),
        xml_timeouts,
    )
    .await?;
    let (features, mut plain) = plain
        .recv_features::<Element>()
        .await
        .map_err(features_error)?;
    if !features.can_starttls() {
        return Err(SessionError::NoStartTls { host: domain });
    }
    plain.send(&starttls::Request).await?;
    loop {
        match plain.next().await {
            Some(Ok(el)) if el.is("proceed", ns::TLS) => break,
            Some(Ok(el)) if el.is("failure", ns::TLS) => {
                return Err(SessionError::Protocol(format!(
                    "{domain} refused to start encryption (STARTTLS)"
                )));
            }
            Some(Ok(_))
            | Some(Err(ReadError::SoftTimeout))
            | Some(Err(ReadError::ParseError(_))) => {}
            Some(Err(ReadError::HardError(e))) => return Err(SessionError::Io(e)),
            Some(Err(ReadError::StreamFooterReceived)) | None => return Err(SessionError::Closed),
        }
    }
    let tcp = plain.into_inner().into_inner();
    let server_name = ServerName::try_from(domain.clone()).map_err(|_| {
        SessionError::Protocol(format!("{domain} is not a name a certificate can be for"))
    })?;
    let tls_stream = TlsConnector::from(tls_config)
        .connect(server_name, tcp)
        .await
        .map_err(|e| tls::classify_handshake_error(&domain, &account.jid.to_string(), e))?;
    let exporter = tls_exporter(&tls_stream);

    let secure = xmlstream::initiate_stream(
        BufStream::new(tls_stream),
        ns::JABBER_CLIENT,
        header(&domain),
        xml_timeouts,
    )
    .await?;
    let (features, secure) = secure
        .recv_features::<Element>()
        .await
        .map_err(features_error)?;
    let username = account
        .jid
        .node()
        .map(|n| n.as_str().to_owned())
        .ok_or_else(|| {
            SessionError::Protocol(format!(
                "the account's address {} has no user name",
                account.jid
            ))
        })?;
    let plan = login::choose(
        &features.sasl_mechanisms,
        features.sasl_cb.as_ref(),
        exporter,
    )
    .ok_or(SessionError::Authentication {
        refusal: LoginRefusal::NoMechanism,
        text: None,
        bound: false,
    })?;
    tracing::debug!(account = %account.jid, offered = ?features.sasl_mechanisms, ?plan, "logging in");
    let authed = login::login(secure, plan, username, account.password.expose().to_owned()).await?;
    tracing::debug!(account = %account.jid, "authenticated");
    let (features, stream) = authed
        .send_header(header(&domain))
        .await?
        .recv_features::<Element>()
        .await
        .map_err(features_error)?;
    Ok(Authenticated {
        stream,
        sm_offered: features.stream_management.is_some(),
        csi: features.others.iter().any(|f| f.is("csi", ns::CSI)),
    })
}

/// Bind a resource and enable stream management: a fresh session.
pub(crate) async fn establish(
    authenticated: Authenticated,
    resource: Option<String>,
) -> Result<LoggedIn, SessionError> {
    let Authenticated {
        mut stream,
        sm_offered,
        csi,
    } = authenticated;
    let mut early = Vec::new();
    let jid = bind(&mut stream, resource, &mut early).await?;
    let sm = if sm_offered {
        enable_sm(&mut stream, &mut early).await?
    } else {
        None
    };
    Ok(LoggedIn {
        stream,
        jid,
        sm,
        csi,
        early,
    })
}

/// Ask the server to resume stream `previd`, of which we handled `h`
/// stanzas. Any `<failed/>`, with or without `h`, ends the attempt at once.
pub(crate) async fn resume(
    authenticated: Authenticated,
    previd: &str,
    h: u32,
) -> Result<Resumption, SessionError> {
    let Authenticated {
        mut stream,
        sm_offered,
        csi,
    } = authenticated;
    if !sm_offered {
        return Ok(Resumption::Failed {
            authenticated: Authenticated {
                stream,
                sm_offered,
                csi,
            },
            h: None,
            condition: "the server no longer offers stream management".to_owned(),
        });
    }
    let request = sm::Resume {
        h,
        previd: sm::StreamId(previd.to_owned()),
    };
    stream.send(&request).await?;
    loop {
        let el = next_element(&mut stream).await?;
        match sm_answer(el) {
            Ok(SmAnswer::Resumed(resumed)) => {
                return Ok(Resumption::Resumed {
                    stream,
                    h: resumed.h,
                    csi,
                });
            }
            Ok(SmAnswer::Failed { h, condition }) => {
                let condition = condition
                    .as_ref()
                    .map(stanza_words)
                    .unwrap_or("no reason given")
                    .to_owned();
                return Ok(Resumption::Failed {
                    authenticated: Authenticated {
                        stream,
                        sm_offered,
                        csi,
                    },
                    h,
                    condition,
                });
            }
            Ok(SmAnswer::Enabled(_)) => {
                tracing::debug!("ignoring <enabled/> while resuming");
            }
            Err(el) => tracing::debug!(name = el.name(), "ignoring an element while resuming"),
        }
    }
}

/// A stream-management answer while logging in, typed.
enum SmAnswer {
    Enabled(sm::Enabled),
    Resumed(sm::Resumed),
    Failed {
        h: Option<u32>,
        condition: Option<StanzaCondition>,
    },
}

/// `el` as a stream-management answer, or `el` back if it is none.
fn sm_answer(el: Element) -> Result<SmAnswer, Element> {
    if el.ns() != ns::SM {
        return Err(el);
    }
    match sm::Nonza::try_from(el.clone()) {
        Ok(sm::Nonza::Enabled(enabled)) => Ok(SmAnswer::Enabled(enabled)),
        Ok(sm::Nonza::Resumed(resumed)) => Ok(SmAnswer::Resumed(resumed)),
        Ok(sm::Nonza::Failed(failed)) => Ok(SmAnswer::Failed {
            h: failed.h,
            condition: failed.error,
        }),
        // xmpp-parsers 0.23 requires `h` on <failed/>; XEP-0198 makes it
        // optional, and servers leave it out when they no longer know the
        // session (Prosody after a restart). The condition is still typed.
        Err(_) if el.is("failed", ns::SM) => Ok(SmAnswer::Failed {
            h: None,
            condition: el
                .children()
                .find_map(|c| StanzaCondition::try_from(c.clone()).ok()),
        }),
        _ => Err(el),
    }
}

/// The RFC 9266 `tls-exporter` channel binding value, defined for TLS 1.3
/// only (on TLS 1.2 it is safe only with the extended master secret, which
/// rustls does not let us check).
fn tls_exporter(tls_stream: &TlsStream<TcpStream>) -> Option<Vec<u8>> {
    let (_, connection) = tls_stream.get_ref();
    if connection.protocol_version() != Some(rustls::ProtocolVersion::TLSv1_3) {
        return None;
    }
    connection
        .export_keying_material(vec![0u8; 32], b"EXPORTER-Channel-Binding", None)
        .ok()
}

/// Read the next element, keeping anything unrelated for later.
async fn next_element(stream: &mut Xml) -> Result<Element, SessionError> {
    loop {
        match stream.next().await {
            Some(Ok(el)) => {
                if el.is("error", ns::STREAM) {
                    return Err(crate::names::stream_error_element(el));
                }
                return Ok(el);
            }
            Some(Err(ReadError::SoftTimeout)) => continue,
            Some(Err(ReadError::ParseError(e))) => {
                tracing::debug!("unparsable element during login: {e}");
                continue;
            }
            Some(Err(ReadError::HardError(e))) => return Err(SessionError::Io(e)),
            Some(Err(ReadError::StreamFooterReceived)) | None => return Err(SessionError::Closed),
        }
    }
}

async fn bind(
    stream: &mut Xml,
    resource: Option<String>,
    early: &mut Vec<Element>,
) -> Result<FullJid, SessionError> {
    let id = "bind-1";
    stream
        .send(&Iq::from_set(id, BindQuery::new(resource)))
        .await?;
    loop {
        let el = next_element(stream).await?;
        if !el.is("iq", ns::DEFAULT_NS) || el.attr("id") != Some(id) {
            early.push(el);
            continue;
        }
        let iq = Iq::try_from(el).map_err(|_| {
            SessionError::Protocol("its answer to binding a resource is malformed".to_owned())
        })?;
        return match iq {
            Iq::Result {
                payload: Some(payload),
                ..
            } => BindResponse::try_from(payload).map(|r| r.jid).map_err(|_| {
                SessionError::Protocol("its answer to binding a resource is malformed".to_owned())
            }),
            Iq::Error { error, .. } => Err(SessionError::Protocol(format!(
                "it refused to bind a resource: {}",
                stanza_words(&error.defined_condition)
            ))),
            _ => Err(SessionError::Protocol(
                "its answer to binding a resource is malformed".to_owned(),
            )),
        };
    }
}

async fn enable_sm(
    stream: &mut Xml,
    early: &mut Vec<Element>,
) -> Result<Option<Enabled>, SessionError> {
    stream.send(&sm::Enable::new().with_resume()).await?;
    loop {
        let el = next_element(stream).await?;
        match sm_answer(el) {
            Ok(SmAnswer::Enabled(enabled)) => {
                return Ok(Some(Enabled {
                    id: enabled.id.map(|id| id.0),
                    location: enabled.location,
                    resume: enabled.resume,
                }));
            }
            Ok(SmAnswer::Failed { .. }) => {
                // A server may refuse SM; the session works without it,
                // only without acks.
                tracing::info!("the server refused stream management; continuing without acks");
                return Ok(None);
            }
            Ok(SmAnswer::Resumed(_)) => tracing::debug!("ignoring <resumed/> while enabling"),
            Err(el) => early.push(el),
        }
    }
}

/// How long we wait for the server's footer after sending ours.
pub(crate) async fn close(stream: &mut Xml, wait: Duration) {
    let closing = async {
        if stream.shutdown().await.is_err() {
            return;
        }
        while let Some(item) = stream.next().await {
            if matches!(
                item,
                Err(ReadError::StreamFooterReceived) | Err(ReadError::HardError(_))
            ) {
                break;
            }
        }
    };
    if tokio::time::timeout(wait, closing).await.is_err() {
        tracing::debug!("the server did not close the stream in time; dropping it");
    }
}
