//! Scenario 10: a heavy user's size. 1,000 contacts, 500 chats and
//! 1,000,000 stored messages: how long an attach and a history page take,
//! what a message costs on disk and what the idle daemon holds.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use wimsy_ipc::{Role, Snapshot};
use wimsy_store::{Delivery, Direction, NewMessage, Store};

use super::attach::{attach_raw, wait_for_roster};
use super::fill::{Rng, STORE_FILE, store_bytes};
use super::harness::{Account, Ctx, Daemon, blocking, ms, server};
use super::history::{PAGE, Probe, bench_build, deep_cursor, median_text};
use super::peer::Peer;
use super::preset::Preset;
use super::rawconn::RawConn;
use super::report::{Row, num};
use super::scale::idle_memory;

pub(crate) const TITLE: &str = "10. Heavy user";

pub(crate) const METHOD: &str = "\
One Prosody with alice. Before the daemon starts, a slixmpp peer logged in\n\
as alice adds 1,000 roster items (`contact0@localhost`...; subscription\n\
`none`) and logs out, so the daemon fetches a 1,000-contact roster at\n\
login; and the daemon's store is filled through the store's own API with\n\
1,000,000 messages in 500 chats (with contact0 to contact499). Each\n\
message goes to chat k with probability proportional to 1/(k+1) (Zipf, as\n\
a few conversations hold most of a person's history): the largest chat\n\
holds about 147,000 messages, the smallest about 300. Messages look as in\n\
scenario 4 (both directions, the sender of a chat changing with\n\
probability 0.35, timestamps 1 to 300 s apart, bodies of pseudo-random\n\
words of about 64 bytes, a UUID origin-id and stanza-id on each). They are\n\
stored with `Store::insert_batch`, 10,000 per transaction (the daemon's\n\
path for a batch of messages; one transaction per message, as scenario 4\n\
fills, would take many minutes for a million); the fill time is in the\n\
notes. Every chat is marked read (`Store::mark_read`) before the last\n\
2,000 messages, so the chats have a few unread messages each, as after a\n\
day away. The daemon (default preset) starts on that store, alice is\n\
added and connected, her archive catch-up has finished and a `roster`\n\
request returns the 1,000 contacts. Attach: as in scenario 5 by hand, a\n\
new connection each time (connect, `hello`, `subscribe`) until the\n\
snapshot's last byte has been read; each snapshot is checked afterwards\n\
(one account, 1,000 contacts, 500 chats, every unread count the one the\n\
fill left). History: as in scenario 4, in the largest chat, the newest\n\
page (50) and a page 99 % deep (with `--quick`, 100 messages from the\n\
oldest), taking turns. One untimed run of each\n\
kind first, then 30 timed ones. Store size per message: the size of\n\
`wimsy.sqlite3` plus its `-wal` file right after the fill, store closed,\n\
over 1,000,000. Idle memory: after all that, every IPC connection is\n\
closed and the daemon is left idle for 5 s, read from `/proc` once a\n\
second as in scenario 7 (VmRSS the figure, RssAnon and VmHWM in the\n\
notes); it includes SQLite's page cache as the attaches and pages left\n\
it. The daemon's start (spawn until its socket answers) on the filled\n\
store is in the notes. There is no side-by-side peer for this row:\n\
Profanity keeps its history in a SQLite database of its own, but filling\n\
it with a million messages and timing its window's scrolling is not\n\
comparable with an IPC request, so no peer figure is given.\n\
\n\
`--quick` fills 20,000 messages in 50 chats with 100 contacts, and times\n\
5 runs of each.";

/// The sizes and repetitions of a run.
struct Plan {
    contacts: usize,
    chats: usize,
    messages: usize,
    runs: usize,
}

fn plan(ctx: &Ctx) -> Plan {
    if ctx.quick {
        Plan {
            contacts: 100,
            chats: 50,
            messages: 20_000,
            runs: 5,
        }
    } else {
        Plan {
            contacts: 1_000,
            chats: 500,
            messages: 1_000_000,
            runs: 30,
        }
    }
}

/// Messages per transaction of the fill.
const BATCH: usize = 10_000;
/// Messages stored after every chat was marked read.
fn unread_tail(messages: usize) -> usize {
    messages / 500
}
/// Seconds of idle before and while memory is read.
const IDLE_SECS: u32 = 5;

