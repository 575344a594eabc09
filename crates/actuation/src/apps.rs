//! Opening applications by name and focusing their windows, on X11 with an EWMH window
//! manager. Both wait for facts (a spawned process, `_NET_ACTIVE_WINDOW`), never for time.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use deskhand_core::PortError;
use x11rb::protocol::xproto::{
    AtomEnum, ClientMessageEvent, ConnectionExt as _, EventMask, Window,
};
use x11rb::rust_connection::RustConnection;

/// How an application name was resolved into a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppCommand {
    /// The program to run.
    pub program: String,
    /// Its arguments, field codes already removed.
    pub args: Vec<String>,
    /// The desktop entry it came from; `None` when found on PATH.
    pub desktop_entry: Option<PathBuf>,
}

/// Resolves `name` as a desktop entry (file id or `Name=`, case-insensitive), else as a
/// program on PATH (a command line with arguments is split like an `Exec=` line).
pub fn resolve_app(name: &str) -> Result<AppCommand, PortError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(PortError::invalid(
            "open_app: the application name is empty",
        ));
    }
    let dirs = application_dirs();
    if let Some(found) = find_desktop_entry(name, &dirs) {
        return Ok(found);
    }
    let argv = split_exec(name);
    if let Some((program, args)) = argv.split_first() {
        if let Some(path) = find_on_path(program) {
            return Ok(AppCommand {
                program: path.display().to_string(),
                args: args.to_vec(),
                desktop_entry: None,
            });
        }
    }
    let searched: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    Err(PortError::not_found(format!(
        "no application named {name:?}: no desktop entry {name}.desktop or with Name={name} in \
         [{}], and no such program on PATH ({}); check the name with `ls` in those directories",
        searched.join(", "),
        std::env::var("PATH").unwrap_or_default()
    )))
}

/// Starts an application detached, in its own process group with null stdio, inheriting
/// this process's environment. Returns its process id.
pub fn open_app(name: &str) -> Result<u32, PortError> {
    use std::os::unix::process::CommandExt;
    let app = resolve_app(name)?;
    let mut child = Command::new(&app.program)
        .args(&app.args)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| PortError::failed(format!("cannot start {}: {e}", app.program)))?;
    let pid = child.id();
    tracing::info!(name, program = %app.program, pid, "opened app");
    // Reap it when it exits so it does not linger as a zombie of this process.
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(pid)
}

/// `$XDG_DATA_HOME/applications` then each `$XDG_DATA_DIRS/applications`, in precedence order.
fn application_dirs() -> Vec<PathBuf> {
    let home = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")));
    let dirs = std::env::var("XDG_DATA_DIRS")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "/usr/local/share:/usr/share".to_string());
    home.into_iter()
        .chain(dirs.split(':').filter(|d| !d.is_empty()).map(PathBuf::from))
        .map(|d| d.join("applications"))
        .collect()
}

/// Desktop entries under a directory (and its vendor subdirectories), with their file ids.
fn entries(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((d, prefix)) = stack.pop() {
        let Ok(read) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in read.flatten() {
            let path = e.path();
            let file = e.file_name().to_string_lossy().into_owned();
            if path.is_dir() && prefix.matches('-').count() < 4 {
                stack.push((path, format!("{prefix}{file}-")));
            } else if let Some(stem) = file.strip_suffix(".desktop") {
                out.push((format!("{prefix}{stem}"), path));
            }
        }
    }
    out.sort();
    out
}

fn find_desktop_entry(name: &str, dirs: &[PathBuf]) -> Option<AppCommand> {
    let all: Vec<(String, PathBuf)> = dirs.iter().flat_map(|d| entries(d)).collect();
    let by_id = all
        .iter()
        .filter(|(id, _)| id == name)
        .chain(all.iter().filter(|(id, _)| id.eq_ignore_ascii_case(name)));
    for (_, path) in by_id {
        if let Some(app) = parse_entry(path) {
            return Some(app);
        }
    }
    let wanted = name.to_lowercase();
    all.iter().find_map(|(_, path)| {
        let app = parse_entry(path)?;
        (app_name(path)?.to_lowercase() == wanted).then_some(app)
    })
}

