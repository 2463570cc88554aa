//! SHA-256 fingerprints of certificates, as users read, compare and type
//! them: `SHA256:` then 32 uppercase hex pairs joined by `:`, the form
//! `openssl x509 -fingerprint -sha256` prints, so a server's admin can
//! check it out of band with a tool they already have.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

const PREFIX: &str = "SHA256:";

/// The SHA-256 of a certificate's DER encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

/// Text that is not a SHA-256 fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{input:?} is not a SHA-256 fingerprint ({why}); expected 64 hex digits, optionally in pairs joined by ':' and after \"SHA256:\", as the account's status shows it"
)]
pub struct FingerprintError {
    input: String,
    why: &'static str,
}

impl Fingerprint {
    /// The fingerprint of a DER-encoded certificate.
    pub fn of_der(der: &[u8]) -> Self {
        Self(Sha256::digest(der).into())
    }

    /// Wrap a digest computed elsewhere.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The digest.
    pub fn bytes(&self) -> [u8; 32] {
        self.0
    }

    /// Read the canonical form, or bare hex: any case, with or without the
    /// `SHA256:` prefix and the colons, surrounding spaces ignored.
    pub fn parse(input: &str) -> Result<Self, FingerprintError> {
        let fail = |why| FingerprintError {
            input: input.to_owned(),
            why,
        };
        let text = input.trim();
        let hex = match text.get(..PREFIX.len()) {
            Some(head) if head.eq_ignore_ascii_case(PREFIX) => &text[PREFIX.len()..],
            _ => text,
        };
        if hex.is_empty() {
            return Err(fail("it is empty"));
        }
        // Colons, when used, must separate every pair, so that a mistyped
        // or truncated paste is not silently read as something else.
        let digits: String = if hex.contains(':') {
            if hex.split(':').any(|pair| pair.len() != 2) {
                return Err(fail("colons must separate pairs of hex digits"));
            }
            hex.split(':').collect()
        } else {
            hex.to_owned()
        };
        if !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(fail("it has characters that are not hex digits"));
        }
        if digits.len() != 64 {
            return Err(fail("it does not have 64 hex digits"));
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(digits.as_bytes().chunks(2)) {
            let pair = std::str::from_utf8(pair).map_err(|_| fail("it is not ASCII"))?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| fail("it is not hex"))?;
        }
        Ok(Self(bytes))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PREFIX)?;
        for (i, byte) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{byte:02X}")?;
        }
        Ok(())
    }
}

impl FromStr for Fingerprint {
    type Err = FingerprintError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Fingerprint {
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = u8::try_from(i * 8 + 1).unwrap_or(0);
        }
        Fingerprint::from_bytes(bytes)
    }

    const CANONICAL: &str = "SHA256:01:09:11:19:21:29:31:39:41:49:51:59:61:69:71:79:\
                             81:89:91:99:A1:A9:B1:B9:C1:C9:D1:D9:E1:E9:F1:F9";

    #[test]
    fn formats_as_uppercase_pairs_after_the_prefix() {
        assert_eq!(sample().to_string(), CANONICAL);
        assert_eq!(
            Fingerprint::from_bytes([0xab; 32]).to_string(),
            format!("SHA256:{}", ["AB"; 32].join(":"))
        );
    }

    #[test]
    fn the_digest_is_sha256_of_the_der() {
        // SHA-256 of the empty input, a well-known value.
        assert_eq!(
            Fingerprint::of_der(b"").to_string(),
            "SHA256:E3:B0:C4:42:98:FC:1C:14:9A:FB:F4:C8:99:6F:B9:24:\
             27:AE:41:E4:64:9B:93:4C:A4:95:99:1B:78:52:B8:55"
        );
    }

    #[test]
    fn parses_every_reasonable_spelling() {
        let bare: String = CANONICAL[PREFIX.len()..].replace(':', "");
        for input in [
            CANONICAL.to_owned(),
            CANONICAL.to_lowercase(),
            format!("  {CANONICAL}\n"),
            format!("sha256:{bare}"),
            bare.clone(),
            bare.to_lowercase(),
            CANONICAL[PREFIX.len()..].to_owned(),
        ] {
            assert_eq!(Fingerprint::parse(&input), Ok(sample()), "{input:?}");
        }
        assert_eq!(CANONICAL.parse::<Fingerprint>(), Ok(sample()));
    }

    #[test]
    fn refuses_what_is_not_a_fingerprint() {
        let bare: String = CANONICAL[PREFIX.len()..].replace(':', "");
        for (input, why) in [
            ("", "empty"),
            ("SHA256:", "empty"),
            ("not-a-fingerprint", "not hex digits"),
            (&bare[..62], "64 hex digits"),
            (&format!("{bare}00"), "64 hex digits"),
            (&format!("{}G", &bare[..63]), "not hex digits"),
            (&CANONICAL[..CANONICAL.len() - 3], "64 hex digits"),
            ("SHA256:0:10", "pairs"),
            (&format!("{}::", &CANONICAL), "pairs"),
            (&format!("SHA1:{bare}"), "pairs"),
        ] {
            let err = Fingerprint::parse(input).expect_err(input);
            let message = err.to_string();
            assert!(message.contains(why), "{input:?}: {message}");
            assert!(message.contains("SHA-256 fingerprint"), "{message}");
        }
    }
}
