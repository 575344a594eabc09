//! Window-relative extents (GTK4) turned into desktop coordinates.
//!
//! GTK4 answers `GetExtents(screen)` with coordinates relative to its own top-level surface,
//! because it does not know where that surface is. The rule that detects it: a top-level
//! accessible window whose extents start at (0,0) while the X window of the same process (and
//! title) sits elsewhere is window-relative, and its whole subtree is moved by the origin of
//! that X client window (GTK4's surface is the client window). An application that reports
//! screen coordinates cannot meet the rule: its top-level extents are its X window's own
//! (GTK3 reports the outer frame), so (0,0) there means the X window is at (0,0) too.
//!
//! GTK 4.8 also marks nothing below the window as showing; in a window that was fixed up, a
//! visible node with a box is marked showing, so it counts as on screen.

use atspi::zbus;
use deskhand_core::geometry::Rect;
use deskhand_core::layout::NodeState;

use super::RawNode;
use crate::windows::{WindowInfo, WindowLister};

/// The X window list, read only when a read needs it; the connection is kept between reads.
#[derive(Default)]
pub(super) struct XWindows {
    lister: Option<WindowLister>,
}

impl XWindows {
    /// The current windows; empty (and logged) when the X server cannot be asked.
    fn list(&mut self) -> Vec<WindowInfo> {
        if self.lister.is_none() {
            match WindowLister::connect() {
                Ok(lister) => self.lister = Some(lister),
                Err(e) => {
                    tracing::debug!(error = %e, "no X window list to place window-relative extents");
                    return Vec::new();
                }
            }
        }
        let Some(lister) = &self.lister else {
            return Vec::new();
        };
        match lister.list() {
            Ok(windows) => windows,
            Err(e) => {
                tracing::debug!(error = %e, "X window list failed; reconnecting next time");
                self.lister = None;
                Vec::new()
            }
        }
    }
}

/// How far to move a top-level accessible window (and its subtree) whose extents are `frame`,
/// titled `title`, of process `pid`; `None` when its extents are already on the desktop or no
/// X window matches.
pub(super) fn offset(
    frame: Rect,
    title: &str,
    pid: Option<u32>,
    windows: &[WindowInfo],
) -> Option<(i32, i32)> {
    if (frame.x, frame.y) != (0, 0) {
        return None;
    }
    let same_process: Vec<&WindowInfo> = match pid {
        Some(pid) => windows.iter().filter(|w| w.pid == Some(pid)).collect(),
        None => windows.iter().collect(),
    };
    let titled: Vec<&&WindowInfo> = same_process.iter().filter(|w| w.title == title).collect();
    let window = match (titled.as_slice(), same_process.as_slice()) {
        ([one], _) => **one,
        ([], [only]) if pid.is_some() => *only,
        _ => return None,
    };
    if (window.bounds.x, window.bounds.y) == (0, 0) {
        return None;
    }
    let origin = (window.client_bounds.x, window.client_bounds.y);
    (origin != (0, 0)).then_some(origin)
}

/// Moves the subtrees of window-relative top-level windows onto the desktop. `windows` holds
/// (arena index, index into `apps`) of each top-level window; `apps` the bus names.
pub(super) async fn fix_up(
    conn: &zbus::Connection,
    arena: &mut [RawNode],
    windows: &[(usize, usize)],
    apps: &[String],
    x: &mut XWindows,
) {
    let at_origin = |&&(w, _): &&(usize, usize)| {
        arena
            .get(w)
            .and_then(|n| n.bounds)
            .is_some_and(|b| (b.x, b.y) == (0, 0))
    };
    let candidates: Vec<(usize, usize)> = windows.iter().filter(at_origin).copied().collect();
    if candidates.is_empty() {
        return;
    }
    let x_windows = x.list();
    if x_windows.is_empty() {
        return;
    }
    let dbus = zbus::fdo::DBusProxy::new(conn).await.ok();
    for (window, app) in candidates {
        let pid = match (&dbus, apps.get(app)) {
            (Some(dbus), Some(name)) => match zbus::names::BusName::try_from(name.as_str()) {
                Ok(name) => dbus.get_connection_unix_process_id(name).await.ok(),
                Err(_) => None,
            },
            _ => None,
        };
        let Some(node) = arena.get(window) else {
            continue;
        };
        let Some(frame) = node.bounds else { continue };
        if let Some(by) = offset(frame, &node.name, pid, &x_windows) {
            tracing::debug!(window = %node.name, ?by, "window-relative extents moved onto the desktop");
            shift_subtree(arena, window, by);
        }
    }
}

/// Adds `(dx, dy)` to every box of the subtree at `root` and marks its visible, placed
/// nodes showing.
fn shift_subtree(arena: &mut [RawNode], root: usize, (dx, dy): (i32, i32)) {
    let mut stack = vec![root];
    while let Some(i) = stack.pop() {
        let Some(node) = arena.get_mut(i) else {
            continue;
        };
        if let Some(b) = &mut node.bounds {
            b.x = b.x.saturating_add(dx);
            b.y = b.y.saturating_add(dy);
            if node.states.contains(&NodeState::Visible)
                && !node.states.contains(&NodeState::Showing)
            {
                node.states.insert(0, NodeState::Showing);
            }
        }
        stack.extend(node.children.iter().copied());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(id: u32, title: &str, pid: u32, client: Rect, frame_top: u32) -> WindowInfo {
        WindowInfo {
            id,
            title: title.into(),
            app: String::new(),
            instance: String::new(),
            pid: Some(pid),
            bounds: Rect::new(
                client.x,
                client.y - frame_top as i32,
                client.width,
                client.height + frame_top,
            ),
            client_bounds: client,
            focused: false,
            minimized: false,
            monitor: Some(0),
        }
    }

    #[test]
    fn a_frame_at_the_origin_of_a_window_elsewhere_moves_to_the_client_area() {
        let xs = [
            window(1, "Probe", 7, Rect::new(880, 535, 400, 300), 20),
            window(2, "Other", 7, Rect::new(10, 30, 100, 100), 20),
        ];
        let frame = Rect::new(0, 0, 400, 300);
        assert_eq!(offset(frame, "Probe", Some(7), &xs), Some((880, 535)));
        // Two windows of the process and no title match: no guess.
        assert_eq!(offset(frame, "Dialog", Some(7), &xs), None);
        // The one window of its process matches even under another title.
        assert_eq!(
            offset(frame, "Renamed", Some(7), &xs[..1]),
            Some((880, 535))
        );
        // Without a pid only an exact title counts.
        assert_eq!(offset(frame, "Probe", None, &xs), Some((880, 535)));
        assert_eq!(offset(frame, "Renamed", None, &xs[..1]), None);
    }

    #[test]
    fn screen_coordinates_are_left_alone() {
        // GTK3: the frame's extents are the X window's outer bounds.
        let xs = [window(1, "Editor", 7, Rect::new(320, 167, 640, 480), 20)];
        assert_eq!(
            offset(Rect::new(319, 147, 642, 505), "Editor", Some(7), &xs),
            None
        );
        // A window really at the origin.
        let xs = [window(1, "Editor", 7, Rect::new(0, 20, 640, 480), 20)];
        assert_eq!(
            offset(Rect::new(0, 0, 640, 500), "Editor", Some(7), &xs),
            None
        );
    }
}
