//! The top-level windows of the X display, as the window manager sees them: title, application,
//! process, bounds on the desktop, stacking order, focus, minimised state and monitor.
//!
//! One read pipelines every request (all properties and geometry of all windows are asked
//! before the first reply is awaited), so a listing costs about two round trips to the X
//! server whatever the number of windows. A window that closes while it is being read answers
//! with an X error and is left out; only a lost connection fails the listing.

use deskhand_core::{PortError, Rect};
use serde::Serialize;
use x11rb::connection::{Connection, RequestConnection};
use x11rb::cookie::Cookie;
use x11rb::errors::ReplyError;
use x11rb::protocol::randr::ConnectionExt as _;
use x11rb::protocol::xproto::{
    AtomEnum, ConnectionExt as _, GetGeometryReply, GetPropertyReply, MapState,
    TranslateCoordinatesReply, Window,
};
use x11rb::rust_connection::RustConnection;

/// A top-level window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WindowInfo {
    /// X id of the client window (the application's own window, not the WM frame).
    pub id: u32,
    /// `_NET_WM_NAME`, else `WM_NAME`; empty when neither is set.
    pub title: String,
    /// The class part of `WM_CLASS` ("Mousepad", "XTerm"); empty when unset.
    pub app: String,
    /// The instance part of `WM_CLASS` ("mousepad", "xterm"); empty when unset.
    pub instance: String,
    /// `_NET_WM_PID`, when the client sets it (xterm and GTK do).
    pub pid: Option<u32>,
    /// Outer bounds in desktop (root) coordinates, including the window manager's frame
    /// (title bar and borders, from `_NET_FRAME_EXTENTS`); equal to `client_bounds` when the
    /// window manager reports no frame.
    pub bounds: Rect,
    /// Bounds of the client area alone, in desktop coordinates (what `xwininfo -id` prints
    /// as "Absolute upper-left" and size). Accessibility extents are relative to this.
    pub client_bounds: Rect,
    /// True for the window `_NET_ACTIVE_WINDOW` names.
    pub focused: bool,
    /// True when minimised or otherwise hidden (`_NET_WM_STATE_HIDDEN`, or not mapped).
    pub minimized: bool,
    /// Index (as in [`Screen::monitors`](deskhand_core::ports::Screen::monitors)) of the
    /// monitor holding most of the window; `None` when it lies on no monitor.
    pub monitor: Option<usize>,
}

x11rb::atom_manager! {
    Atoms: AtomsCookie {
        _NET_CLIENT_LIST,
        _NET_CLIENT_LIST_STACKING,
        _NET_ACTIVE_WINDOW,
        _NET_WM_NAME,
        _NET_WM_PID,
        _NET_WM_STATE,
        _NET_WM_STATE_HIDDEN,
        _NET_FRAME_EXTENTS,
        UTF8_STRING,
    }
}

/// Lists windows over one X connection, kept open between calls.
pub struct WindowLister {
    conn: RustConnection,
    root: Window,
    atoms: Atoms,
}

impl std::fmt::Debug for WindowLister {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WindowLister")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

/// Lists the top-level windows of the display named by DISPLAY, bottom to top.
///
/// Opens a connection for this one call; hold a [`WindowLister`] to list repeatedly.
pub fn list_windows() -> Result<Vec<WindowInfo>, PortError> {
    WindowLister::connect()?.list()
}

fn lost(e: impl std::fmt::Display) -> PortError {
    PortError::unavailable(format!("the connection to the X server was lost: {e}"))
}

/// The requests sent for one window, answered later.
struct Asked<'c> {
    id: Window,
    net_name: Cookie<'c, RustConnection, GetPropertyReply>,
    name: Cookie<'c, RustConnection, GetPropertyReply>,
    class: Cookie<'c, RustConnection, GetPropertyReply>,
    pid: Cookie<'c, RustConnection, GetPropertyReply>,
    state: Cookie<'c, RustConnection, GetPropertyReply>,
    frame: Cookie<'c, RustConnection, GetPropertyReply>,
    attributes: Cookie<'c, RustConnection, x11rb::protocol::xproto::GetWindowAttributesReply>,
    geometry: Cookie<'c, RustConnection, GetGeometryReply>,
    origin: Cookie<'c, RustConnection, TranslateCoordinatesReply>,
}

