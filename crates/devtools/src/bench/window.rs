//! Scenario 8: the window. How long from starting `wimsy` until a
//! 10,000-message chat shows its newest messages, how quickly it answers
//! the mouse wheel while paging back through 1,000 of them, and what it
//! holds in memory while idle with 200 contacts and 50 chats.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use wimsy_ipc::{Request, Response};
use wimsy_testkit::{Frames, Hook, Wimsy, WimsyCommand, X11, Xvfb};

use super::attach::{CHATS, CONTACTS, busy_account};
use super::fill::STORE_FILE;
use super::harness::{Account, Ctx, Daemon, STEP, blocking, ms, server};
use super::preset::Preset;
use super::procstat;
use super::report::{Row, median, num};

pub(crate) const TITLE: &str = "8. The window";

/// Which of iced's renderers draws the window (`--renderer`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Renderer {
    /// The software renderer, the only one in the default build.
    #[default]
    TinySkia,
    /// The GPU renderer (gui's `wgpu` feature); on a machine without a
    /// GPU, Mesa's llvmpipe.
    Wgpu,
}

impl Renderer {
    pub(crate) fn parse(name: &str) -> Result<Self> {
        match name {
            "tiny-skia" => Ok(Self::TinySkia),
            "wgpu" => Ok(Self::Wgpu),
            _ => bail!("--renderer takes `tiny-skia` or `wgpu`, not {name:?}"),
        }
    }

    /// Its name, as ICED_BACKEND and `--renderer` spell it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::TinySkia => "tiny-skia",
            Self::Wgpu => "wgpu",
        }
    }

    /// Where its `wimsy` is, below the build's binary directory: the wgpu
    /// build has its own place so that `target/release/wimsy` stays the
    /// default build.
    pub(crate) fn subdir(self) -> Option<&'static str> {
        match self {
            Self::TinySkia => None,
            Self::Wgpu => Some("wgpu"),
        }
    }

    /// How the row's notes name it.
    fn described(self) -> &'static str {
        match self {
            Self::TinySkia => "tiny-skia, the only renderer built in",
            Self::Wgpu => "wgpu (a build with gui's `wgpu` feature, ICED_BACKEND=wgpu)",
        }
    }
}

pub(crate) const METHOD: &str = "\
The real `wimsy` binary (same build as the daemon; tiny-skia, the software\n\
renderer, is the only one compiled in: gui/Cargo.toml enables no wgpu, so\n\
`ICED_BACKEND=tiny-skia` only makes that explicit; with `--renderer wgpu`,\n\
`wimsy` is built again with its `wgpu` feature into target/release/wgpu/\n\
and run with `ICED_BACKEND=wgpu`, which has no fallback: without a working\n\
adapter the window does not open and the scenario fails) on a private Xvfb\n\
(1024x768, 24-bit, no window manager), attached to a daemon (default\n\
preset) on its own socket, with `WIMSY_TEST_HOOKS=1` so that it prints what\n\
it shows on stdout. Drawing is seen through the X DAMAGE extension on the\n\
root window: a thread of the benchmark reads the damage reports and stamps\n\
each with the moment it arrived; a frame is done when nothing more is drawn\n\
for 30 ms (that quiet time is never counted).\n\
Launch: the store is filled before the daemon starts, as in scenario 4\n\
(same generator), with N messages (10,000; 2,000 with `--quick`) between\n\
alice and bob; alice is added and connected, her catch-up finished. Then\n\
`wimsy --chat bob@localhost` is spawned; the time is from just before the\n\
spawn until the first drawing after the window said (hook `showing`) that\n\
it shows the chat with the store's newest message; the time to that line\n\
alone is in the notes. The window is then closed with the close button (a\n\
WM_DELETE_WINDOW message) and must exit. One untimed launch first (the\n\
binary and the store come into the page cache, as for a person who has\n\
used the program before), then 10 timed ones (3 with `--quick`).\n\
Scrolling: in one more launched window, the pointer over the conversation\n\
(the right half of the window, at mid-height), the mouse wheel is turned\n\
up one click at a time (XTEST button 4): each click's time is from the\n\
click being taken by the X server until the last drawing of the frames it\n\
caused; a click that caused no drawing within 0.5 s (the view at its top,\n\
waiting for an older page) is counted in the notes, not timed. Clicks go on until the\n\
window says (`showing` count) it holds 1,000 messages more than it opened\n\
with (200 with `--quick`): the older pages it asked the daemon for while\n\
scrolling are part of the clicks' times.\n\
Memory: a second setup as in scenario 5: 200 roster contacts and 50 chats\n\
of 20 messages. `wimsy` is started (no chat open), attached, its drawing\n\
finished, then left alone for 5 s (1 s with `--quick`); then its resident\n\
memory (VmRSS) is read from /proc; RssAnon (its own heap and stacks, without\n\
shared library pages) is in the notes. 5 runs (3 with `--quick`), a new\n\
process each. The peer figure, Gajim's ~180 MB, is the one issue 11 gives\n\
(a quarter of it is the goal); Gajim is not measured here.";

