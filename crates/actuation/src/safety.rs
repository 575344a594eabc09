//! Safety rails around injected input: a global kill-switch hotkey that cancels a run and
//! lets go of every key and button, and a watch that notices when the user takes the mouse or
//! keyboard back.
//!
//! Both talk to the X server on connections of their own, on threads of their own, so they
//! keep working while the executor is blocked inside an injection or a model call.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use deskhand_core::{Key, KeyChord, PortError};
use x11rb::connection::Connection;
use x11rb::errors::ReplyError;
use x11rb::protocol::xinput::{self, ConnectionExt as _, XIEventMask};
use x11rb::protocol::xproto::{
    self, ClientMessageEvent, ConnectionExt as _, CreateWindowAux, EventMask, GrabMode, KeyButMask,
    ModMask, WindowClass,
};
use x11rb::protocol::xtest::ConnectionExt as _;
use x11rb::protocol::{ErrorKind, Event};
use x11rb::rust_connection::RustConnection;
use x11rb::wrapper::ConnectionExt as _;

/// The kill-switch chord used when the configuration names none.
pub const DEFAULT_KILL_CHORD: &str = "ctrl+alt+Escape";

/// A global hotkey that cancels the run. Dropping it ungrabs the chord and joins its thread.
pub struct KillSwitch {
    conn: Arc<RustConnection>,
    root: xproto::Window,
    wake: xproto::Window,
    keycode: u8,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for KillSwitch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KillSwitch")
            .field("keycode", &self.keycode)
            .finish_non_exhaustive()
    }
}