/// A reply, `None` when the window is gone (an X error), an error when the connection is.
fn answer<T>(reply: Result<T, ReplyError>) -> Result<Option<T>, PortError> {
    match reply {
        Ok(r) => Ok(Some(r)),
        Err(ReplyError::X11Error(_)) => Ok(None),
        Err(ReplyError::ConnectionError(e)) => Err(lost(e)),
    }
}

impl WindowLister {
    /// Connects to the display named by DISPLAY.
    ///
    /// Fails with `Unavailable` when DISPLAY is unset or the server does not answer.
    pub fn connect() -> Result<WindowLister, PortError> {
        let Some(display) = std::env::var_os("DISPLAY") else {
            return Err(PortError::unavailable(
                "listing windows needs an X display and DISPLAY is not set; run under a \
                 desktop session, or use `./x demo`, which starts a virtual one",
            ));
        };
        let (conn, screen) = x11rb::connect(None).map_err(|e| {
            PortError::unavailable(format!(
                "cannot connect to the X display {display:?} to list windows: {e}; is the X \
                 server running?"
            ))
        })?;
        let root = conn
            .setup()
            .roots
            .get(screen)
            .map(|s| s.root)
            .ok_or_else(|| PortError::failed("the X server reported no screen"))?;
        let atoms = Atoms::new(&conn)
            .map_err(lost)?
            .reply()
            .map_err(|e| PortError::failed(format!("the X server refused to intern atoms: {e}")))?;
        Ok(WindowLister { conn, root, atoms })
    }

    /// The top-level windows in stacking order, bottom first (the last one is on top).
    ///
    /// With an EWMH window manager these are its clients (`_NET_CLIENT_LIST_STACKING`,
    /// else `_NET_CLIENT_LIST`); without one, the mapped children of the root window that
    /// carry a title or class. Windows that close during the read are left out.
    pub fn list(&self) -> Result<Vec<WindowInfo>, PortError> {
        let conn = &self.conn;
        let root = self.root;
        let a = &self.atoms;
        let window_list = |prop| {
            conn.get_property(false, root, prop, AtomEnum::WINDOW, 0, 1 << 16)
                .map_err(lost)
        };
        let stacking = window_list(a._NET_CLIENT_LIST_STACKING)?;
        let clients = window_list(a._NET_CLIENT_LIST)?;
        let active = window_list(a._NET_ACTIVE_WINDOW)?;
        let monitors = self.monitors_request()?;

        let ids = |c: Cookie<'_, RustConnection, GetPropertyReply>| -> Result<_, PortError> {
            Ok(answer(c.reply())?
                .and_then(|r| r.value32().map(|v| v.collect::<Vec<u32>>()))
                .filter(|v| !v.is_empty()))
        };
        let stacking = ids(stacking)?;
        let clients = ids(clients)?;
        let active = ids(active)?
            .and_then(|v| v.first().copied())
            .filter(|&w| w != x11rb::NONE);
        let monitors = self.monitors_reply(monitors)?;
        let managed = stacking.is_some() || clients.is_some();
        let windows = match stacking.or(clients) {
            Some(ids) => ids,
            None => answer(conn.query_tree(root).map_err(lost)?.reply())?
                .map(|t| t.children)
                .unwrap_or_default(),
        };