/// Values of the `[Desktop Entry]` group.
fn entry_values(path: &Path) -> Option<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut in_group = false;
    let mut values = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_group = line == "[Desktop Entry]";
        } else if let (true, Some((k, v))) = (in_group, line.split_once('=')) {
            values.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    Some(values)
}

fn value<'v>(values: &'v [(String, String)], key: &str) -> Option<&'v str> {
    values
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn app_name(path: &Path) -> Option<String> {
    let values = entry_values(path)?;
    value(&values, "Name").map(str::to_string)
}

/// The command of a launchable application entry; hidden and non-application entries and
/// entries whose `TryExec` program is missing give `None`.
fn parse_entry(path: &Path) -> Option<AppCommand> {
    let values = entry_values(path)?;
    if value(&values, "Type").is_some_and(|t| t != "Application")
        || value(&values, "Hidden") == Some("true")
    {
        return None;
    }
    if let Some(try_exec) = value(&values, "TryExec") {
        if !Path::new(try_exec).is_file() && find_on_path(try_exec).is_none() {
            return None;
        }
    }
    let name = value(&values, "Name").unwrap_or_default();
    let mut argv = Vec::new();
    for arg in split_exec(value(&values, "Exec")?) {
        match arg.as_str() {
            "%f" | "%F" | "%u" | "%U" | "%d" | "%D" | "%n" | "%N" | "%v" | "%m" | "%i" => {}
            "%c" => argv.push(name.to_string()),
            "%k" => argv.push(path.display().to_string()),
            _ => argv.push(arg.replace("%%", "%")),
        }
    }
    let (program, args) = argv.split_first()?;
    Some(AppCommand {
        program: program.clone(),
        args: args.to_vec(),
        desktop_entry: Some(path.to_path_buf()),
    })
}

/// Splits an `Exec=` value into arguments: blanks separate, double quotes group, and inside
/// quotes a backslash escapes the next character (after the string-level `\\` unescape).
fn split_exec(exec: &str) -> Vec<String> {
    let exec = exec.replace("\\\\", "\\");
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut started = false;
    let mut chars = exec.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                started = true;
            }
            '\\' if quoted => cur.extend(chars.next()),
            c if c.is_whitespace() && !quoted => {
                if started || !cur.is_empty() {
                    args.push(std::mem::take(&mut cur));
                }
                started = false;
            }
            c => cur.push(c),
        }
    }
    if started || !cur.is_empty() {
        args.push(cur);
    }
    args
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let p = PathBuf::from(program);
        return executable(&p).then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| executable(p))
}

/// A top-level window managed by the window manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowInfo {
    /// X window id.
    pub id: u32,
    /// `_NET_WM_NAME`, else `WM_NAME`.
    pub title: String,
    /// The class part of `WM_CLASS` (e.g. "Mousepad"), empty when unset.
    pub class: String,
    /// The instance part of `WM_CLASS` (e.g. "mousepad"), empty when unset.
    pub instance: String,
    /// `_NET_WM_PID`, when the client sets it.
    pub pid: Option<u32>,
}

impl WindowInfo {
    fn describe(&self) -> String {
        format!("0x{:08x} {:?} ({})", self.id, self.title, self.class)
    }
}

x11rb::atom_manager! {
    Atoms: AtomsCookie {
        _NET_CLIENT_LIST,
        _NET_ACTIVE_WINDOW,
        _NET_WM_NAME,
        _NET_WM_PID,
        UTF8_STRING,
    }
}

struct Wm {
    conn: RustConnection,
    root: Window,
    atoms: Atoms,
}

fn x_failed(what: &str) -> impl Fn(x11rb::errors::ReplyError) -> PortError + '_ {
    move |e| PortError::failed(format!("X request {what} failed: {e}"))
}

impl Wm {
    fn connect(display: Option<&str>) -> Result<Wm, PortError> {
        let (conn, root) = crate::x11::connect(display, "focusing windows")?;
        let atoms = Atoms::new(&conn)
            .map_err(|e| PortError::failed(format!("X connection lost: {e}")))?
            .reply()
            .map_err(x_failed("InternAtom"))?;
        Ok(Wm { conn, root, atoms })
    }

