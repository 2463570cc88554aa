//! Scenario 5: a frontend opening. How long until a new IPC client has the
//! whole state to draw (200 contacts, 50 chats), and how long does a
//! one-shot `wimsyctl status` take as a process?

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use wimsy_ipc::{Client, ClientFrame, Request, Response, Role, Snapshot, encode_frame};
use wimsy_store::Store;
use wimsy_testkit::Prosody;

use super::fill::{Rng, STORE_FILE, insert_like_received};
use super::harness::{Account, Ctx, Daemon, STEP, blocking, ms, server};
use super::history::{bench_build, median_text};
use super::peer::Peer;
use super::preset::Preset;
use super::rawconn::RawConn;
use super::report::Row;

pub(crate) const TITLE: &str = "5. Frontend attach";

pub(crate) const METHOD: &str = "\
One Prosody with alice. Before the daemon starts, a slixmpp peer logged in\n\
as alice adds 200 roster items (`contact0@localhost`...; subscription\n\
`none`, so no presence) and logs out, so the daemon fetches a 200-contact\n\
roster at login; and the daemon's store is filled through the store's API\n\
with 50 chats, with contact0 to contact49, 20 messages each (both\n\
directions, bodies and UUID origin- and stanza-ids as in scenario 4, the\n\
chats taking turns in time), read up to different points so that some\n\
have unread messages. The daemon (default preset) starts, alice is added\n\
and connected, her archive catch-up has finished, and a `roster` request\n\
returns the 200 contacts. Attach, measured two ways, a new connection\n\
each time, closed after it. First by hand: from just before connecting to\n\
the socket until the last byte of the answer to `subscribe` has been read;\n\
`hello` and `subscribe` are encoded beforehand and each is written when\n\
the answer before it is in, as a frontend does. The snapshot is decoded\n\
and checked after the clock has stopped (decoding time in the notes): the\n\
benchmark is a dev build, whose unoptimised JSON decoder is not what a\n\
release frontend runs. Then the same through the protocol crate's own\n\
`wimsy_ipc::Client` (`Client::connect`, which says `hello`, then\n\
`subscribe`), until the snapshot is decoded, dev-build decoding included.\n\
Every snapshot is checked: one account, 200 contacts, 50 chats, each\n\
with the unread count the fill left. The snapshot's size is its answer\n\
frame as received (one JSON line). `wimsyctl status`: `wimsyctl --socket\n\
<socket> status` (from the same build as the daemon; the human-readable\n\
output, not `--json`) as a whole process, from just before it is spawned\n\
until its exit (status 0, its output naming the account) has been seen:\n\
process start, connect, `hello`, `status` (which sums unread counts over\n\
the 50 chats), printing, exit. One untimed run of each kind comes first\n\
(warm-up), then 30 timed ones (10 with `--quick`).";

/// Roster items.
pub(crate) const CONTACTS: usize = 200;
/// Chats in the store.
pub(crate) const CHATS: usize = 50;
/// Messages per chat.
const PER_CHAT: usize = 20;

/// Timed runs of each kind.
fn repeats(ctx: &Ctx) -> usize {
    if ctx.quick { 10 } else { 30 }
}

/// alice on a Prosody of her own with [`CONTACTS`] contacts and [`CHATS`]
/// chats filled into her store (the unread count of each in `unread`),
/// connected and her roster fetched: what scenarios 5 and 8 measure
/// against. The server runs as long as this lives.
pub(crate) struct BusyAccount {
    pub(crate) account: Account,
    pub(crate) chat_peers: Vec<String>,
    pub(crate) unread: Vec<u32>,
    // Last, so the daemon stops before its server does.
    _prosody: Prosody,
}

pub(crate) async fn busy_account(ctx: &Ctx, name: &str) -> Result<BusyAccount> {
    let prosody = server(&["alice"])?;
    let alice = prosody.jid("alice");
    let mut peer = Peer::start(&prosody, "alice", "alice-pw").await?;
    peer.add_roster("contact", CONTACTS).await?;
    peer.quit().await?;

    let chat_peers: Vec<String> = (0..CHATS)
        .map(|k| prosody.jid(&format!("contact{k}")))
        .collect();
    let mut unread = None;
    let daemon = Daemon::start_prepared(ctx, name, Preset::Default, None, |dir| {
        let path = dir.join(STORE_FILE);
        unread = Some(blocking(|| fill(&path, &alice, &chat_peers))?);
        Ok(())
    })
    .await?;
    let unread = unread.context("the store was not filled")?;
    let mut account = Account::on(daemon, &prosody, "alice").await?;
    wait_for_roster(&mut account.client, CONTACTS).await?;
    Ok(BusyAccount {
        account,
        chat_peers,
        unread,
        _prosody: prosody,
    })
}