        let asked = windows
            .iter()
            .map(|&id| self.ask(id))
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = Vec::with_capacity(asked.len());
        for asked in asked {
            if let Some(w) = self.read(asked, active, &monitors, managed)? {
                out.push(w);
            }
        }
        Ok(out)
    }

    /// One window by X id; `Ok(None)` when no such window exists (any more).
    pub fn window(&self, id: u32) -> Result<Option<WindowInfo>, PortError> {
        let active = self
            .conn
            .get_property(
                false,
                self.root,
                self.atoms._NET_ACTIVE_WINDOW,
                AtomEnum::WINDOW,
                0,
                1,
            )
            .map_err(lost)?;
        let monitors = self.monitors_request()?;
        let asked = self.ask(id)?;
        let active = answer(active.reply())?
            .and_then(|r| r.value32().and_then(|mut v| v.next()))
            .filter(|&w| w != x11rb::NONE);
        let monitors = self.monitors_reply(monitors)?;
        self.read(asked, active, &monitors, true)
    }

    fn ask(&self, id: Window) -> Result<Asked<'_>, PortError> {
        let conn = &self.conn;
        let a = &self.atoms;
        let prop =
            |p: u32, ty: u32, len: u32| conn.get_property(false, id, p, ty, 0, len).map_err(lost);
        Ok(Asked {
            id,
            net_name: prop(a._NET_WM_NAME, a.UTF8_STRING, 1024)?,
            name: prop(AtomEnum::WM_NAME.into(), AtomEnum::ANY.into(), 1024)?,
            class: prop(AtomEnum::WM_CLASS.into(), AtomEnum::STRING.into(), 256)?,
            pid: prop(a._NET_WM_PID, AtomEnum::CARDINAL.into(), 1)?,
            state: prop(a._NET_WM_STATE, AtomEnum::ATOM.into(), 64)?,
            frame: prop(a._NET_FRAME_EXTENTS, AtomEnum::CARDINAL.into(), 4)?,
            attributes: conn.get_window_attributes(id).map_err(lost)?,
            geometry: conn.get_geometry(id).map_err(lost)?,
            origin: conn
                .translate_coordinates(id, self.root, 0, 0)
                .map_err(lost)?,
        })
    }

    /// Collects the answers for one window; `None` when it is gone or, without a window
    /// manager, when it is not an application window.
    fn read(
        &self,
        asked: Asked<'_>,
        active: Option<Window>,
        monitors: &[Rect],
        managed: bool,
    ) -> Result<Option<WindowInfo>, PortError> {
        let bytes = |r: Option<GetPropertyReply>| {
            r.filter(|r| r.format == 8 && !r.value.is_empty())
                .map(|r| r.value)
        };
        let net_name = bytes(answer(asked.net_name.reply())?);
        let name = bytes(answer(asked.name.reply())?);
        let class = bytes(answer(asked.class.reply())?);
        let pid = answer(asked.pid.reply())?;
        let state = answer(asked.state.reply())?;
        let frame = answer(asked.frame.reply())?;
        let attributes = answer(asked.attributes.reply())?;
        let geometry = answer(asked.geometry.reply())?;
        let origin = answer(asked.origin.reply())?;
        let (Some(attributes), Some(geometry), Some(origin)) = (attributes, geometry, origin)
        else {
            return Ok(None);
        };
        let viewable = attributes.map_state == MapState::VIEWABLE;
        if !managed && (!viewable || (net_name.is_none() && name.is_none() && class.is_none())) {
            return Ok(None);
        }
        let title = net_name
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            // WM_NAME is Latin-1 (STRING) for most clients.
            .or_else(|| name.map(|b| b.iter().map(|&c| char::from(c)).collect()))
            .unwrap_or_default();
        let (instance, app) = split_class(class.as_deref().unwrap_or_default());
        let pid = pid.and_then(|r| r.value32().and_then(|mut v| v.next()));
        let hidden = state
            .and_then(|r| {
                r.value32()
                    .map(|mut v| v.any(|atom| atom == self.atoms._NET_WM_STATE_HIDDEN))
            })
            .unwrap_or(false);
        let extents = frame
            .and_then(|r| r.value32().map(|v| v.collect::<Vec<u32>>()))
            .and_then(|v| <[u32; 4]>::try_from(v).ok())
            .unwrap_or_default();
        let client_bounds = Rect::new(
            i32::from(origin.dst_x),
            i32::from(origin.dst_y),
            u32::from(geometry.width),
            u32::from(geometry.height),
        );
        let bounds = with_frame(client_bounds, extents);
        Ok(Some(WindowInfo {
            id: asked.id,
            title,
            app,
            instance,
            pid,
            bounds,
            client_bounds,
            focused: active == Some(asked.id),
            minimized: hidden || !viewable,
            monitor: monitor_of(bounds, monitors),
        }))
    }

    fn monitors_request(
        &self,
    ) -> Result<
        Option<Cookie<'_, RustConnection, x11rb::protocol::randr::GetMonitorsReply>>,
        PortError,
    > {
        let has_randr = self
            .conn
            .extension_information(x11rb::protocol::randr::X11_EXTENSION_NAME)
            .map_err(lost)?
            .is_some();
        if !has_randr {
            return Ok(None);
        }
        Ok(Some(
            self.conn
                .randr_get_monitors(self.root, true)
                .map_err(lost)?,
        ))
    }

    /// Monitor rectangles in root coordinates, in the order [`crate::XcapScreen`] reports
    /// them (one entry per output of each active RandR monitor). Without RandR, the whole
    /// root window is the one monitor.
    fn monitors_reply(
        &self,
        cookie: Option<Cookie<'_, RustConnection, x11rb::protocol::randr::GetMonitorsReply>>,
    ) -> Result<Vec<Rect>, PortError> {
        let reply = match cookie {
            Some(c) => answer(c.reply())?,
            None => None,
        };
        let monitors: Vec<Rect> = reply
            .map(|r| {
                r.monitors
                    .iter()
                    .flat_map(|m| {
                        let rect = Rect::new(
                            i32::from(m.x),
                            i32::from(m.y),
                            u32::from(m.width),
                            u32::from(m.height),
                        );
                        m.outputs.iter().map(move |_| rect)
                    })
                    .collect()
            })
            .unwrap_or_default();
        if !monitors.is_empty() {
            return Ok(monitors);
        }
        let screen = self.conn.setup().roots.iter().find(|s| s.root == self.root);
        Ok(screen
            .map(|s| {
                vec![Rect::new(
                    0,
                    0,
                    u32::from(s.width_in_pixels),
                    u32::from(s.height_in_pixels),
                )]
            })
            .unwrap_or_default())
    }
}