    fn windows_prop(&self, window: Window, prop: u32) -> Result<Option<Vec<u32>>, PortError> {
        let reply = self
            .conn
            .get_property(false, window, prop, AtomEnum::WINDOW, 0, 16_384)
            .map_err(|e| PortError::failed(format!("X connection lost: {e}")))?
            .reply()
            .map_err(x_failed("GetProperty"))?;
        Ok(reply.value32().map(|v| v.collect()))
    }

    fn bytes_prop(&self, window: Window, prop: u32, ty: u32) -> Option<Vec<u8>> {
        let reply = self
            .conn
            .get_property(false, window, prop, ty, 0, 16_384)
            .ok()?
            .reply()
            .ok()?;
        (reply.format == 8 && !reply.value.is_empty()).then_some(reply.value)
    }

    fn clients(&self) -> Result<Vec<Window>, PortError> {
        self.windows_prop(self.root, self.atoms._NET_CLIENT_LIST)?
            .ok_or_else(|| {
                PortError::unavailable(
                    "no EWMH window manager is running (the root window has no \
                     _NET_CLIENT_LIST); start one, e.g. openbox",
                )
            })
    }

    fn info(&self, id: Window) -> WindowInfo {
        let title = self
            .bytes_prop(id, self.atoms._NET_WM_NAME, self.atoms.UTF8_STRING)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .or_else(|| {
                // WM_NAME is Latin-1 (STRING) for most clients.
                self.bytes_prop(id, AtomEnum::WM_NAME.into(), AtomEnum::ANY.into())
                    .map(|b| b.iter().map(|&c| char::from(c)).collect())
            })
            .unwrap_or_default();
        let class = self
            .bytes_prop(id, AtomEnum::WM_CLASS.into(), AtomEnum::STRING.into())
            .unwrap_or_default();
        let mut parts = class
            .split(|&b| b == 0)
            .map(|p| String::from_utf8_lossy(p).into_owned());
        let instance = parts.next().unwrap_or_default();
        let class = parts.next().unwrap_or_default();
        let pid = self
            .conn
            .get_property(false, id, self.atoms._NET_WM_PID, AtomEnum::CARDINAL, 0, 1)
            .ok()
            .and_then(|c| c.reply().ok())
            .and_then(|r| r.value32().and_then(|mut v| v.next()));
        WindowInfo {
            id,
            title,
            class,
            instance,
            pid,
        }
    }

    fn active(&self) -> Result<Option<Window>, PortError> {
        Ok(self
            .windows_prop(self.root, self.atoms._NET_ACTIVE_WINDOW)?
            .and_then(|v| v.first().copied())
            .filter(|&w| w != x11rb::NONE))
    }
}

/// The window the window manager reports as active, if any.
pub fn active_window(display: Option<&str>) -> Result<Option<WindowInfo>, PortError> {
    let wm = Wm::connect(display)?;
    Ok(wm.active()?.map(|w| wm.info(w)))
}

/// Picks the window a query means: an exact title, else an application (`WM_CLASS`), else a
/// title substring, all case-insensitive. Several at the same level is an error.
pub fn match_window(query: &str, windows: &[WindowInfo]) -> Result<WindowInfo, PortError> {
    let q = query.trim().to_lowercase();
    if q.is_empty() {
        return Err(PortError::invalid("focus_window: the title is empty"));
    }
    let levels: [&dyn Fn(&WindowInfo) -> bool; 3] = [
        &|w| w.title.to_lowercase() == q,
        &|w| w.class.to_lowercase() == q || w.instance.to_lowercase() == q,
        &|w| w.title.to_lowercase().contains(&q),
    ];
    for matches in levels {
        let found: Vec<&WindowInfo> = windows.iter().filter(|w| matches(w)).collect();
        match found.as_slice() {
            [] => continue,
            [one] => return Ok((*one).clone()),
            many => {
                let list: Vec<String> = many.iter().map(|w| w.describe()).collect();
                return Err(PortError::invalid(format!(
                    "{query:?} matches {} windows: {}; use more of the title",
                    many.len(),
                    list.join(", ")
                )));
            }
        }
    }
    let list: Vec<String> = windows.iter().map(WindowInfo::describe).collect();
    Err(PortError::not_found(format!(
        "no window matches {query:?}; open windows: [{}]",
        list.join(", ")
    )))
}

