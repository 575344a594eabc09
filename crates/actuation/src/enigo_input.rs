//! Input injection on X11 through enigo's XTest backend.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use deskhand_core::input::Press;
use deskhand_core::ports::Input;
use deskhand_core::{InputEvent, Key, MouseButton, PortError};
use enigo::{Axis, Button, Coordinate, Direction, Keyboard, Mouse, Settings};

use crate::clipboard::{paste_text, Clipboard, MAX_TYPED_LEN};
use crate::safety::TakeoverWatch;
use crate::secrets::SecretStore;

/// Injects input into the X display it was opened on.
pub struct EnigoInput {
    enigo: enigo::Enigo,
    cancel: Option<Arc<AtomicBool>>,
    secrets: Option<SecretStore>,
    watch: Option<Arc<TakeoverWatch>>,
    clipboard: Option<Clipboard>,
}

/// Characters typed between two looks at the cancel flag: small enough that the kill switch
/// stops typing within a few milliseconds.
const TEXT_CHUNK: usize = 6;

/// Shortest time between two presses of one key. Calculators such as galculator show a key
/// press by holding its button down for 100 ms and ignore (or undo) a second press of the same
/// key meanwhile, so "1000" typed at full speed became "100". Measured on galculator under
/// Xvfb: 100 ms always drops the press, 105-120 ms drops some under full CPU load on 2 cores,
/// 130 ms and up never did; 180 ms leaves a margin.
const REPEAT_GAP: Duration = Duration::from_millis(180);

/// Characters of calculator input ("1000*1001=", "3.14159 / 2"): in text made only of these,
/// a character waits [`REPEAT_GAP`] after any earlier press of its key ("1212" too), since
/// such text goes to keypads; elsewhere only a character repeating the one just before it
/// waits, which keeps prose fast.
fn is_keypad_char(c: char) -> bool {
    c.is_ascii_digit() || ".,+-*/=%^()! ".contains(c)
}

/// When each key was last pressed while typing one text, to space out repeated presses.
struct RepeatGuard {
    keypad: bool,
    last: HashMap<char, Instant>,
    prev: Option<char>,
}

impl RepeatGuard {
    fn new(text: &str) -> RepeatGuard {
        RepeatGuard {
            keypad: text.chars().all(is_keypad_char),
            last: HashMap::new(),
            prev: None,
        }
    }

    /// Whether `c` must wait for an earlier press of its key (one of `pending`, about to be
    /// sent, or one already sent).
    fn conflicts(&self, c: char, pending: &str) -> bool {
        let k = c.to_ascii_lowercase();
        if self.keypad {
            pending.chars().any(|p| p.to_ascii_lowercase() == k)
        } else {
            pending.chars().last().map(|p| p.to_ascii_lowercase()) == Some(k)
        }
    }

    /// The moment `c` may be pressed, given the presses already sent.
    fn ready_at(&self, c: char) -> Option<Instant> {
        let k = c.to_ascii_lowercase();
        if !self.keypad && self.prev.map(|p| p.to_ascii_lowercase()) != Some(k) {
            return None;
        }
        self.last.get(&k).map(|t| *t + REPEAT_GAP)
    }

    fn sent(&mut self, text: &str) {
        let now = Instant::now();
        for c in text.chars() {
            self.last.insert(c.to_ascii_lowercase(), now);
        }
    }
}

impl std::fmt::Debug for EnigoInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnigoInput").finish_non_exhaustive()
    }
}

impl EnigoInput {
    /// The message of the error `send` returns once the cancel flag is set.
    pub const CANCELLED: &'static str = "cancelled by the kill switch";

    /// Connects to an X display (`None`: the one named by DISPLAY).
    pub fn open(display: Option<&str>) -> Result<EnigoInput, PortError> {
        if display.is_none() && std::env::var_os("DISPLAY").is_none() {
            return Err(PortError::unavailable(
                "cannot send input: no X display (DISPLAY is not set); run under a desktop \
                 session, or use `./x demo`, which starts a virtual one",
            ));
        }
        let settings = Settings {
            linux_delay: 0,
            x11_display: display.map(str::to_string),
            release_keys_when_dropped: true,
            ..Settings::default()
        };
        let enigo = enigo::Enigo::new(&settings).map_err(|e| {
            PortError::unavailable(format!("cannot open the X display for input: {e}"))
        })?;
        Ok(EnigoInput {
            enigo,
            cancel: None,
            secrets: None,
            watch: None,
            clipboard: None,
        })
    }

    /// Makes `send` stop between events (and between short runs of typed text) once `cancel`
    /// is true, release everything held, and fail with [`EnigoInput::CANCELLED`].
    pub fn set_cancel(&mut self, cancel: Arc<AtomicBool>) {
        self.cancel = Some(cancel);
    }

    /// Marks everything `send` injects as the agent's own, so the watch only reports the user.
    pub fn set_watch(&mut self, watch: Arc<TakeoverWatch>) {
        self.watch = Some(watch);
    }