/// The second section of scenario 8 in the report: which renderer the
/// window ships with, and the figures that decided it.
pub(crate) const CHOICE_TITLE: &str = "8. Renderer choice";

pub(crate) const CHOICE: &str = "\
The window ships with tiny-skia, iced's software renderer, and no wgpu.\n\
Measured on 2026-12-03 on the machine above (Debian 12, 2 cores, no GPU;\n\
wgpu drew through OpenGL on Mesa 22.3 llvmpipe over EGL, no Vulkan loader\n\
installed), with `cargo xtask bench --only 8 [--quick] --renderer wgpu`\n\
against the default build, one after the other, other builds running\n\
beside them:\n\
\n\
| | tiny-skia (default) | wgpu on llvmpipe |\n\
|---|---:|---:|\n\
| idle, 200 contacts + 50 chats: VmRSS (5 s, 5 runs) | 21.3 MB | 128 MB |\n\
| the same: RssAnon (5 runs, median) | 4.8 MB | 45.7 MB |\n\
| launch → first frame, 2,000 msgs (`--quick`, 3 runs, median) | 45 ms | 174 ms |\n\
| wheel click → frame, 200 msgs back (`--quick`, median / max) | 46 / 128 ms | 45 / 152 ms |\n\
| VmRSS after that scroll (`--quick`) | 28.5 MB | 131.9 MB |\n\
| `wimsy` release binary | 15.3 MB | 21.1 MB |\n\
\n\
wgpu costs six times the memory (the goal is < 45 MB; its own heap alone\n\
is at that) and four times the launch for the same picture, and scrolls no\n\
faster; without a GPU it is a second software renderer under a GPU API.\n\
Building `wimsy` with it took 7 more minutes here (release). So it is\n\
an optional feature (`cargo build -p wimsy-gui --features wgpu`; then\n\
ICED_BACKEND chooses), off by default. The comparison uses `--quick`:\n\
beside the other builds, both renderers' full-size scroll stopped when\n\
the window held 1,000 messages, short of the 1,060 it aims for; run\n\
alone, the default build's full run reached it (the table above).";

/// The quiet time that ends a frame.
const QUIET: Duration = Duration::from_millis(30);
/// How long after a wheel click a first drawing still counts as its
/// answer.
const DREW_WITHIN: Duration = Duration::from_millis(500);
/// The most wheel clicks a scroll may take before it counts as stuck.
const MAX_CLICKS: usize = 20_000;
/// Wheel clicks in a row that draw nothing before the scroll counts as
/// stuck (a page on its way takes a click or two, not ten seconds).
const STUCK_AFTER: usize = 20;

fn chat_size(ctx: &Ctx) -> usize {
    if ctx.quick { 2_000 } else { 10_000 }
}

fn launches(ctx: &Ctx) -> usize {
    if ctx.quick { 3 } else { 10 }
}

fn scroll_back(ctx: &Ctx) -> usize {
    if ctx.quick { 200 } else { 1_000 }
}