pub(crate) async fn run(ctx: &Ctx) -> Result<Vec<Row>> {
    let runs = repeats(ctx);
    let busy = busy_account(ctx, "attach").await?;
    let (alice, chat_peers, unread) = (&busy.account.jid, &busy.chat_peers, &busy.unread);
    let socket = busy.account.daemon.socket().to_path_buf();

    let expected = Expected {
        account: alice,
        peers: chat_peers,
        unread,
    };
    let (mut received, mut decode) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    let mut snapshot_bytes = 0;
    for run in 0..=runs {
        let raw = attach_raw(&socket).await?;
        expected.check(&raw.snapshot)?;
        if run == 0 {
            snapshot_bytes = raw.frame_bytes;
        } else {
            received.push(ms(raw.received));
            decode.push(ms(raw.decode));
        }
    }
    let mut decoded = Vec::with_capacity(runs);
    for run in 0..=runs {
        let (took, snapshot) = attach_client(&socket).await?;
        expected.check(&snapshot)?;
        if run > 0 {
            decoded.push(ms(took));
        }
    }

    let mut status = Vec::with_capacity(runs);
    for run in 0..=runs {
        let took = wimsyctl_status(ctx, &socket, alice).await?;
        if run > 0 {
            status.push(ms(took));
        }
    }

    let total_unread: u32 = unread.iter().sum();
    let with_unread = unread.iter().filter(|&&u| u > 0).count();
    let head = format!("{TITLE}, {CONTACTS} contacts + {CHATS} chats");
    Ok(vec![
        Row::new(
            format!("{head}: connect → snapshot received"),
            "ms",
            received,
            format!(
                "new connection each run: connect, hello, subscribe; the clock stops at the \
                 answer's last byte; snapshot {:.1} kB as a frame ({total_unread} unread in \
                 {with_unread} chats); decoding it here ({}) took median {} ms more; \
                 after 1 untimed",
                snapshot_bytes as f64 / 1000.0,
                bench_build(),
                median_text(&decode)
            ),
        ),
        Row::new(
            format!("{head}: connect → snapshot decoded, wimsy_ipc::Client"),
            "ms",
            decoded,
            format!(
                "the same through the protocol crate's client, decoding included, in this \
                 process ({}); after 1 untimed",
                bench_build()
            ),
        ),
        Row::new(
            format!("{TITLE}: `wimsyctl status`, whole process"),
            "ms",
            status,
            "spawn → exit 0, human output (not --json); after 1 untimed",
        ),
    ])
}

/// What every snapshot must hold.
struct Expected<'a> {
    account: &'a str,
    /// The chats' peers.
    peers: &'a [String],
    /// Their unread counts, in the same order.
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
        if account.jid != self.account {
            bail!(
                "the snapshot's account is {}, not {}",
                account.jid,
                self.account
            );
        }
        if account.contacts.len() != CONTACTS || account.chats.len() != CHATS {
            bail!(
                "the snapshot has {} contacts and {} chats, not {CONTACTS} and {CHATS}",
                account.contacts.len(),
                account.chats.len()
            );
        }
        for (peer, &want) in self.peers.iter().zip(self.unread) {
            let chat = account.chats.iter().find(|c| &c.peer == peer);
            match chat {
                Some(chat) if chat.unread == want => {}
                Some(chat) => bail!(
                    "the snapshot counts {} unread with {peer}, the fill left {want}",
                    chat.unread
                ),
                None => bail!("the snapshot has no chat with {peer}"),
            }
        }
        Ok(())
    }
}

/// One attach by hand.
pub(super) struct Raw {
    /// Connect → the snapshot's last byte read.
    pub(super) received: Duration,
    /// Decoding it afterwards.
    pub(super) decode: Duration,
    pub(super) frame_bytes: usize,
    pub(super) snapshot: Snapshot,
}

/// A fresh connection, `hello` and `subscribe` written as ready-made
/// frames, each sent when the answer before it is in (as
/// `wimsy_ipc::Client` does); the clock stops at the snapshot's last byte.
pub(super) async fn attach_raw(socket: &Path) -> Result<Raw> {
    let hello = RawConn::hello(Role::Gui)?;
    let subscribe = encode_frame(&ClientFrame {
        id: 2,
        request: Request::Subscribe,
    })
    .context("encoding subscribe")?;
    let start = Instant::now();
    let mut conn = RawConn::connect(socket).await?;
    let hello_answer = conn.exchange(&hello).await.context("hello")?;
    let frame = conn.exchange(&subscribe).await.context("subscribe")?;
    let received = start.elapsed();
    drop(conn);
    if !matches!(
        RawConn::answer(&hello_answer, 1).context("hello")?,
        Response::Hello { .. }
    ) {
        bail!("hello: unexpected answer");
    }
    let decoding = Instant::now();
    let answer = RawConn::answer(&frame, 2).context("subscribe")?;
    let decode = decoding.elapsed();
    let Response::Subscribed { snapshot } = answer else {
        bail!("subscribe: unexpected answer {answer:?}");
    };
    Ok(Raw {
        received,
        decode,
        frame_bytes: frame.len(),
        snapshot,
    })
}

