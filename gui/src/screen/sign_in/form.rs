//! What the sign-in form checks before anything is sent, so a typo gets a
//! plain answer at once instead of a round trip and a daemon error. Pure.

use std::net::Ipv6Addr;

use wimsy_ipc::Secret;

use crate::screen::address::{check_address, is_host};

/// What the user typed, as typed.
#[derive(Clone)]
pub struct Form {
    pub jid: String,
    pub password: Secret,
    pub server: String,
    pub port: String,
}

impl Default for Form {
    fn default() -> Self {
        Self {
            jid: String::new(),
            password: Secret::new(""),
            server: String::new(),
            port: String::new(),
        }
    }
}

/// A form that passed the checks, ready for `account_add`.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// The bare JID, trimmed.
    pub jid: String,
    /// `host`, `host:port` or `[v6]:port`, when the user gave a server or a
    /// port.
    pub server: Option<String>,
}

impl Form {
    /// The form's values ready to send, or what to correct first.
    pub fn check(&self) -> Result<Checked, String> {
        let jid = self.jid.trim();
        if jid.is_empty() {
            return Err("Type your address, like alice@example.org.".to_owned());
        }
        if jid
            .rsplit_once('@')
            .is_some_and(|(_, domain)| domain.contains(':'))
        {
            return Err(
                "Type the address without a port; if your server needs one, put it under Port."
                    .to_owned(),
            );
        }
        let jid = check_address(jid)?;
        if self.password.expose().is_empty() {
            return Err("Type your password.".to_owned());
        }
        let domain = jid.split_once('@').map_or("", |(_, domain)| domain);
        let server = check_server(domain, &self.server, &self.port)?;
        Ok(Checked { jid, server })
    }
}

/// The server override to send: `None` when both fields are empty; a port
/// alone dials the address's own domain on that port.
pub fn check_server(domain: &str, server: &str, port: &str) -> Result<Option<String>, String> {
    let server = server.trim();
    let port = port.trim();
    let port = match port {
        "" => None,
        port => match port.parse::<u16>() {
            Ok(number) if number > 0 => Some(number),
            _ => {
                return Err(format!(
                    "The port “{port}” must be a number from 1 to 65535; most servers use 5222."
                ));
            }
        },
    };
    let host = match server {
        "" => None,
        server if server.parse::<Ipv6Addr>().is_ok() => Some(format!("[{server}]")),
        server if server.contains(':') => {
            return Err("Type the server without a port, and the port under Port.".to_owned());
        }
        server if is_host(server) => Some(server.to_owned()),
        server => {
            return Err(format!(
                "“{server}” is neither a server name nor an IP address."
            ));
        }
    };
    Ok(match (host, port) {
        (None, None) => None,
        // A bare IPv6 address without a port goes as it was typed.
        (Some(host), None) => Some(host.trim_matches(['[', ']']).to_owned()),
        (Some(host), Some(port)) => Some(format!("{host}:{port}")),
        (None, Some(port)) => Some(format!("{domain}:{port}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(jid: &str, password: &str, server: &str, port: &str) -> Form {
        Form {
            jid: jid.to_owned(),
            password: Secret::new(password),
            server: server.to_owned(),
            port: port.to_owned(),
        }
    }

    #[test]
    fn a_plain_address_passes_trimmed() {
        assert_eq!(
            form("  alice@example.org ", "pw", "", "").check(),
            Ok(Checked {
                jid: "alice@example.org".to_owned(),
                server: None
            })
        );
    }

    #[test]
    fn the_address_gets_sign_in_words() {
        let problem = |jid: &str| form(jid, "pw", "", "").check().expect_err(jid);
        assert_eq!(problem(" "), "Type your address, like alice@example.org.");
        assert!(problem("alice@example.org:5222").contains("put it under Port"));
        assert!(problem("alice").contains("has no “@”"));
    }

    #[test]
    fn an_empty_password_is_asked_for() {
        assert_eq!(
            form("a@example.org", "", "", "").check(),
            Err("Type your password.".to_owned())
        );
    }

    #[test]
    fn server_and_port_make_one_override() {
        let d = "example.org";
        assert_eq!(check_server(d, "", ""), Ok(None));
        assert_eq!(
            check_server(d, " xmpp.example.org ", ""),
            Ok(Some("xmpp.example.org".to_owned()))
        );
        assert_eq!(
            check_server(d, "xmpp.example.org", "5223"),
            Ok(Some("xmpp.example.org:5223".to_owned()))
        );
        assert_eq!(
            check_server(d, "", "5223"),
            Ok(Some("example.org:5223".to_owned()))
        );
        assert_eq!(
            check_server(d, "::1", "5222"),
            Ok(Some("[::1]:5222".to_owned()))
        );
        assert_eq!(check_server(d, "::1", ""), Ok(Some("::1".to_owned())));
        assert_eq!(
            check_server(d, "127.0.0.1", "15222"),
            Ok(Some("127.0.0.1:15222".to_owned()))
        );
    }

    #[test]
    fn bad_servers_and_ports_say_what_is_allowed() {
        let d = "example.org";
        for port in ["0", "65536", "abc", "-1"] {
            let error = check_server(d, "", port).expect_err(port);
            assert!(error.contains("from 1 to 65535"), "{error}");
        }
        assert!(
            check_server(d, "host:5222", "")
                .expect_err("colon")
                .contains("under Port")
        );
        assert!(
            check_server(d, "no such host", "")
                .expect_err("spaces")
                .contains("neither a server name nor an IP address")
        );
        assert!(form("a@example.org", "pw", "", "x").check().is_err());
    }
}
