//! Scenario 4: paging back through a long conversation. How long does a
//! frontend wait for a page of history, at the newest end and deep in a
//! 100,000-message chat, and what does a message cost on disk?

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use wimsy_ipc::{ChatMessage, Client, ClientFrame, Request, Response, Role, encode_frame};
use wimsy_store::Store;

use super::fill::{Rng, STORE_FILE, insert_like_received, store_bytes};
use super::harness::{Account, Ctx, Daemon, STEP, blocking, ms, server};
use super::preset::Preset;
use super::rawconn::RawConn;
use super::report::{Row, median, num};

pub(crate) const TITLE: &str = "4. History";

pub(crate) const METHOD: &str = "\
Before the daemon starts, its store (`wimsy.sqlite3` in its data\n\
directory) is filled through the store's own API (`Store::insert_message`,\n\
one transaction per message, as the daemon stores each message it\n\
receives) with N messages (100,000; 10,000 with `--quick`) in one chat\n\
between alice@localhost and bob@localhost: both directions (the sender\n\
changes with probability 0.35 from one message to the next), timestamps\n\
1 to 300 s apart, bodies of pseudo-random words (fixed seed, a few of them\n\
emoji or accented) 10 to 300 bytes long (10 + an exponential with mean 55,\n\
capped: about 64 bytes on average), and on every message a 36-character\n\
UUID origin-id and a 36-character UUID stanza-id, as a message carries once\n\
the server's archive has been caught up with (incoming `received`,\n\
outgoing `acked`). The fill time is in the notes; it is not a figure (the\n\
benchmark, and so the SQLite compiled into it, is a dev build). Then a\n\
Prosody with alice and bob, the daemon (default preset) on that store,\n\
alice added and connected, her archive catch-up finished. A separate IPC\n\
connection (role `gui`, after its `hello`) asks `history` (alice, bob,\n\
limit 50), one request at a time: the time is from just before the\n\
request frame (encoded beforehand) is written to the socket until the\n\
last byte of the answer has been read. The answer is decoded and checked\n\
after the clock has stopped: the benchmark runs as a dev build, whose\n\
unoptimised JSON decoder would add a part of a millisecond a release\n\
frontend does not spend; that decoding time is given in the notes. The\n\
newest page is asked without `before`; the deep page with the cursor found\n\
by paging back (pages of up to 500, untimed) until 99 % of the chat is\n\
newer than it, so it returns messages 99,000 to 99,049 counted from the\n\
newest (9,900 to 9,949 with `--quick`). Each page is checked: 50 messages,\n\
an older page announced, and its first message the one expected there (by\n\
origin-id). The two kinds take turns: one untimed request of each first\n\
(warm-up), then 30 timed ones of each (10 with `--quick`). Store size per\n\
message: the size of `wimsy.sqlite3` plus its `-wal` file right after the\n\
fill, once the filling store has been closed (SQLite checkpoints the WAL\n\
into the main file and removes it on the last close), divided by N. It includes the indexes\n\
(history, origin-id, stanza-id, unread) and SQLite's free space; in a trial\n\
run the table itself was about 210 bytes per message and the indexes about\n\
230, the two UUID indexes 155 of those.";

/// Messages in the chat.
fn size(ctx: &Ctx) -> usize {
    if ctx.quick { 10_000 } else { 100_000 }
}

/// Timed requests of each kind.
fn repeats(ctx: &Ctx) -> usize {
    if ctx.quick { 10 } else { 30 }
}

/// A frontend's page size (the protocol's default).
pub(super) const PAGE: u32 = 50;
/// The largest page the daemon gives, for finding the deep cursor quickly.
const BIG_PAGE: usize = wimsy_ipc::MAX_HISTORY_PAGE as usize;

/// What filling the store gave.
pub(super) struct Filled {
    pub(super) took: Duration,
    pub(super) mean_body: f64,
    /// Main file and `-wal` file, after closing.
    pub(super) bytes: (u64, u64),
    /// Origin-ids in insertion (= time) order.
    pub(super) origin_ids: Vec<String>,
}

