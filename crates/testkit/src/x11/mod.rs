//! A private X server (Xvfb) and the few things a person does to a window
//! on it: find it, type into it, look at it, and press its close button.
//!
//! Everything goes through x11rb's pure-Rust connection, with no X tool
//! from apt beyond Xvfb itself:
//! - the close button is a `WM_DELETE_WINDOW` client message, which is
//!   what a window manager sends when a person clicks it (`xdotool
//!   windowclose` destroys the window instead, which no user can do, and
//!   `wmctrl -c` needs a window manager);
//! - keys go through the XTEST extension, so the window gets them as from
//!   a real keyboard (synthetic `SendEvent` key presses are flagged as
//!   such and toolkits may ignore them);
//! - screenshots are `GetImage` on the root window, written as PNG;
//! - [`Frames`] sees each drawing on the screen (DAMAGE), to know when a
//!   window has drawn.
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! use std::time::Duration;
//! let xvfb = wimsy_testkit::Xvfb::start()?;
//! let x = xvfb.connect()?;
//! # let pid = 0;
//! let window = x.wait_window(pid, Duration::from_secs(20))?;
//! x.focus(window)?;
//! x.key("ctrl+n")?;
//! x.type_text("bob@localhost\n")?;
//! x.screenshot("target/test-artifacts/gui/demo.png".as_ref())?;
//! x.close(window)?;
//! # Ok(())
//! # }
//! ```

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use x11rb::connection::Connection as _;
use x11rb::protocol::xproto::{
    AtomEnum, ClientMessageEvent, ConnectionExt as _, EventMask, InputFocus, MapState, Window,
};
use x11rb::protocol::xtest::ConnectionExt as _;
use x11rb::rust_connection::RustConnection;
use x11rb::{CURRENT_TIME, NONE};

mod frames;
mod screen;

pub use frames::Frames;
pub use screen::{Screenshots, save_argb_png};

use crate::process::Watchdog;
use crate::process::{WatchdogTarget, pid_of};

/// The screen every instance has: room for a 640x400 window and then some.
const SCREEN: (u16, u16) = (1024, 768);

/// XTEST's event types (the core protocol's event codes).
const KEY_PRESS: u8 = 2;
const KEY_RELEASE: u8 = 3;
const BUTTON_PRESS: u8 = 4;
const BUTTON_RELEASE: u8 = 5;
const MOTION_NOTIFY: u8 = 6;

/// A private Xvfb on a display it chose itself (`-displayfd`), listening
/// on its Unix socket only; killed when dropped (and, through a watchdog,
/// if the test process dies without dropping it).
#[derive(Debug)]
pub struct Xvfb {
    child: Child,
    display: String,
    _watchdog: Watchdog,
}

