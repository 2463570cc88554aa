//! SASL: which mechanism, whether to bind it to the TLS channel, and the
//! exchange itself.
//!
//! # Channel binding, and why this is not tokio-xmpp's `client_login`
//!
//! SCRAM (RFC 5802) starts with a GS2 flag: `p=TYPE` binds the login to the
//! TLS channel (a `-PLUS` mechanism), `y` says "I could bind, but you do
//! not seem to offer it", `n` says "I will not bind". A server that offers
//! `-PLUS` must refuse `y` as a downgrade (RFC 5802 §6; Prosody's
//! `util/sasl/scram.lua` does); a server that does not offer it accepts `y`.
//! SCRAM has no way to say *which* binding type a server computes, so a
//! `p=` with a type the server does not know simply fails. XEP-0440 fills
//! that gap with `<sasl-channel-binding/>`, and says a client must not
//! guess without it.
//!
//! The servers we run against show why the guess matters: Debian's
//! ejabberd 23.01 offers `SCRAM-SHA-1-PLUS` without XEP-0440 and computes
//! only `tls-unique`, which does not exist on TLS 1.3, so `p=tls-exporter`
//! there is refused ("Invalid channel binding"); Prosody 0.12 binds only
//! with `tls-unique` too and therefore offers no `-PLUS` at all on TLS 1.3.
//! tokio-xmpp 6's `client_login` binds whenever it is given binding data
//! (with `p=tls-exporter`, advertised or not), falls through to PLAIN when
//! the SCRAM name it built is not offered, and never checks the server's
//! SCRAM signature; hence this module. The rules:
//!
//! - `-PLUS` with `p=tls-exporter` only when the server lists
//!   `tls-exporter` in XEP-0440 and the channel is TLS 1.3 (RFC 9266).
//!   `tls-server-end-point` would work on any TLS version, but the `sasl`
//!   crate cannot send it; `tls-unique` needs TLS 1.2 internals rustls does
//!   not expose.
//! - Otherwise plain SCRAM, with `y` when the server offers neither `-PLUS`
//!   nor XEP-0440 and we could have bound (the downgrade detection RFC 5802
//!   wants), and `n` when it offers binding but no type we can compute (a
//!   `y` would be refused by a server that supports binding; this is also
//!   what the XSF's XEP-0440 discussion settled on). We do not try a
//!   `-PLUS` first and fall back after a refusal: an attacker in the middle
//!   can cause that refusal, so the fallback would protect nothing, and
//!   every refused login counts towards the server's ban of our address
//!   (ejabberd's `mod_fail2ban`).
//! - SCRAM-SHA-256 before SCRAM-SHA-1; PLAIN (over TLS) only when the
//!   server offers no SCRAM at all.
//! - The server's SCRAM signature is checked: a server that cannot prove it
//!   knows the password is not the account's server.

use std::collections::BTreeSet;
use std::fmt;

use futures::{SinkExt, StreamExt};
use sasl::client::Mechanism;
use sasl::client::mechanisms::{Plain, Scram};
use sasl::common::scram::{Sha1, Sha256};
use sasl::common::{ChannelBinding, Credentials};
use tokio_xmpp::xmlstream::{InitiatingStream, ReadError};
use xmpp_parsers::sasl::{self as xsasl, Mechanism as WireMechanism};
use xmpp_parsers::sasl_cb::{SaslChannelBinding, Type as BindingType};

use crate::connect::{Transport, Xml};
use crate::error::{LoginRefusal, SessionError};

/// The hash of a SCRAM mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hash {
    Sha256,
    Sha1,
}

/// The mechanism we log in with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Scram { hash: Hash, plus: bool },
    Plain,
}

impl Method {
    fn wire(self) -> WireMechanism {
        match self {
            Self::Scram {
                hash: Hash::Sha256,
                plus: true,
            } => WireMechanism::ScramSha256Plus,
            Self::Scram {
                hash: Hash::Sha256,
                plus: false,
            } => WireMechanism::ScramSha256,
            Self::Scram {
                hash: Hash::Sha1,
                plus: true,
            } => WireMechanism::ScramSha1Plus,
            Self::Scram {
                hash: Hash::Sha1,
                plus: false,
            } => WireMechanism::ScramSha1,
            Self::Plain => WireMechanism::Plain,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Scram {
                hash: Hash::Sha256,
                plus: true,
            } => "SCRAM-SHA-256-PLUS",
            Self::Scram {
                hash: Hash::Sha256,
                plus: false,
            } => "SCRAM-SHA-256",
            Self::Scram {
                hash: Hash::Sha1,
                plus: true,
            } => "SCRAM-SHA-1-PLUS",
            Self::Scram {
                hash: Hash::Sha1,
                plus: false,
            } => "SCRAM-SHA-1",
            Self::Plain => "PLAIN",
        }
    }
}

/// A mechanism and the GS2 flag it is sent with.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    pub(crate) method: Method,
    /// `TlsExporter` (`p=`), `Unsupported` (`y`) or `None` (`n`).
    pub(crate) binding: ChannelBinding,
}