pub(crate) async fn run(ctx: &Ctx) -> Result<Vec<Row>> {
    let plan = plan(ctx);
    let prosody = server(&["alice"])?;
    let alice = prosody.jid("alice");
    let mut peer = Peer::start(&prosody, "alice", "alice-pw").await?;
    let roster_started = Instant::now();
    peer.add_roster("contact", plan.contacts).await?;
    let roster_took = roster_started.elapsed();
    peer.quit().await?;

    let peers: Vec<String> = (0..plan.chats)
        .map(|k| prosody.jid(&format!("contact{k}")))
        .collect();
    let mut filled = None;
    let started = Instant::now();
    let daemon = Daemon::start_prepared(ctx, "heavy", Preset::Default, None, |dir| {
        let path = dir.join(STORE_FILE);
        filled = Some(blocking(|| fill(&path, &alice, &peers, plan.messages))?);
        Ok(())
    })
    .await?;
    let filled = filled.context("the store was not filled")?;
    let daemon_start = started.elapsed().saturating_sub(filled.took);
    let Account {
        daemon,
        watch,
        mut client,
        jid,
        ..
    } = Account::on(daemon, &prosody, "alice").await?;
    if jid != alice {
        bail!("the daemon's account is {jid}, not {alice}");
    }
    wait_for_roster(&mut client, plan.contacts).await?;

    let expected = Expected {
        contacts: plan.contacts,
        peers: &peers,
        unread: &filled.unread,
    };
    let mut attach = Vec::with_capacity(plan.runs);
    let mut decode = Vec::new();
    let mut snapshot_bytes = 0;
    for run in 0..=plan.runs {
        let raw = attach_raw(daemon.socket()).await?;
        expected.check(&raw.snapshot)?;
        if run == 0 {
            snapshot_bytes = raw.frame_bytes;
        } else {
            attach.push(ms(raw.received));
            decode.push(ms(raw.decode));
        }
    }

    let big = &peers[0];
    let big_n = filled.big_chat.len();
    // Two pages short of the oldest at least, so the deep page is full and
    // announces an older one (the quick fill's largest chat is small).
    let target = (big_n * 99 / 100).min(big_n.saturating_sub(2 * PAGE as usize));
    let paging_started = Instant::now();
    let (cursor, pages) = deep_cursor(&mut client, &alice, big, target).await?;
    let paging = paging_started.elapsed();
    let newest_id = filled
        .big_chat
        .last()
        .context("the largest chat is empty")?;
    let deep_id = filled
        .big_chat
        .get(big_n - 1 - target)
        .context("the deep message is not in the fill")?;
    let mut conn = RawConn::attach(daemon.socket(), Role::Gui).await?;
    let mut newest = Probe::new("the newest page", None, newest_id);
    let mut deep = Probe::new("the deep page", Some(cursor), deep_id);
    for round in 0..=plan.runs {
        let id = 2 * round as u64 + 100;
        newest.ask(&mut conn, &alice, big, id, round > 0).await?;
        deep.ask(&mut conn, &alice, big, id + 1, round > 0).await?;
    }

    // Idle as with no window open: no connection at all.
    drop((conn, client, watch));
    let memory = idle_memory(&daemon, IDLE_SECS).await?;

    let n = plan.messages;
    let (main, wal) = filled.bytes;
    let per_message = (main + wal) as f64 / n as f64;
    let head = format!(
        "{TITLE}, {} contacts, {} chats, {n} msgs",
        plan.contacts, plan.chats
    );
    Ok(vec![
        Row::new(
            format!("{head}: attach → snapshot"),
            "ms",
            attach,
            format!(
                "new connection each run: connect, hello, subscribe, until the answer's last \
                 byte; snapshot {:.1} kB as a frame ({} unread in {} chats); decoding it here \
                 ({}) took median {} ms more; after 1 untimed",
                snapshot_bytes as f64 / 1000.0,
                filled.unread.iter().sum::<u32>(),
                filled.unread.iter().filter(|&&u| u > 0).count(),
                bench_build(),
                median_text(&decode)
            ),
        ),
        Row::new(
            format!("{head}: newest page ({PAGE}) of the largest chat ({big_n} msgs)"),
            "ms",
            newest.times,
            format!(
                "request written → answer read, after 1 untimed; decoding median {} ms more",
                median_text(&newest.decode)
            ),
        ),
        Row::new(
            format!("{head}: page 99 % deep ({PAGE}) in the largest chat"),
            "ms",
            deep.times,
            format!(
                "`before` = the cursor {target} messages back, found by paging ({pages} pages, \
                 {:.0} ms in all, untimed); decoding median {} ms more",
                ms(paging),
                median_text(&deep.decode)
            ),
        ),
        Row::new(
            format!("{head}: store size per message"),
            "B",
            vec![per_message],
            format!(
                "{:.1} MB (main file {main} B + WAL {wal} B, after the fill, store closed); mean \
                 body {} B; filled by Store::insert_batch, {BATCH} per transaction, in {:.1} s \
                 ({} msg/s); the daemon then started in {:.0} ms (spawn → socket answers); the \
                 peer added the {} roster items in {:.1} s",
                (main + wal) as f64 / 1e6,
                num(filled.mean_body),
                filled.took.as_secs_f64(),
                num(n as f64 / filled.took.as_secs_f64().max(1e-6)),
                ms(daemon_start),
                plan.contacts,
                roster_took.as_secs_f64()
            ),
        ),
        Row::new(
            format!("{head}: idle daemon VmRSS"),
            "MB",
            memory.rss_mb.clone(),
            format!(
                "{}; after the attaches and pages above, no IPC connection open",
                memory.notes()
            ),
        ),
    ])
}