impl Xvfb {
    /// Starts one and waits until it has told its display number, which
    /// it does once it accepts connections.
    pub fn start() -> anyhow::Result<Self> {
        let (width, height) = SCREEN;
        let mut child = Command::new("Xvfb")
            .args(["-displayfd", "1", "-screen", "0"])
            .arg(format!("{width}x{height}x24"))
            // The abstract socket ("local") must stay on: a display's
            // abstract name cannot be taken twice, unlike its socket file,
            // which a second server unlinks and takes over, so it is what
            // keeps two servers started at once off the same display.
            .args(["-nolisten", "tcp", "-noreset"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting Xvfb (Debian package xvfb; `cargo xtask test` installs it)")?;
        let watchdog = Watchdog::spawn(WatchdogTarget::Process(pid_of(&child)), None)?;
        let stdout = child.stdout.take().context("Xvfb has no stdout pipe")?;
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line);
        let number = line.trim();
        if read.is_err() || number.is_empty() || number.parse::<u32>().is_err() {
            let _ = child.kill();
            let status = child.wait().ok();
            bail!("Xvfb did not say which display it took (exit: {status:?}, said: {line:?})");
        }
        Ok(Self {
            display: format!(":{number}"),
            child,
            _watchdog: watchdog,
        })
    }

    /// Its `DISPLAY` value (`:N`).
    pub fn display(&self) -> &str {
        &self.display
    }

    /// A connection to it, for the test's own hands and eyes.
    pub fn connect(&self) -> anyhow::Result<X11> {
        X11::connect(&self.display)
    }

    /// Starts watching what is drawn on its screen from now on.
    pub fn frames(&self) -> anyhow::Result<Frames> {
        Frames::watch(&self.display)
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client connection to an X server, with the atoms and keyboard map
/// the helpers need.
pub struct X11 {
    conn: RustConnection,
    root: Window,
    wm_protocols: u32,
    wm_delete_window: u32,
    net_wm_pid: u32,
    net_wm_name: u32,
    utf8_string: u32,
    /// The first keycode and, per keycode, its keysyms.
    keymap: (u8, Vec<Vec<u32>>),
}

impl std::fmt::Debug for X11 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("X11").field("root", &self.root).finish()
    }
}

impl X11 {
    /// Connects to `display` (`:N`).
    pub fn connect(display: &str) -> anyhow::Result<Self> {
        let (conn, screen) = x11rb::connect(Some(display))
            .with_context(|| format!("connecting to the X server {display}"))?;
        let root = conn.setup().roots[screen].root;
        let atom = |name: &str| -> anyhow::Result<u32> {
            Ok(conn
                .intern_atom(false, name.as_bytes())?
                .reply()
                .with_context(|| format!("interning {name}"))?
                .atom)
        };
        let wm_protocols = atom("WM_PROTOCOLS")?;
        let wm_delete_window = atom("WM_DELETE_WINDOW")?;
        let net_wm_pid = atom("_NET_WM_PID")?;
        let net_wm_name = atom("_NET_WM_NAME")?;
        let utf8_string = atom("UTF8_STRING")?;
        let setup = conn.setup();
        let (min, max) = (setup.min_keycode, setup.max_keycode);
        let mapping = conn
            .get_keyboard_mapping(min, max - min + 1)?
            .reply()
            .context("reading the keyboard map")?;
        let per = usize::from(mapping.keysyms_per_keycode.max(1));
        let keys = mapping.keysyms.chunks(per).map(<[u32]>::to_vec).collect();
        Ok(Self {
            conn,
            root,
            wm_protocols,
            wm_delete_window,
            net_wm_pid,
            net_wm_name,
            utf8_string,
            keymap: (min, keys),
        })
    }

