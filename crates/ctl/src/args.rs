//! Arguments checked before wimsyd is asked: a malformed JID or fingerprint
//! is a usage error (exit 2), said by clap with the argument's name. wimsyd
//! checks them again for clients that do not.

use std::time::Duration;

/// A bare JID with a user part, `user@example.org`, as wimsyd wants it.
pub fn bare_jid(text: &str) -> Result<String, String> {
    let jid = jid::BareJid::new(text.trim())
        .map_err(|e| format!("not a valid JID ({e}); a JID looks like user@example.org"))?;
    if jid.node().is_none() {
        return Err("it has no user part; a JID looks like user@example.org".into());
    }
    Ok(jid.to_string())
}

/// One's own availability: `available`, `away` or `dnd` (do not disturb).
pub fn show(text: &str) -> Result<wimsy_ipc::Show, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "available" => Ok(wimsy_ipc::Show::Available),
        "away" => Ok(wimsy_ipc::Show::Away),
        "dnd" => Ok(wimsy_ipc::Show::Dnd),
        _ => Err("expected available, away or dnd (do not disturb)".into()),
    }
}

/// A SHA-256 fingerprint, as `wimsyctl status` shows it (`SHA256:AB:CD:...`)
/// or as bare hex in any case; returned in the shown form.
pub fn fingerprint(text: &str) -> Result<String, String> {
    const PREFIX: &str = "SHA256:";
    const EXPECTED: &str = "expected SHA256: then 64 hex digits in pairs joined by ':', as `wimsyctl status` shows it, or the 64 hex digits alone";
    let text = text.trim();
    let hex = match text.get(..PREFIX.len()) {
        Some(head) if head.eq_ignore_ascii_case(PREFIX) => &text[PREFIX.len()..],
        _ => text,
    };
    // Colons, when used, must separate every pair, so that a truncated
    // paste is not read as something else.
    let digits: String = if hex.contains(':') {
        if hex.split(':').any(|pair| pair.len() != 2) {
            return Err(format!(
                "colons must separate pairs of hex digits; {EXPECTED}"
            ));
        }
        hex.split(':').collect()
    } else {
        hex.to_owned()
    };
    if !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!(
            "it has characters that are not hex digits; {EXPECTED}"
        ));
    }
    if digits.len() != 64 {
        return Err(format!(
            "it has {} hex digits, not 64; {EXPECTED}",
            digits.len()
        ));
    }
    let pairs: Vec<String> = digits
        .to_ascii_uppercase()
        .as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).into_owned())
        .collect();
    Ok(format!("{PREFIX}{}", pairs.join(":")))
}

/// A wait of 1 to 3600 whole seconds.
pub fn wait_seconds(text: &str) -> Result<Duration, String> {
    match text.trim().parse::<u64>() {
        Ok(secs @ 1..=3600) => Ok(Duration::from_secs(secs)),
        _ => Err("give a whole number of seconds from 1 to 3600".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FP: &str = "SHA256:3A:7B:1C:5D:9E:0F:21:43:65:87:A9:CB:ED:0F:12:34:56:78:9A:BC:DE:F0:11:22:33:44:55:66:77:88:99:AA";

    #[test]
    fn jids_need_a_user_and_a_domain() {
        assert_eq!(bare_jid("alice@example.org").unwrap(), "alice@example.org");
        assert_eq!(
            bare_jid(" alice@example.org ").unwrap(),
            "alice@example.org"
        );
        for bad in [
            "not a jid",
            "example.org",
            "@example.org",
            "a@",
            "",
            "a@b/c",
        ] {
            assert!(bare_jid(bad).is_err(), "{bad:?}");
        }
        assert!(
            bare_jid("example.org")
                .unwrap_err()
                .contains("no user part")
        );
    }

    #[test]
    fn fingerprints_in_any_accepted_form_come_out_canonical() {
        assert_eq!(fingerprint(FP).unwrap(), FP);
        let bare: String = FP["SHA256:".len()..].replace(':', "").to_lowercase();
        assert_eq!(fingerprint(&bare).unwrap(), FP);
        assert_eq!(fingerprint(&format!("sha256:{bare}")).unwrap(), FP);
        for bad in [
            "",
            "SHA256:AB:CD",
            "xyz",
            &FP[..FP.len() - 1],
            &format!("{FP}:00"),
        ] {
            assert!(fingerprint(bad).is_err(), "{bad:?}");
        }
        assert!(fingerprint("SHA256:AB:CD").unwrap_err().contains("not 64"));
    }

    #[test]
    fn waits_are_whole_seconds() {
        assert_eq!(wait_seconds("5").unwrap(), Duration::from_secs(5));
        for bad in ["0", "-1", "1.5", "3601", "soon"] {
            assert!(wait_seconds(bad).is_err(), "{bad:?}");
        }
    }
}