impl KillSwitch {
    /// Grabs `chord` on the root window of `display` (`None`: $DISPLAY). When it is pressed,
    /// sets `cancel`, releases every key and button still held down, then calls `on_fire`.
    /// It fires whatever else is held too (NumLock, CapsLock, a modifier the agent holds).
    pub fn start(
        display: Option<&str>,
        chord: &KeyChord,
        cancel: Arc<AtomicBool>,
        on_fire: Box<dyn Fn() + Send>,
    ) -> Result<KillSwitch, PortError> {
        let (conn, root) = crate::x11::connect(display, "the kill switch")?;
        let keys = Keymap::read(&conn).map_err(x_failed("read the keyboard map"))?;
        let (mods, keycode) = keys.resolve(chord)?;

        // The chord must fire whatever else is down: lock keys, and modifiers the agent itself
        // holds (a shift-selection, a ctrl-drag). So grab every superset of its modifiers; only
        // the chord itself (give or take lock keys) must be ours, other supersets may belong
        // to other programs.
        let failed = x_failed("grab the kill-switch chord");
        let lock_bits = keys.lock_bits();
        let mut grabs = Vec::new();
        for extra in (0..=0xffu16).filter(|e| e & u16::from(mods) == 0) {
            let grab = conn
                .grab_key(
                    false,
                    root,
                    mods | ModMask::from(extra),
                    keycode,
                    GrabMode::ASYNC,
                    GrabMode::ASYNC,
                )
                .map_err(|e| failed(e.into()))?;
            grabs.push((extra & !lock_bits == 0, grab));
        }
        for (exact, grab) in grabs {
            match grab.check() {
                Ok(()) => {}
                Err(ReplyError::X11Error(e)) if e.error_kind == ErrorKind::Access && !exact => {}
                Err(ReplyError::X11Error(e)) if e.error_kind == ErrorKind::Access => {
                    return Err(PortError::unavailable(format!(
                        "the kill-switch chord {chord} is already grabbed by another program on \
                         this display; close that program or configure another chord"
                    )));
                }
                Err(e) => return Err(failed(e)),
            }
        }

        // An unmapped window of our own: Drop sends it a message to wake the blocked thread.
        let wake = conn
            .generate_id()
            .map_err(|e| PortError::failed(format!("cannot create a window: {e}")))?;
        conn.create_window(
            0,
            wake,
            root,
            0,
            0,
            1,
            1,
            0,
            WindowClass::INPUT_ONLY,
            0,
            &CreateWindowAux::new(),
        )
        .map_err(|e| failed(e.into()))?;
        conn.flush().map_err(|e| failed(e.into()))?;

        let conn = Arc::new(conn);
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (conn, stop) = (Arc::clone(&conn), Arc::clone(&stop));
            let chord_keys = keys.keycodes(chord);
            std::thread::Builder::new()
                .name("deskhand-kill-switch".into())
                .spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        match conn.wait_for_event() {
                            Ok(Event::KeyPress(ev))
                                if ev.detail == keycode
                                    && u16::from(ev.state) & u16::from(mods) == u16::from(mods) =>
                            {
                                cancel.store(true, Ordering::SeqCst);
                                tracing::warn!("kill switch pressed: run cancelled");
                                release_held(&conn, root, &chord_keys);
                                on_fire();
                            }
                            Ok(_) => {}
                            Err(e) => {
                                tracing::error!(error = %e, "kill switch lost its X connection");
                                break;
                            }
                        }
                    }
                })
                .map_err(|e| PortError::failed(format!("cannot start the kill switch: {e}")))?
        };
        Ok(KillSwitch {
            conn,
            root,
            wake,
            keycode,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for KillSwitch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let wake = ClientMessageEvent::new(32, self.wake, xproto::AtomEnum::NONE, [0u32; 5]);
        // With an empty event mask the message goes to the window's creator: our thread.
        let sent = self
            .conn
            .ungrab_key(self.keycode, self.root, ModMask::ANY)
            .and_then(|_| {
                self.conn
                    .send_event(false, self.wake, EventMask::NO_EVENT, wake)
            })
            .and_then(|_| self.conn.destroy_window(self.wake))
            .and_then(|_| self.conn.flush());
        if let Err(e) = sent {
            tracing::warn!(error = %e, "could not ungrab the kill-switch chord");
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Fakes the release of every key and mouse button that is down, except the chord's own keys
/// (the user is holding those).
fn release_held(conn: &RustConnection, root: xproto::Window, chord_keys: &[u8]) {
    let result = (|| -> Result<(), ReplyError> {
        let keymap = conn.query_keymap()?.reply()?;
        for code in 8..=255u8 {
            let down = keymap.keys[usize::from(code / 8)] & (1 << (code % 8)) != 0;
            if down && !chord_keys.contains(&code) {
                conn.xtest_fake_input(xproto::KEY_RELEASE_EVENT, code, 0, root, 0, 0, 0)?;
            }
        }
        let pointer = conn.query_pointer(root)?.reply()?;
        let buttons = [
            KeyButMask::BUTTON1,
            KeyButMask::BUTTON2,
            KeyButMask::BUTTON3,
            KeyButMask::BUTTON4,
            KeyButMask::BUTTON5,
        ];
        for (n, mask) in (1u8..).zip(buttons) {
            if pointer.mask.contains(mask) {
                conn.xtest_fake_input(xproto::BUTTON_RELEASE_EVENT, n, 0, root, 0, 0, 0)?;
            }
        }
        conn.sync()?;
        Ok(())
    })();
    if let Err(e) = result {
        tracing::error!(error = %e, "kill switch could not release held keys");
    }
}

/// The parts of the keyboard map a grab needs.
struct Keymap {
    min_keycode: u8,
    per_keycode: usize,
    keysyms: Vec<u32>,
    /// Modifier index (0 Shift .. 7 Mod5) -> keycodes.
    modifiers: Vec<Vec<u8>>,
}

impl Keymap {
    fn read(conn: &RustConnection) -> Result<Keymap, ReplyError> {
        let setup = conn.setup();
        let (min, max) = (setup.min_keycode, setup.max_keycode);
        let map = conn.get_keyboard_mapping(min, max - min + 1)?.reply()?;
        let mods = conn.get_modifier_mapping()?.reply()?;
        let per_modifier = usize::from(mods.keycodes_per_modifier()).max(1);
        Ok(Keymap {
            min_keycode: min,
            per_keycode: usize::from(map.keysyms_per_keycode).max(1),
            keysyms: map.keysyms,
            modifiers: mods
                .keycodes
                .chunks(per_modifier)
                .map(|c| c.to_vec())
                .collect(),
        })
    }

    fn keycode(&self, keysym: u32) -> Option<u8> {
        let index = self
            .keysyms
            .chunks(self.per_keycode)
            .position(|syms| syms.contains(&keysym))?;
        u8::try_from(index)
            .ok()
            .and_then(|i| i.checked_add(self.min_keycode))
    }

    /// The modifier bit that the key with one of these keysyms sets, if any does.
    fn modifier_of(&self, keysyms: &[u32]) -> Option<ModMask> {
        let codes: Vec<u8> = keysyms.iter().filter_map(|s| self.keycode(*s)).collect();
        let index = self
            .modifiers
            .iter()
            .position(|m| m.iter().any(|c| *c != 0 && codes.contains(c)))?;
        Some(ModMask::from(1u16 << index))
    }

    fn num_lock(&self) -> Option<ModMask> {
        self.modifier_of(&[KEYSYM_NUM_LOCK])
    }

    fn lock_bits(&self) -> u16 {
        u16::from(ModMask::LOCK) | self.num_lock().map_or(0, u16::from)
    }

    /// The modifier mask and the one non-modifier keycode of a chord.
    fn resolve(&self, chord: &KeyChord) -> Result<(ModMask, u8), PortError> {
        let mut mods = ModMask::from(0u16);
        let mut main = None;
        for key in chord.keys() {
            match key {
                Key::Ctrl => mods |= ModMask::CONTROL,
                Key::Shift => mods |= ModMask::SHIFT,
                Key::Alt => mods |= self.modifier_of(&[0xffe9, 0xffea]).unwrap_or(ModMask::M1),
                Key::Super => mods |= self.modifier_of(&[0xffeb, 0xffec]).unwrap_or(ModMask::M4),
                other if main.is_none() => main = Some(*other),
                _ => {
                    return Err(PortError::invalid(format!(
                        "kill-switch chord {chord} has more than one non-modifier key; use \
                         modifiers plus one key, like {DEFAULT_KILL_CHORD}"
                    )))
                }
            }
        }
        let key = main.ok_or_else(|| {
            PortError::invalid(format!(
                "kill-switch chord {chord} has no key besides modifiers; add one, like \
                 {DEFAULT_KILL_CHORD}"
            ))
        })?;
        let keycode = self.keycode(keysym(key)).ok_or_else(|| {
            PortError::invalid(format!(
                "the key {} of kill-switch chord {chord} is not on this keyboard",
                key.name()
            ))
        })?;
        Ok((mods, keycode))
    }

    fn keycodes(&self, chord: &KeyChord) -> Vec<u8> {
        let syms = chord.keys().iter().flat_map(|k| match k {
            Key::Ctrl => vec![0xffe3, 0xffe4],
            Key::Shift => vec![0xffe1, 0xffe2],
            Key::Alt => vec![0xffe9, 0xffea],
            Key::Super => vec![0xffeb, 0xffec],
            other => vec![keysym(*other)],
        });
        syms.filter_map(|s| self.keycode(s)).collect()
    }
}

const KEYSYM_NUM_LOCK: u32 = 0xff7f;

/// The X keysym of a non-modifier key (X11/keysymdef.h).
fn keysym(key: Key) -> u32 {
    match key {
        Key::Ctrl => 0xffe3,
        Key::Shift => 0xffe1,
        Key::Alt => 0xffe9,
        Key::Super => 0xffeb,
        Key::Return => 0xff0d,
        Key::Escape => 0xff1b,
        Key::Tab => 0xff09,
        Key::Backspace => 0xff08,
        Key::Delete => 0xffff,
        Key::Home => 0xff50,
        Key::End => 0xff57,
        Key::PageUp => 0xff55,
        Key::PageDown => 0xff56,
        Key::Up => 0xff52,
        Key::Down => 0xff54,
        Key::Left => 0xff51,
        Key::Right => 0xff53,
        Key::Insert => 0xff63,
        Key::Space => 0x20,
        Key::Menu => 0xff67,
        Key::F(n) => 0xffbe + u32::from(n.saturating_sub(1)),
        Key::Char(c) => {
            let c = c.to_ascii_lowercase();
            match u32::from(c) {
                latin1 @ 0x20..=0xff => latin1,
                other => 0x0100_0000 | other,
            }
        }
    }
}

/// Input the agent did not produce, seen while it ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Takeover {
    /// The pointer is somewhere the agent did not put it.
    PointerMoved {
        /// Desktop x.
        x: i32,
        /// Desktop y.
        y: i32,
    },
    /// A key went down.
    KeyPressed {
        /// X keycode.
        keycode: u32,
    },
    /// A mouse button went down (4-7 are wheel notches).
    ButtonPressed {
        /// X button number.
        button: u32,
    },
}

impl std::fmt::Display for Takeover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Takeover::PointerMoved { x, y } => {
                write!(f, "the user moved the pointer to ({x}, {y})")
            }
            Takeover::KeyPressed { keycode } => {
                write!(f, "the user pressed a key (keycode {keycode})")
            }
            Takeover::ButtonPressed { button } => {
                write!(f, "the user pressed mouse button {button}")
            }
        }
    }
}