/// `WM_CLASS` is "instance\0class\0".
fn split_class(raw: &[u8]) -> (String, String) {
    let mut parts = raw
        .split(|&b| b == 0)
        .map(|p| String::from_utf8_lossy(p).into_owned());
    let instance = parts.next().unwrap_or_default();
    let class = parts.next().unwrap_or_default();
    (instance, class)
}

/// Grows client bounds by `_NET_FRAME_EXTENTS` (left, right, top, bottom).
fn with_frame(client: Rect, [left, right, top, bottom]: [u32; 4]) -> Rect {
    let grow = |v: u32| i32::try_from(v).unwrap_or(0);
    Rect::new(
        client.x.saturating_sub(grow(left)),
        client.y.saturating_sub(grow(top)),
        client.width.saturating_add(left).saturating_add(right),
        client.height.saturating_add(top).saturating_add(bottom),
    )
}

/// The index of the monitor that holds the largest part of `bounds`; `None` when it overlaps
/// none. Ties go to the first monitor.
pub fn monitor_of(bounds: Rect, monitors: &[Rect]) -> Option<usize> {
    let mut best: Option<(usize, u64)> = None;
    for (i, m) in monitors.iter().enumerate() {
        let area = m.intersection(&bounds).map_or(0, |r| r.area());
        if area > 0 && best.is_none_or(|(_, a)| area > a) {
            best = Some((i, area));
        }
    }
    best.map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_splits_into_instance_and_class() {
        assert_eq!(
            split_class(b"mousepad\0Mousepad\0"),
            ("mousepad".into(), "Mousepad".into())
        );
        assert_eq!(split_class(b""), (String::new(), String::new()));
    }

    #[test]
    fn frame_extents_grow_the_client_rectangle() {
        let client = Rect::new(10, 30, 100, 50);
        assert_eq!(with_frame(client, [1, 1, 20, 1]), Rect::new(9, 10, 102, 71));
        assert_eq!(with_frame(client, [0; 4]), client);
    }

    #[test]
    fn the_monitor_with_most_of_the_window_wins() {
        let monitors = [Rect::new(0, 0, 1280, 800), Rect::new(1280, 0, 1920, 1080)];
        assert_eq!(monitor_of(Rect::new(100, 100, 50, 50), &monitors), Some(0));
        assert_eq!(monitor_of(Rect::new(1200, 0, 200, 50), &monitors), Some(1));
        assert_eq!(monitor_of(Rect::new(-500, -500, 10, 10), &monitors), None);
    }
}