    /// Enters non-ASCII and long text by pasting it through this clipboard (the previous
    /// clipboard text is restored), since key events cannot carry every character.
    pub fn set_clipboard(&mut self, clipboard: Clipboard) {
        self.clipboard = Some(clipboard);
    }

    /// Types text as keys, or pastes it when key events would not carry it faithfully.
    fn enter_text(&mut self, text: &str) -> Result<(), PortError> {
        let paste = !text.is_ascii() || text.chars().count() > MAX_TYPED_LEN;
        match self.clipboard.take() {
            Some(clipboard) if paste => {
                let result = paste_text(self, &clipboard, text);
                self.clipboard = Some(clipboard);
                result
            }
            other => {
                self.clipboard = other;
                self.type_text(text)
            }
        }
    }

    /// Lets typed text carry `{{secret:NAME}}` placeholders, resolved here at the last moment
    /// so values never pass through prompts, events, logs or the database.
    pub fn set_secrets(&mut self, secrets: SecretStore) {
        self.secrets = Some(secrets);
    }

    /// Releases every key this injector holds, the modifiers, and the mouse buttons.
    /// Releasing something that is already up does nothing.
    pub fn release_all(&mut self) {
        let (keys, raw) = self.enigo.held();
        let modifiers = [
            enigo::Key::Control,
            enigo::Key::Shift,
            enigo::Key::Alt,
            enigo::Key::Meta,
        ];
        for k in keys.into_iter().chain(modifiers) {
            if let Err(e) = self.enigo.key(k, Direction::Release) {
                tracing::warn!(key = ?k, error = %e, "could not release a key");
            }
        }
        for code in raw {
            if let Err(e) = self.enigo.raw(code, Direction::Release) {
                tracing::warn!(code, error = %e, "could not release a key");
            }
        }
        for b in [Button::Left, Button::Right, Button::Middle] {
            if let Err(e) = self.enigo.button(b, Direction::Release) {
                tracing::warn!(button = ?b, error = %e, "could not release a mouse button");
            }
        }
    }

    fn check_cancel(&mut self) -> Result<(), PortError> {
        if self
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::SeqCst))
        {
            self.release_all();
            // Not retryable: the run was stopped on purpose, trying again must not type on.
            return Err(PortError::unavailable(Self::CANCELLED));
        }
        Ok(())
    }
}

fn direction(press: Press) -> Direction {
    match press {
        Press::Down => Direction::Press,
        Press::Up => Direction::Release,
        Press::Click => Direction::Click,
    }
}

fn button(b: MouseButton) -> Button {
    match b {
        MouseButton::Left => Button::Left,
        MouseButton::Right => Button::Right,
        MouseButton::Middle => Button::Middle,
    }
}

/// Maps a key to enigo's key. Function keys beyond F24 do not exist in `Key`.
fn key(k: Key) -> Result<enigo::Key, PortError> {
    use enigo::Key as E;
    Ok(match k {
        Key::Ctrl => E::Control,
        Key::Shift => E::Shift,
        Key::Alt => E::Alt,
        Key::Super => E::Meta,
        Key::Return => E::Return,
        Key::Escape => E::Escape,
        Key::Tab => E::Tab,
        Key::Backspace => E::Backspace,
        Key::Delete => E::Delete,
        Key::Home => E::Home,
        Key::End => E::End,
        Key::PageUp => E::PageUp,
        Key::PageDown => E::PageDown,
        Key::Up => E::UpArrow,
        Key::Down => E::DownArrow,
        Key::Left => E::LeftArrow,
        Key::Right => E::RightArrow,
        Key::Insert => E::Insert,
        Key::Space => E::Space,
        // XK_Menu
        Key::Menu => E::Other(0xff67),
        Key::Char(c) => E::Unicode(c),
        Key::F(n) => {
            const F: [enigo::Key; 24] = [
                E::F1,
                E::F2,
                E::F3,
                E::F4,
                E::F5,
                E::F6,
                E::F7,
                E::F8,
                E::F9,
                E::F10,
                E::F11,
                E::F12,
                E::F13,
                E::F14,
                E::F15,
                E::F16,
                E::F17,
                E::F18,
                E::F19,
                E::F20,
                E::F21,
                E::F22,
                E::F23,
                E::F24,
            ];
            *F.get(usize::from(n).wrapping_sub(1))
                .ok_or_else(|| PortError::invalid(format!("there is no key F{n}")))?
        }
    })
}

fn failed(what: &str, e: enigo::InputError) -> PortError {
    PortError::failed(format!("{what} failed: {e}"))
}

impl EnigoInput {
    /// Types text; line breaks and tabs become Return and Tab key presses, which is what a
    /// person's keyboard sends (XTest text entry would drop them). A repeated key waits
    /// [`REPEAT_GAP`] after its previous press (see [`is_keypad_char`] for which repeats).
    fn type_text(&mut self, text: &str) -> Result<(), PortError> {
        let mut guard = RepeatGuard::new(text);
        let mut run = Vec::new();
        for c in text.chars() {
            let special = match c {
                '\n' => Some(enigo::Key::Return),
                '\t' => Some(enigo::Key::Tab),
                '\r' => continue,
                _ => None,
            };
            match special {
                Some(k) => {
                    self.type_run(&run, &mut guard)?;
                    run.clear();
                    self.check_cancel()?;
                    self.enigo
                        .key(k, Direction::Click)
                        .map_err(|e| failed("key", e))?;
                    guard.prev = None;
                }
                None => run.push(c),
            }
        }
        self.type_run(&run, &mut guard)
    }

