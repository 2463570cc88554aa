//! What the user can do about a state, in wimsyctl's own commands. wimsyd's
//! reasons say what happened and are the same for every frontend; each
//! frontend adds how to act in its own terms. Only human output carries
//! these: `--json` stays the protocol's values.

use wimsy_ipc::{ConnectionError, ConnectionState, ConnectionStatus};

use super::{inline, shell_word};

/// The command that helps `jid` out of `status`, in words; `None` when
/// there is nothing to do or wimsyd's reason already says it.
pub fn hint(jid: &str, status: &ConnectionStatus) -> Option<String> {
    // An older wimsyd put its own advice in the reason.
    if status.reason.contains("`wimsyctl ") {
        return None;
    }
    let jid = shell_word(jid);
    match (status.state, status.error) {
        (ConnectionState::Error, Some(ConnectionError::Certificate)) => {
            Some(match status.fingerprint.as_deref().map(str::trim) {
                Some(fp) if !fp.is_empty() => format!(
                    "if this is your server, check the fingerprint {} out of band (ask its admin, or run \
                     `openssl x509 -fingerprint -sha256` on the server), then trust it with \
                     `wimsyctl account trust {jid} {}`; or remove the account and add it again with \
                     --ca-file naming the CA that signed the certificate",
                    inline(fp),
                    shell_word(fp)
                ),
                _ => "remove the account and add it again with --ca-file naming the CA that \
                      signed the server's certificate"
                    .to_owned(),
            })
        }
        (ConnectionState::Error, Some(ConnectionError::Authentication)) => Some(format!(
            "set the right password with `wimsyctl account password {jid}`"
        )),
        (ConnectionState::Error, Some(ConnectionError::Stream)) => {
            Some(format!("`wimsyctl connect {jid}` logs in again"))
        }
        (ConnectionState::WaitingForNetwork, _) => {
            Some(format!("`wimsyctl connect {jid}` tries again now"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(kind: ConnectionError, reason: &str) -> ConnectionStatus {
        ConnectionStatus {
            error: Some(kind),
            ..ConnectionStatus::new(ConnectionState::Error, reason)
        }
    }

    #[test]
    fn each_actionable_state_names_its_command() {
        let a = "a@example.org";
        let mut cert = error(ConnectionError::Certificate, "not trusted");
        cert.fingerprint = Some("SHA256:AB:CD".into());
        let text = hint(a, &cert).unwrap();
        assert!(
            text.contains("`wimsyctl account trust a@example.org SHA256:AB:CD`")
                && text.contains("out of band")
                && text.contains("--ca-file"),
            "{text}"
        );
        cert.fingerprint = None;
        assert!(hint(a, &cert).unwrap().contains("--ca-file"));
        assert_eq!(
            hint(a, &error(ConnectionError::Authentication, "refused")).unwrap(),
            "set the right password with `wimsyctl account password a@example.org`"
        );
        let waiting = ConnectionStatus::new(
            ConnectionState::WaitingForNetwork,
            "gave up after 9 attempts",
        );
        assert_eq!(
            hint(a, &waiting).unwrap(),
            "`wimsyctl connect a@example.org` tries again now"
        );
        assert!(hint(a, &error(ConnectionError::Stream, "conflict")).is_some());
    }

    #[test]
    fn no_hint_when_there_is_nothing_to_do_or_it_is_already_said() {
        let a = "a@example.org";
        for state in [
            ConnectionState::Connected,
            ConnectionState::Connecting,
            ConnectionState::Offline,
            ConnectionState::Unknown,
        ] {
            assert_eq!(hint(a, &ConnectionStatus::new(state, "x")), None);
        }
        assert_eq!(hint(a, &error(ConnectionError::Other, "odd")), None);
        let old = error(
            ConnectionError::Authentication,
            "refused; `wimsyctl account add` it again",
        );
        assert_eq!(hint(a, &old), None);
    }
}