/// How often the watch looks at the pointer and drains key events.
const POLL: Duration = Duration::from_millis(15);
/// How long after an injection its echoes may still arrive; input seen then is ours.
const GRACE: Duration = Duration::from_millis(100);

#[derive(Default)]
struct WatchState {
    injecting: u32,
    last_injection: Option<Instant>,
    /// Where the pointer should be if nobody but us moved it.
    expected: Option<(i32, i32)>,
    takeover: Option<Takeover>,
    /// Completed looks (events drained and the pointer read).
    looks: u64,
}

impl WatchState {
    fn ours(&self, now: Instant) -> bool {
        self.injecting > 0 || self.last_injection.is_some_and(|t| now - t < GRACE)
    }
}

/// Watches for input the agent did not inject. XTest input from other programs counts as the
/// user's, so the test is "outside our injection windows", never "which device sent it".
/// Dropping it stops its thread.
pub struct TakeoverWatch {
    state: Arc<Mutex<WatchState>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for TakeoverWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TakeoverWatch")
            .field("takeover", &self.takeover())
            .finish_non_exhaustive()
    }
}

/// Marks an injection in progress; dropping it ends the window (plus a short grace).
#[must_use = "the injection window closes when the guard is dropped"]
pub struct InjectionGuard<'w> {
    watch: &'w TakeoverWatch,
}