/// What every snapshot must hold.
struct Expected<'a> {
    contacts: usize,
    peers: &'a [String],
    unread: &'a [u32],
}

impl Expected<'_> {
    fn check(&self, snapshot: &Snapshot) -> Result<()> {
        let [account] = snapshot.accounts.as_slice() else {
            bail!(
                "the snapshot has {} accounts, not 1",
                snapshot.accounts.len()
            );
        };
        if account.contacts.len() != self.contacts || account.chats.len() != self.peers.len() {
            bail!(
                "the snapshot has {} contacts and {} chats, not {} and {}",
                account.contacts.len(),
                account.chats.len(),
                self.contacts,
                self.peers.len()
            );
        }
        let unread: std::collections::HashMap<&str, u32> = account
            .chats
            .iter()
            .map(|c| (c.peer.as_str(), c.unread))
            .collect();
        for (peer, &want) in self.peers.iter().zip(self.unread) {
            match unread.get(peer.as_str()) {
                Some(&got) if got == want => {}
                Some(&got) => {
                    bail!("the snapshot counts {got} unread with {peer}, the fill left {want}")
                }
                None => bail!("the snapshot has no chat with {peer}"),
            }
        }
        Ok(())
    }
}

/// What filling the store gave.
struct Filled {
    took: Duration,
    mean_body: f64,
    /// Main file and `-wal` file, after closing.
    bytes: (u64, u64),
    /// The largest chat's origin-ids in time order.
    big_chat: Vec<String>,
    /// Each chat's unread count at the end.
    unread: Vec<u32>,
}

/// One message before it is stored (owned; the batch borrows from these).
struct Pending {
    chat: usize,
    incoming: bool,
    body: String,
    origin_id: String,
    stanza_id: String,
    timestamp_ms: i64,
}

/// Stores `n` messages with `peers`, chat k drawn with weight 1/(k+1),
/// [`BATCH`] per transaction; every chat is marked read before the last
/// [`unread_tail`].
fn fill(path: &Path, account: &str, peers: &[String], n: usize) -> Result<Filled> {
    let mut rng = Rng::new(0x4ea7_1001);
    let mut store = Store::open(path).with_context(|| format!("opening {}", path.display()))?;
    let cumulative: Vec<f64> = (1..=peers.len())
        .scan(0.0, |sum, k| {
            *sum += 1.0 / k as f64;
            Some(*sum)
        })
        .collect();
    let total = cumulative.last().copied().context("no chats to fill")?;
    let mut incoming = vec![true; peers.len()];
    let mut unread = vec![0u32; peers.len()];
    let mut big_chat = Vec::new();
    let mut body_bytes = 0usize;
    let mut timestamp_ms: i64 = 1_600_000_000_000;
    let read_at = n - unread_tail(n);
    let started = Instant::now();
    let mut done = 0;
    while done < n {
        if done == read_at {
            for peer in peers {
                store
                    .mark_read(account, peer)
                    .context("marking a chat read")?;
            }
            unread.fill(0);
        }
        let end = (done + BATCH).min(n);
        let end = if done < read_at {
            end.min(read_at)
        } else {
            end
        };
        let pending: Vec<Pending> = (done..end)
            .map(|_| {
                let u = rng.unit() * total;
                let chat = cumulative.partition_point(|&c| c < u).min(peers.len() - 1);
                if rng.chance(0.35) {
                    incoming[chat] = !incoming[chat];
                }
                timestamp_ms += 1_000 + rng.below(299_000) as i64;
                Pending {
                    chat,
                    incoming: incoming[chat],
                    body: rng.body(),
                    origin_id: rng.uuid(),
                    stanza_id: rng.uuid(),
                    timestamp_ms,
                }
            })
            .collect();
        let batch: Vec<NewMessage<'_>> = pending
            .iter()
            .map(|p| {
                let (direction, delivery) = if p.incoming {
                    (Direction::In, Delivery::Received)
                } else {
                    (Direction::Out, Delivery::Acked)
                };
                NewMessage {
                    account,
                    peer: &peers[p.chat],
                    direction,
                    body: &p.body,
                    timestamp_ms: p.timestamp_ms,
                    origin_id: Some(&p.origin_id),
                    stanza_id: Some(&p.stanza_id),
                    delivery,
                    marker_id: None,
                    archived: false,
                }
            })
            .collect();
        let stored = store
            .insert_batch(&batch, None)
            .context("filling the store")?;
        if let Some(at) = stored.inserted.iter().position(|i| !i.is_new()) {
            bail!(
                "filling the store: message {} was taken for a duplicate",
                done + at
            );
        }
        for p in pending {
            body_bytes += p.body.len();
            if p.incoming {
                unread[p.chat] += 1;
            }
            if p.chat == 0 {
                big_chat.push(p.origin_id);
            }
        }
        done = end;
    }
    drop(store);
    Ok(Filled {
        took: started.elapsed(),
        mean_body: body_bytes as f64 / n.max(1) as f64,
        bytes: store_bytes(path)?,
        big_chat,
        unread,
    })
}
