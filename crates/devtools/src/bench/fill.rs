//! Filling a daemon's store before it starts: deterministic messages that
//! look like real ones, stored through the store's own API.

use std::path::Path;

use anyhow::{Context, Result, anyhow};
use wimsy_store::{Delivery, Direction, Inserted, NewMessage, Store};

/// The daemon's store file in its data directory.
pub(super) const STORE_FILE: &str = "wimsy.sqlite3";

/// Store one message the way the daemon has it once caught up with the
/// server: a body, the sender's origin-id and the server's stanza-id;
/// incoming ones received, outgoing ones acked. Its origin-id and body
/// length.
pub(super) fn insert_like_received(
    store: &mut Store,
    rng: &mut Rng,
    account: &str,
    peer: &str,
    incoming: bool,
    timestamp_ms: i64,
) -> Result<(Inserted, String, usize)> {
    let body = rng.body();
    let origin_id = rng.uuid();
    let stanza_id = rng.uuid();
    let (direction, delivery) = if incoming {
        (Direction::In, Delivery::Received)
    } else {
        (Direction::Out, Delivery::Acked)
    };
    let inserted = store
        .insert_message(&NewMessage {
            account,
            peer,
            direction,
            body: &body,
            timestamp_ms,
            origin_id: Some(&origin_id),
            stanza_id: Some(&stanza_id),
            delivery,
            marker_id: None,
            archived: false,
        })
        .context("filling the store")?;
    Ok((inserted, origin_id, body.len()))
}

/// The sizes of the store's main file and its `-wal` file (0 if absent).
pub(super) fn store_bytes(path: &Path) -> Result<(u64, u64)> {
    let main = std::fs::metadata(path)
        .with_context(|| format!("reading the size of {}", path.display()))?
        .len();
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let wal = match std::fs::metadata(&wal) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(anyhow!(e).context("reading the size of the store's WAL")),
    };
    Ok((main, wal))
}

/// A small deterministic generator (SplitMix64): the same store every run
/// without a dependency.
pub(super) struct Rng(u64);

const WORDS: &[&str] = &[
    "ok", "yes", "no", "I", "you", "we", "the", "a", "to", "and", "is", "it", "that", "for", "on",
    "with", "at", "this", "be", "are", "was", "have", "not", "just", "so", "but", "what", "when",
    "can", "will", "do", "think", "know", "see", "get", "going", "time", "today", "tomorrow",
    "tonight", "later", "now", "meeting", "call", "lunch", "dinner", "train", "late", "sorry",
    "thanks", "great", "sounds", "good", "maybe", "sure", "let", "me", "check", "again", "here",
    "there", "home", "office", "code", "build", "release", "bug", "fixed", "server", "link",
    "photo", "weekend", "coffee", "back", "soon", "haha", "really", "about", "from", "minutes",
    "Alice", "Bob", "Berlin", "Friday", "9:30", "2", "15", "😀", "👍", "café", "naïve",
];

impl Rng {
    pub(super) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0; the bias is negligible for small n).
    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// Uniform in (0, 1].
    pub(super) fn unit(&mut self) -> f64 {
        ((self.next() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }

    pub(super) fn chance(&mut self, p: f64) -> bool {
        self.unit() <= p
    }

    /// A version 4 UUID in its 36-character form, as clients make
    /// origin-ids and Prosody makes archive (stanza) ids.
    pub(super) fn uuid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            8 + (b >> 62),
            (b >> 48) & 0xfff,
            b & 0xffff_ffff_ffff
        )
    }

    /// A chat message: words, 10 to 300 bytes, most of them short (10 + an
    /// exponential with mean 55).
    pub(super) fn body(&mut self) -> String {
        let len = (10.0 - self.unit().ln() * 55.0).min(300.0) as usize;
        let mut body = String::with_capacity(len + 16);
        while body.len() < len {
            if !body.is_empty() {
                body.push(if self.chance(0.08) { '\n' } else { ' ' });
            }
            let word = WORDS[self.below(WORDS.len() as u64) as usize];
            body.push_str(word);
            if self.chance(0.1) {
                body.push(['.', ',', '?', '!'][self.below(4) as usize]);
            }
        }
        // Cut at a character boundary at or below `len`; a multi-byte word
        // at the end may make it a few bytes shorter.
        let mut cut = len.min(body.len());
        while !body.is_char_boundary(cut) {
            cut -= 1;
        }
        body.truncate(cut);
        let trimmed = body.trim_end().len();
        body.truncate(trimmed);
        if body.len() < len {
            body.push('.');
        }
        body
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn bodies_and_ids_look_real() {
        let mut rng = Rng::new(1);
        let mut total = 0;
        for _ in 0..10_000 {
            let body = rng.body();
            assert!((6..=300).contains(&body.len()), "{} bytes", body.len());
            assert_eq!(body.trim(), body);
            total += body.len();
        }
        let mean = total as f64 / 10_000.0;
        assert!((55.0..80.0).contains(&mean), "mean {mean}");
        let id = rng.uuid();
        assert_eq!(id.len(), 36);
        assert_eq!(id.as_bytes()[14], b'4');
        assert!(
            matches!(id.as_bytes()[19], b'8' | b'9' | b'a' | b'b'),
            "{id}"
        );
    }
}