impl Drop for InjectionGuard<'_> {
    fn drop(&mut self) {
        let mut s = self.watch.lock();
        s.injecting = s.injecting.saturating_sub(1);
        s.last_injection = Some(Instant::now());
    }
}

impl TakeoverWatch {
    /// Starts watching `display` (`None`: $DISPLAY). `on_takeover` runs on the watch thread
    /// once per takeover, when foreign input is first seen after start or `resume`.
    pub fn start(
        display: Option<&str>,
        on_takeover: Box<dyn Fn(&Takeover) + Send>,
    ) -> Result<TakeoverWatch, PortError> {
        let (conn, root) = crate::x11::connect(display, "the takeover watch")?;
        let failed = x_failed("select XInput 2 raw events");
        let version = conn
            .xinput_xi_query_version(2, 0)
            .map_err(|e| failed(e.into()))?
            .reply()
            .map_err(|_| {
                PortError::unavailable(
                    "the X server has no XInput 2 extension, which noticing the user's typing needs",
                )
            })?;
        if version.major_version < 2 {
            return Err(PortError::unavailable(format!(
                "the X server has XInput {}.{}; noticing the user's typing needs 2.0",
                version.major_version, version.minor_version
            )));
        }
        // Raw events reach root-window listeners even while another client grabs the device.
        let mask = xinput::EventMask {
            deviceid: xinput::Device::ALL_MASTER.into(),
            mask: vec![XIEventMask::RAW_KEY_PRESS | XIEventMask::RAW_BUTTON_PRESS],
        };
        conn.xinput_xi_select_events(root, &[mask])
            .map_err(|e| failed(e.into()))?
            .check()
            .map_err(&failed)?;

        let state = Arc::new(Mutex::new(WatchState::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, stop) = (Arc::clone(&state), Arc::clone(&stop));
            std::thread::Builder::new()
                .name("deskhand-takeover".into())
                .spawn(move || {
                    let seen = |t: Takeover| {
                        let mut s = state.lock().unwrap_or_else(PoisonError::into_inner);
                        let now = Instant::now();
                        let foreign = match &t {
                            Takeover::PointerMoved { x, y } => {
                                let moved = s.expected.is_some_and(|e| e != (*x, *y));
                                s.expected = Some((*x, *y));
                                moved && !s.ours(now)
                            }
                            _ => !s.ours(now),
                        };
                        if foreign && s.takeover.is_none() {
                            s.takeover = Some(t.clone());
                            drop(s);
                            tracing::info!(%t, "user takeover: pausing");
                            on_takeover(&t);
                        }
                    };
                    while !stop.load(Ordering::SeqCst) {
                        if let Err(e) = watch_once(&conn, root, &seen) {
                            tracing::error!(error = %e, "takeover watch lost its X connection");
                            break;
                        }
                        state.lock().unwrap_or_else(PoisonError::into_inner).looks += 1;
                        std::thread::sleep(POLL);
                    }
                })
                .map_err(|e| PortError::failed(format!("cannot start the takeover watch: {e}")))?
        };
        Ok(TakeoverWatch {
            state,
            stop,
            thread: Some(thread),
        })
    }

