//! Text entry through the X CLIPBOARD selection, for text that key events cannot carry
//! (non-ASCII, line breaks, long text).
//!
//! Owning a selection on X11 means answering other clients' requests for it, so a
//! [`Clipboard`] keeps a hidden window and a thread that serves `SelectionRequest`s for as
//! long as it lives. Counting the text requests it has served is what lets [`paste_text`]
//! know that the target has taken the text, instead of sleeping and hoping.

use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use deskhand_core::input::Press;
use deskhand_core::ports::Input;
use deskhand_core::{InputEvent, Key, PortError};
use x11rb::connection::{Connection, RequestConnection};
use x11rb::protocol::xproto::{
    AtomEnum, ClientMessageEvent, ConnectionExt as _, CreateWindowAux, EventMask, PropMode,
    SelectionNotifyEvent, SelectionRequestEvent, Window, WindowClass, SELECTION_NOTIFY_EVENT,
};
use x11rb::protocol::Event;
use x11rb::rust_connection::RustConnection;
use x11rb::wrapper::ConnectionExt as _;
use x11rb::{CURRENT_TIME, NONE};

/// Longest text [`needs_clipboard`] leaves to key events.
pub const MAX_TYPED_LEN: usize = 200;
/// Longest wait for another client to hand over the clipboard's text.
const GET_TIMEOUT: Duration = Duration::from_secs(1);
/// Longest wait for the focused window to take pasted text.
const PASTE_TIMEOUT: Duration = Duration::from_secs(1);

x11rb::atom_manager! {
    Atoms: AtomsCookie {
        CLIPBOARD,
        TARGETS,
        UTF8_STRING,
        TEXT,
        INCR,
        DESKHAND_SELECTION,
    }
}

/// True when text must go through the clipboard: non-ASCII, control characters other than
/// tab (line breaks), or longer than [`MAX_TYPED_LEN`] characters.
pub fn needs_clipboard(text: &str) -> bool {
    text.chars()
        .any(|c| !c.is_ascii() || (c.is_ascii_control() && c != '\t'))
        || text.chars().count() > MAX_TYPED_LEN
}

/// What the serving thread hands to a waiting [`Clipboard::get_text`]: the property's type
/// and bytes, `None` when the owner refused the target.
type Fetched = Result<Option<(u32, Vec<u8>)>, String>;

#[derive(Default)]
struct State {
    /// What we serve while we own CLIPBOARD.
    text: Option<String>,
    /// Text requests answered so far.
    served: u64,
    /// A `get_text` waiting for its `SelectionNotify`.
    pending: Option<mpsc::Sender<Fetched>>,
    shutdown: bool,
}

struct Shared {
    conn: RustConnection,
    window: Window,
    atoms: Atoms,
    state: Mutex<State>,
    served: Condvar,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panic on the serving thread cannot leave State half-written: every update is a
        // single assignment, so the poisoned value is still consistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The X CLIPBOARD selection, owned and served from a background thread while this lives.
/// Text set here disappears from the clipboard when it is dropped (X has no clipboard
/// storage of its own).
pub struct Clipboard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    get_lock: Mutex<()>,
}

impl std::fmt::Debug for Clipboard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clipboard")
            .field("window", &self.shared.window)
            .finish_non_exhaustive()
    }
}

fn lost(e: impl std::fmt::Display) -> PortError {
    PortError::failed(format!("the clipboard's X connection failed: {e}"))
}