fn idle_for(ctx: &Ctx) -> Duration {
    Duration::from_secs(if ctx.quick { 1 } else { 5 })
}

/// The X server and the benchmark's eyes and hands on it.
struct Screen {
    xvfb: Xvfb,
    x: X11,
    frames: Frames,
    logs: tempfile::TempDir,
}

impl Screen {
    fn start() -> Result<Self> {
        let xvfb = Xvfb::start()?;
        Ok(Self {
            x: xvfb.connect()?,
            frames: xvfb.frames()?,
            logs: tempfile::Builder::new()
                .prefix("wimsy-bench-window-")
                .tempdir()?,
            xvfb,
        })
    }

    fn spawn(&self, ctx: &Ctx, daemon: &Daemon, args: &[&str]) -> Result<Wimsy> {
        let dir = match ctx.renderer.subdir() {
            Some(sub) => ctx.bin_dir.join(sub),
            None => ctx.bin_dir.clone(),
        };
        WimsyCommand::new(dir, daemon.socket(), self.xvfb.display())
            .env("ICED_BACKEND", ctx.renderer.name())
            .env("WIMSY_CONFIG_DIR", daemon.config_dir())
            .args(args)
            .spawn(&self.logs.path().join("wimsy.log"))
    }

    /// Escape, the first-run notice's "Got it", once the window drew it.
    fn read_notice(&self, gui: &Wimsy) -> Result<()> {
        let window = self.x.wait_window(gui.pid(), STEP)?;
        self.frames.settle(QUIET, STEP)?;
        self.x.focus(window)?;
        self.x.key("Escape")?;
        self.frames.settle(QUIET, STEP)?;
        Ok(())
    }

    /// Presses the close button and waits for the process to end.
    fn close(&self, gui: &mut Wimsy) -> Result<()> {
        let window = self.x.wait_window(gui.pid(), STEP)?;
        self.x.close(window)?;
        let status = gui.wait_exit(STEP)?;
        if !status.success() {
            bail!("wimsy exited with {status} after its close button");
        }
        Ok(())
    }
}

/// Launch and scrolling figures.
pub(crate) async fn long_chat(ctx: &Ctx) -> Result<Vec<Row>> {
    let n = chat_size(ctx);
    let prosody = server(&["alice", "bob"])?;
    let (alice, bob) = (prosody.jid("alice"), prosody.jid("bob"));
    let daemon = Daemon::start_prepared(ctx, "window", Preset::Default, None, |dir| {
        let path = dir.join(STORE_FILE);
        blocking(|| super::history::fill(&path, &alice, &bob, n)).map(drop)
    })
    .await?;
    let mut account = Account::on(daemon, &prosody, "alice").await?;
    let newest = newest_id(&mut account, &bob).await?;
    let daemon = &account.daemon;

    blocking(|| {
        let screen = Screen::start()?;
        let mut launch = Vec::new();
        let mut to_hook = Vec::new();
        for run in 0..=launches(ctx) {
            let (frame, hook, mut gui) = launch_once(ctx, &screen, daemon, &bob, &newest)?;
            if run == 0 {
                // The first window shows the notice about closing it, over
                // the chat (and taking the wheel); read once, it is gone
                // for good, as for a person who has used Wimsy before.
                screen.read_notice(&gui)?;
            }
            screen.close(&mut gui)?;
            if run > 0 {
                launch.push(frame);
                to_hook.push(hook);
            }
        }
        let (scroll, opened_with) = scroll(ctx, &screen, daemon, &bob, &newest)?;
        let head = format!("{TITLE}{}, {n} msgs in one chat", renderer_tag(ctx));
        let drawn = scroll.drawn();
        let hook_median = median(&to_hook).map_or_else(|| "?".to_owned(), num);
        Ok(vec![
            Row::new(
                format!("{head}: launch → first frame showing the newest"),
                "ms",
                launch,
                format!(
                    "`wimsy --chat bob` spawned → first drawing after its `showing` line named \
                     the newest message (that line alone: median {hook_median} ms); warm \
                     (after 1 untimed); goal < 300 ms"
                ),
            ),
            Row::new(
                format!(
                    "{head}: scroll back {} msgs, wheel click → frame drawn",
                    scroll_back(ctx)
                ),
                "ms",
                scroll.times,
                format!(
                    "one click at a time, {} clicks drawn, {} drew nothing (at the top, a page \
                     on its way); it opened holding {opened_with} messages and held {} at the \
                     end; {:.1} s in all; resident memory then {:.1} MB",
                    drawn,
                    scroll.idle_clicks,
                    scroll.holding,
                    scroll.took.as_secs_f64(),
                    scroll.rss_mb
                ),
            ),
        ])
    })
}

