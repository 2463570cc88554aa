//! Checking an address (a bare JID) as typed, so a typo gets a plain
//! answer at once instead of a round trip and a daemon error. Pure.

use std::net::IpAddr;

/// The longest localpart or domainpart a JID may have (RFC 7622).
const MAX_PART_BYTES: usize = 1023;

/// Characters RFC 7622 keeps out of a localpart (`@` and `/` have their own
/// messages).
const NOT_IN_USER_NAME: [char; 5] = ['"', '&', '\'', '<', '>'];

/// The address trimmed, or what is wrong with it.
pub fn check_address(value: &str) -> Result<String, String> {
    let jid = value.trim();
    if jid.is_empty() {
        return Err("Type an address, like alice@example.org.".to_owned());
    }
    if jid.chars().any(char::is_whitespace) {
        return Err(format!("“{jid}” has a space in it; an address has none."));
    }
    let Some((user, domain)) = jid.split_once('@') else {
        return Err(format!(
            "“{jid}” has no “@”: an address looks like alice@example.org."
        ));
    };
    if let Some((_, device)) = domain.split_once('/') {
        return Err(format!(
            "Leave out “/{device}”: type only the address, like alice@example.org."
        ));
    }
    if user.contains('/') {
        return Err("The user name cannot contain “/”.".to_owned());
    }
    if domain.contains('@') {
        return Err(format!("“{jid}” has more than one “@”."));
    }
    if user.is_empty() {
        return Err(format!(
            "“{jid}” has no user name before the “@”: an address looks like alice@example.org."
        ));
    }
    if domain.is_empty() {
        return Err(format!(
            "“{jid}” has no server name after the “@”: an address looks like alice@example.org."
        ));
    }
    if let Some(c) = user.chars().find(|c| NOT_IN_USER_NAME.contains(c)) {
        return Err(format!("The user name cannot contain “{c}”."));
    }
    if domain.contains(':') {
        return Err(format!(
            "An address has no port: leave out “:{}”.",
            domain.rsplit_once(':').map_or("", |(_, port)| port)
        ));
    }
    if !is_host(domain) {
        return Err(format!(
            "“{domain}” is not a server name: it may contain letters, digits, hyphens and dots."
        ));
    }
    if user.len() > MAX_PART_BYTES || domain.len() > MAX_PART_BYTES {
        return Err("This address is too long to be an XMPP address.".to_owned());
    }
    Ok(jid.to_owned())
}

/// An IP address, or a name made of letters (any script), digits, hyphens,
/// underscores and dots.
pub fn is_host(host: &str) -> bool {
    if host.parse::<IpAddr>().is_ok() {
        return true;
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && label
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_addresses_pass_trimmed() {
        assert_eq!(
            check_address(" bob@example.org "),
            Ok("bob@example.org".to_owned())
        );
        assert_eq!(
            check_address("Älice@bücher.example"),
            Ok("Älice@bücher.example".to_owned())
        );
        assert_eq!(check_address("a@127.0.0.1"), Ok("a@127.0.0.1".to_owned()));
    }

    #[test]
    fn each_mistake_in_the_address_gets_its_own_words() {
        let cases = [
            ("", "Type an address"),
            ("alice", "has no “@”"),
            ("alice example.org", "has a space"),
            ("@example.org", "no user name before the “@”"),
            ("alice@", "no server name after the “@”"),
            ("alice@example.org/phone", "Leave out “/phone”"),
            ("a@b@example.org", "more than one “@”"),
            ("a<b@example.org", "cannot contain “<”"),
            ("alice@example.org:5222", "leave out “:5222”"),
            ("alice@exa!mple.org", "is not a server name"),
            ("alice@example..org", "is not a server name"),
        ];
        for (jid, expected) in cases {
            let error = check_address(jid).expect_err(jid);
            assert!(error.contains(expected), "{jid:?}: {error}");
            assert!(!error.contains("Jid") && !error.contains('{'), "{error}");
        }
        let long = format!("{}@example.org", "a".repeat(1024));
        assert!(check_address(&long).is_err());
    }
}