impl Clipboard {
    /// Connects to an X display (`None`: the one named by DISPLAY) and starts serving.
    pub fn open(display: Option<&str>) -> Result<Clipboard, PortError> {
        let (conn, root) = crate::x11::connect(display, "the clipboard")?;
        let atoms = Atoms::new(&conn).map_err(lost)?.reply().map_err(lost)?;
        let window = conn.generate_id().map_err(lost)?;
        conn.create_window(
            x11rb::COPY_DEPTH_FROM_PARENT,
            window,
            root,
            -10,
            -10,
            1,
            1,
            0,
            WindowClass::INPUT_OUTPUT,
            x11rb::COPY_FROM_PARENT,
            &CreateWindowAux::new().event_mask(EventMask::PROPERTY_CHANGE),
        )
        .map_err(lost)?
        .check()
        .map_err(lost)?;
        let shared = Arc::new(Shared {
            conn,
            window,
            atoms,
            state: Mutex::new(State::default()),
            served: Condvar::new(),
        });
        let worker = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("deskhand-clipboard".into())
            .spawn(move || serve(&worker))
            .map_err(|e| PortError::failed(format!("cannot start the clipboard thread: {e}")))?;
        Ok(Clipboard {
            shared,
            thread: Some(thread),
            get_lock: Mutex::new(()),
        })
    }

    fn owner(&self) -> Result<Window, PortError> {
        let s = &self.shared;
        Ok(s.conn
            .get_selection_owner(s.atoms.CLIPBOARD)
            .map_err(lost)?
            .reply()
            .map_err(lost)?
            .owner)
    }

    /// Puts text on the clipboard; it is served until replaced, cleared or dropped.
    pub fn set_text(&self, text: &str) -> Result<(), PortError> {
        let s = &self.shared;
        // One ChangeProperty must carry the whole text (INCR transfers are not implemented).
        if text.len() + 64 > s.conn.maximum_request_bytes() {
            return Err(PortError::invalid(format!(
                "text of {} bytes is too long for the clipboard (at most {})",
                text.len(),
                s.conn.maximum_request_bytes() - 64
            )));
        }
        s.state().text = Some(text.to_string());
        s.conn
            .set_selection_owner(s.window, s.atoms.CLIPBOARD, CURRENT_TIME)
            .map_err(lost)?;
        if self.owner()? != s.window {
            return Err(PortError::failed(
                "the X server did not make Deskhand the clipboard owner",
            ));
        }
        Ok(())
    }

    /// Empties the clipboard if Deskhand owns it.
    pub fn clear(&self) -> Result<(), PortError> {
        let s = &self.shared;
        s.state().text = None;
        if self.owner()? == s.window {
            s.conn
                .set_selection_owner(NONE, s.atoms.CLIPBOARD, CURRENT_TIME)
                .map_err(lost)?;
            s.conn.flush().map_err(lost)?;
        }
        Ok(())
    }

    /// The clipboard's text, whoever owns it; `None` when it is empty or holds no text.
    pub fn get_text(&self) -> Result<Option<String>, PortError> {
        let _one_at_a_time = self.get_lock.lock().unwrap_or_else(|p| p.into_inner());
        let s = &self.shared;
        let owner = self.owner()?;
        if owner == NONE {
            return Ok(None);
        }
        if owner == s.window {
            return Ok(s.state().text.clone());
        }
        for target in [s.atoms.UTF8_STRING, AtomEnum::STRING.into()] {
            let (tx, rx) = mpsc::channel();
            s.state().pending = Some(tx);
            s.conn
                .convert_selection(
                    s.window,
                    s.atoms.CLIPBOARD,
                    target,
                    s.atoms.DESKHAND_SELECTION,
                    CURRENT_TIME,
                )
                .map_err(lost)?;
            s.conn.flush().map_err(lost)?;
            let fetched = rx.recv_timeout(GET_TIMEOUT);
            s.state().pending = None;
            match fetched {
                Err(_) => {
                    return Err(PortError::timeout(format!(
                        "the clipboard owner (window 0x{owner:08x}) did not hand over its \
                         text within {GET_TIMEOUT:?}"
                    )))
                }
                Ok(Err(e)) => return Err(PortError::failed(e)),
                Ok(Ok(None)) => continue,
                Ok(Ok(Some((ty, _)))) if ty == s.atoms.INCR => {
                    return Err(PortError::failed(
                        "the clipboard text is too large (INCR transfers are not supported)",
                    ))
                }
                Ok(Ok(Some((_, bytes)))) if target == s.atoms.UTF8_STRING => {
                    return Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
                }
                Ok(Ok(Some((_, bytes)))) => {
                    return Ok(Some(bytes.iter().map(|&b| char::from(b)).collect()))
                }
            }
        }
        Ok(None)
    }