/// The renderer in a row's name when it is not the default one.
fn renderer_tag(ctx: &Ctx) -> String {
    match ctx.renderer {
        Renderer::TinySkia => String::new(),
        other => format!(" ({})", other.name()),
    }
}

/// The id of the newest message with `peer`, as the window's hook names
/// it.
async fn newest_id(account: &mut Account, peer: &str) -> Result<String> {
    let request = Request::History {
        account: Some(account.jid.clone()),
        peer: peer.to_owned(),
        limit: Some(1),
        before: None,
    };
    match tokio::time::timeout(STEP, account.client.request(request)).await {
        Ok(Ok(Response::History { messages, .. })) => messages
            .first()
            .map(|m| m.id.to_string())
            .context("the filled chat is empty"),
        Ok(Ok(other)) => bail!("asking for the newest message: unexpected answer {other:?}"),
        Ok(Err(e)) => Err(anyhow!(e)).context("asking for the newest message"),
        Err(_) => bail!("asking for the newest message: no answer within {STEP:?}"),
    }
}

/// One launch at the chat with `peer`: spawn → first frame after the
/// newest message is shown, and spawn → that hook line (ms); the window,
/// still open.
fn launch_once(
    ctx: &Ctx,
    screen: &Screen,
    daemon: &Daemon,
    peer: &str,
    newest: &str,
) -> Result<(f64, f64, Wimsy)> {
    screen.frames.drain();
    let mut gui = screen.spawn(ctx, daemon, &["--chat", peer])?;
    let started = gui.started();
    let shown = gui.wait_hook(STEP, "the newest message", |h| {
        matches!(h, Hook::Showing { peer: p, newest_id, .. } if p == peer && newest_id == newest)
    })?;
    let frame = screen.frames.first_after(shown.at, STEP)?;
    Ok((ms(frame - started), ms(shown.at - started), gui))
}

/// What scrolling back gave.
struct Scroll {
    /// Click → last drawing, ms, for clicks that drew.
    times: Vec<f64>,
    idle_clicks: usize,
    /// Messages the window held at the end.
    holding: usize,
    took: Duration,
    rss_mb: f64,
}

impl Scroll {
    fn drawn(&self) -> usize {
        self.times.len()
    }
}