impl Plan {
    /// The GS2 flag as sent, for logs and tests.
    pub(crate) fn flag(&self) -> &'static str {
        match (self.method, &self.binding) {
            (Method::Plain, _) => "none",
            (_, ChannelBinding::TlsExporter(_)) => "p=tls-exporter",
            (_, ChannelBinding::TlsUnique(_)) => "p=tls-unique",
            (_, ChannelBinding::Unsupported) => "y",
            (_, ChannelBinding::None) => "n",
        }
    }

    pub(crate) fn bound(&self) -> bool {
        matches!(
            self.binding,
            ChannelBinding::TlsExporter(_) | ChannelBinding::TlsUnique(_)
        )
    }
}

// The binding data is a secret of the TLS session: keep it out of logs.
impl fmt::Debug for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plan")
            .field("mechanism", &self.method.name())
            .field("gs2", &self.flag())
            .finish()
    }
}

/// Choose by the rules in the module docs. `exporter` is the RFC 9266
/// `tls-exporter` value, present only on TLS 1.3.
pub(crate) fn choose(
    offered: &BTreeSet<String>,
    advertised: Option<&SaslChannelBinding>,
    exporter: Option<Vec<u8>>,
) -> Option<Plan> {
    let has = |name: &str| offered.contains(name);
    let plus_offered = offered
        .iter()
        .any(|m| m.starts_with("SCRAM-") && m.ends_with("-PLUS"));
    let agreed = advertised.is_some_and(|cb| cb.types.contains(&BindingType::TlsExporter));
    if agreed && let Some(data) = exporter.as_ref() {
        for (hash, name) in [
            (Hash::Sha256, "SCRAM-SHA-256-PLUS"),
            (Hash::Sha1, "SCRAM-SHA-1-PLUS"),
        ] {
            if has(name) {
                return Some(Plan {
                    method: Method::Scram { hash, plus: true },
                    binding: ChannelBinding::TlsExporter(data.clone()),
                });
            }
        }
    }
    let binding = if plus_offered || advertised.is_some() || exporter.is_none() {
        ChannelBinding::None
    } else {
        ChannelBinding::Unsupported
    };
    for (hash, name) in [(Hash::Sha256, "SCRAM-SHA-256"), (Hash::Sha1, "SCRAM-SHA-1")] {
        if has(name) {
            return Some(Plan {
                method: Method::Scram { hash, plus: false },
                binding,
            });
        }
    }
    let scram_offered = offered.iter().any(|m| m.starts_with("SCRAM-"));
    (!scram_offered && has("PLAIN")).then_some(Plan {
        method: Method::Plain,
        binding: ChannelBinding::None,
    })
}