pub(crate) async fn run(ctx: &Ctx) -> Result<Vec<Row>> {
    let n = size(ctx);
    let runs = repeats(ctx);
    let prosody = server(&["alice", "bob"])?;
    let (alice, bob) = (prosody.jid("alice"), prosody.jid("bob"));

    let mut filled = None;
    let daemon = Daemon::start_prepared(ctx, "history", Preset::Default, None, |dir| {
        let path = dir.join(STORE_FILE);
        filled = Some(blocking(|| fill(&path, &alice, &bob, n))?);
        Ok(())
    })
    .await?;
    let filled = filled.context("the store was not filled")?;
    let account = Account::on(daemon, &prosody, "alice").await?;
    if account.jid != alice {
        bail!("the daemon's account is {}, not {alice}", account.jid);
    }
    let mut client = account.daemon.client().await?;
    let mut conn = RawConn::attach(account.daemon.socket(), Role::Gui).await?;

    let target = n * 99 / 100;
    let started = Instant::now();
    let (cursor, pages) = deep_cursor(&mut client, &alice, &bob, target).await?;
    let paging = started.elapsed();
    let newest_id = filled.origin_ids.last().context("an empty fill")?;
    let deep_id = filled
        .origin_ids
        .get(n - 1 - target)
        .context("the deep message is not in the fill")?;
    let mut newest = Probe::new("the newest page", None, newest_id);
    let mut deep = Probe::new("the deep page", Some(cursor), deep_id);
    // Taking turns, so that a drift in the machine's speed (another
    // process, the CPU's clock) touches both alike. Round 0 is the
    // warm-up.
    for round in 0..=runs {
        let id = 2 * round as u64 + 100;
        newest.ask(&mut conn, &alice, &bob, id, round > 0).await?;
        deep.ask(&mut conn, &alice, &bob, id + 1, round > 0).await?;
    }

    let (main, wal) = filled.bytes;
    let total = main + wal;
    let per_message = total as f64 / n as f64;
    let fill_rate = n as f64 / filled.took.as_secs_f64().max(1e-6);
    let head = format!("{TITLE}, {n} msgs in one chat");
    Ok(vec![
        Row::new(
            format!("{head}: newest page ({PAGE})"),
            "ms",
            newest.times,
            format!(
                "request written → answer read, after 1 untimed; a page is {:.1} kB as a frame; \
                 decoding it here ({}) took median {} ms more",
                newest.frame_bytes as f64 / 1000.0,
                bench_build(),
                median_text(&newest.decode)
            ),
        ),
        Row::new(
            format!("{head}: page 99 % deep ({PAGE})"),
            "ms",
            deep.times,
            format!(
                "`before` = the cursor {target} messages back, found by paging ({pages} pages \
                 of ≤ {BIG_PAGE}, {:.0} ms in all, untimed); decoding median {} ms more",
                ms(paging),
                median_text(&deep.decode)
            ),
        ),
        Row::new(
            format!("{head}: store size per message"),
            "B",
            vec![per_message],
            format!(
                "{:.1} MB for {n} (main file {main} B + WAL {wal} B, after the fill, store \
                 closed); mean body {} B; filled by Store::insert_message in {:.1} s \
                 ({} msg/s, not a figure)",
                total as f64 / 1e6,
                num(filled.mean_body),
                filled.took.as_secs_f64(),
                num(fill_rate)
            ),
        ),
    ])
}

/// One kind of page request and its timings.
pub(super) struct Probe<'a> {
    what: &'static str,
    cursor: Option<String>,
    /// The origin-id the page must start with.
    first: &'a str,
    /// Request written → answer read, ms.
    pub(super) times: Vec<f64>,
    /// Decoding the answer here afterwards, ms.
    pub(super) decode: Vec<f64>,
    /// The answer's size as a frame.
    frame_bytes: usize,
}

impl<'a> Probe<'a> {
    pub(super) fn new(what: &'static str, cursor: Option<String>, first: &'a str) -> Self {
        Self {
            what,
            cursor,
            first,
            times: Vec::new(),
            decode: Vec::new(),
            frame_bytes: 0,
        }
    }

