//! Helpers for the screens' tests: drive a view with iced_test's simulator
//! and feed what it produced back into the screen, as the app would.

use iced::Element;
use iced_test::Simulator;
use wimsy_ipc::{ConnectionStatus, Event, FrontendState};

/// Logical size of a small window at twice the scale (a 720×1000 pixel
/// window at 2.0): everything a screen offers must still be reachable.
pub const SMALL: (f32, f32) = (360.0, 500.0);

/// Build `view`, let `steps` click and type in it, and return the messages
/// it produced.
pub fn interact<'a, M>(
    view: impl Into<Element<'a, M>>,
    steps: impl FnOnce(&mut Simulator<'a, M>),
) -> Vec<M> {
    let mut ui = iced_test::simulator(view);
    steps(&mut ui);
    ui.into_messages().collect()
}

/// The same at [`SMALL`].
pub fn interact_small<'a, M>(
    view: impl Into<Element<'a, M>>,
    steps: impl FnOnce(&mut Simulator<'a, M>),
) -> Vec<M> {
    let mut ui = Simulator::with_size(iced::Settings::default(), SMALL, view);
    steps(&mut ui);
    ui.into_messages().collect()
}

/// Panic unless each of `texts` is drawn inside [`SMALL`]'s width (below
/// the fold is fine: the screens scroll; cut off at the side is not).
pub fn fits_small<'a, M>(view: impl Into<Element<'a, M>>, texts: &[&str]) {
    let mut ui = Simulator::with_size(iced::Settings::default(), SMALL, view);
    for text in texts {
        let bounds = ui
            .find(*text)
            .map(|target| iced_test::selector::Bounded::bounds(&target))
            .unwrap_or_else(|e| panic!("{text:?} is not shown: {e}"));
        assert!(
            bounds.x >= 0.0 && bounds.x + bounds.width <= SMALL.0,
            "{text:?} is cut off at twice the scale: {bounds:?}"
        );
    }
}

/// Whether `view` shows exactly `text` somewhere.
pub fn shows<'a, M>(view: impl Into<Element<'a, M>>, text: &str) -> bool {
    iced_test::simulator(view).find(text).is_ok()
}

/// Click the text input with `id` and type `text` into it.
pub fn type_into<M>(ui: &mut Simulator<'_, M>, id: &'static str, text: &str) {
    ui.click(iced_test::selector::id(id))
        .unwrap_or_else(|e| panic!("no input {id}: {e}"));
    let _ = ui.typewrite(text);
}

/// Click the middle of the widget with `id` (a radio or a switch wrapped in
/// a container with that id: their labels are not text widgets a selector
/// can find).
pub fn click_id<M>(ui: &mut Simulator<'_, M>, id: impl Into<iced::widget::Id>) {
    let id = id.into();
    ui.click(iced_test::selector::id(id.clone()))
        .unwrap_or_else(|e| panic!("nothing with id {id:?} to click: {e}"));
}

/// Click the button labelled `label`.
pub fn click<M>(ui: &mut Simulator<'_, M>, label: &str) {
    ui.click(label)
        .unwrap_or_else(|e| panic!("no {label:?} to click: {e}"));
}

/// A state with accounts added by events, so it is built the way the
/// reducer builds it whatever fields the snapshot grows.
pub fn state_with(accounts: &[(&str, ConnectionStatus)]) -> FrontendState {
    let mut state = FrontendState::default();
    for (jid, status) in accounts {
        let seq = state.seq + 1;
        state.apply(
            seq,
            &Event::AccountAdded {
                account: (*jid).to_owned(),
                status: status.clone(),
            },
        );
    }
    state
}

/// Apply one more event.
pub fn apply(state: &mut FrontendState, event: Event) {
    let seq = state.seq + 1;
    state.apply(seq, &event);
}

/// Draw `view` at `size` (iced_test draws at scale 2.0) into
/// `target/screens/<name>-<renderer>.png`, for a person to look at: the
/// `#[ignore]`d `screenshots` tests call it, CI does not (pixels depend on
/// fonts and renderer).
pub fn save_png<'a, M>(view: impl Into<Element<'a, M>>, size: (f32, f32), name: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screens");
    let mut ui = Simulator::with_size(iced::Settings::default(), size, view);
    let snapshot = ui
        .snapshot(&iced::Theme::Light)
        .unwrap_or_else(|e| panic!("cannot draw {name}: {e}"));
    // It only writes a file that is not there yet.
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with(&format!("{name}-"))
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    snapshot
        .matches_image(dir.join(name))
        .unwrap_or_else(|e| panic!("cannot save {name}: {e}"));
}