    fn served(&self) -> u64 {
        self.shared.state().served
    }

    /// Waits until more than `count` text requests have been served; false on timeout.
    fn wait_served(&self, count: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.state();
        while state.served <= count {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = match self.shared.served.wait_timeout(state, left) {
                Ok((s, _)) => s,
                Err(p) => p.into_inner().0,
            };
        }
        true
    }
}

/// X keeps no clipboard of its own: text we still own would vanish with this process. A
/// restored clipboard belongs to the user, so it is handed to `xclip`, which serves it until
/// another program takes the clipboard.
fn hand_over(text: &str) {
    use std::io::Write;
    let child = std::process::Command::new("xclip")
        .args(["-selection", "clipboard", "-i"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match child {
        Ok(mut c) => {
            if let Some(mut stdin) = c.stdin.take() {
                let _ = stdin.write_all(text.as_bytes());
            }
            // xclip forks a server and its first process exits at once.
            let _ = c.wait();
        }
        Err(e) => {
            tracing::warn!(error = %e, "xclip not found: the clipboard empties when Deskhand exits")
        }
    }
}

impl Drop for Clipboard {
    fn drop(&mut self) {
        let s = &self.shared;
        let owned = s.state().text.clone();
        if let Some(text) = owned {
            hand_over(&text);
            // xclip takes the selection from its forked server; wait (bounded) until it has,
            // so the text is never missing in between.
            let deadline = Instant::now() + Duration::from_secs(2);
            while Instant::now() < deadline {
                let owner = s
                    .conn
                    .get_selection_owner(s.atoms.CLIPBOARD)
                    .ok()
                    .and_then(|c| c.reply().ok())
                    .map(|r| r.owner);
                if owner.is_some_and(|o| o != s.window && o != NONE) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        s.state().shutdown = true;
        // An event with no mask goes to the window's creator: it wakes the serving thread.
        let wake = ClientMessageEvent::new(32, s.window, s.atoms.DESKHAND_SELECTION, [0u32; 5]);
        let woke = s
            .conn
            .send_event(false, s.window, EventMask::NO_EVENT, wake)
            .and_then(|_| s.conn.flush());
        if let (Ok(()), Some(thread)) = (woke, self.thread.take()) {
            let _ = thread.join();
        }
        let _ = s.conn.destroy_window(s.window);
        let _ = s.conn.flush();
    }
}

/// The serving thread: answers requests for our text and delivers fetched text.
fn serve(s: &Shared) {
    loop {
        let event = match s.conn.wait_for_event() {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "clipboard connection closed");
                return;
            }
        };
        match event {
            Event::SelectionRequest(e) => answer(s, &e),
            Event::SelectionClear(e) if e.selection == s.atoms.CLIPBOARD => {
                // A clear queued before our latest set_text must not drop the new text.
                let owner = s
                    .conn
                    .get_selection_owner(s.atoms.CLIPBOARD)
                    .ok()
                    .and_then(|c| c.reply().ok())
                    .map(|r| r.owner);
                if owner != Some(s.window) {
                    s.state().text = None;
                }
            }
            Event::SelectionNotify(e) if e.requestor == s.window => {
                let fetched = fetch(s, e.property);
                if let Some(tx) = s.state().pending.take() {
                    let _ = tx.send(fetched);
                }
            }
            Event::ClientMessage(e) if e.window == s.window && s.state().shutdown => return,
            Event::Error(e) => tracing::debug!(error = ?e, "clipboard X error"),
            _ => {}
        }
    }
}

fn fetch(s: &Shared, property: u32) -> Fetched {
    if property == NONE {
        return Ok(None);
    }
    let reply = s
        .conn
        .get_property(true, s.window, property, AtomEnum::ANY, 0, u32::MAX / 4)
        .map_err(|e| e.to_string())?
        .reply()
        .map_err(|e| format!("cannot read the clipboard text: {e}"))?;
    Ok(Some((reply.type_, reply.value)))
}

fn answer(s: &Shared, e: &SelectionRequestEvent) {
    let a = &s.atoms;
    let text = s.state().text.clone();
    // Obsolete clients leave the property empty and mean the target's name.
    let property = if e.property == NONE {
        e.target
    } else {
        e.property
    };
    let string: u32 = AtomEnum::STRING.into();
    let (written, is_text) = match text {
        Some(_) if e.selection != a.CLIPBOARD => (false, false),
        Some(_) if e.target == a.TARGETS => {
            let targets = [a.TARGETS, a.UTF8_STRING, string, a.TEXT];
            let r = s.conn.change_property32(
                PropMode::REPLACE,
                e.requestor,
                property,
                AtomEnum::ATOM,
                &targets,
            );
            (r.is_ok(), false)
        }
        Some(t) if e.target == a.UTF8_STRING || e.target == a.TEXT => {
            let r = s.conn.change_property8(
                PropMode::REPLACE,
                e.requestor,
                property,
                a.UTF8_STRING,
                t.as_bytes(),
            );
            (r.is_ok(), true)
        }
        Some(t) if e.target == string => {
            let latin1: Vec<u8> = t.chars().map(|c| u8::try_from(c).unwrap_or(b'?')).collect();
            let r =
                s.conn
                    .change_property8(PropMode::REPLACE, e.requestor, property, string, &latin1);
            (r.is_ok(), true)
        }
        _ => (false, false),
    };
    let notify = SelectionNotifyEvent {
        response_type: SELECTION_NOTIFY_EVENT,
        sequence: 0,
        time: e.time,
        requestor: e.requestor,
        selection: e.selection,
        target: e.target,
        property: if written { property } else { NONE },
    };
    let sent = s
        .conn
        .send_event(false, e.requestor, EventMask::NO_EVENT, notify)
        .and_then(|_| s.conn.flush());
    tracing::trace!(target = e.target, written, "served selection request");
    if written && is_text && sent.is_ok() {
        s.state().served += 1;
        s.served.notify_all();
    }
}

/// Pastes text into the focused window: saves the clipboard's text, puts `text` on it,
/// presses ctrl+v, waits until the window has taken the text, and puts the previous text
/// back (or empties the clipboard when it held none).
pub fn paste_text(
    input: &mut dyn Input,
    clipboard: &Clipboard,
    text: &str,
) -> Result<(), PortError> {
    let previous = clipboard.get_text()?;
    clipboard.set_text(text)?;
    let served = clipboard.served();
    let key = |key, press| InputEvent::Key { key, press };
    let sent = input.send(&[
        key(Key::Ctrl, Press::Down),
        key(Key::Char('v'), Press::Click),
        key(Key::Ctrl, Press::Up),
    ]);
    let pasted = match sent {
        Ok(()) => clipboard.wait_served(served, PASTE_TIMEOUT),
        Err(_) => {
            // Never leave Ctrl held down after a failed chord.
            let _ = input.send(&[key(Key::Ctrl, Press::Up)]);
            false
        }
    };
    let restored = match previous {
        Some(p) => clipboard.set_text(&p),
        None => clipboard.clear(),
    };
    sent?;
    restored?;
    if !pasted {
        return Err(PortError::timeout(format!(
            "the focused window did not take the text from the clipboard within \
             {PASTE_TIMEOUT:?} of ctrl+v; focus a text field first"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_short_ascii_is_typed() {
        assert!(!needs_clipboard("hello world\tok"));
        assert!(needs_clipboard("Grüße"));
        assert!(needs_clipboard("a\nb"));
        assert!(needs_clipboard(&"x".repeat(MAX_TYPED_LEN + 1)));
        assert!(!needs_clipboard(&"x".repeat(MAX_TYPED_LEN)));
    }
}