    /// One request (request id `id`), checked; its times are kept if
    /// `timed`.
    pub(super) async fn ask(
        &mut self,
        conn: &mut RawConn,
        account: &str,
        peer: &str,
        id: u64,
        timed: bool,
    ) -> Result<()> {
        let what = self.what;
        let request = encode_frame(&ClientFrame {
            id,
            request: Request::History {
                account: Some(account.to_owned()),
                peer: peer.to_owned(),
                limit: Some(PAGE),
                before: self.cursor.clone(),
            },
        })
        .context("encoding a history request")?;
        let start = Instant::now();
        let frame = conn.exchange(&request).await.context(what)?;
        let took = start.elapsed();
        let decoding = Instant::now();
        let answer = RawConn::answer(&frame, id).context(what)?;
        let decode = decoding.elapsed();
        let Response::History {
            messages,
            next_before,
            ..
        } = answer
        else {
            bail!("{what}: unexpected answer {answer:?}");
        };
        if messages.len() != PAGE as usize || next_before.is_none() {
            bail!(
                "{what}: {} messages (want {PAGE}), older page {}",
                messages.len(),
                if next_before.is_some() {
                    "announced"
                } else {
                    "missing"
                }
            );
        }
        let got = messages.first().and_then(|m| m.origin_id.as_deref());
        if got != Some(self.first) {
            bail!(
                "{what} starts with origin-id {got:?}, not the expected {}",
                self.first
            );
        }
        self.frame_bytes = frame.len();
        if timed {
            self.times.push(ms(took));
            self.decode.push(ms(decode));
        }
        Ok(())
    }
}

/// Pages back from the newest message until `target` messages are newer
/// than the cursor; the cursor and the number of pages.
pub(super) async fn deep_cursor(
    client: &mut Client,
    account: &str,
    peer: &str,
    target: usize,
) -> Result<(String, usize)> {
    let (mut seen, mut pages, mut cursor) = (0, 0, None);
    while seen < target {
        let want = (target - seen).min(BIG_PAGE);
        let limit = u32::try_from(want).context("page size")?;
        let (messages, next) = page(client, account, peer, cursor, limit).await?;
        if messages.len() != want {
            bail!(
                "paging back: {} messages after {seen}, not {want}",
                messages.len()
            );
        }
        seen += want;
        pages += 1;
        cursor = Some(next.with_context(|| format!("paging back: no older page after {seen}"))?);
    }
    Ok((cursor.context("no cursor (target 0)")?, pages))
}

/// How this benchmark was built, for notes on its own decoding times.
pub(super) fn bench_build() -> &'static str {
    if cfg!(debug_assertions) {
        "dev build"
    } else {
        "release build"
    }
}

/// The median for notes.
pub(super) fn median_text(samples: &[f64]) -> String {
    median(samples).map_or_else(|| "?".to_owned(), num)
}

/// One `history` request.
async fn page(
    client: &mut Client,
    account: &str,
    peer: &str,
    before: Option<String>,
    limit: u32,
) -> Result<(Vec<ChatMessage>, Option<String>)> {
    let request = Request::History {
        account: Some(account.to_owned()),
        peer: peer.to_owned(),
        limit: Some(limit),
        before,
    };
    let what = format!("{request:?}");
    match tokio::time::timeout(STEP, client.request(request)).await {
        Ok(Ok(Response::History {
            messages,
            next_before,
            ..
        })) => Ok((messages, next_before)),
        Ok(Ok(other)) => bail!("{what}: unexpected answer {other:?}"),
        Ok(Err(e)) => Err(anyhow!(e)).context(what),
        Err(_) => bail!("{what}: no answer within {STEP:?}"),
    }
}

/// Stores `n` messages between `account` and `peer` at `path`, one
/// `insert_message` each.
pub(super) fn fill(path: &Path, account: &str, peer: &str, n: usize) -> Result<Filled> {
    let mut rng = Rng::new(0x5eed_4157);
    let mut store = Store::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut origin_ids = Vec::with_capacity(n);
    let mut body_bytes = 0usize;
    let mut timestamp_ms: i64 = 1_700_000_000_000;
    let mut incoming = true;
    let started = Instant::now();
    for _ in 0..n {
        if rng.chance(0.35) {
            incoming = !incoming;
        }
        timestamp_ms += 1_000 + rng.below(299_000) as i64;
        let (inserted, origin_id, body_len) =
            insert_like_received(&mut store, &mut rng, account, peer, incoming, timestamp_ms)?;
        body_bytes += body_len;
        if !inserted.is_new() {
            bail!(
                "filling the store: message {} was taken for a duplicate",
                origin_ids.len()
            );
        }
        origin_ids.push(origin_id);
    }
    drop(store);
    let took = started.elapsed();
    Ok(Filled {
        took,
        mean_body: body_bytes as f64 / n.max(1) as f64,
        bytes: store_bytes(path)?,
        origin_ids,
    })
}