/// Opens the chat and turns the wheel up until the window holds
/// [`scroll_back`] more messages; the figures and how many it opened with.
fn scroll(
    ctx: &Ctx,
    screen: &Screen,
    daemon: &Daemon,
    peer: &str,
    newest: &str,
) -> Result<(Scroll, usize)> {
    let (_, _, mut gui) = launch_once(ctx, screen, daemon, peer, newest)?;
    let opened_with = gui
        .seen()
        .iter()
        .rev()
        .find_map(|l| match &l.hook {
            Hook::Showing { count, .. } => Some(*count),
            _ => None,
        })
        .context("no `showing` line")?;
    let window = screen.x.wait_window(gui.pid(), STEP)?;
    let (x, y, width, height) = screen.x.geometry(window)?;
    let to_i16 = |v: u16| i16::try_from(v).unwrap_or(i16::MAX);
    screen
        .x
        .pointer_to(x + to_i16(width / 4 * 3), y + to_i16(height / 2))?;
    screen.frames.settle(QUIET, STEP)?;

    let target = opened_with + scroll_back(ctx);
    let mut holding = opened_with;
    let mut times = Vec::new();
    let mut idle_clicks = 0;
    let mut idle_in_a_row = 0;
    let started = Instant::now();
    for _ in 0..MAX_CLICKS {
        screen.frames.drain();
        screen.x.wheel(true)?;
        let clicked = Instant::now();
        // A slow frame must not count as none (and then land in the next
        // click's time): the first drawing may take up to DREW_WITHIN.
        match screen.frames.next(DREW_WITHIN) {
            Ok(_) => {
                let last = screen.frames.settle(QUIET, STEP)?;
                let last = last.unwrap_or_else(Instant::now);
                times.push(ms(last.saturating_duration_since(clicked)));
                idle_in_a_row = 0;
            }
            Err(_) => {
                idle_clicks += 1;
                idle_in_a_row += 1;
                if idle_in_a_row >= STUCK_AFTER {
                    bail!(
                        "the window drew nothing for {STUCK_AFTER} wheel clicks in a row, \
                         holding {holding} of the {target} messages it should reach; {}",
                        gui.state()
                    );
                }
            }
        }
        for line in gui.poll() {
            if let Hook::Showing { count, .. } = line.hook {
                holding = count;
            }
        }
        if holding >= target {
            let took = started.elapsed();
            let rss_mb = match gui.rss_bytes() {
                Ok(bytes) => bytes as f64 / 1e6,
                Err(e) => bail!("{e:#} once it held {holding} messages; {}", gui.state()),
            };
            screen.close(&mut gui)?;
            let scroll = Scroll {
                times,
                idle_clicks,
                holding,
                took,
                rss_mb,
            };
            return Ok((scroll, opened_with));
        }
    }
    bail!(
        "after {MAX_CLICKS} wheel clicks the window holds {holding} messages, not {target}: \
         scrolling up does not load older pages"
    )
}

/// Resident memory of an idle window attached to a daemon with 200
/// contacts and 50 chats.
pub(crate) async fn idle_memory(ctx: &Ctx) -> Result<Row> {
    let busy = busy_account(ctx, "window-idle").await?;
    let daemon = &busy.account.daemon;

    blocking(|| {
        let screen = Screen::start()?;
        let (mut rss, mut anon) = (Vec::new(), Vec::new());
        for _ in 0..ctx.runs() {
            let (total, own) = idle_once(ctx, &screen, daemon)?;
            rss.push(total);
            anon.push(own);
        }
        let anon_median = median(&anon).map_or_else(|| "?".to_owned(), num);
        Ok(Row::new(
            format!(
                "{TITLE}{}, {CONTACTS} contacts + {CHATS} chats: resident memory, idle",
                renderer_tag(ctx)
            ),
            "MB",
            rss,
            format!(
                "VmRSS {} s after the window was attached and drawn, a new process each run; \
                 RssAnon median {anon_median} MB; {}; goal < 45 MB; Gajim ~180 MB (issue \
                 11's figure, not measured here)",
                idle_for(ctx).as_secs(),
                ctx.renderer.described()
            ),
        ))
    })
}

/// One idle window: its VmRSS and RssAnon in MB.
fn idle_once(ctx: &Ctx, screen: &Screen, daemon: &Daemon) -> Result<(f64, f64)> {
    let mut gui = screen.spawn(ctx, daemon, &[])?;
    gui.wait_hook(STEP, "being attached", |h| {
        matches!(h, Hook::Attached { accounts: 1 })
    })?;
    screen.x.wait_window(gui.pid(), STEP)?;
    screen.frames.settle(Duration::from_millis(200), STEP)?;
    std::thread::sleep(idle_for(ctx));
    let stats = procstat::read(gui.pid())?;
    screen.close(&mut gui)?;
    Ok((
        stats.rss_kib as f64 * 1024.0 / 1e6,
        stats.rss_anon_kib as f64 * 1024.0 / 1e6,
    ))
}