    /// Marks the start of an injection of ours; input seen until the guard drops (plus a short
    /// grace for its echoes) is not the user's.
    pub fn injecting(&self) -> InjectionGuard<'_> {
        self.lock().injecting += 1;
        InjectionGuard { watch: self }
    }

    /// How many looks the watch has completed. A look that began after something happened
    /// has seen it: waiting for this to grow by two is waiting for the watch to catch up.
    pub fn looks(&self) -> u64 {
        self.lock().looks
    }

    /// Waits until our injections' grace is over and the watch has seen everything that
    /// happened before (two more completed looks), or `timeout` passes; true when it caught up.
    /// Input after this returns is judged as the user's.
    pub fn catch_up(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.lock().ours(Instant::now()) {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(POLL / 4);
        }
        let target = self.looks() + 2;
        while self.looks() < target {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(POLL / 4);
        }
        true
    }

    /// The first foreign input seen since start or the last `resume`.
    pub fn takeover(&self) -> Option<Takeover> {
        self.lock().takeover.clone()
    }

    /// Clears the takeover; the pointer's current position becomes the expected one.
    pub fn resume(&self) {
        let mut s = self.lock();
        s.takeover = None;
        s.expected = None;
    }

    fn lock(&self) -> MutexGuard<'_, WatchState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for TakeoverWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Drains the raw key and button events, then reads the pointer position.
fn watch_once(
    conn: &RustConnection,
    root: xproto::Window,
    seen: &impl Fn(Takeover),
) -> Result<(), ReplyError> {
    while let Some(event) = conn.poll_for_event()? {
        match event {
            Event::XinputRawKeyPress(e) => seen(Takeover::KeyPressed { keycode: e.detail }),
            Event::XinputRawButtonPress(e) => seen(Takeover::ButtonPressed { button: e.detail }),
            _ => {}
        }
    }
    let p = conn.query_pointer(root)?.reply()?;
    seen(Takeover::PointerMoved {
        x: i32::from(p.root_x),
        y: i32::from(p.root_y),
    });
    Ok(())
}

fn x_failed(what: &'static str) -> impl Fn(ReplyError) -> PortError {
    move |e| PortError::failed(format!("cannot {what}: {e}"))
}

impl deskhand_core::ports::UserPresence for TakeoverWatch {
    fn takeover(&self) -> Option<String> {
        TakeoverWatch::takeover(self).map(|t| t.to_string())
    }

    fn resume(&self) {
        TakeoverWatch::resume(self)
    }
}