    fn type_run(&mut self, run: &[char], guard: &mut RepeatGuard) -> Result<(), PortError> {
        let mut pending = String::new();
        for &c in run {
            if guard.conflicts(c, &pending) || pending.chars().count() >= TEXT_CHUNK {
                self.flush_text(&mut pending, guard)?;
            }
            if let Some(at) = guard.ready_at(c) {
                if at > Instant::now() {
                    self.flush_text(&mut pending, guard)?;
                    self.wait_until(at)?;
                }
            }
            pending.push(c);
            guard.prev = Some(c);
        }
        self.flush_text(&mut pending, guard)
    }

    fn flush_text(
        &mut self,
        pending: &mut String,
        guard: &mut RepeatGuard,
    ) -> Result<(), PortError> {
        if pending.is_empty() {
            return Ok(());
        }
        self.check_cancel()?;
        self.enigo.text(pending).map_err(|e| failed("typing", e))?;
        guard.sent(pending);
        pending.clear();
        Ok(())
    }

    /// Waits until `at`, looking at the cancel flag every few milliseconds. What it waits for
    /// (the app's own timer releasing its button) cannot be observed from here.
    fn wait_until(&mut self, at: Instant) -> Result<(), PortError> {
        loop {
            self.check_cancel()?;
            let now = Instant::now();
            if now >= at {
                return Ok(());
            }
            std::thread::sleep((at - now).min(Duration::from_millis(10)));
        }
    }
}

impl Input for EnigoInput {
    fn send(&mut self, events: &[InputEvent]) -> Result<(), PortError> {
        let watch = self.watch.clone();
        let _ours = watch.as_ref().map(|w| w.injecting());
        let sent = self.send_events(events);
        if sent.is_err() {
            // Half a chord or a drag must not stay pressed.
            self.release_all();
        }
        sent
    }

    fn release_all(&mut self) {
        EnigoInput::release_all(self);
    }
}

impl EnigoInput {
    fn send_events(&mut self, events: &[InputEvent]) -> Result<(), PortError> {
        for event in events {
            self.check_cancel()?;
            tracing::trace!(?event, "inject");
            match event {
                InputEvent::MoveTo { x, y } => self
                    .enigo
                    .move_mouse(*x, *y, Coordinate::Abs)
                    .map_err(|e| failed("pointer move", e))?,
                InputEvent::Button { button: b, press } => self
                    .enigo
                    .button(button(*b), direction(*press))
                    .map_err(|e| failed("mouse button", e))?,
                InputEvent::Scroll { dx, dy } => {
                    if *dy != 0 {
                        self.enigo
                            .scroll(*dy, Axis::Vertical)
                            .map_err(|e| failed("scroll", e))?;
                    }
                    if *dx != 0 {
                        self.enigo
                            .scroll(*dx, Axis::Horizontal)
                            .map_err(|e| failed("scroll", e))?;
                    }
                }
                InputEvent::Key { key: k, press } => self
                    .enigo
                    .key(key(*k)?, direction(*press))
                    .map_err(|e| failed("key", e))?,
                InputEvent::Text { text } if SecretStore::placeholders(text).is_empty() => {
                    self.enter_text(text)?
                }
                InputEvent::Text { text } => {
                    let secrets = self.secrets.as_ref().ok_or_else(|| {
                        PortError::invalid(
                            "text names a {{secret:...}} but no secret store is open",
                        )
                    })?;
                    let value = secrets
                        .resolve(text)
                        .map_err(|e| PortError::invalid(e.to_string()))?;
                    self.type_text(&value)?
                }
                InputEvent::Pause { ms } => {
                    self.wait_until(Instant::now() + Duration::from_millis(u64::from(*ms)))?
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calculator_input_spaces_every_repeated_key_and_prose_only_doubled_letters() {
        let mut keypad = RepeatGuard::new("1212*3=");
        assert!(keypad.keypad);
        assert!(keypad.conflicts('1', "12"));
        keypad.sent("12");
        keypad.prev = Some('2');
        // '1' was pressed a moment ago, though not just before.
        assert!(keypad.ready_at('1').is_some_and(|t| t > Instant::now()));
        assert!(keypad.ready_at('3').is_none());

        let mut prose = RepeatGuard::new("hello world");
        assert!(!prose.keypad);
        assert!(!prose.conflicts('l', "hel0"));
        assert!(prose.conflicts('L', "hel"));
        prose.sent("hel");
        prose.prev = Some('o');
        assert!(prose.ready_at('l').is_none());
        prose.prev = Some('l');
        assert!(prose.ready_at('l').is_some());
    }
}