/// Longest wait for the window manager to activate a window.
const ACTIVATE_TIMEOUT: Duration = Duration::from_secs(2);

/// Activates the window a query means (see [`match_window`]) and waits until the window
/// manager reports it active.
pub fn focus_window(query: &str, display: Option<&str>) -> Result<WindowInfo, PortError> {
    let wm = Wm::connect(display)?;
    let windows: Vec<WindowInfo> = wm.clients()?.into_iter().map(|w| wm.info(w)).collect();
    let target = match_window(query, &windows)?;
    let current = wm.active()?.unwrap_or(x11rb::NONE);
    if current == target.id {
        return Ok(target);
    }
    // Source indication 2 ("pager"): the request comes from the user's proxy, so the window
    // manager honours it instead of applying focus-stealing prevention.
    let event = ClientMessageEvent::new(
        32,
        target.id,
        wm.atoms._NET_ACTIVE_WINDOW,
        [2, x11rb::CURRENT_TIME, current, 0, 0],
    );
    let sent = wm.conn.send_event(
        false,
        wm.root,
        EventMask::SUBSTRUCTURE_REDIRECT | EventMask::SUBSTRUCTURE_NOTIFY,
        event,
    );
    sent.map_err(|e| PortError::failed(format!("X connection lost: {e}")))?;
    let start = Instant::now();
    loop {
        if wm.active()? == Some(target.id) {
            tracing::debug!(
                window = target.id,
                ms = start.elapsed().as_millis() as u64,
                "focused"
            );
            return Ok(target);
        }
        if start.elapsed() > ACTIVATE_TIMEOUT {
            return Err(PortError::timeout(format!(
                "the window manager did not activate {} within {ACTIVATE_TIMEOUT:?}",
                target.describe()
            )));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The [`deskhand_core::ports::Apps`] port on one X display.
#[derive(Debug, Clone, Default)]
pub struct DesktopApps {
    /// The display (`None`: $DISPLAY).
    pub display: Option<String>,
}

impl deskhand_core::ports::Apps for DesktopApps {
    fn open(&self, name: &str) -> Result<u32, PortError> {
        open_app(name)
    }

    fn focus(&self, query: &str) -> Result<String, PortError> {
        focus_window(query, self.display.as_deref()).map(|w| w.title)
    }

    fn available(&self, name: &str) -> Result<(), PortError> {
        let q = name.trim().to_lowercase();
        let wm = Wm::connect(self.display.as_deref())?;
        let open = wm
            .clients()?
            .into_iter()
            .map(|w| wm.info(w))
            .any(|w| w.class.to_lowercase() == q || w.instance.to_lowercase() == q);
        if open || resolve_app(name).is_ok() {
            return Ok(());
        }
        Err(PortError::not_found(
            "no window of it is open, and no desktop entry or program on PATH has that name",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_lines_split_and_drop_field_codes() {
        assert_eq!(split_exec(r#"a "b c" "d\\\\e""#), vec!["a", "b c", r"d\e"]);
        assert_eq!(split_exec(r#"x "" "q\"z""#), vec!["x", "", "q\"z"]);
    }

    #[test]
    fn windows_match_by_title_then_class_then_substring() {
        let w = |id, title: &str, class: &str| WindowInfo {
            id,
            title: title.into(),
            class: class.into(),
            instance: class.to_lowercase(),
            pid: None,
        };
        let all = [
            w(1, "term-one", "XTerm"),
            w(2, "Untitled 1 - Mousepad", "Mousepad"),
        ];
        assert_eq!(match_window("TERM-ONE", &all).unwrap().id, 1);
        assert_eq!(match_window("mousepad", &all).unwrap().id, 2);
        assert_eq!(match_window("untitled", &all).unwrap().id, 2);
        let e = match_window("t", &all).unwrap_err();
        assert!(
            e.message.contains("term-one") && e.message.contains("Mousepad"),
            "{e}"
        );
        let e = match_window("nope", &all).unwrap_err();
        assert_eq!(e.kind, deskhand_core::PortErrorKind::NotFound);
    }
}
