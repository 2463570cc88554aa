//! The harness checked against a window of its own on a real Xvfb: what
//! it types arrives as those characters, its close is the client message
//! a window manager sends, its screenshots are the screen, and frames are
//! seen.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use x11rb::connection::Connection as _;
use x11rb::protocol::Event;
use x11rb::protocol::xproto::{
    AtomEnum, ChangeGCAux, ConnectionExt as _, CreateGCAux, CreateWindowAux, EventMask, PropMode,
    Rectangle, WindowClass,
};
use x11rb::rust_connection::RustConnection;
use x11rb::wrapper::ConnectionExt as _;

use super::Xvfb;

const DEADLINE: Duration = Duration::from_secs(10);

/// A mapped 200x100 window of this process that takes WM_DELETE_WINDOW.
fn own_window(xvfb: &Xvfb) -> (RustConnection, u32) {
    let (conn, screen) = x11rb::connect(Some(xvfb.display())).unwrap();
    let root = conn.setup().roots[screen].root;
    let window = conn.generate_id().unwrap();
    conn.create_window(
        0,
        window,
        root,
        0,
        0,
        200,
        100,
        0,
        WindowClass::INPUT_OUTPUT,
        0,
        &CreateWindowAux::new()
            .background_pixel(0x00ff_ffff)
            .event_mask(EventMask::KEY_PRESS | EventMask::EXPOSURE),
    )
    .unwrap();
    let atom = |name: &str| {
        conn.intern_atom(false, name.as_bytes())
            .unwrap()
            .reply()
            .unwrap()
            .atom
    };
    let (protocols, delete, pid) = (
        atom("WM_PROTOCOLS"),
        atom("WM_DELETE_WINDOW"),
        atom("_NET_WM_PID"),
    );
    conn.change_property32(
        PropMode::REPLACE,
        window,
        protocols,
        AtomEnum::ATOM,
        &[delete],
    )
    .unwrap();
    conn.change_property32(
        PropMode::REPLACE,
        window,
        pid,
        AtomEnum::CARDINAL,
        &[std::process::id()],
    )
    .unwrap();
    conn.map_window(window).unwrap();
    conn.flush().unwrap();
    (conn, window)
}

/// The next event of `kind` on `conn`, within [`DEADLINE`].
fn next_event(conn: &RustConnection, mut kind: impl FnMut(&Event) -> bool) -> Event {
    let end = Instant::now() + DEADLINE;
    while Instant::now() < end {
        if let Some(event) = conn.poll_for_event().unwrap() {
            if kind(&event) {
                return event;
            }
            continue;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("no such event within {DEADLINE:?}");
}

#[test]
fn typed_text_arrives_as_those_characters() {
    let xvfb = Xvfb::start().unwrap();
    let x = xvfb.connect().unwrap();
    let (conn, window) = own_window(&xvfb);
    let found = x.wait_window(std::process::id(), DEADLINE).unwrap();
    assert_eq!(found, window);
    x.focus(window).unwrap();

    let text = "Hi bob@localhost.x-1!\n";
    x.type_text(text).unwrap();
    let mut typed = String::new();
    while typed.chars().count() < text.chars().count() {
        let Event::KeyPress(key) = next_event(&conn, |e| matches!(e, Event::KeyPress(_))) else {
            unreachable!()
        };
        let keysyms = &x.keymap.1[usize::from(key.detail - x.keymap.0)];
        let shifted = u16::from(key.state) & 1 != 0;
        let keysym = keysyms[usize::from(shifted)];
        match keysym {
            0xff0d => typed.push('\n'),
            // Shift itself.
            0xffe1 => {}
            k => typed.push(char::from_u32(k).unwrap()),
        }
    }
    assert_eq!(typed, text);

    x.key("ctrl+n").unwrap();
    let Event::KeyPress(ctrl) = next_event(&conn, |e| matches!(e, Event::KeyPress(_))) else {
        unreachable!()
    };
    let Event::KeyPress(n) = next_event(&conn, |e| matches!(e, Event::KeyPress(_))) else {
        unreachable!()
    };
    assert_eq!(x.keymap.1[usize::from(ctrl.detail - x.keymap.0)][0], 0xffe3);
    assert_eq!(
        x.keymap.1[usize::from(n.detail - x.keymap.0)][0],
        u32::from('n')
    );
    assert_ne!(u16::from(n.state) & 4, 0, "n came with Control held");
}

#[test]
fn close_is_the_client_message_a_window_manager_sends() {
    let xvfb = Xvfb::start().unwrap();
    let x = xvfb.connect().unwrap();
    let (conn, window) = own_window(&xvfb);
    x.wait_window(std::process::id(), DEADLINE).unwrap();
    x.close(window).unwrap();
    let Event::ClientMessage(message) = next_event(&conn, |e| matches!(e, Event::ClientMessage(_)))
    else {
        unreachable!()
    };
    assert_eq!(message.type_, x.wm_protocols);
    assert_eq!(message.data.as_data32()[0], x.wm_delete_window);
    assert!(x.is_viewable(window).unwrap(), "the window decides, not us");
}

#[test]
fn screenshots_show_the_screen_and_drawing_is_seen() {
    let xvfb = Xvfb::start().unwrap();
    let x = xvfb.connect().unwrap();
    let frames = xvfb.frames().unwrap();
    let (conn, window) = own_window(&xvfb);
    x.wait_window(std::process::id(), DEADLINE).unwrap();
    frames.settle(Duration::from_millis(100), DEADLINE).unwrap();

    let gc = conn.generate_id().unwrap();
    conn.create_gc(gc, window, &CreateGCAux::new().foreground(0x00ff_0000))
        .unwrap();
    let before = Instant::now();
    let rect = Rectangle {
        x: 10,
        y: 10,
        width: 20,
        height: 20,
    };
    conn.poly_fill_rectangle(window, gc, &[rect]).unwrap();
    // A blue bar wide enough to count as painted (a button), beside the
    // red square, too narrow to count (a stroke of text).
    conn.change_gc(gc, &ChangeGCAux::new().foreground(0x0000_00ff))
        .unwrap();
    let bar = Rectangle {
        x: 50,
        y: 60,
        width: 40,
        height: 10,
    };
    conn.poly_fill_rectangle(window, gc, &[bar]).unwrap();
    conn.change_gc(gc, &ChangeGCAux::new().foreground(0))
        .unwrap();
    conn.flush().unwrap();
    frames.first_after(before, DEADLINE).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shot.png");
    x.screenshot(&path).unwrap();
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut rgb = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut rgb).unwrap();
    assert_eq!((info.width, info.height), (1024, 768));
    let pixel = |px: usize, py: usize| {
        let at = (py * 1024 + px) * 3;
        [rgb[at], rgb[at + 1], rgb[at + 2]]
    };
    assert_eq!(pixel(20, 20), [255, 0, 0], "the red square");
    assert_eq!(pixel(100, 50), [255, 255, 255], "the white window");
    assert_eq!(pixel(500, 500), [0, 0, 0], "the black root");
    assert_eq!(x.find_colour([0, 0, 255]).unwrap(), Some((69, 64)));
    assert_eq!(x.find_colour([255, 0, 0]).unwrap(), None, "20 pixels wide");
    assert_eq!(x.colour_at(20, 20).unwrap(), [255, 0, 0]);
}
