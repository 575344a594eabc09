//! The one way this crate opens its own X connections (kill switch, takeover watch,
//! clipboard, window manager requests): with an error that names what needed it.

use deskhand_core::PortError;
use x11rb::connection::Connection;
use x11rb::protocol::xproto::Window;
use x11rb::rust_connection::RustConnection;

/// Connects to `display` (`None`: the one named by DISPLAY) and returns the connection and
/// the root window of its default screen. `what` names the feature for error messages.
pub(crate) fn connect(
    display: Option<&str>,
    what: &str,
) -> Result<(RustConnection, Window), PortError> {
    if display.is_none() && std::env::var_os("DISPLAY").is_none() {
        return Err(PortError::unavailable(format!(
            "{what} needs an X display and DISPLAY is not set; run under a desktop session"
        )));
    }
    let name = display.map_or_else(
        || std::env::var("DISPLAY").unwrap_or_default(),
        str::to_string,
    );
    let (conn, screen) = x11rb::connect(display).map_err(|e| {
        PortError::unavailable(format!(
            "{what} cannot connect to the X display {name:?}: {e}; is the X server running?"
        ))
    })?;
    let root = conn
        .setup()
        .roots
        .get(screen)
        .map(|s| s.root)
        .ok_or_else(|| PortError::failed("the X server reported no screen"))?;
    Ok((conn, root))
}