/// A fresh `wimsy_ipc::Client` up to its decoded snapshot; how long that
/// took. The client is dropped (disconnected) before returning.
async fn attach_client(socket: &Path) -> Result<(Duration, Snapshot)> {
    let start = Instant::now();
    let attached = tokio::time::timeout(STEP, async {
        let mut client = Client::connect(socket, Role::Gui, "xtask-bench-attach").await?;
        let snapshot = client.subscribe().await?;
        Ok::<_, wimsy_ipc::ClientError>((client, snapshot))
    })
    .await;
    let took = start.elapsed();
    match attached {
        Ok(Ok((client, snapshot))) => {
            drop(client);
            Ok((took, snapshot))
        }
        Ok(Err(e)) => Err(anyhow!(e)).context("attaching a new client and subscribing"),
        Err(_) => bail!("attaching a new client: no snapshot within {STEP:?}"),
    }
}

/// One `wimsyctl --socket <socket> status`, spawn to exit.
async fn wimsyctl_status(ctx: &Ctx, socket: &Path, account: &str) -> Result<Duration> {
    let mut cmd = tokio::process::Command::new(&ctx.wimsyctl);
    cmd.arg("--socket")
        .arg(socket)
        .arg("status")
        .env_remove("WIMSY_SOCKET")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let start = Instant::now();
    let output = tokio::time::timeout(STEP, cmd.output()).await;
    let took = start.elapsed();
    let what = format!("{} status", ctx.wimsyctl.display());
    let output = match output {
        Ok(result) => result.with_context(|| format!("running {what}"))?,
        Err(_) => bail!("{what}: no exit within {STEP:?}"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() || !stdout.contains(account) {
        bail!(
            "{what}: {} without naming {account}\nstdout: {stdout}\nstderr: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(took)
}

/// Polls `roster` until the daemon has the whole roster: it is fetched at
/// login, and the catch-up the harness waits for does not wait for it.
pub(super) async fn wait_for_roster(client: &mut Client, want: usize) -> Result<()> {
    let deadline = Instant::now() + STEP;
    loop {
        let answer = tokio::time::timeout(STEP, client.request(Request::Roster { account: None }))
            .await
            .context("asking for the roster: no answer")?;
        let have = match answer {
            Ok(Response::Roster { contacts, .. }) => contacts.len(),
            Ok(other) => bail!("asking for the roster: unexpected answer {other:?}"),
            Err(e) => return Err(anyhow!(e)).context("asking for the roster"),
        };
        if have == want {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("the daemon has {have} contacts, not {want}, {STEP:?} after login");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Stores `PER_CHAT` messages with each of `peers`, interleaved in time,
/// marking chats read at different points; the unread count each chat is
/// left with.
pub(super) fn fill(path: &Path, account: &str, peers: &[String]) -> Result<Vec<u32>> {
    let mut rng = Rng::new(0x00a7_7ac4);
    let mut store = Store::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut unread = vec![0u32; peers.len()];
    // Chat k is read before round `read_at(k)`: never (a fifth of them), or
    // before the last 0 to 3 rounds.
    let read_at = |k: usize| (!k.is_multiple_of(5)).then(|| PER_CHAT - (k % 5 - 1));
    let mut order: Vec<usize> = (0..peers.len()).collect();
    let mut timestamp_ms: i64 = 1_700_000_000_000;
    for round in 0..=PER_CHAT {
        for (k, peer) in peers.iter().enumerate() {
            if read_at(k) == Some(round) {
                store
                    .mark_read(account, peer)
                    .context("marking a chat read")?;
                unread[k] = 0;
            }
        }
        if round == PER_CHAT {
            break;
        }
        // Fisher–Yates: the chats take turns in a different order each round.
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i as u64 + 1) as usize);
        }
        for &k in &order {
            let incoming = rng.chance(0.5);
            timestamp_ms += 1_000 + rng.below(299_000) as i64;
            insert_like_received(
                &mut store,
                &mut rng,
                account,
                &peers[k],
                incoming,
                timestamp_ms,
            )?;
            if incoming {
                unread[k] += 1;
            }
        }
    }
    Ok(unread)
}
