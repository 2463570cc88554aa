//! Where a process's resident memory is, mapping by mapping, from
//! `/proc/PID/smaps`: the pages of its own binary, of each shared library,
//! and of its own anonymous memory, with their proportional share (Pss:
//! a page shared by N processes counts 1/N). Linux only.

use std::collections::BTreeMap;

use anyhow::{Context, Result};

/// Resident memory of one group of mappings.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Part {
    pub(crate) rss_kib: u64,
    pub(crate) pss_kib: u64,
}

/// A process's resident memory by what is mapped.
#[derive(Debug, Clone, Default)]
pub(crate) struct Breakdown {
    /// By file name (the binary, each library), and `anonymous` for heap,
    /// stacks and anonymous mappings, `[vdso]` and the like by their name.
    pub(crate) parts: BTreeMap<String, Part>,
}

impl Breakdown {
    pub(crate) fn total(&self) -> Part {
        self.parts.values().fold(Part::default(), |acc, p| Part {
            rss_kib: acc.rss_kib + p.rss_kib,
            pss_kib: acc.pss_kib + p.pss_kib,
        })
    }

    /// The biggest parts by Rss, then the rest summed, in words for a
    /// note: `wimsyd 8.1 MB (Pss 8.1), anonymous 1.7 MB (1.7), …`.
    pub(crate) fn summary(&self, top: usize) -> String {
        let mut parts: Vec<(&String, &Part)> = self.parts.iter().collect();
        parts.sort_by(|a, b| b.1.rss_kib.cmp(&a.1.rss_kib).then(a.0.cmp(b.0)));
        let mut words: Vec<String> = parts
            .iter()
            .take(top)
            .map(|(name, p)| format!("{name} {} MB (Pss {})", mb(p.rss_kib), mb(p.pss_kib)))
            .collect();
        let rest = parts
            .iter()
            .skip(top)
            .fold(Part::default(), |acc, (_, p)| Part {
                rss_kib: acc.rss_kib + p.rss_kib,
                pss_kib: acc.pss_kib + p.pss_kib,
            });
        if parts.len() > top {
            words.push(format!(
                "{} more {} MB (Pss {})",
                parts.len() - top,
                mb(rest.rss_kib),
                mb(rest.pss_kib)
            ));
        }
        words.join(", ")
    }
}

fn mb(kib: u64) -> String {
    format!("{:.2}", kib as f64 / 1024.0)
}

pub(crate) fn read(pid: u32) -> Result<Breakdown> {
    let path = format!("/proc/{pid}/smaps");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    Ok(parse(&text))
}

/// A mapping's header line has an address range first; its fields follow
/// as `Name: value kB` lines.
pub(crate) fn parse(text: &str) -> Breakdown {
    let mut breakdown = Breakdown::default();
    let mut current = String::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let Some(first) = words.next() else {
            continue;
        };
        if first.contains('-') && !first.ends_with(':') {
            // address perms offset dev inode [path]
            let path = words.nth(4).unwrap_or("");
            current = match path {
                "" => "anonymous".to_owned(),
                "[heap]" | "[stack]" => "anonymous".to_owned(),
                p if p.starts_with('[') => p.to_owned(),
                p => p.rsplit('/').next().unwrap_or(p).to_owned(),
            };
            continue;
        }
        let mut value = || {
            words
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        match first {
            "Rss:" => breakdown.parts.entry(current.clone()).or_default().rss_kib += value(),
            "Pss:" => breakdown.parts.entry(current.clone()).or_default().pss_kib += value(),
            _ => {}
        }
    }
    breakdown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mappings_are_grouped_by_file_and_anonymous_memory_together() {
        let text = "\
55d0c0000000-55d0c0100000 r-xp 00000000 fd:01 123 /usr/bin/wimsyd
Size:               1024 kB
Rss:                 800 kB
Pss:                 800 kB
55d0c0200000-55d0c0300000 r--p 00100000 fd:01 123 /usr/bin/wimsyd
Rss:                 100 kB
Pss:                 100 kB
55d0c1000000-55d0c1100000 rw-p 00000000 00:00 0                          [heap]
Rss:                 300 kB
Pss:                 300 kB
7f0000000000-7f0000100000 rw-p 00000000 00:00 0 
Rss:                 200 kB
Pss:                 200 kB
7f0000200000-7f0000300000 r-xp 00000000 fd:01 456 /usr/lib/x86_64-linux-gnu/libc.so.6
Rss:                 700 kB
Pss:                  90 kB
7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0                          [vdso]
Rss:                   4 kB
Pss:                   0 kB
";
        let b = parse(text);
        assert_eq!(
            b.parts["wimsyd"],
            Part {
                rss_kib: 900,
                pss_kib: 900
            }
        );
        assert_eq!(
            b.parts["anonymous"],
            Part {
                rss_kib: 500,
                pss_kib: 500
            }
        );
        assert_eq!(
            b.parts["libc.so.6"],
            Part {
                rss_kib: 700,
                pss_kib: 90
            }
        );
        assert_eq!(
            b.parts["[vdso]"],
            Part {
                rss_kib: 4,
                pss_kib: 0
            }
        );
        assert_eq!(
            b.total(),
            Part {
                rss_kib: 2104,
                pss_kib: 1490
            }
        );
        assert_eq!(
            b.summary(2),
            "wimsyd 0.88 MB (Pss 0.88), libc.so.6 0.68 MB (Pss 0.09), 2 more 0.49 MB (Pss 0.49)"
        );
    }
}