/// Run the SASL exchange of `plan`; on success the stream awaits its reset.
pub(crate) async fn login(
    mut stream: Xml,
    plan: Plan,
    username: String,
    password: String,
) -> Result<InitiatingStream<Transport>, SessionError> {
    let bound = plan.bound();
    let credentials = Credentials::default()
        .with_username(username)
        .with_password(password)
        .with_channel_binding(plan.binding.clone());
    let refused = |refusal| SessionError::Authentication {
        refusal,
        text: None,
        bound,
    };
    let mut mechanism: Box<dyn Mechanism + Send> = match plan.method {
        Method::Scram {
            hash: Hash::Sha256, ..
        } => Box::new(
            Scram::<Sha256>::from_credentials(credentials)
                .map_err(|_| refused(LoginRefusal::ClientFailed))?,
        ),
        Method::Scram {
            hash: Hash::Sha1, ..
        } => Box::new(
            Scram::<Sha1>::from_credentials(credentials)
                .map_err(|_| refused(LoginRefusal::ClientFailed))?,
        ),
        Method::Plain => Box::new(
            Plain::from_credentials(credentials)
                .map_err(|_| refused(LoginRefusal::ClientFailed))?,
        ),
    };
    let initial = mechanism.initial();
    stream
        .send(&xsasl::Auth {
            mechanism: plan.method.wire(),
            data: initial,
        })
        .await?;
    let mut answered = false;
    // PLAIN proves nothing about the server; SCRAM must.
    let mut proven = matches!(plan.method, Method::Plain);
    loop {
        let el = match stream.next().await {
            Some(Ok(el)) => el,
            Some(Err(ReadError::SoftTimeout)) | Some(Err(ReadError::ParseError(_))) => continue,
            Some(Err(ReadError::HardError(e))) => return Err(SessionError::Io(e)),
            Some(Err(ReadError::StreamFooterReceived)) | None => return Err(SessionError::Closed),
        };
        if el.is("error", xmpp_parsers::ns::STREAM) {
            return Err(crate::names::stream_error_element(el));
        }
        match xsasl::Nonza::try_from(el) {
            Ok(xsasl::Nonza::Challenge(challenge)) if !answered => {
                let data = mechanism
                    .response(&challenge.data)
                    .map_err(|_| refused(LoginRefusal::ServerUnproven))?;
                answered = true;
                stream.send(&xsasl::Response { data }).await?;
            }
            // Some servers send SCRAM's final message as a challenge and
            // an empty success after it.
            Ok(xsasl::Nonza::Challenge(challenge)) => {
                mechanism
                    .success(&challenge.data)
                    .map_err(|_| refused(LoginRefusal::ServerUnproven))?;
                proven = true;
                stream.send(&xsasl::Response { data: Vec::new() }).await?;
            }
            Ok(xsasl::Nonza::Success(success)) => {
                if !success.data.is_empty() {
                    mechanism
                        .success(&success.data)
                        .map_err(|_| refused(LoginRefusal::ServerUnproven))?;
                    proven = true;
                }
                if !proven {
                    return Err(refused(LoginRefusal::ServerUnproven));
                }
                tracing::debug!(
                    mechanism = plan.method.name(),
                    gs2 = plan.flag(),
                    "logged in"
                );
                return Ok(stream.initiate_reset());
            }
            Ok(xsasl::Nonza::Failure(failure)) => {
                return Err(SessionError::Authentication {
                    refusal: LoginRefusal::Sasl(failure.defined_condition),
                    text: failure.texts.into_values().next().filter(|t| !t.is_empty()),
                    bound,
                });
            }
            Ok(other) => {
                tracing::debug!(?other, "ignoring a SASL element we did not expect");
            }
            Err(_) => tracing::debug!("ignoring an element during login"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    fn cb(types: Vec<BindingType>) -> SaslChannelBinding {
        SaslChannelBinding { types }
    }

    fn plan(
        names: &[&str],
        advertised: Option<SaslChannelBinding>,
        tls13: bool,
    ) -> Option<(&'static str, &'static str)> {
        choose(
            &offered(names),
            advertised.as_ref(),
            tls13.then(|| vec![7; 32]),
        )
        .map(|p| (p.method.name(), p.flag()))
    }

    #[test]
    fn ejabberd_23_offers_plus_without_xep_0440_so_we_do_not_bind_and_say_n() {
        let ejabberd = ["PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-1-PLUS", "X-OAUTH2"];
        assert_eq!(plan(&ejabberd, None, true), Some(("SCRAM-SHA-1", "n")));
        assert_eq!(plan(&ejabberd, None, false), Some(("SCRAM-SHA-1", "n")));
    }

    #[test]
    fn prosody_on_tls_13_offers_no_plus_so_we_say_y() {
        let prosody = ["PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256"];
        assert_eq!(plan(&prosody, None, true), Some(("SCRAM-SHA-256", "y")));
        // Without binding data we could not have bound: `n`.
        assert_eq!(plan(&prosody, None, false), Some(("SCRAM-SHA-256", "n")));
    }

    #[test]
    fn an_advertised_tls_exporter_on_tls_13_binds() {
        let names = ["SCRAM-SHA-1", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS"];
        let both = cb(vec![
            BindingType::TlsServerEndPoint,
            BindingType::TlsExporter,
        ]);
        assert_eq!(
            plan(&names, Some(both.clone()), true),
            Some(("SCRAM-SHA-256-PLUS", "p=tls-exporter"))
        );
        // TLS 1.2: no exporter value we trust; the server supports binding,
        // so not `y`.
        assert_eq!(plan(&names, Some(both), false), Some(("SCRAM-SHA-1", "n")));
        // Only types we cannot compute.
        let other = cb(vec![BindingType::TlsUnique, BindingType::TlsServerEndPoint]);
        assert_eq!(plan(&names, Some(other), true), Some(("SCRAM-SHA-1", "n")));
    }

    #[test]
    fn never_plain_while_scram_is_offered() {
        assert_eq!(
            plan(&["PLAIN", "SCRAM-SHA-1-PLUS"], None, true),
            None,
            "only a -PLUS we may not use, and PLAIN: refuse rather than downgrade"
        );
        assert_eq!(plan(&["PLAIN"], None, true), Some(("PLAIN", "none")));
        assert_eq!(plan(&["X-OAUTH2"], None, true), None);
    }

    #[test]
    fn the_gs2_header_the_sasl_crate_sends_matches_the_flag() {
        for (binding, header) in [
            (ChannelBinding::None, &b"n,,"[..]),
            (ChannelBinding::Unsupported, b"y,,"),
            (ChannelBinding::TlsExporter(vec![1]), b"p=tls-exporter,,"),
        ] {
            let credentials = Credentials::default()
                .with_username("alice")
                .with_password("pw")
                .with_channel_binding(binding.clone());
            let mut scram = Scram::<Sha1>::from_credentials(credentials).unwrap();
            assert!(scram.initial().starts_with(header));
            let plus = matches!(binding, ChannelBinding::TlsExporter(_));
            assert_eq!(scram.name().ends_with("-PLUS"), plus);
        }
    }
}