    /// The viewable top-level window of process `pid` (by `_NET_WM_PID`,
    /// which winit sets), once it is mapped; an error after `deadline`.
    pub fn wait_window(&self, pid: u32, deadline: Duration) -> anyhow::Result<Window> {
        let end = Instant::now() + deadline;
        loop {
            if let Some(window) = self.window_of(pid)? {
                return Ok(window);
            }
            if Instant::now() >= end {
                bail!("no window of process {pid} was shown within {deadline:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The viewable top-level window of process `pid`, if there is one.
    pub fn window_of(&self, pid: u32) -> anyhow::Result<Option<Window>> {
        for window in self.conn.query_tree(self.root)?.reply()?.children {
            // A window may go away between the listing and these calls.
            let Ok(attributes) = self.conn.get_window_attributes(window)?.reply() else {
                continue;
            };
            if attributes.map_state != MapState::VIEWABLE {
                continue;
            }
            let Ok(property) = self
                .conn
                .get_property(false, window, self.net_wm_pid, AtomEnum::CARDINAL, 0, 1)?
                .reply()
            else {
                continue;
            };
            if property.value32().and_then(|mut v| v.next()) == Some(pid) {
                return Ok(Some(window));
            }
        }
        Ok(None)
    }

    /// Whether `window` still exists and is shown.
    pub fn is_viewable(&self, window: Window) -> anyhow::Result<bool> {
        Ok(self
            .conn
            .get_window_attributes(window)?
            .reply()
            .is_ok_and(|a| a.map_state == MapState::VIEWABLE))
    }

    /// The window's title (`_NET_WM_NAME`, UTF-8).
    pub fn title(&self, window: Window) -> anyhow::Result<String> {
        let reply = self
            .conn
            .get_property(false, window, self.net_wm_name, self.utf8_string, 0, 1024)?
            .reply()?;
        Ok(String::from_utf8_lossy(&reply.value).into_owned())
    }

    /// Gives `window` the keyboard focus, as a click on it would (there is
    /// no window manager to do it).
    pub fn focus(&self, window: Window) -> anyhow::Result<()> {
        self.conn
            .set_input_focus(InputFocus::PARENT, window, CURRENT_TIME)?
            .check()
            .context("focusing the window")?;
        Ok(())
    }

    /// Presses the window's close button the way a window manager does:
    /// a `WM_DELETE_WINDOW` client message, which the application may
    /// answer as it likes. Fails if the window does not take part in
    /// that protocol (a window manager would then destroy it).
    pub fn close(&self, window: Window) -> anyhow::Result<()> {
        let protocols = self
            .conn
            .get_property(false, window, self.wm_protocols, AtomEnum::ATOM, 0, 64)?
            .reply()
            .context("reading the window's WM_PROTOCOLS")?;
        let offers_delete = protocols
            .value32()
            .is_some_and(|mut atoms| atoms.any(|a| a == self.wm_delete_window));
        if !offers_delete {
            bail!("the window does not take WM_DELETE_WINDOW: no close button to press");
        }
        let event = ClientMessageEvent::new(
            32,
            window,
            self.wm_protocols,
            [self.wm_delete_window, CURRENT_TIME, 0, 0, 0],
        );
        self.conn
            .send_event(false, window, EventMask::NO_EVENT, event)?
            .check()
            .context("sending WM_DELETE_WINDOW")?;
        Ok(())
    }

    /// Presses and releases a key combination such as `ctrl+n`, `Return`,
    /// `shift+Return` or `Escape` (modifiers `ctrl`, `shift`, `alt`; keys:
    /// one character or a name from [`named_keysym`]).
    pub fn key(&self, combo: &str) -> anyhow::Result<()> {
        let mut parts: Vec<&str> = combo.split('+').collect();
        let key = parts.pop().filter(|k| !k.is_empty()).unwrap_or("+");
        let mut held = Vec::new();
        for modifier in parts {
            let keysym = match modifier.to_ascii_lowercase().as_str() {
                "ctrl" | "control" => 0xffe3,
                "shift" => 0xffe1,
                "alt" => 0xffe9,
                other => bail!("unknown modifier {other:?} in {combo:?}"),
            };
            held.push(self.keycode(keysym)?.0);
        }
        let keysym = named_keysym(key)
            .or_else(|| char_keysym(key))
            .with_context(|| format!("no key named {key:?}"))?;
        // A combination names the key, not the character: `ctrl+n` is
        // Control and the N key, whatever Shift would make of it.
        let (code, _) = self.keycode(keysym)?;
        for &m in &held {
            self.fake(KEY_PRESS, m)?;
        }
        self.fake(KEY_PRESS, code)?;
        self.fake(KEY_RELEASE, code)?;
        for &m in held.iter().rev() {
            self.fake(KEY_RELEASE, m)?;
        }
        self.sync()
    }

    /// The window's place and size on the screen: x, y, width, height.
    pub fn geometry(&self, window: Window) -> anyhow::Result<(i16, i16, u16, u16)> {
        let g = self.conn.get_geometry(window)?.reply()?;
        let at = self
            .conn
            .translate_coordinates(window, self.root, 0, 0)?
            .reply()?;
        Ok((at.dst_x, at.dst_y, g.width, g.height))
    }

    /// Moves the pointer to (`x`, `y`) on the screen.
    pub fn pointer_to(&self, x: i16, y: i16) -> anyhow::Result<()> {
        self.conn
            .xtest_fake_input(MOTION_NOTIFY, 0, CURRENT_TIME, self.root, x, y, 0)?;
        self.sync()
    }

    /// A left click at (`x`, `y`) on the screen; returns once the server
    /// has taken it.
    pub fn click_at(&self, x: i16, y: i16) -> anyhow::Result<()> {
        self.pointer_to(x, y)?;
        self.conn
            .xtest_fake_input(BUTTON_PRESS, 1, CURRENT_TIME, NONE, 0, 0, 0)?;
        self.conn
            .xtest_fake_input(BUTTON_RELEASE, 1, CURRENT_TIME, NONE, 0, 0, 0)?;
        self.sync()
    }

    /// One click of the mouse wheel where the pointer is: up (button 4)
    /// or down (button 5); returns once the server has taken it.
    pub fn wheel(&self, up: bool) -> anyhow::Result<()> {
        let button = if up { 4 } else { 5 };
        self.conn
            .xtest_fake_input(BUTTON_PRESS, button, CURRENT_TIME, NONE, 0, 0, 0)?;
        self.conn
            .xtest_fake_input(BUTTON_RELEASE, button, CURRENT_TIME, NONE, 0, 0, 0)?;
        self.sync()
    }

    /// Types `text` key by key (`\n` is Return), with Shift where the
    /// character needs it. Only characters on the keyboard map (US layout
    /// under Xvfb: ASCII) can be typed.
    pub fn type_text(&self, text: &str) -> anyhow::Result<()> {
        let shift = self.keycode(0xffe1)?.0;
        for c in text.chars() {
            let keysym = match c {
                '\n' => 0xff0d,
                '\t' => 0xff09,
                c => {
                    char_keysym(&c.to_string()).with_context(|| format!("{c:?} cannot be typed"))?
                }
            };
            let (code, shifted) = self.keycode(keysym)?;
            if shifted {
                self.fake(KEY_PRESS, shift)?;
            }
            self.fake(KEY_PRESS, code)?;
            self.fake(KEY_RELEASE, code)?;
            if shifted {
                self.fake(KEY_RELEASE, shift)?;
            }
        }
        self.sync()
    }

    /// The keycode that gives `keysym`, and whether Shift is needed.
    fn keycode(&self, keysym: u32) -> anyhow::Result<(u8, bool)> {
        let (min, keys) = &self.keymap;
        for (shifted, column) in [(false, 0), (true, 1)] {
            if let Some(index) = keys.iter().position(|k| k.get(column) == Some(&keysym)) {
                let code = u8::try_from(usize::from(*min) + index)?;
                return Ok((code, shifted));
            }
        }
        bail!("no key on the keyboard map gives keysym {keysym:#x}")
    }

    fn fake(&self, kind: u8, code: u8) -> anyhow::Result<()> {
        self.conn
            .xtest_fake_input(kind, code, CURRENT_TIME, NONE, 0, 0, 0)?;
        Ok(())
    }

    /// Waits until the server has processed everything sent so far.
    fn sync(&self) -> anyhow::Result<()> {
        self.conn.get_input_focus()?.reply()?;
        Ok(())
    }
}

/// The keysym of a named key (X names: `Return`, `Escape`, `Tab`,
/// `BackSpace`, `Up`, `Down`, `Page_Up`, `Page_Down`, `Home`, `End`,
/// `Delete`).
pub fn named_keysym(name: &str) -> Option<u32> {
    Some(match name {
        "Return" | "Enter" => 0xff0d,
        "Escape" => 0xff1b,
        "Tab" => 0xff09,
        "BackSpace" => 0xff08,
        "Delete" => 0xffff,
        "Home" => 0xff50,
        "Left" => 0xff51,
        "Up" => 0xff52,
        "Right" => 0xff53,
        "Down" => 0xff54,
        "Page_Up" => 0xff55,
        "Page_Down" => 0xff56,
        "End" => 0xff57,
        _ => return None,
    })
}

/// The keysym of one printable Latin-1 character (keysyms equal the
/// code points there).
fn char_keysym(s: &str) -> Option<u32> {
    let mut chars = s.chars();
    let c = chars.next()?;
    if chars.next().is_some() {
        return None;
    }
    let code = u32::from(c);
    ((0x20..0x7f).contains(&code) || (0xa0..=0xff).contains(&code)).then_some(code)
}

#[cfg(test)]
mod tests;
